package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/demo"
)

// demoSeed is the story serve --demo tells: every new demo building gets
// the same four weeks.
const demoSeed = 1

// openDemo opens the demo's data directory. A new one (missing or empty)
// is opened on a held clock standing before the story, filled with the
// demo building and its four weeks of history (demo.SeedWithHistory) and
// then let go to the machine's time; one set up before is opened as it is,
// and a building without accounts gets the building alone. The demo
// accounts are printed either way.
func openDemo(ctx context.Context, c common, env Env, opts appliance.OpenOptions) (*appliance.App, error) {
	var held *clock.Held
	if emptyDir(c.data) {
		held = &clock.Held{}
		held.Set(time.Now().AddDate(0, 0, -30)) // before the story: the store's first entries
		c.clock = held
	}
	a, err := c.openWith(ctx, env, opts)
	if err != nil {
		return nil, err
	}
	logins, err := seedDemo(ctx, a, held, env.Stdout)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("demo building: %w", err)
	}
	if logins != nil {
		fmt.Fprintln(env.Stdout, "Demo building created. Demo accounts (for trying the appliance only):")
		for _, l := range logins {
			fmt.Fprintf(env.Stdout, "  %-8s password %-20s role %s\n", l.Username, l.Password, l.Role)
		}
	} else {
		fmt.Fprintln(env.Stdout, "Demo building already set up; demo accounts: admin / manager / guard / host, passwords demo-<name>-pass.")
	}
	return a, nil
}

func seedDemo(ctx context.Context, a *appliance.App, held *clock.Held, out io.Writer) ([]demo.Login, error) {
	if held == nil {
		return demo.Seed(ctx, a)
	}
	defer held.Release()
	fmt.Fprintln(out, "Writing four weeks of demo history …")
	logins, st, err := demo.SeedWithHistory(ctx, a, demo.HistoryOptions{Seed: demoSeed, End: time.Now()})
	if err != nil {
		return nil, err
	}
	if logins != nil {
		fmt.Fprintf(out, "Four weeks of history written in %.1f s: %d visits, %d gate passages (%d refused), %d key checkouts, %d stock moves; %d commands.\n",
			st.Took.Seconds(), st.Visits, st.Passages, st.Denied, st.Keys, st.StockMove, st.Commands)
	}
	return logins, nil
}

// emptyDir reports whether dir does not exist or holds nothing.
func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true
	} else if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}
