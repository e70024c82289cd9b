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
	"gatehouse/ui"
)

func serve(args []string, env Env) error {
	var c common
	fs := newFlags("serve", env)
	c.register(fs, env, "./gatehouse-data")
	listen := fs.String("listen", ":8080", "address to listen on")
	demoMode := fs.Bool("demo", false, "start on a demo building (own data directory unless --data is given)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *demoMode && !flagGiven(fs, "data") {
		c.data = "./gatehouse-demo" // never the building's own data
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var a *appliance.App
	var err error
	if *demoMode {
		a, err = openDemo(ctx, c, env)
	} else {
		a, err = c.openOrCreate(ctx, env)
	}
	if err != nil {
		return err
	}
	defer a.Close()

	// The console is the one place a password may be written: the operator
	// needs it to sign in for the first time. It never goes to the log.
	// (The demo's accounts were printed by openDemo.)
	if !*demoMode {
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
	devs, err := startDevices(ctx, a, c.data, *demoMode)
	if err != nil {
		return err
	}
	defer devs.Close()
	if *demoMode {
		fmt.Fprintln(env.Stdout, "Two simulated gate lanes (QR scanners, card readers, an OSDP reader on the secure channel), a receipt printer and an SMS modem run on pseudo-terminals: sign in as admin and open /admin/devices/sim.")
	}

	srv := ui.New(a, ui.Options{SecureCookies: a.Config.TLSCert != ""})
	defer srv.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); a.Run(runCtx) }()
	defer func() { stopRun(); <-ran }()
	// The notification outbox's worker: email, webhooks, live pages, SMS.
	// SMS go to the modem the device runtime runs when each is sent.
	worker := notify.NewWorker(a.Notify, notify.WorkerOptions{SMS: devs.run.SMS(), Observer: a.Metrics})
	sent := make(chan struct{})
	go func() { defer close(sent); _ = worker.Run(runCtx) }()
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
