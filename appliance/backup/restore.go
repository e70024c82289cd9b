package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// IncompleteMarker is the file a restore keeps in the new data directory
// until the restored data has verified; the appliance refuses to open a
// directory that holds it.
const IncompleteMarker = "RESTORE-INCOMPLETE"

// Restore checks the backups (a full one, then increments in order),
// unwraps the site key with passphrase, loads them into dir — which must
// be new or empty — writes site.key, opens the store there (migrating an
// older schema forward) and verifies the audit chain and its head against
// the last backup's. Only then does it return the last backup's info. On
// any failure it removes what it wrote.
func Restore(ctx context.Context, files []string, dir, passphrase string, progress func(Progress)) (Info, error) {
	if len(files) == 0 {
		return Info{}, fmt.Errorf("%w: no backup given", ErrNoBase)
	}
	existed, err := checkEmpty(dir)
	if err != nil {
		return Info{}, err
	}
	report := func(phase string) func(done, total int64) {
		return func(done, total int64) {
			if progress != nil {
				progress(Progress{Phase: phase, Done: done, Total: total})
			}
		}
	}
	infos := make([]Info, len(files))
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return Info{}, err
		}
		if infos[i], err = Stat(f); err != nil {
			return Info{}, err
		}
	}
	if err := chain(infos); err != nil {
		return Info{}, err
	}
	for i := range infos {
		var prev *Info
		if i > 0 {
			prev = &infos[i-1]
		}
		if _, err := Open(infos[i].Path, ReadOptions{Prev: prev, Progress: report("checking")}); err != nil {
			return Info{}, err
		}
	}
	master, err := infos[0].Key.Unwrap(passphrase)
	if err != nil {
		return Info{}, err
	}
	if err := load(ctx, infos, dir, master, report("restoring")); err != nil {
		cleanup(dir, existed)
		return Info{}, err
	}
	return infos[len(infos)-1], nil
}

// chain checks that the backups form one restorable sequence.
func chain(infos []Info) error {
	full := infos[0]
	if full.Kind != Full {
		return fmt.Errorf("%w: %s is an increment of %s; give that full backup first", ErrNoBase, filepath.Base(full.Path), full.Base)
	}
	for i, in := range infos {
		if in.Schema > store.SchemaVersion {
			return fmt.Errorf("%w: %s is schema %d, this release reads up to %d", ErrNewerSchema, filepath.Base(in.Path), in.Schema, store.SchemaVersion)
		}
		if in.Key.KeyID != full.Key.KeyID {
			return fmt.Errorf("%w: %s", ErrOtherSite, filepath.Base(in.Path))
		}
		if i == 0 {
			continue
		}
		prev := infos[i-1]
		switch {
		case in.Kind != Incremental:
			return fmt.Errorf("%w: %s is a second full backup; give one full backup and its increments", ErrOrder, filepath.Base(in.Path))
		case in.Base != full.ID:
			return fmt.Errorf("%w: %s belongs to full backup %s, not %s", ErrNoBase, filepath.Base(in.Path), in.Base, full.ID)
		case in.Prev != prev.ID || in.Since != prev.Until+1:
			return fmt.Errorf("%w: %s goes on top of %s, not %s (each increment holds everything since its full backup: give only the newest)",
				ErrOrder, filepath.Base(in.Path), in.Prev, prev.ID)
		case in.Schema != full.Schema:
			return fmt.Errorf("%w: %s has another schema than its full backup", ErrOrder, filepath.Base(in.Path))
		}
	}
	return nil
}

func load(ctx context.Context, infos []Info, dir string, master []byte, progress func(done, total int64)) error {
	l, err := store.NewLoader(dir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, IncompleteMarker), []byte("a restore into this directory has not finished\n"), 0o600); err != nil {
		l.Close()
		return err
	}
	for i, in := range infos {
		if err := ctx.Err(); err != nil {
			l.Close()
			return err
		}
		var prev *Info
		if i > 0 {
			prev = &infos[i-1]
		}
		// Open checks the sum again as it loads: the file may have
		// changed since it was checked.
		if _, err := Open(in.Path, ReadOptions{Load: l.Load, Progress: progress, Prev: prev}); err != nil {
			l.Close()
			return err
		}
	}
	if err := l.Close(); err != nil {
		return err
	}
	if err := secret.WriteMaster(dir, master); err != nil {
		return err
	}
	keys, err := secret.FromMaster(master)
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{Dir: dir, Keys: keys})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRestoreVerify, err)
	}
	last := infos[len(infos)-1]
	var seq uint64
	var head []byte
	err = st.View(func(r *store.Reader) error {
		if _, err := store.VerifyAudit(r); err != nil {
			return err
		}
		seq, head, err = store.AuditHead(r)
		return err
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRestoreVerify, err)
	}
	if seq != last.AuditSeq || !bytes.Equal(head, last.AuditHash) {
		return fmt.Errorf("%w: audit head %d, the backup says %d", ErrRestoreVerify, seq, last.AuditSeq)
	}
	if err := os.Remove(filepath.Join(dir, IncompleteMarker)); err != nil {
		return err
	}
	return syncDir(dir)
}

// checkEmpty succeeds for a missing or empty directory and says which.
func checkEmpty(dir string) (existed bool, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if len(ents) > 0 {
		return true, fmt.Errorf("%w: %s is not empty", ErrNotEmpty, dir)
	}
	return true, nil
}

// cleanup removes what a failed restore wrote. If even that fails, the
// marker stays and the appliance will not open the directory.
func cleanup(dir string, existed bool) {
	if !existed {
		_ = os.RemoveAll(dir)
		return
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != IncompleteMarker {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	_ = os.Remove(filepath.Join(dir, IncompleteMarker))
}
