package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/demo"
	"gatehouse/appliance/device"
	"gatehouse/appliance/keys"
	"gatehouse/drivers/runner"
)

// devicesCmd is `gatehouse devices` (list the configured devices and the
// serial ports found) and `gatehouse devices test NAME`.
func devicesCmd(args []string, env Env) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var c common
	fs := newFlags("devices "+sub, env)
	c.register(fs, env, "./gatehouse-data")
	timeout := fs.Duration("timeout", 15*time.Second, "how long a test waits for the device (a read, the port to open)")
	show := fs.Bool("show", false, "print a test read in full (it may open doors: by default it is shortened)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(pos) != 0 {
			return usagef("devices [--data DIR]")
		}
	case "test":
		if len(pos) != 1 {
			return usagef("devices test NAME [--timeout 15s] [--show]")
		}
	default:
		return usagef("devices: list or test NAME")
	}
	ctx := context.Background()
	a, err := c.open(ctx, env)
	if err != nil {
		return err
	}
	defer a.Close()
	if sub == "list" {
		return listDevices(a, env)
	}
	return testDevice(ctx, a, env, pos[0], *timeout, *show)
}

func listDevices(a *appliance.App, env Env) error {
	ds, err := a.Devices.Devices()
	if err != nil {
		return err
	}
	lanes := map[string]string{}
	if ls, err := a.Access.Lanes(); err == nil {
		for _, l := range ls {
			lanes[l.ID] = l.Name
		}
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tLANE\tPROTOCOL\tPORT\tADDRESS\tBAUD\tSTATE")
	for _, d := range ds {
		st := "enabled"
		if !d.Enabled {
			st = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Name, d.Role, dash(lanes[d.LaneID]), d.Protocol, d.Port, dash(d.Address), d.Baud, st)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintln(env.Stdout, "(no devices configured: add them on the Devices page, /admin/devices)")
	}
	fmt.Fprintln(env.Stdout, "\nSerial ports found:")
	ports := device.Ports("/")
	for _, p := range ports {
		if p.Target != "" {
			fmt.Fprintf(env.Stdout, "  %s -> %s\n", p.Path, p.Target)
		} else {
			fmt.Fprintf(env.Stdout, "  %s\n", p.Path)
		}
	}
	if len(ports) == 0 {
		fmt.Fprintln(env.Stdout, "  (none)")
	}
	return nil
}

// oneDevice is a configuration of one device, for a test.
type oneDevice struct{ d device.Device }

func (o oneDevice) Devices() ([]device.Device, error) { return []device.Device{o.d}, nil }
func (o oneDevice) Changes() <-chan struct{}          { return nil } // never changes

// testDevice runs the device's driver alone — no decisions, so a read at a
// gate reader opens nothing — and exercises it: a relay is pulsed for its
// lane's pulse, a door contact read, a reader waits for one read.
func testDevice(ctx context.Context, a *appliance.App, env Env, name string, timeout time.Duration, show bool) error {
	d, err := a.Devices.ByName(name)
	if errors.Is(err, device.ErrNotFound) {
		return fmt.Errorf("no device named %q (see gatehouse devices)", name)
	} else if err != nil {
		return err
	}
	d.Enabled = true // a disabled device may be tested before it is put to use
	// The driver logs from its own goroutine while this one talks to the
	// operator: one writer, taken in turns.
	stderr := &lockedWriter{w: env.Stderr}
	// The appliance's key store, also here: a reader in install mode
	// tested is given its own key, which must not be lost with the test.
	rt, err := runner.Start(ctx, runner.Config{Source: oneDevice{d}, Lanes: a.Access, Clock: a.Clock, Logger: logger(stderr),
		Keys: device.NewReaderKeys(a.Store, a.Clock, a.Keys), Secrets: a.Keys})
	if err != nil {
		return err
	}
	defer rt.Close()
	if h, _ := rt.Health(d.ID); !h.Running {
		return fmt.Errorf("%s: %s devices are not run by this appliance yet", d.Name, d.Protocol)
	}
	if (d.Role.Reader() || d.Role == device.DocumentReader) && d.Protocol != device.ISAPI {
		fmt.Fprintf(stderr, "Waiting up to %s for a read at %s (%s)…\n", timeout, d.Name, d.Port)
		if d.Protocol == device.IDCard {
			// The reader reports a card once: one already lying on it
			// was read before the wait began.
			fmt.Fprintln(stderr, "Lay a card on the reader (one already there: take it off and lay it again).")
		}
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := rt.Test(tctx, d.ID)
	if res.Beeped {
		fmt.Fprintf(env.Stdout, "%s: reader showed green and beeped\n", d.Name)
	}
	if err != nil {
		h, _ := rt.Health(d.ID)
		if h.LastError != "" {
			return fmt.Errorf("%s: %w (last error on the line: %s)", d.Name, err, h.LastError)
		}
		return fmt.Errorf("%s: %w", d.Name, err)
	}
	switch res.Did {
	case "pulsed":
		fmt.Fprintf(env.Stdout, "%s: relay pulsed for %s\n", d.Name, res.Pulse)
	case "door":
		st := "closed"
		if res.DoorOpen {
			st = "open"
		}
		fmt.Fprintf(env.Stdout, "%s: door %s\n", d.Name, st)
	case "read":
		v := res.Read.Value
		if !show {
			v = shorten(v)
		}
		fmt.Fprintf(env.Stdout, "%s: read %s %s (%d characters)\n", d.Name, res.Read.Kind, v, len(res.Read.Value))
	case "document":
		doc := res.Document
		if doc.Format == "idcard" {
			printIDCard(env.Stdout, d.Name, doc)
			return nil
		}
		fmt.Fprintf(env.Stdout, "%s: read a %s %s document from %s", d.Name, doc.Format, doc.Code, doc.Issuer)
		if doc.Problem != "" {
			fmt.Fprintf(env.Stdout, " — %s", doc.Problem)
		}
		fmt.Fprintln(env.Stdout)
	case "slots":
		printSlots(env.Stdout, a, d, res)
	case "floors":
		fmt.Fprintf(env.Stdout, "%s: %d floors released for %s, in one write\n", d.Name, res.Floors, res.Pulse)
	case "fire":
		st := "normal"
		if res.Fire {
			st = "ACTIVE (every lift floor released)"
		}
		fmt.Fprintf(env.Stdout, "%s: fire alarm input %s\n", d.Name, st)
	case "printed":
		fmt.Fprintf(env.Stdout, "%s: test slip printed\n", d.Name)
	case "signal":
		fmt.Fprintf(env.Stdout, "%s: modem answers; signal %s\n", d.Name, csq(res.Signal))
	case "terminal":
		fmt.Fprintf(env.Stdout, "%s: face terminal answers: %s\n", d.Name, res.Terminal)
	}
	return nil
}

// printSlots prints a key cabinet's slots, present or absent, each with
// the key mapped to it (if any) and where the records say that key is.
func printSlots(w io.Writer, a *appliance.App, d device.Device, res device.TestResult) {
	n := 0
	for _, p := range res.Slots {
		if p {
			n++
		}
	}
	fmt.Fprintf(w, "%s: %d of %d slots hold a key\n", d.Name, n, len(res.Slots))
	for i, p := range res.Slots {
		in := res.FirstInput + i
		st := "absent"
		if p {
			st = "present"
		}
		line := fmt.Sprintf("  input %-4d %-8s", in, st)
		if k, err := a.KeyRoom.BySensor(keys.Sensor{Device: d.ID, Input: in}); err == nil {
			line += fmt.Sprintf(" key %s (%s / %s, %s)", k.Tag, k.Cabinet, k.Slot, k.State)
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

// printIDCard prints what an ID card reader read. The ID number is masked
// always, --show or not: it is personal data, not something a test needs
// to show whole.
func printIDCard(w io.Writer, name string, doc device.Document) {
	c := doc.Card
	if c == nil {
		fmt.Fprintf(w, "%s: the card could not be read — %s\n", name, doc.Problem)
		return
	}
	fmt.Fprintf(w, "%s: read a %s card\n", name, c.Kind)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", k, v)
		}
	}
	row("name", c.Name)
	row("name (en)", c.NameEN)
	row("sex", map[string]string{"0": "unknown (0)", "1": "male (1)", "2": "female (2)", "9": "unspecified (9)"}[c.Sex])
	if c.Ethnicity != "" {
		row("ethnicity", c.Ethnic+" ("+c.Ethnicity+")")
	}
	row("nationality", c.Nationality)
	row("birth", c.Birth)
	row("address", c.Address)
	row("number", shorten(c.Number))
	row("authority", c.Authority)
	until := c.ValidTo
	if c.LongTerm {
		until = "long-term (长期)"
	}
	row("valid", c.ValidFrom+" – "+until)
	if doc.Problem != "" {
		fmt.Fprintf(w, "  problem:     %s\n", doc.Problem)
	}
}

// csq says what AT+CSQ's number means.
func csq(n int) string {
	if n < 0 || n > 31 {
		return "unknown (no network?)"
	}
	return fmt.Sprintf("%d of 31 (%d dBm)", n, -113+2*n)
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// shorten keeps the first and last characters of a read: enough to tell
// which card or code it was, not enough to copy it.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= 6 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
}

// devices is what serve runs for the devices: the driver runtime, and in
// the demo the simulators behind the demo building's ports.
type devices struct {
	run    *runner.Runner
	bench  *runner.Bench
	detach []func()
}

// startDevices starts the device runtime on a's configuration. In the demo
// it first sets up the demo lanes and their devices (idempotent) and plugs
// the simulators in under DATA/sim, recreated at every start.
func startDevices(ctx context.Context, a *appliance.App, dataDir, listen string, demoMode bool) (*devices, error) {
	d := &devices{}
	keys := device.NewReaderKeys(a.Store, a.Clock, a.Keys)
	if demoMode {
		sims := filepath.Join(dataDir, "sim")
		if err := os.MkdirAll(sims, 0o700); err != nil {
			return nil, err
		}
		if err := demo.Lanes(ctx, a, sims); err != nil {
			return nil, fmt.Errorf("demo lanes: %w", err)
		}
		ds, err := a.Devices.Here().Devices()
		if err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(sims)
		if err != nil {
			return nil, err
		}
		if d.bench, err = runner.NewBenchKeys(abs, ds, keys); err != nil {
			return nil, fmt.Errorf("demo simulators: %w", err)
		}
		// The demo face terminal speaks HTTP: its simulator gets a
		// loopback port now, and the device is pointed at it.
		for _, dev := range ds {
			if dev.Protocol != device.ISAPI || !strings.HasSuffix(dev.Name, demo.FaceTerminal) || !dev.Enabled {
				continue
			}
			pw, err := a.Keys.Open(dev.Options.Password)
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("demo face terminal: %w", err)
			}
			addr, err := d.bench.StartFace(dev, pw)
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("demo face terminal: %w", err)
			}
			dev.Port = addr
			if _, err := a.Devices.Save(ctx, "demo", dev); err != nil {
				d.Close()
				return nil, fmt.Errorf("demo face terminal: %w", err)
			}
		}
		d.detach = append(d.detach, a.Devices.AttachBench(d.bench))
	}
	// Door contacts go to the access service (forced and held-open alarms).
	// In a site of several lobbies, only this lobby's devices run here.
	// Key cabinets' slot changes go to the key room (history, the key-taken alarm).
	cfg := runner.Config{Source: a.Devices.Here(), Decider: a.Access, Lanes: a.Access, Doors: a.Access, Slots: a.KeySensors, Fire: a.Access, Clock: a.Clock, Logger: a.Log, Keys: keys,
		Observer: a.Metrics, // wire-to-relay times
		// Face terminals: who they hold, their sealed passwords, where they
		// push their events (the appliance's address, /isapi/events/...).
		Faces: a.Access, Secrets: a.Keys, EventBase: eventBase(a.Config.BaseURL, listen, demoMode), Location: a.Config.Location,
		// Visit notices go by SMS too while a modem runs.
		Reconciled: func(r *runner.Runner) { a.Notify.EnableSMS(r.HasModem()) }}
	rt, err := runner.Start(ctx, cfg)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.run = rt
	d.detach = append(d.detach, a.Devices.Attach(rt))
	a.Access.SetOpener(rt) // the guard station's manual open
	return d, nil
}

// Close stops the drivers, then the simulators.
func (d *devices) Close() {
	for _, f := range d.detach {
		f()
	}
	if d.run != nil {
		d.run.Close()
	}
	if d.bench != nil {
		d.bench.Close()
	}
}

// eventBase is where face terminals push their events: the appliance's
// public address; in the demo without one, the listen address on
// loopback, where the simulated terminal reaches it.
func eventBase(base, listen string, demoMode bool) string {
	if base != "" || !demoMode {
		return base
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
