package shell

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/store"
	"gatehouse/cluster"
	"gatehouse/ui"
)

func serve(args []string, env Env) error {
	var c common
	fs := newFlags("serve", env)
	c.register(fs, env, "./gatehouse-data")
	listen := fs.String("listen", ":8080", "address to listen on")
	demoMode := fs.Bool("demo", false, "start on a demo building (own data directory unless --data is given)")
	witness := fs.Bool("witness", false, "run as the site's witness: a voter with no pages and no devices")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if l, _, _, err := cluster.Load(c.data); err == nil && l.Witness {
		*witness = true
	} else if *witness {
		return errors.New("this data directory is not a witness: join the site with `gatehouse cluster join ... --witness` first")
	}
	setMemoryLimit()
	if *witness {
		return serveWitness(c, env)
	}
	if *demoMode && !flagGiven(fs, "data") {
		c.data = "./gatehouse-demo" // never the building's own data
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// A node of a site of several lobbies starts Raft as soon as the
	// store is open, before anything is written (cluster/DESIGN.md).
	var node *cluster.Node
	var opts appliance.OpenOptions
	if cluster.Member(c.data) {
		opts.Replicate = func(st *store.Store) error {
			n, err := cluster.StartLocal(c.data, st, logger(env.Stderr), nil)
			if err != nil {
				return err
			}
			node = n
			fmt.Fprintf(env.Stdout, "Node %s of a site of several lobbies; the other lobbies reach it at %s.\n", n.ID(), n.Address())
			if err := n.WaitReady(ctx, 15*time.Second); err != nil {
				fmt.Fprintln(env.Stdout, "The rest of the site cannot be reached: serving from this lobby's copy; changes are refused until it can.")
			}
			return nil
		}
	}
	var a *appliance.App
	var err error
	if *demoMode {
		a, err = openDemo(ctx, c, env, opts)
	} else {
		a, err = c.openWith(ctx, env, opts)
	}
	if err != nil {
		if node != nil {
			_ = node.Close()
		}
		return err
	}
	defer a.Close()
	if node != nil {
		defer node.Close() // before the store closes
		a.SiteWide = node.IsLeader
		a.Access.SetLobby(node.ID())
		a.Devices.SetLobby(node.ID(), node.Founder())
	}

	// The console is the one place a password may be written: the operator
	// needs it to sign in for the first time. It never goes to the log.
	// (The demo's accounts were printed by openDemo; a joined node has the
	// site's accounts.)
	if !*demoMode && (node == nil || node.Founder()) {
		user, path, err := a.Bootstrap(ctx)
		if err != nil {
			return err
		}
		if path != "" {
			// Not the password itself: under systemd the console is the journal.
			fmt.Fprintf(env.Stdout, "\nFirst start: created administrator %q. Its one-time password is in\n\n    %s\n\n"+
				"(readable by root and the service's account only; e.g. sudo cat %s). Sign in at /login and choose\n"+
				"your own password; the file is removed at that first sign-in.\n\n", user, path, path)
		}
	}

	// The device runtime (and in the demo the simulators), started before
	// the pages so they find it; stopped before the store closes.
	devs, err := startDevices(ctx, a, c.data, *listen, *demoMode)
	if err != nil {
		return err
	}
	defer devs.Close()
	if *demoMode {
		fmt.Fprintln(env.Stdout, "Two simulated gate lanes (QR scanners, card readers, an OSDP reader on the secure channel, a face terminal on loopback HTTP), a receipt printer and an SMS modem run on pseudo-terminals: sign in as admin and open /admin/devices/sim.")
	}

	srv := ui.New(a, ui.Options{SecureCookies: a.Config.TLSCert != ""})
	defer srv.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); a.Run(runCtx) }()
	defer func() { stopRun(); <-ran }()
	// The notification outbox's worker: email, webhooks, live pages, SMS.
	// SMS go to the modem the device runtime runs when each is sent.
	wo := notify.WorkerOptions{SMS: devs.run.SMS(), Observer: a.Metrics}
	if node != nil {
		// Each attempt's sending mark names this lobby, and nothing leaves
		// once it no longer leads (appliance/notify/DESIGN.md, "Sending marks").
		wo.Node, wo.Leading = node.ID(), node.IsLeader
	}
	worker := notify.NewWorker(a.Notify, wo)
	// In a site only the leader sends, so each message goes once.
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		whileLeading(runCtx, node, func(ctx context.Context) { _ = worker.Run(ctx) })
	}()
	defer func() { stopRun(); <-sent }()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // imports upload up to 20 MB over slow Wi-Fi
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// Open live streams (guard station, notifications) end when the server closes.
	hs.RegisterOnShutdown(srv.Close)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	a.Log.Info("gatehouse serving", "version", appliance.Version, "listen", ln.Addr().String(), "data", c.data,
		"site", a.Config.SiteName, "tls", a.Config.TLSCert != "")
	scheme := "http"
	if a.Config.TLSCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(env.Stdout, "Listening on %s://%s\n", scheme, displayAddr(ln.Addr()))
	errc := make(chan error, 1)
	go func() {
		if a.Config.TLSCert != "" {
			errc <- hs.ServeTLS(ln, a.Config.TLSCert, a.Config.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		a.Log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}
	return nil
}

// serveWitness runs a site's witness: Raft over a copy of the site's
// records (sealed: a witness holds no site key), no pages, no devices, no
// timed rules. It is the third voter that lets a two-lobby site lose
// either lobby.
func serveWitness(c common, env Env) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := logger(env.Stderr)
	st, err := store.Open(store.Options{Dir: c.data, Logger: log})
	if err != nil {
		return fmt.Errorf("%w (%s)", err, c.lang.T("cli.store_busy"))
	}
	defer st.Close()
	appliance.RegisterCommands(st)
	node, err := cluster.StartLocal(c.data, st, log, nil)
	if err != nil {
		return err
	}
	defer node.Close()
	fmt.Fprintf(env.Stdout, "Witness %s of the site, at %s: it votes and keeps the site's records (sealed); it serves no pages and runs no devices.\n",
		node.ID(), node.Address())
	<-ctx.Done()
	return nil
}

// whileLeading runs job while this appliance runs the site's shared work:
// always on a single appliance; on a node of a site, while it leads (the
// job's context ends when it stops leading).
func whileLeading(ctx context.Context, node *cluster.Node, job func(context.Context)) {
	if node == nil {
		job(ctx)
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if node.IsLeader() {
			jctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); job(jctx) }()
			for node.IsLeader() && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-t.C:
				}
			}
			cancel()
			<-done
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if ok && ta.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", ta.Port)
	}
	return a.String()
}
