package shell

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gatehouse/appliance"
	"gatehouse/cluster"
)

// demoSite starts a site of three lobbies on this machine — north, south
// and east, each a real `gatehouse serve --demo` process with its own data
// directory, web port and simulated lanes — so that a newcomer can kill one
// and watch the others carry on. The first run builds the demo building
// on north (with its history), makes it the site's first node and joins
// the two others; later runs start the same three again.
func demoSite(args []string, env Env) error {
	fs := newFlags("demo-site", env)
	dir := fs.String("dir", "./gatehouse-demo-site", "where the three lobbies keep their data")
	web := fs.Int("port", 8081, "web port of the first lobby; the others follow")
	raftPort := fs.Int("cluster-port", 7401, "cluster port of the first lobby; the others follow")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	base, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	type lobby struct {
		name, data, web, peer string
		cmd                   *exec.Cmd
		exited                chan struct{} // closed when the process has ended
	}
	var lobbies []*lobby
	for i, name := range []string{"north", "south", "east"} {
		lobbies = append(lobbies, &lobby{name: name, data: filepath.Join(base, name),
			web: fmt.Sprintf("127.0.0.1:%d", *web+i), peer: fmt.Sprintf("127.0.0.1:%d", *raftPort+i)})
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	start := func(l *lobby) error {
		logf, err := os.OpenFile(filepath.Join(base, l.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		l.cmd = exec.Command(exe, "serve", "--demo", "--data", l.data, "--listen", l.web)
		l.cmd.Stdout, l.cmd.Stderr = logf, logf
		if err := l.cmd.Start(); err != nil {
			logf.Close()
			return err
		}
		l.exited = make(chan struct{})
		go func() { _ = l.cmd.Wait(); logf.Close(); close(l.exited) }()
		// Up when its health check answers (the first start writes the
		// demo building's history: give it a minute).
		deadline := time.Now().Add(2 * time.Minute)
		for {
			resp, err := http.Get("http://" + l.web + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
			select {
			case <-l.exited:
				return fmt.Errorf("lobby %s ended: see %s", l.name, filepath.Join(base, l.name+".log"))
			default:
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("lobby %s did not start: see %s", l.name, filepath.Join(base, l.name+".log"))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	stopAll := func() {
		for _, l := range lobbies {
			if l.exited != nil {
				_ = l.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, l := range lobbies {
			if l.exited == nil {
				continue
			}
			select {
			case <-l.exited:
			case <-time.After(20 * time.Second):
				_ = l.cmd.Process.Kill()
				<-l.exited
			}
		}
	}
	defer stopAll()

	if err := os.MkdirAll(base, 0o700); err != nil {
		return err
	}
	north := lobbies[0]
	if !cluster.Member(north.data) {
		fmt.Fprintf(env.Stdout, "Forming a demo site of three lobbies in %s …\n", base)
		// The demo building with its history, as `serve --demo` writes it on
		// a single appliance; that appliance then founds the site.
		a, err := openDemo(ctx, common{data: north.data, lang: terminalLang(env)}, env, appliance.OpenOptions{})
		if err != nil {
			return err
		}
		if err := a.Close(); err != nil {
			return err
		}
		if _, err := cluster.Init(north.data, north.name, north.peer, north.peer, time.Now()); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "Starting lobby %s …\n", north.name)
	if err := start(north); err != nil {
		return err
	}
	for _, l := range lobbies[1:] {
		if !cluster.Member(l.data) {
			tok, _, err := cluster.RequestToken(ctx, north.data, "demo-site", time.Hour, true)
			if err != nil {
				return fmt.Errorf("join token for %s: %w", l.name, err)
			}
			if _, err := cluster.Join(ctx, l.data, cluster.JoinOptions{Addr: north.peer, Token: tok, ID: l.name, Bind: l.peer, Advertise: l.peer}); err != nil {
				return fmt.Errorf("joining %s: %w", l.name, err)
			}
		}
		fmt.Fprintf(env.Stdout, "Starting lobby %s …\n", l.name)
		if err := start(l); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintln(&b, "\nThe demo site runs. Sign in on any lobby as admin / demo-admin-pass (guard: guard / demo-guard-pass):")
	for _, l := range lobbies {
		fmt.Fprintf(&b, "  %-6s http://%s   process %d   (kill -9 %d to take the lobby away)\n", l.name, l.web, l.cmd.Process.Pid, l.cmd.Process.Pid)
	}
	fmt.Fprintln(&b, "Each lobby's simulated lanes are at /admin/devices/sim, the site at /admin/cluster, logs in "+base+".")
	fmt.Fprintln(&b, "Kill one lobby: the other two elect a leader and go on; its gates would go on deciding alone. Ctrl-C stops all three.")
	fmt.Fprint(env.Stdout, b.String())
	<-ctx.Done()
	fmt.Fprintln(env.Stdout, "Stopping the demo site …")
	return nil
}
