package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// Badger keeps no public way to check a value-log file, and when a value
// fails its checksum it logs and hands back an empty value (see
// lostValue), without saying which file. So the store reads the files
// itself. The layout is Badger v4's (value.go, memtable.go): a 20-byte file
// header, then entries of
//
//	meta, userMeta byte; uvarint klen, vlen, expiresAt; key; value; CRC-32C (big-endian)
//
// with the CRC over everything before it, and zeros after the last entry.
// A test flips a byte in a real file, so a change of layout in a Badger
// upgrade shows there.
const vlogFileHeader = 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// hashingReader feeds every byte it reads to a CRC.
type hashingReader struct {
	r *bufio.Reader
	h hash.Hash32
	n int64 // bytes read in the current entry
}

func (h *hashingReader) ReadByte() (byte, error) {
	b, err := h.r.ReadByte()
	if err == nil {
		h.h.Write([]byte{b})
		h.n++
	}
	return b, err
}

func (h *hashingReader) discard(n int64) error {
	buf := make([]byte, 32<<10)
	for n > 0 {
		m := min(n, int64(len(buf)))
		if _, err := io.ReadFull(h.r, buf[:m]); err != nil {
			return err
		}
		h.h.Write(buf[:m])
		h.n += m
		n -= m
	}
	return nil
}

// verifyVlog checks the CRC of every entry of one value-log file and
// returns the bytes it read, telling progress (if not nil) every 256 KB or so
// so that a scrub can pace itself. In the newest file, a bad or cut-off entry
// followed by nothing but zeros is a write in flight (or torn by a power
// cut, which Badger's own replay drops), not corruption.
func verifyVlog(path string, newest bool, progress func(read int64)) (int64, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil // collected by value-log GC since it was listed
	} else if err != nil {
		return 0, &CorruptError{File: name, Detail: err.Error()}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if _, err := br.Discard(vlogFileHeader); err != nil {
		return 0, nil // empty: nothing written yet
	}
	off := int64(vlogFileHeader)
	hr := &hashingReader{r: br, h: crc32.New(castagnoli)}
	told := off
	bad := func(reason string) (int64, error) {
		if newest && zerosToEnd(br) {
			return off, nil
		}
		return off, &CorruptError{File: name, Detail: fmt.Sprintf("entry at offset %d %s", off, reason)}
	}
	for {
		hr.h.Reset()
		hr.n = 0
		var hdr [2]byte
		var err error
		if hdr[0], err = hr.ReadByte(); err == io.EOF {
			return off, nil
		} else if err != nil {
			return off, err
		}
		if hdr[1], err = hr.ReadByte(); err != nil {
			return bad("is cut off")
		}
		klen, err1 := binary.ReadUvarint(hr)
		vlen, err2 := binary.ReadUvarint(hr)
		_, err3 := binary.ReadUvarint(hr)
		if err := errors.Join(err1, err2, err3); err != nil {
			return bad("has an unreadable header")
		}
		if klen == 0 && vlen == 0 && hdr == [2]byte{} {
			return off, nil // zeros: the end of what was written
		}
		if klen > 1<<16 || vlen > 1<<31 {
			return bad("has an impossible length")
		}
		if err := hr.discard(int64(klen + vlen)); err != nil {
			return bad("is cut off")
		}
		var crc [4]byte
		if _, err := io.ReadFull(br, crc[:]); err != nil {
			return bad("is cut off")
		}
		if binary.BigEndian.Uint32(crc[:]) != hr.h.Sum32() {
			return bad("fails its checksum")
		}
		off += hr.n + 4
		if progress != nil && off-told >= 256<<10 {
			progress(off - told)
			told = off
		}
	}
}

// zerosToEnd reports whether nothing but zeros is left to read.
func zerosToEnd(r *bufio.Reader) bool {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if !bytes.Equal(buf[:n], make([]byte, n)) {
			return false
		}
		if err != nil {
			return err == io.EOF
		}
	}
}

// vlogFiles lists the value-log files of dir, oldest first.
func vlogFiles(dir string) []string {
	names, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	sort.Strings(names) // fixed-width numbers: name order is age order
	return names
}

// guardNewestVlog checks the newest value-log file before Badger opens the
// directory. Badger replays that file at open and cuts it at the first
// entry that fails its checksum, taking a torn write for the end of the
// log — so a flipped byte in the middle would silently take every value
// after it. When the bad entry is not at the end, the file is copied aside
// as NAME.damaged first (Badger ignores the name), and the finding is
// returned so that Open marks the store corrupt: the values after the bad
// entry will read as lost, and the copy is what an expert could still
// recover from.
func guardNewestVlog(dir string) *CorruptError {
	vlogs := vlogFiles(dir)
	if len(vlogs) == 0 {
		return nil
	}
	newest := vlogs[len(vlogs)-1]
	_, err := verifyVlog(newest, true, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		return nil
	}
	if cerr := copyFile(newest, newest+".damaged"); cerr != nil {
		ce.Detail += "; could not keep a copy: " + cerr.Error()
	} else {
		ce.Detail += "; the file as found is kept as " + filepath.Base(newest) + ".damaged"
	}
	return ce
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
