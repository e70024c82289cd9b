package store

import (
	"fmt"
	"log/slog"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// badgerOptions are sized for a 1 GB Raspberry-Pi-class device; DESIGN.md
// explains each choice. Badger's defaults (64 MB memtables x 5, 256 MB block
// cache, 1 GB mmapped value-log files) assume a server.
func badgerOptions(dir string, inMemory bool, log *slog.Logger) badger.Options {
	o := badger.DefaultOptions(dir).
		WithInMemory(inMemory).
		WithSyncWrites(false).          // Apply syncs, shared among concurrent commits (durable.go)
		WithDetectConflicts(false).     // commits are serialised; no optimistic conflicts to detect
		WithMemTableSize(16 << 20).     // 16 MB memtables ...
		WithNumMemtables(2).            // ... at most two in memory
		WithNumLevelZeroTables(2).      // flush L0 early
		WithNumLevelZeroTablesStall(8). // stall writers rather than balloon
		WithBaseTableSize(4 << 20).     // small SSTables: less to read per compaction
		WithBlockCacheSize(16 << 20).   // 16 MB block cache
		WithIndexCacheSize(8 << 20).    // bound table indexes instead of keeping all in RAM
		WithValueLogFileSize(64 << 20). // small mmapped value-log files
		WithValueThreshold(1 << 10).    // records under 1 KB live in the LSM tree
		WithNumCompactors(2).           // two cores
		WithCompression(options.ZSTD).
		WithZSTDCompressionLevel(1).
		// Every block read from a table is checked against its checksum,
		// and every value read from the value log too (DESIGN.md,
		// Integrity). Whole tables are checked by Open and by the scrub,
		// not by Badger at open (OnTableAndBlockRead), so that a bad block
		// marks the store corrupt instead of stopping the appliance.
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true).
		WithLogger(badgerLogger{log})
	return o
}

// badgerLogger sends Badger's own messages to slog: warnings and errors only.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any) {
	l.log.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (l badgerLogger) Warningf(f string, a ...any) {
	l.log.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (l badgerLogger) Infof(string, ...any)  {}
func (l badgerLogger) Debugf(string, ...any) {}
