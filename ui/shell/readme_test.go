package shell

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gatehouse/appliance"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
)

// readmeShellExamples returns the command lines of the README's shell
// section: the indented lines after "Shell commands." up to the next
// paragraph, comments removed.
func readmeShellExamples(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "Shell commands.")
	if i < 0 {
		t.Fatal("README has no shell section")
	}
	var out []string
	inBlock := false
	for _, line := range strings.Split(s[i:], "\n") {
		if strings.HasPrefix(line, "    ") {
			inBlock = true
			cmd := strings.TrimSpace(line)
			if c := strings.Index(cmd, "  #"); c >= 0 {
				cmd = strings.TrimSpace(cmd[:c])
			}
			if cmd != "" && !strings.HasPrefix(cmd, "#") {
				out = append(out, cmd)
			}
		} else if inBlock && strings.TrimSpace(line) != "" {
			break
		}
	}
	return out
}

// words splits a command line as a shell would, for the quoting the README
// uses ("..." and '...').
func words(line string) []string {
	var out []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// TestReadmeShellExamples runs every line of the README's shell section,
// as written, against a throwaway data directory: "ID" and "NAME" stand for
// what the lines before printed. Only "devices test NAME" may fail (there
// is no device here), and then with a sentence, not a usage error.
func TestReadmeShellExamples(t *testing.T) {
	lines := readmeShellExamples(t)
	if len(lines) < 10 {
		t.Fatalf("only %d example lines found in the README", len(lines))
	}
	d := t.TempDir()
	// What the import example needs, set up as the Directory pages would.
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(context.Background(), d, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, _ := a.Directory.SaveFloor(ctx, "test", directory.Floor{Name: "5F", Level: 5})
	if _, err := a.Directory.SaveCompany(ctx, "test", directory.Company{Name: "Star Tech", FloorIDs: []string{f.ID}}); err != nil {
		t.Fatal(err)
	}
	a.Close()

	tokenID := regexp.MustCompile(`(?m)^([0-9a-z]{16})\s`)
	id := ""
	for _, line := range lines {
		stdin := ""
		if pre, rest, ok := strings.Cut(line, " | "); ok {
			w := words(pre)
			if len(w) < 2 || w[0] != "echo" {
				t.Fatalf("README line %q: only echo may feed a command", line)
			}
			stdin, line = strings.Join(w[1:], " ")+"\n", rest
		}
		w := words(line)
		if len(w) == 0 || w[0] != "gatehouse" {
			t.Fatalf("README line %q does not start with gatehouse", line)
		}
		args := w[1:]
		for i, a := range args {
			switch a {
			case "ID":
				args[i] = id
			case "docs/employees-example.csv":
				args[i] = filepath.Join("..", "..", a)
			}
		}
		if args[0] != "version" {
			args = append(args, "--data", d)
		}
		code, out, errs := run(t, stdin, args...)
		if m := tokenID.FindStringSubmatch(out); m != nil && args[0] == "token" && args[1] == "list" {
			id = m[1]
		}
		switch {
		case code == 0:
		case len(args) > 1 && args[0] == "devices" && args[1] == "test" && code == 1 && strings.Contains(errs, "NAME"):
		default:
			t.Errorf("README line %q = exit %d\n%s%s", line, code, out, errs)
		}
	}
}

// TestCommandsRefuseAMissingDataDirectory: a mistyped --data is refused in
// a sentence that names the directory and the flag (in the terminal's
// language), and no new empty appliance is made there. A --config that does
// not exist is refused too.
func TestCommandsRefuseAMissingDataDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	code, _, errs := run(t, "", "user", "list", "--data", missing)
	if code != 1 || !strings.Contains(errs, missing) || !strings.Contains(errs, "--data") {
		t.Fatalf("missing data directory = %d %q", code, errs)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a command made the missing data directory")
	}
	var out, zh strings.Builder
	c := Main([]string{"audit", "verify", "--data", missing}, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &zh,
		Environ: []string{"LANG=zh_CN.UTF-8"}})
	if c != 1 || !strings.Contains(zh.String(), "没有数据目录") {
		t.Fatalf("in Chinese = %d %q", c, zh.String())
	}
	d := t.TempDir()
	code, _, errs = run(t, "", "user", "list", "--data", d, "--config", "/nonexistent.toml")
	if code != 1 || !strings.Contains(errs, "/nonexistent.toml") {
		t.Fatalf("missing config file = %d %q", code, errs)
	}
}
