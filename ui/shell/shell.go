// Package shell is the appliance's command line: serve, and the
// administrator's subcommands (users, audit, import, tokens). main.go hands
// it the arguments. Subcommands other than serve open the data directory
// themselves, so they run while the service is stopped (Badger allows one
// process per directory); the web pages do the same jobs while it runs.
package shell

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/cluster"
	"gatehouse/ui/i18n"
)

// Env is what a command runs with.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string
}

const usage = `gatehouse — lobby appliance

usage:
  gatehouse serve [--data DIR] [--listen HOST:PORT] [--config FILE] [--demo] [--witness]
  gatehouse version
  gatehouse user add --username NAME --name "FULL NAME" --role admin|manager|reception|host [--password-stdin]
  gatehouse user passwd USERNAME [--password-stdin]
  gatehouse user unlock USERNAME
  gatehouse user list
  gatehouse token add --name NAME --role ROLE
  gatehouse token list
  gatehouse token revoke ID
  gatehouse audit verify [--deep]
  gatehouse check [--rate MB/s]
  gatehouse import employees FILE.csv
  gatehouse purge [--dry-run]
  gatehouse backup [--to DIR] [--full] [--passphrase-stdin]
  gatehouse backup verify FILE...
  gatehouse backup passphrase [--passphrase-stdin]
  gatehouse restore --from FILE[,INCREMENT] --data NEWDIR [--passphrase-stdin] [--config-to FILE]
  gatehouse cluster init --id NAME --advertise HOST:PORT [--bind HOST:PORT]
  gatehouse cluster token [--ttl 1h] [--non-voter]
  gatehouse cluster join ADDR --token TOKEN --id NAME --advertise HOST:PORT --data NEWDIR [--witness]
  gatehouse cluster status
  gatehouse cluster remove NAME
  gatehouse demo-site [--dir ./gatehouse-demo-site]   three demo lobbies as one site, on this machine
  gatehouse devices
  gatehouse devices test NAME [--timeout 15s] [--show]

Every subcommand takes --data DIR (default ./gatehouse-data) and --config FILE
(default DIR/gatehouse.toml). Settings may also come from GATEHOUSE_*
environment variables (GATEHOUSE_SITE_NAME, GATEHOUSE_LANGUAGE,
GATEHOUSE_TIME_ZONE, GATEHOUSE_LOCKOUT_MINUTES, ...).
`

// Main runs the command line and returns the process exit status.
func Main(args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], env)
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "gatehouse", appliance.Version)
	case "user":
		err = userCmd(args[1:], env)
	case "token":
		err = tokenCmd(args[1:], env)
	case "audit":
		err = auditCmd(args[1:], env)
	case "check":
		err = checkCmd(args[1:], env)
	case "devices":
		err = devicesCmd(args[1:], env)
	case "import":
		err = importCmd(args[1:], env)
	case "purge":
		err = purgeCmd(args[1:], env)
	case "backup":
		err = backupCmd(args[1:], env)
	case "restore":
		err = restoreCmd(args[1:], env)
	case "demo-site":
		err = demoSite(args[1:], env)
	case "cluster":
		err = clusterCmd(args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
	default:
		fmt.Fprintf(env.Stderr, "gatehouse: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "gatehouse: %s\n", ue.msg)
		return 2
	}
	fmt.Fprintf(env.Stderr, "gatehouse: %v\n", err)
	return 1
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(f string, a ...any) error { return usageError{fmt.Sprintf(f, a...)} }

// common holds the flags every subcommand has.
type common struct {
	data   string
	config string
	lang   i18n.Lang   // the terminal's language, for error sentences
	clock  clock.Clock // nil: the machine's (the demo holds its own while it writes history)
}

// Where the .deb keeps the data and the settings: the defaults when they
// exist and --data is not given.
const (
	packageData   = "/var/lib/gatehouse"
	packageConfig = "/etc/gatehouse/gatehouse.toml"
)

// defaultData is the data directory a command uses without --data:
// GATEHOUSE_DATA, else the package's when it is installed, else def.
func defaultData(env Env, def string) string {
	if d := lookupEnv(env, "GATEHOUSE_DATA"); d != "" {
		return d
	}
	if st, err := os.Stat(packageData); err == nil && st.IsDir() {
		return packageData
	}
	return def
}

func lookupEnv(env Env, key string) string {
	for _, kv := range env.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// terminalLang is the language of the terminal's locale (LC_ALL,
// LC_MESSAGES, LANG): Chinese for zh_*, else English.
func terminalLang(env Env) i18n.Lang {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := lookupEnv(env, k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "zh") {
				return i18n.ZH
			}
			return i18n.EN
		}
	}
	return i18n.EN
}

func (c *common) register(fs *flag.FlagSet, env Env, defData string) {
	c.lang = terminalLang(env)
	fs.StringVar(&c.data, "data", defaultData(env, defData), "data directory")
	fs.StringVar(&c.config, "config", "", "config file (default DIR/gatehouse.toml, else "+packageConfig+")")
}

func newFlags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// open opens the data directory of a subcommand, which must exist: a
// mistyped --data must not quietly make a new, empty appliance.
func (c common) open(ctx context.Context, env Env) (*appliance.App, error) {
	if st, err := os.Stat(c.data); err != nil || !st.IsDir() {
		return nil, errors.New(c.lang.T("cli.no_data", c.data, packageData))
	}
	return c.openOrCreate(ctx, env)
}

// openOrCreate opens the data directory, making it if need be (serve).
func (c common) openOrCreate(ctx context.Context, env Env) (*appliance.App, error) {
	return c.openWith(ctx, env, appliance.OpenOptions{})
}

// openWith is openOrCreate with options (serve starts a site's node).
func (c common) openWith(ctx context.Context, env Env, o appliance.OpenOptions) (*appliance.App, error) {
	if o.Replicate == nil && cluster.Member(c.data) {
		// A node of a site is changed only through the site's log: the
		// shell may read it (audit, check) but not write to it alone.
		o.Replicate = func(st *store.Store) error { st.SetReplicator(cluster.Offline{}); return nil }
	}
	cfgPath := c.config
	if cfgPath != "" {
		if _, err := os.Stat(cfgPath); err != nil {
			return nil, errors.New(c.lang.T("cli.no_config", cfgPath))
		}
	} else {
		cfgPath = filepath.Join(c.data, "gatehouse.toml")
		if _, err := os.Stat(cfgPath); err != nil {
			if _, err := os.Stat(packageConfig); err == nil {
				cfgPath = packageConfig
			}
		}
	}
	cfg, err := config.Load(cfgPath, env.Environ)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, err
	}
	a, err := appliance.OpenWith(ctx, c.data, cfg, c.clock, logger(env.Stderr), o)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, c.lang.T("cli.store_busy"))
	}
	return a, nil
}

func shellActor() string {
	if u, err := user.Current(); err == nil {
		return "shell:" + u.Username
	}
	return "shell"
}

func readPassword(env Env, fromStdin bool) (string, bool, error) {
	if !fromStdin {
		return auth.RandomPassword(16), true, nil
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

// describe turns field errors into sentences in the terminal's language,
// naming each field (and a CSV file's line).
func (c common) describe(err error) error {
	if es, ok := field.As(err); ok {
		var b strings.Builder
		for _, e := range es {
			name := c.lang.T("field." + e.Field)
			if name == "field."+e.Field {
				name = e.Field
			}
			if e.Line > 0 {
				fmt.Fprintf(&b, "\n  %s", c.lang.T("cli.line_field", e.Line, name, c.lang.Field(e)))
			} else {
				fmt.Fprintf(&b, "\n  %s: %s", name, c.lang.Field(e))
			}
		}
		return fmt.Errorf("%s%s", c.lang.T("cli.invalid"), b.String())
	}
	return err
}

func userCmd(args []string, env Env) error {
	if len(args) == 0 {
		return usagef("user: add, passwd, unlock or list")
	}
	ctx := context.Background()
	var c common
	fs := newFlags("user "+args[0], env)
	c.register(fs, env, "./gatehouse-data")
	var username, name, role string
	var pwStdin bool
	switch args[0] {
	case "add":
		fs.StringVar(&username, "username", "", "account name")
		fs.StringVar(&name, "name", "", "full name")
		fs.StringVar(&role, "role", "", "admin, manager, reception or host")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	case "passwd":
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input")
	case "unlock", "list":
	default:
		return usagef("user: unknown subcommand %q", args[0])
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "add":
		pw, oneTime, err := readPassword(env, pwStdin)
		if err != nil {
			return err
		}
		acc, err := a.Auth.CreateAccount(ctx, shellActor(), auth.NewAccount{Username: username, Name: name,
			Role: auth.Role(role), Password: pw, MustChange: oneTime})
		if err != nil {
			return c.describe(err)
		}
		fmt.Fprintf(env.Stdout, "added %s (%s)\n", acc.Username, acc.Role)
		if oneTime {
			fmt.Fprintf(env.Stdout, "one-time password: %s (must be changed at first sign-in)\n", pw)
		}
	case "passwd", "unlock":
		if len(pos) != 1 {
			return usagef("user %s USERNAME", args[0])
		}
		acc, err := a.Auth.AccountByUsername(pos[0])
		if err != nil {
			return fmt.Errorf("no account %q", pos[0])
		}
		if args[0] == "unlock" {
			if err := a.Auth.Unlock(ctx, shellActor(), acc.ID); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "unlocked %s\n", acc.Username)
			return nil
		}
		pw, oneTime, err := readPassword(env, pwStdin)
		if err != nil {
			return err
		}
		if err := a.Auth.SetPassword(ctx, shellActor(), acc.ID, pw, oneTime); err != nil {
			return c.describe(err)
		}
		fmt.Fprintf(env.Stdout, "password set for %s\n", acc.Username)
		if oneTime {
			fmt.Fprintf(env.Stdout, "one-time password: %s (must be changed at first sign-in)\n", pw)
		}
	case "list":
		as, err := a.Auth.Accounts()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tNAME\tSTATUS\tLAST SIGN-IN")
		now := a.Clock.Now()
		for _, acc := range as {
			st := "active"
			switch {
			case acc.Locked(now) && acc.LockedUntilTime().IsZero():
				st = "locked until unlocked"
			case acc.Locked(now):
				st = "locked until " + acc.LockedUntilTime().In(a.Config.Location).Format("2006-01-02 15:04")
			case acc.Disabled:
				st = "disabled"
			}
			last := "-"
			if acc.LastLogin > 0 {
				last = time.Unix(0, acc.LastLogin).In(a.Config.Location).Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", acc.Username, acc.Role, acc.Name, st, last)
		}
		return tw.Flush()
	}
	return nil
}

func tokenCmd(args []string, env Env) error {
	if len(args) == 0 {
		return usagef("token: add, list or revoke")
	}
	ctx := context.Background()
	var c common
	fs := newFlags("token "+args[0], env)
	c.register(fs, env, "./gatehouse-data")
	var name, role string
	if args[0] == "add" {
		fs.StringVar(&name, "name", "", "what the token is for")
		fs.StringVar(&role, "role", "manager", "role the token acts with")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "add":
		tok, t, err := a.Auth.CreateToken(ctx, shellActor(), name, auth.Role(role))
		if err != nil {
			return c.describe(err)
		}
		fmt.Fprintf(env.Stderr, "token %s (%s) created; it is shown only once:\n", t.ID, t.Role)
		fmt.Fprintln(env.Stdout, tok)
	case "list":
		ts, err := a.Auth.Tokens()
		if err != nil {
			return err
		}
		for _, t := range ts {
			st := "active"
			if t.Revoked {
				st = "revoked"
			}
			fmt.Fprintf(env.Stdout, "%s\t%s\t%s\t%s\n", t.ID, t.Role, st, t.Name)
		}
	case "revoke":
		if len(pos) != 1 {
			return usagef("token revoke ID")
		}
		if err := a.Auth.RevokeToken(ctx, shellActor(), pos[0]); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "revoked", pos[0])
	default:
		return usagef("token: unknown subcommand %q", args[0])
	}
	return nil
}

func auditCmd(args []string, env Env) error {
	if len(args) == 0 || args[0] != "verify" {
		return usagef("audit verify")
	}
	var c common
	fs := newFlags("audit verify", env)
	c.register(fs, env, "./gatehouse-data")
	deep := fs.Bool("deep", false, "also check every record against the last command that wrote it")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	a, err := c.open(context.Background(), env)
	if err != nil {
		return err
	}
	defer a.Close()
	var n uint64
	var rep store.DeepReport
	if *deep {
		rep, err = a.VerifyAuditDeep()
		n = rep.Entries
	} else {
		n, err = a.VerifyAudit()
	}
	var bl *store.BrokenLinkError
	var te *store.TamperedError
	switch {
	case errors.As(err, &bl):
		return fmt.Errorf("audit chain BROKEN at entry %d: %s", bl.Seq, bl.Reason)
	case errors.As(err, &te):
		for _, f := range te.Findings {
			fmt.Fprintf(env.Stdout, "TAMPERED %s\n", f)
		}
		if te.More > 0 {
			fmt.Fprintf(env.Stdout, "... and %d more\n", te.More)
		}
		return fmt.Errorf("audit chain intact (%d entries) but %d records changed outside the command path", n, len(te.Findings)+te.More)
	case err != nil:
		return err
	}
	if *deep {
		fmt.Fprintf(env.Stdout, "audit chain intact: %d entries; %d records match their last command (%d writes checked)\n", n, rep.Records, rep.Writes)
		return nil
	}
	var head []byte
	_ = a.Store.View(func(r *store.Reader) error { _, head, err = store.AuditHead(r); return err })
	fmt.Fprintf(env.Stdout, "audit chain intact: %d entries, head %x\n", n, head)
	return nil
}

// checkCmd reads every table, value-log file and value in the data
// directory and checks their checksums. It looks at the files before
// Badger opens them, since Badger cuts a damaged newest value log at open.
// It exits non-zero naming every bad file, with the cure.
func checkCmd(args []string, env Env) error {
	var c common
	fs := newFlags("check", env)
	c.register(fs, env, "./gatehouse-data")
	rate := fs.Float64("rate", 0, "read at most this many MB a second (0: as fast as the disk goes)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("check takes no arguments")
	}
	if _, err := os.Stat(filepath.Join(c.data, "MANIFEST")); err != nil {
		return errors.New(c.lang.T("cli.no_data", c.data, packageData))
	}
	if bad := store.CheckDir(c.data); len(bad) > 0 {
		for _, ce := range bad {
			fmt.Fprintf(env.Stdout, "CORRUPT %s: %s\n", ce.File, ce.Detail)
		}
		return fmt.Errorf("%d damaged files in %s (first: %s); %s", len(bad), c.data, bad[0].File, store.Cure)
	}
	ctx := context.Background()
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.Scrub(ctx, int64(*rate*(1<<20)))
	if errors.Is(err, store.ErrCorrupt) {
		for _, ce := range rep.Corrupt {
			fmt.Fprintf(env.Stdout, "CORRUPT %s\n", strings.TrimSuffix(ce.Error(), "; "+store.Cure))
		}
		return err
	} else if err != nil {
		return err
	}
	if err := a.Store.Corrupt(); err != nil { // found while opening
		return err
	}
	fmt.Fprintf(env.Stdout, "data intact: %d tables, %d value-log files, %d key versions, %.1f MB read in %v\n",
		rep.Tables, rep.ValueLogs, rep.Versions, float64(rep.Bytes)/(1<<20), rep.Took.Round(time.Millisecond))
	return nil
}

func importCmd(args []string, env Env) error {
	if len(args) == 0 || args[0] != "employees" {
		return usagef("import employees FILE.csv")
	}
	var c common
	fs := newFlags("import employees", env)
	c.register(fs, env, "./gatehouse-data")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import employees FILE.csv")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	ctx := context.Background()
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	last := ""
	n, err := a.Directory.ImportEmployeesCSV(ctx, shellActor(), data, func(p directory.Progress) {
		if p.Phase != last {
			fmt.Fprintf(env.Stderr, "%s…\n", p.Phase)
			last = p.Phase
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], c.describe(err))
	}
	fmt.Fprintf(env.Stdout, "imported %d employees from %s\n", n, pos[0])
	return nil
}

// purgeCmd runs the retention purge now, or with --dry-run says what it
// would remove.
func purgeCmd(args []string, env Env) error {
	var c common
	fs := newFlags("purge", env)
	c.register(fs, env, "./gatehouse-data")
	dry := fs.Bool("dry-run", false, "only say what the purge would remove")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	a, err := c.open(context.Background(), env)
	if err != nil {
		return err
	}
	defer a.Close()
	rules := a.Retention()
	days := func(d time.Duration) int { return int(d / (24 * time.Hour)) }
	if *dry {
		n, err := a.PurgePreview()
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, c.lang.T("cli.purge_preview", n.Visits, days(rules.Personal), n.Photos, days(rules.Photos),
			n.People, a.Config.RetainPersonDays))
		return nil
	}
	n, err := a.Purge(context.Background(), shellActor())
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, c.lang.T("cli.purge_done", n.Visits, n.Photos, n.People))
	if n.Stamped > 0 {
		fmt.Fprintln(env.Stdout, c.lang.T("cli.purge_stamped", n.Stamped, a.Config.RetainPersonDays))
	}
	return nil
}
