package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"

	"github.com/dgraph-io/badger/v4"
)

// loadPiece is how many bytes of a backup stream one badger.DB.Load call
// takes. Badger's loader sends a batch when its entries reach 2.4 MB
// (with this store's 16 MB memtables) — but values that go to the value
// log (records over 1 KB: visits) count only as pointers there, and
// their bytes accumulate up to 100 MB before a batch goes, with four
// batches pending: a restore of a large site held several hundred MB of
// decoded values (BENCHMARKS.md, "Snapshot of a large site"). Loading
// the stream in pieces of whole frames makes each Load finish (send and
// wait) its batch every loadPiece bytes.
var loadPiece int64 = 16 << 20 // a variable for the tests

// loadInPieces loads the backup stream r into db, loadPiece bytes of
// whole frames at a time. A frame is a little-endian uint64 length and
// that many bytes (a KVList), as badger.DB.Backup writes them.
func loadInPieces(db *badger.DB, r io.Reader, pending int) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := db.Load(&framePiece{r: br, left: loadPiece}, pending); err != nil {
			return err
		}
	}
}

// framePiece reads whole frames from r until about left bytes were read,
// then reports the end of its piece at the next frame boundary.
type framePiece struct {
	r     *bufio.Reader
	left  int64 // bytes this piece may still start frames with
	frame int64 // bytes left of the frame being read
}

func (p *framePiece) Read(b []byte) (int, error) {
	if p.frame == 0 {
		if p.left <= 0 {
			return 0, io.EOF
		}
		head, err := p.r.Peek(8)
		if len(head) == 0 && errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		if len(head) < 8 {
			return 0, io.ErrUnexpectedEOF
		}
		n := binary.LittleEndian.Uint64(head)
		if n > 1<<31 {
			return 0, ErrBadSnapshot
		}
		p.frame = 8 + int64(n)
		p.left -= p.frame
	}
	if int64(len(b)) > p.frame {
		b = b[:p.frame]
	}
	n, err := p.r.Read(b)
	p.frame -= int64(n)
	if errors.Is(err, io.EOF) && p.frame > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
