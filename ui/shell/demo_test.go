package shell

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/ui/i18n"
)

// TestDemoHistoryOnlyOnANewDirectory: serve --demo on a new directory
// writes the building with four weeks of history and then runs on the
// machine's clock; on the same directory again it adds nothing; then
// audit verify passes.
func TestDemoHistoryOnlyOnANewDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gatehouse-demo")
	env := func(out *bytes.Buffer) Env {
		return Env{Stdout: out, Stderr: out, Environ: []string{"GATEHOUSE_TIME_ZONE=Asia/Shanghai"}}
	}
	c := common{data: dir, lang: i18n.EN}
	ctx := context.Background()

	var out bytes.Buffer
	a, err := openDemo(ctx, c, env(&out), appliance.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(out.String()))
	if !strings.Contains(out.String(), "Four weeks of history written in") || !strings.Contains(out.String(), "demo-admin-pass") {
		t.Fatalf("first start said %q", out.String())
	}
	if d := time.Since(a.Clock.Now()); d < 0 || d > time.Minute {
		t.Fatalf("after the history the clock is %v off the machine's", d)
	}
	// The history's gate events reach the store from the lobby's journal
	// in batches; the last batch may still be on its way (under load it
	// was, and the second start shipped it: one entry more).
	if err := a.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := a.VerifyAudit()
	if err != nil || first < 1000 {
		t.Fatalf("audit after the history: %d entries, %v", first, err)
	}
	a.Close()

	out.Reset()
	if a, err = openDemo(ctx, c, env(&out), appliance.OpenOptions{}); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if !strings.Contains(out.String(), "already set up") || strings.Contains(out.String(), "history written") {
		t.Fatalf("second start said %q", out.String())
	}
	if n, err := a.VerifyAudit(); err != nil || n != first {
		t.Fatalf("audit after the second start: %d entries (first %d), %v", n, first, err)
	}
	a.Close()
	if code, out, errs := run(t, "", "audit", "verify", "--data", dir); code != 0 {
		t.Fatalf("audit verify = %d %q %q", code, out, errs)
	}
}
