package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/dgraph-io/badger/v4/pb"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"gatehouse/appliance/store"
)

// File layout (DESIGN.md):
//
//	"GHBACKUP" | u32 BE header length | header JSON
//	zstd( Badger backup stream: u64 LE length | pb.KVList, ... )
//	trailer JSON | u32 BE trailer length | "GHBKEND1"
//
// The trailer's Sum is SHA-256 over every byte before the trailer and the
// trailer itself with Sum empty, so a truncated file (no end marker), a
// flipped byte anywhere or an edited trailer is found.
const (
	magic      = "GHBACKUP"
	endMagic   = "GHBKEND1"
	maxHeader  = 64 << 10
	maxTrailer = 4 << 10
	maxFrame   = 64 << 20 // one KVList frame; Badger sends ~16 MB at most
	// FormatVersion 2 added Header.Config; this release reads 1 and 2.
	FormatVersion = 2
	// MaxConfig bounds the settings file a backup carries in its header
	// (at most 64 KB): a real gatehouse.toml is under 2 KB.
	MaxConfig = 32 << 10
)

// Kind is full or incremental.
type Kind string

// Kinds of backup.
const (
	Full        Kind = "full"
	Incremental Kind = "incremental"
)

// Header is what a backup says about itself before its data.
type Header struct {
	Format  int        `json:"format"`
	ID      string     `json:"id"`
	Kind    Kind       `json:"kind"`
	Base    string     `json:"base,omitempty"` // an increment's full backup
	Prev    string     `json:"prev,omitempty"` // the backup an increment applies on top of
	Since   uint64     `json:"since"`          // first store version it carries (0: full)
	Schema  uint32     `json:"schema"`         // store.SchemaVersion of the data
	Created int64      `json:"created"`        // Unix ns
	Site    string     `json:"site,omitempty"`
	Key     WrappedKey `json:"key"`
	// Config is the site's settings file (gatehouse.toml) as it was when
	// the backup was written, so a new appliance gets them back; none when
	// the appliance ran on defaults and environment variables, and in
	// backups of format 1.
	Config []byte `json:"config,omitempty"`
}

// Trailer is what a backup says about itself after its data.
type Trailer struct {
	Until     uint64 `json:"until"` // newest store version it carries
	Keys      uint64 `json:"keys"`
	Bytes     uint64 `json:"bytes"` // stream bytes before compression
	AuditSeq  uint64 `json:"audit_seq"`
	AuditHash []byte `json:"audit_hash"`
	Millis    int64  `json:"ms"` // how long the stream took to write
	Sum       []byte `json:"sum"`
}

// Info is one backup file as found on disk.
type Info struct {
	Path string
	Size int64
	Header
	Trailer
}

// ReadHeader reads the magic and header from the start of a backup file.
func ReadHeader(r io.Reader) (Header, int64, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return Header{}, 0, fmt.Errorf("%w: too short for a header", ErrCorrupt)
	}
	if string(pre[:8]) != magic {
		return Header{}, 0, fmt.Errorf("%w: not a Gatehouse backup", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(pre[8:])
	if n == 0 || n > maxHeader {
		return Header{}, 0, fmt.Errorf("%w: header length %d", ErrCorrupt, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return Header{}, 0, fmt.Errorf("%w: header cut short", ErrCorrupt)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return Header{}, 0, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if h.Format > FormatVersion {
		return Header{}, 0, fmt.Errorf("%w: file format %d, this release reads %d", ErrNewerFormat, h.Format, FormatVersion)
	}
	if err := h.check(); err != nil {
		return Header{}, 0, err
	}
	return h, int64(12 + n), nil
}

func (h Header) check() error {
	bad := func(what string) error { return fmt.Errorf("%w: header: %s", ErrCorrupt, what) }
	switch {
	case h.Format < 1:
		return bad("format")
	case h.ID == "" || len(h.ID) > 64:
		return bad("id")
	case h.Kind == Full && (h.Base != "" || h.Prev != "" || h.Since != 0):
		return bad("a full backup with a base")
	case h.Kind == Incremental && (h.Base == "" || h.Prev == "" || h.Since == 0):
		return bad("an increment without a base")
	case h.Kind != Full && h.Kind != Incremental:
		return bad("kind")
	case h.Schema == 0:
		return bad("schema")
	case !h.Key.Set():
		return bad("no site key")
	case len(h.Config) > MaxConfig || (h.Format < 2 && len(h.Config) > 0):
		return bad("config")
	}
	return nil
}

func encodeHeader(h Header) ([]byte, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 12, 12+len(b))
	copy(out, magic)
	binary.BigEndian.PutUint32(out[8:], uint32(len(b)))
	return append(out, b...), nil
}

// trailerBytes encodes t with its length and end marker, folding it into
// h (which holds every byte before it) to make the sum.
func sealTrailer(t Trailer, h hash.Hash) ([]byte, error) {
	t.Sum = nil
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	h.Write(b)
	t.Sum = h.Sum(nil)
	if b, err = json.Marshal(t); err != nil {
		return nil, err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	return append(append(b, n[:]...), endMagic...), nil
}

// Stat reads a backup's header and trailer without reading its data: what
// listing a target directory needs. It does not check the sum; Verify does.
func Stat(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	info, _, err := stat(f, path)
	return info, err
}

// stat returns the info and the byte range of the compressed data.
func stat(f *os.File, path string) (Info, [2]int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return Info{}, [2]int64{}, err
	}
	h, start, err := ReadHeader(bufio.NewReader(io.LimitReader(f, maxHeader+12)))
	if err != nil {
		return Info{}, [2]int64{}, fmt.Errorf("%s: %w", path, err)
	}
	size := fi.Size()
	var end [12]byte
	if size < start+12 {
		return Info{}, [2]int64{}, fmt.Errorf("%s: %w: truncated (no end marker)", path, ErrCorrupt)
	}
	if _, err := f.ReadAt(end[:], size-12); err != nil {
		return Info{}, [2]int64{}, err
	}
	if string(end[4:]) != endMagic {
		return Info{}, [2]int64{}, fmt.Errorf("%s: %w: truncated (no end marker)", path, ErrCorrupt)
	}
	tn := int64(binary.BigEndian.Uint32(end[:4]))
	if tn == 0 || tn > maxTrailer || size-12-tn < start {
		return Info{}, [2]int64{}, fmt.Errorf("%s: %w: trailer length %d", path, ErrCorrupt, tn)
	}
	tb := make([]byte, tn)
	if _, err := f.ReadAt(tb, size-12-tn); err != nil {
		return Info{}, [2]int64{}, err
	}
	var t Trailer
	if err := json.Unmarshal(tb, &t); err != nil || len(t.Sum) != sha256.Size {
		return Info{}, [2]int64{}, fmt.Errorf("%s: %w: trailer", path, ErrCorrupt)
	}
	return Info{Path: path, Size: size, Header: h, Trailer: t}, [2]int64{start, size - 12 - tn}, nil
}

// ReadOptions say what Open does besides checking.
type ReadOptions struct {
	// Load, if set, is handed the decompressed stream as it is read; the
	// caller must treat what it did as void if Open then fails.
	Load func(io.Reader) error
	// Progress sees the file bytes read.
	Progress func(done, total int64)
	// Prev is the backup an increment goes on top of, so the audit chain
	// is checked to continue from its head; without it an increment's
	// entries are checked among themselves.
	Prev *Info
}

// Open checks a backup file whole — sum, compression, every frame, the
// count of records, the audit chain it carries up to the head it recorded —
// and returns its info.
func Open(path string, o ReadOptions) (Info, error) {
	load, progress := o.Load, o.Progress
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	info, body, err := stat(f, path)
	if err != nil {
		return Info{}, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, body[0])); err != nil {
		return Info{}, err
	}
	total := body[1] - body[0]
	var raw io.Reader = io.TeeReader(io.NewSectionReader(f, body[0], total), h)
	if progress != nil {
		raw = &progressReader{r: raw, total: total, fn: progress}
	}
	zr, err := zstd.NewReader(bufio.NewReaderSize(raw, 64<<10), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderMaxWindow(32<<20))
	if err != nil {
		return Info{}, err
	}
	defer zr.Close()
	var audit *store.AuditStream
	switch {
	case info.Kind == Full:
		audit = store.NewAuditStream(0, nil, false)
	case o.Prev != nil:
		audit = store.NewAuditStream(o.Prev.AuditSeq, o.Prev.AuditHash, false)
	default:
		audit = store.NewAuditStream(0, nil, true)
	}
	keys, n, err := frames(zr, load, audit.Add)
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", path, err)
	}
	// Whatever is left before the trailer belongs to the sum as well.
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return Info{}, err
	}
	t := info.Trailer
	tb, err := sealTrailer(t, h)
	if err != nil {
		return Info{}, err
	}
	var again Trailer
	_ = json.Unmarshal(tb[:len(tb)-12], &again)
	if !bytes.Equal(again.Sum, t.Sum) {
		return Info{}, fmt.Errorf("%s: %w: checksum does not match (damaged or altered)", path, ErrCorrupt)
	}
	if keys != t.Keys || n != t.Bytes {
		return Info{}, fmt.Errorf("%s: %w: %d records, %d bytes; the trailer says %d, %d", path, ErrCorrupt, keys, n, t.Keys, t.Bytes)
	}
	if _, err := audit.Finish(t.AuditSeq, t.AuditHash); err != nil {
		return Info{}, fmt.Errorf("%s: %w: %v", path, ErrAudit, err)
	}
	return info, nil
}

// frames reads the Badger stream, checking each frame, shows each live
// record to each, and passes the same bytes on to load (if any) through a
// pipe.
func frames(r io.Reader, load func(io.Reader) error, each func(key, val []byte)) (keys, n uint64, err error) {
	var pw *io.PipeWriter
	done := make(chan error, 1)
	if load != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		go func() {
			err := load(pr)
			if err == nil {
				_, err = io.Copy(io.Discard, pr) // load stops at EOF; nothing may follow
			}
			pr.CloseWithError(err)
			done <- err
		}()
	}
	finish := func(err error) (uint64, uint64, error) {
		if pw != nil {
			pw.CloseWithError(err)
			if lerr := <-done; err == nil && lerr != nil {
				err = fmt.Errorf("load: %w", lerr)
			}
		}
		return keys, n, err
	}
	var size [8]byte
	buf := make([]byte, 0, 1<<16)
	for {
		if _, err := io.ReadFull(r, size[:]); errors.Is(err, io.EOF) {
			return finish(nil)
		} else if err != nil {
			return finish(fmt.Errorf("%w: data cut short (%v)", ErrCorrupt, err))
		}
		sz := binary.LittleEndian.Uint64(size[:])
		if sz == 0 || sz > maxFrame {
			return finish(fmt.Errorf("%w: frame of %d bytes", ErrCorrupt, sz))
		}
		if uint64(cap(buf)) < sz {
			buf = make([]byte, sz)
		}
		buf = buf[:sz]
		if _, err := io.ReadFull(r, buf); err != nil {
			return finish(fmt.Errorf("%w: data cut short (%v)", ErrCorrupt, err))
		}
		var list pb.KVList
		if err := proto.Unmarshal(buf, &list); err != nil {
			return finish(fmt.Errorf("%w: frame: %v", ErrCorrupt, err))
		}
		keys += uint64(len(list.Kv))
		for _, kv := range list.Kv {
			if len(kv.Meta) == 0 || kv.Meta[0] == 0 {
				each(kv.Key, kv.Value)
			}
		}
		n += 8 + sz
		if pw != nil {
			if _, err := pw.Write(size[:]); err != nil {
				return finish(err)
			}
			if _, err := pw.Write(buf); err != nil {
				return finish(err)
			}
		}
	}
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}

func newSum() hash.Hash { return sha256.New() }
