package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"gatehouse/appliance/cpu"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"gatehouse/appliance/store"
)

// Progress is reported while a backup is written or read back.
type Progress struct {
	Phase string // "writing", "verifying"
	Keys  uint64 // records written so far
	Bytes uint64 // stream bytes so far (before compression)
	Done  int64  // verifying: file bytes read
	Total int64  // verifying: file size; writing: records expected (the last full's), 0 if unknown
}

// WriteOptions say what to write.
type WriteOptions struct {
	Base     *Info // nil: a full backup; else the full backup an increment goes on top of
	Key      WrappedKey
	Site     string
	Config   []byte // the settings file to carry (ReadConfig); nil: none
	Now      time.Time
	Progress func(Progress)
}

// Source is what a backup is taken from: *store.Store.
type Source interface {
	WriteBackup(ctx context.Context, w io.Writer, since uint64, progress func(store.BackupProgress)) (store.BackupInfo, error)
	Schema() (uint32, error)
}

const (
	tmpPrefix = ".tmp-"
	suffix    = ".ghb"
)

// Write takes a backup of src into dir: under a temporary name, synced,
// renamed, the directory synced, and then read back whole (Open). A file
// that fails the reading back is removed. An increment carries what changed
// since its Base (a differential: every increment of a week needs only the
// week's full backup).
func Write(ctx context.Context, src Source, dir string, o WriteOptions) (Info, error) {
	if !o.Key.Set() {
		return Info{}, ErrNoPassphrase
	}
	if len(o.Config) > MaxConfig {
		return Info{}, fmt.Errorf("%w: %d bytes, at most %d", ErrConfigTooLarge, len(o.Config), MaxConfig)
	}
	if err := checkTarget(dir); err != nil {
		return Info{}, err
	}
	release, err := cpu.Heavy(ctx)
	if err != nil {
		return Info{}, err
	}
	defer release()
	schema, err := src.Schema()
	if err != nil {
		return Info{}, err
	}
	h := Header{Format: FormatVersion, ID: store.NewID(o.Now), Kind: Full, Schema: schema,
		Created: o.Now.UnixNano(), Site: o.Site, Key: o.Key, Config: o.Config}
	if b := o.Base; b != nil {
		if b.Kind != Full || b.Schema != schema || b.Key.KeyID != o.Key.KeyID {
			return Info{}, fmt.Errorf("%w: %s cannot be the base of an increment", ErrNoBase, filepath.Base(b.Path))
		}
		h.Kind, h.Base, h.Prev, h.Since = Incremental, b.ID, b.ID, b.Until+1
	}
	kind := "full"
	if h.Kind == Incremental {
		kind = "incr"
	}
	name := fmt.Sprintf("gatehouse-%s-%s-%s%s", o.Now.UTC().Format("20060102-150405"), kind, strings.ToLower(h.ID), suffix)
	final := filepath.Join(dir, name)
	tmp := filepath.Join(dir, tmpPrefix+name)
	start := time.Now()
	if err := writeFile(ctx, src, tmp, h, o, start); err != nil {
		_ = os.Remove(tmp)
		return Info{}, targetError(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return Info{}, targetError(err)
	}
	if err := syncDir(dir); err != nil {
		return Info{}, targetError(err)
	}
	info, err := Open(final, ReadOptions{Prev: o.Base, Progress: func(done, total int64) {
		if o.Progress != nil {
			o.Progress(Progress{Phase: "verifying", Done: done, Total: total})
		}
	}})
	if err != nil {
		_ = os.Remove(final)
		return Info{}, fmt.Errorf("backup: reading back what was written failed, file removed: %w", err)
	}
	return info, nil
}

func writeFile(ctx context.Context, src Source, tmp string, h Header, o WriteOptions, start time.Time) (err error) {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	sum := sha256.New()
	bw := bufio.NewWriterSize(f, 256<<10)
	w := io.MultiWriter(bw, sum)
	hb, err := encodeHeader(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(hb); err != nil {
		return err
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(4<<20))
	if err != nil {
		return err
	}
	var expect int64
	if o.Base != nil {
		expect = int64(o.Base.Keys)
	}
	si, err := src.WriteBackup(ctx, zw, h.Since, func(p store.BackupProgress) {
		if o.Progress != nil {
			o.Progress(Progress{Phase: "writing", Keys: p.Keys, Bytes: p.Bytes, Total: expect})
		}
	})
	if err != nil {
		zw.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	t := Trailer{Until: si.Until, Keys: si.Keys, Bytes: si.Bytes, AuditSeq: si.AuditSeq, AuditHash: si.AuditHash,
		Millis: time.Since(start).Milliseconds()}
	if t.AuditSeq == 0 && o.Base != nil { // no command since the base: its head still stands
		t.AuditSeq, t.AuditHash = o.Base.AuditSeq, o.Base.AuditHash
	}
	tb, err := sealTrailer(t, sum)
	if err != nil {
		return err
	}
	if _, err := bw.Write(tb); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Sync()
}

// checkTarget finds the target a directory one can write in.
func checkTarget(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: no target directory set", ErrTarget)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTarget, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrTarget, dir)
	}
	return nil
}

// targetError names a full disk and a vanished or unwritable target as
// such; the rest passes through.
func targetError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %v", ErrTargetFull, err)
	case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EROFS),
		errors.Is(err, syscall.EIO), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%w: %v", ErrTarget, err)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
