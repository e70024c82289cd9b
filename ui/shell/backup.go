package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gatehouse/appliance/backup"
	"gatehouse/appliance/store"
)

// readPassphrase reads one line: from stdin with --passphrase-stdin, else
// from the terminal with echo off. Without a terminal it refuses rather
// than read a passphrase that shows on the screen.
func readPassphrase(env Env, fromStdin bool, prompt string) (string, error) {
	if !fromStdin {
		f, ok := env.Stdin.(*os.File)
		if !ok {
			return "", usagef("no terminal to ask the passphrase on: use --passphrase-stdin")
		}
		restore, ok := noEcho(f)
		if !ok {
			return "", usagef("standard input is not a terminal: use --passphrase-stdin")
		}
		defer restore()
		fmt.Fprint(env.Stderr, prompt)
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("no passphrase given")
	}
	return line, nil
}

// terminalProgress prints a backup's progress on one line of stderr.
func terminalProgress(w io.Writer) (func(backup.Progress), func()) {
	last := time.Time{}
	show := func(p backup.Progress) {
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		switch {
		case p.Phase == "writing" && p.Total > 0:
			fmt.Fprintf(w, "\r%s: %d records (%.0f %% of the last full backup's), %.1f MB    ", p.Phase, p.Keys, 100*float64(p.Keys)/float64(p.Total), float64(p.Bytes)/1e6)
		case p.Phase == "writing":
			fmt.Fprintf(w, "\r%s: %d records, %.1f MB    ", p.Phase, p.Keys, float64(p.Bytes)/1e6)
		case p.Total > 0:
			fmt.Fprintf(w, "\r%s: %.0f %%    ", p.Phase, 100*float64(p.Done)/float64(p.Total))
		}
	}
	return show, func() {
		if !last.IsZero() {
			fmt.Fprintln(w)
		}
	}
}

func describeBackup(in backup.Info) string {
	what := "full backup"
	if in.Kind == backup.Incremental {
		what = "increment of " + in.Base
	}
	settings := "no settings file"
	if len(in.Config) > 0 {
		settings = fmt.Sprintf("carries gatehouse.toml (%d bytes)", len(in.Config))
	}
	return fmt.Sprintf("%s: %s %s, written %s, schema %d, %d records, %.1f MB, audit head %d, versions %d..%d, %s",
		in.Path, what, in.ID, time.Unix(0, in.Created).UTC().Format(time.RFC3339), in.Schema, in.Keys, float64(in.Size)/1e6, in.AuditSeq, in.Since, in.Until, settings)
}

// backupCmd: backup --to DIR | backup verify FILE | backup passphrase.
func backupCmd(args []string, env Env) error {
	if len(args) > 0 && args[0] == "verify" {
		fs := newFlags("backup verify", env)
		pos, err := parse(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) == 0 {
			return usagef("backup verify FILE...")
		}
		show, done := terminalProgress(env.Stderr)
		for _, p := range pos {
			in, err := backup.Open(p, backup.ReadOptions{Progress: func(d, t int64) { show(backup.Progress{Phase: "verifying", Done: d, Total: t}) }})
			done()
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, "ok", describeBackup(in))
		}
		return nil
	}
	sub := "backup"
	if len(args) > 0 && args[0] == "passphrase" {
		sub, args = "backup passphrase", args[1:]
	}
	var c common
	fs := newFlags(sub, env)
	c.register(fs, env, "./gatehouse-data")
	var to string
	var full, pwStdin bool
	fs.BoolVar(&pwStdin, "passphrase-stdin", false, "read the backup passphrase from standard input")
	if sub == "backup" {
		fs.StringVar(&to, "to", "", "directory to write the backup in (default: the configured target)")
		fs.BoolVar(&full, "full", false, "write a full backup even if an increment would do")
	}
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	set, err := a.Backups.Settings()
	if err != nil {
		return err
	}
	if sub == "backup passphrase" {
		pw, err := readPassphrase(env, pwStdin, "new backup passphrase: ")
		if err != nil {
			return err
		}
		if err := a.Backups.SetPassphrase(ctx, shellActor(), pw); err != nil {
			return c.describe(err)
		}
		fmt.Fprintln(env.Stdout, "backup passphrase set: the site key is wrapped with it in every backup from now on")
		return nil
	}
	if to == "" {
		to = set.Target
	}
	if to == "" {
		return usagef("backup: --to DIR (no target is configured)")
	}
	key := set.Key
	if !key.Set() {
		fmt.Fprintln(env.Stderr, "no backup passphrase is set (gatehouse backup passphrase, or the backup page); this backup's is not stored")
		pw, err := readPassphrase(env, pwStdin, "passphrase for this backup: ")
		if err != nil {
			return err
		}
		if key, err = a.Backups.Wrap(pw); err != nil {
			return err
		}
	}
	files, err := backup.List(to)
	if err != nil {
		return err
	}
	schema, err := a.Store.Schema()
	if err != nil {
		return err
	}
	var base *backup.Info
	if !full {
		base = backup.BaseFor(files, key.KeyID, schema, a.Clock.Now(), set.Policy)
	}
	cfg, err := backup.ReadConfig(a.Config.Path)
	if err != nil {
		return err
	}
	show, done := terminalProgress(env.Stderr)
	in, err := backup.Write(ctx, a.Store, to, backup.WriteOptions{Base: base, Key: key, Site: a.Config.SiteName, Config: cfg, Now: a.Clock.Now(), Progress: show})
	if errors.Is(err, store.ErrBaseTooOld) {
		done()
		fmt.Fprintln(env.Stderr, "the last full backup there is older than the deletions this appliance keeps: writing a full one")
		in, err = backup.Write(ctx, a.Store, to, backup.WriteOptions{Key: key, Site: a.Config.SiteName, Config: cfg, Now: a.Clock.Now(), Progress: show})
	}
	done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "written and verified in %s: %s\n", (time.Duration(in.Millis) * time.Millisecond).String(), describeBackup(in))
	return nil
}

// restoreCmd: restore --from FULL[,INCREMENT] --data NEWDIR.
func restoreCmd(args []string, env Env) error {
	fs := newFlags("restore", env)
	var from, data string
	var pwStdin bool
	fs.StringVar(&from, "from", "", "the full backup, then its increment, comma-separated")
	fs.StringVar(&data, "data", "", "new data directory to restore into (must not exist or be empty)")
	fs.BoolVar(&pwStdin, "passphrase-stdin", false, "read the backup passphrase from standard input")
	var cfgTo string
	fs.StringVar(&cfgTo, "config-to", "", "where to write the settings file the backup carries (default NEWDIR/gatehouse.toml, where serve --data NEWDIR reads it)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if from == "" || data == "" {
		return usagef("restore --from FILE[,INCREMENT] --data NEWDIR [--config-to FILE]")
	}
	if cfgTo == "" {
		cfgTo = filepath.Join(data, "gatehouse.toml")
	}
	pw, err := readPassphrase(env, pwStdin, "backup passphrase: ")
	if err != nil {
		return err
	}
	show, done := terminalProgress(env.Stderr)
	in, err := backup.Restore(context.Background(), strings.Split(from, ","), data, pw, show)
	done()
	if err != nil {
		return fmt.Errorf("restore failed, nothing restored: %w", err)
	}
	fmt.Fprintf(env.Stdout, "restored into %s and verified (audit chain whole, head %d as in the backup) from %s\n", data, in.AuditSeq, describeBackup(in))
	// The newest backup's settings file: the site's settings as they were.
	what, path, err := backup.RestoreConfig(in, cfgTo)
	switch {
	case err != nil:
		return fmt.Errorf("the data is restored, but not its settings file: %w", err)
	case what == backup.ConfigNone:
		fmt.Fprintln(env.Stdout, "the backup carries no settings file (written by an older release, or none was in use): copy gatehouse.toml by hand if the site had one")
	case what == backup.ConfigSame:
		fmt.Fprintf(env.Stdout, "settings: %s already holds the backup's settings file\n", path)
	case what == backup.ConfigBeside:
		fmt.Fprintf(env.Stdout, "settings: %s exists and was kept; the backup's settings file is written beside it as %s: compare and replace it if need be\n", cfgTo, path)
	default:
		fmt.Fprintf(env.Stdout, "settings: the backup's settings file written to %s\n", path)
	}
	if what == backup.ConfigWritten && path != filepath.Join(data, "gatehouse.toml") {
		fmt.Fprintf(env.Stdout, "start it with: gatehouse serve --data %s --config %s\n", data, path)
	} else {
		fmt.Fprintf(env.Stdout, "start it with: gatehouse serve --data %s\n", data)
	}
	return nil
}
