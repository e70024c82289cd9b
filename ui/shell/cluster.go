package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"gatehouse/cluster"
)

// clusterCmd forms and inspects a site of several lobbies
// (cluster/DESIGN.md). init and join run while the service is stopped
// (they write the node's files); token, status and remove ask the running
// node, over its cluster port with its own certificate.
func clusterCmd(args []string, env Env) error {
	if len(args) == 0 {
		return usagef("cluster: init, token, join, status or remove")
	}
	ctx := context.Background()
	var c common
	fs := newFlags("cluster "+args[0], env)
	c.register(fs, env, "./gatehouse-data")
	var id, bind, advertise, token string
	var ttl time.Duration
	var nonVoter, witness bool
	switch args[0] {
	case "init", "join":
		fs.StringVar(&id, "id", "", "this appliance's name in the site, e.g. north-lobby")
		fs.StringVar(&advertise, "advertise", "", "host:port the other lobbies reach this appliance's cluster port at")
		fs.StringVar(&bind, "bind", "", "host:port the cluster port listens on (default: the advertised port on every address)")
		if args[0] == "join" {
			fs.StringVar(&token, "token", "", "the join token `gatehouse cluster token` printed on a node of the site")
			fs.BoolVar(&witness, "witness", false, "join as the site's witness: a voter with no pages and no devices, and no site key")
		}
	case "token":
		fs.DurationVar(&ttl, "ttl", cluster.TokenTTL, "how long the token is valid")
		fs.BoolVar(&nonVoter, "non-voter", false, "the joining node replicates but does not vote")
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if bind == "" && advertise != "" {
		if i := strings.LastIndex(advertise, ":"); i >= 0 {
			bind = ":" + advertise[i+1:]
		}
	}
	switch args[0] {
	case "init":
		if id == "" || advertise == "" {
			return usagef("cluster init --id NAME --advertise HOST:PORT")
		}
		if st, err := os.Stat(c.data); err != nil || !st.IsDir() {
			return errors.New(c.lang.T("cli.no_data", c.data, packageData))
		}
		if _, err := cluster.Init(c.data, id, bind, advertise, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is now the first appliance of a site of several lobbies, named %q.\n"+
			"Start the service; then issue a join token for each other lobby with `gatehouse cluster token`.\n", c.data, id)
	case "join":
		if len(pos) != 1 || id == "" || advertise == "" || token == "" {
			return usagef("cluster join ADDR --token TOKEN --id NAME --advertise HOST:PORT --data NEWDIR")
		}
		if _, err := cluster.Join(ctx, c.data, cluster.JoinOptions{Addr: pos[0], Token: token, ID: id, Bind: bind, Advertise: advertise, Witness: witness}); err != nil {
			return err
		}
		if witness {
			fmt.Fprintf(env.Stdout, "Joined the site as its witness %q. Start it with `gatehouse serve --data %s` (it serves no pages).\n", id, c.data)
		} else {
			fmt.Fprintf(env.Stdout, "Joined the site as %q. Start the service on %s: it receives the site's data and carries on with the others.\n", id, c.data)
		}
	case "token":
		tok, exp, err := cluster.RequestToken(ctx, c.data, strings.TrimPrefix(shellActor(), "shell:"), ttl, !nonVoter)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "join token, single use, valid until %s:\n", exp.Format("2006-01-02 15:04"))
		fmt.Fprintln(env.Stdout, tok)
	case "status":
		st, err := cluster.LocalStatus(ctx, c.data)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "node %s: %s, applied %d of %d committed; leader %s\n", st.Node, st.State, st.AppliedIndex, st.CommitIndex, orNone(st.Leader))
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tADDRESS\tVOTER\tROLE")
		for _, m := range st.Members {
			role := "follower"
			if m.Leader {
				role = "leader"
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", m.ID, m.Address, m.Voter, role)
		}
		return tw.Flush()
	case "remove":
		if len(pos) != 1 {
			return usagef("cluster remove NAME")
		}
		if err := cluster.RemoveNode(ctx, c.data, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s removed from the site.\n", pos[0])
	default:
		return usagef("cluster: unknown subcommand %q", args[0])
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none (no quorum)"
	}
	return s
}
