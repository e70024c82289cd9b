package store

// The same work as BenchmarkApply done by SQLite, for comparison only: this
// file is a test file, so SQLite never enters the binary.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	_ "modernc.org/sqlite"
)

// BenchmarkSQLite: a person-save-shaped command in SQLite (WAL,
// synchronous=FULL), one transaction per command: read the record, write
// it and three index rows, read the audit head and append the audit entry
// (hash-chained as the store's, over JSON), from 1, 8 and 64 goroutines.
// SQLite allows one writer at a time, so the writers queue for the one
// connection (SetMaxOpenConns(1); with a connection each they spin in
// SQLite's busy handler and get slower), and concurrency buys nothing.
func BenchmarkSQLite(b *testing.B) {
	for _, w := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers-%d", w), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(60000)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1) // SQLite has one writer: queue in Go, not in its busy handler's sleeps
			for _, q := range []string{
				`CREATE TABLE rec (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID`,
				`CREATE TABLE audit (seq INTEGER PRIMARY KEY, e BLOB)`,
				`CREATE TABLE head (id INTEGER PRIMARY KEY, seq INTEGER, hash BLOB)`,
				`INSERT INTO head VALUES (1, 0, zeroblob(32))`,
			} {
				if _, err := db.Exec(q); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for range w {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := n.Add(1); i <= int64(b.N); i = n.Add(1) {
						if err := sqliteApply(ctx, db, benchCommand(b, i)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
		})
	}
}

func sqliteApply(ctx context.Context, db *sql.DB, cmd Command) error {
	raw, err := cmd.Encode()
	if err != nil {
		return err
	}
	var p benchPerson
	if err := json.Unmarshal(cmd.Payload, &p); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rec WHERE k = ?`, Key(KindPerson, p.ID)).Scan(&exists); err != nil {
		return err
	}
	idx := []byte("e1|" + p.CompanyID + "|" + p.FloorID + "|" + p.EmployeeNo)
	for _, k := range [][]byte{
		Key(KindPersonByName, p.Name, p.ID),
		Key(KindPersonByComp, p.CompanyID, p.Name, p.ID),
		Key(KindPersonByFloor, p.FloorID, p.Name, p.ID),
	} {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO rec VALUES (?, ?)`, k, idx); err != nil {
			return err
		}
	}
	rec, _ := json.Marshal(p)
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO rec VALUES (?, ?)`, Key(KindPerson, p.ID), rec); err != nil {
		return err
	}
	var seq uint64
	var prev []byte
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM head WHERE id = 1`).Scan(&seq, &prev); err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	e := AuditEntry{Seq: seq + 1, Time: cmd.Time, Actor: cmd.Actor, Type: cmd.Type, Subject: "person:" + p.ID, Command: sum[:], Prev: prev}
	e.Hash = e.hash()
	eb, _ := json.Marshal(e)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit VALUES (?, ?)`, e.Seq, eb); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash); err != nil {
		return err
	}
	return tx.Commit()
}
