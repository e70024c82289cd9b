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
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
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
  gatehouse serve [--data DIR] [--listen HOST:PORT] [--config FILE] [--demo]
  gatehouse version
  gatehouse user add --username NAME --name "FULL NAME" --role admin|manager|reception|host [--password-stdin]
  gatehouse user passwd USERNAME [--password-stdin]
  gatehouse user unlock USERNAME
  gatehouse user list
  gatehouse token add --name NAME --role ROLE
  gatehouse token list
  gatehouse token revoke ID
  gatehouse audit verify
  gatehouse import employees FILE.csv
  gatehouse backup [--to DIR] [--full] [--passphrase-stdin]
  gatehouse backup verify FILE...
  gatehouse backup passphrase [--passphrase-stdin]
  gatehouse restore --from FILE[,INCREMENT] --data NEWDIR [--passphrase-stdin]
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
	case "devices":
		err = devicesCmd(args[1:], env)
	case "import":
		err = importCmd(args[1:], env)
	case "backup":
		err = backupCmd(args[1:], env)
	case "restore":
		err = restoreCmd(args[1:], env)
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
}

func (c *common) register(fs *flag.FlagSet, defData string) {
	fs.StringVar(&c.data, "data", defData, "data directory")
	fs.StringVar(&c.config, "config", "", "config file (default DIR/gatehouse.toml)")
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

func (c common) open(ctx context.Context, env Env) (*appliance.App, error) {
	cfgPath := c.config
	if cfgPath == "" {
		cfgPath = filepath.Join(c.data, "gatehouse.toml")
	}
	cfg, err := config.Load(cfgPath, env.Environ)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, err
	}
	a, err := appliance.Open(ctx, c.data, cfg, nil, logger(env.Stderr))
	if err != nil {
		return nil, fmt.Errorf("%w (is the service running on this data directory? stop it first)", err)
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

func describe(err error) error {
	if es, ok := field.As(err); ok {
		var b strings.Builder
		for _, e := range es {
			if e.Line > 0 {
				fmt.Fprintf(&b, "\n  line %d, %s: %s", e.Line, e.Field, e.Code)
			} else {
				fmt.Fprintf(&b, "\n  %s: %s", e.Field, e.Code)
			}
			if e.Arg != "" {
				fmt.Fprintf(&b, " (%s)", e.Arg)
			}
		}
		return fmt.Errorf("invalid input:%s", b.String())
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
	c.register(fs, "./gatehouse-data")
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
			return describe(err)
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
			return describe(err)
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
	c.register(fs, "./gatehouse-data")
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
			return describe(err)
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
	c.register(fs, "./gatehouse-data")
	if _, err := parse(fs, args[1:]); err != nil {
		return err
	}
	a, err := c.open(context.Background(), env)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.VerifyAudit()
	var bl *store.BrokenLinkError
	if errors.As(err, &bl) {
		return fmt.Errorf("audit chain BROKEN at entry %d: %s", bl.Seq, bl.Reason)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "audit chain intact: %d entries\n", n)
	return nil
}

func importCmd(args []string, env Env) error {
	if len(args) == 0 || args[0] != "employees" {
		return usagef("import employees FILE.csv")
	}
	var c common
	fs := newFlags("import employees", env)
	c.register(fs, "./gatehouse-data")
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
		return fmt.Errorf("%s: nothing imported: %w", pos[0], describe(err))
	}
	fmt.Fprintf(env.Stdout, "imported %d employees from %s\n", n, pos[0])
	return nil
}
