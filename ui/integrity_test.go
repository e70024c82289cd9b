package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/store"

	"gatehouse/appliance/store/storetest"
)

// openIntegrityApp opens the appliance on dir with a test command that
// writes n random blobs of size bytes: big ones land in the value log,
// small ones in the tables over many blocks.
func openIntegrityApp(t *testing.T, dir string) *appliance.App {
	t.Helper()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	app, err := appliance.Open(context.Background(), dir, cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	app.Store.Register("test.blob", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var b struct{ ID, Data string }
		if err := cmd.Decode(&b); err != nil {
			return store.Effect{}, err
		}
		return store.Effect{Subject: "blob:" + b.ID}, tx.Set(store.Key(store.KindNoticeImage, b.ID), []byte(b.Data))
	})
	return app
}

func writeBlobs(t *testing.T, app *appliance.App, n, size int) {
	t.Helper()
	for i := 0; i < n; i++ {
		raw := make([]byte, size/2)
		rand.Read(raw)
		p := struct{ ID, Data string }{store.NewID(time.Now()), hex.EncodeToString(raw)}
		if _, err := store.Issue(context.Background(), app.Store, "test.blob", "test", time.Now(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// A flipped byte in a table file or in the value log: /healthz answers 503
// with the file and the cure, every page the administrator opens says so,
// and the guard station has the alarm.
func TestCorruptStoreIsLoud(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, size int
		pattern string
		offset  int64
	}{
		{"value log", 6, 4 << 10, "*.vlog", storetest.Middle},
		{"table", 400, 600, "*.sst", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			app := openIntegrityApp(t, dir)
			ctx := context.Background()
			admin, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: "boss", Name: "Boss", Role: auth.Admin, Password: "password-admin-1"})
			if err != nil {
				t.Fatal(err)
			}
			guard, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: "desk", Name: "Desk", Role: auth.Reception, Password: "password-desk-1"})
			if err != nil {
				t.Fatal(err)
			}
			writeBlobs(t, app, tc.n, tc.size)
			app.Close()
			file := storetest.Flip(t, dir, tc.pattern, tc.offset)

			app = openIntegrityApp(t, dir)
			srv := New(app, Options{})
			ts := httptest.NewServer(srv.Handler())
			defer func() { ts.Close(); srv.Close(); app.Close() }()

			// Run checks the tables at start (a bad table is found there; a
			// bad newest value log already at open) and raises the guard
			// station's alarm, once.
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); app.Run(runCtx) }()
			var found bool
			for deadline := time.Now().Add(5 * time.Second); !found && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				as, err := app.Access.Alarms(true, 10)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range as {
					found = found || a.Kind == access.AlarmStoreCorrupt && a.Name == file
				}
			}
			stop()
			<-done
			if !found {
				t.Fatal("no store_corrupt alarm on the guard station")
			}

			resp, err := http.Get(ts.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || body["status"] != "corrupt" ||
				!strings.Contains(body["reason"], file) || !strings.Contains(body["reason"], "gatehouse restore") {
				t.Fatalf("/healthz = %d %v, want 503 naming %s and the cure", resp.StatusCode, body, file)
			}

			get := func(accountID, path string) string {
				ss := srv.testSession(accountID, app.Clock.Now())
				rq, _ := http.NewRequest("GET", ts.URL+path, nil)
				rq.AddCookie(&http.Cookie{Name: sessionCookie, Value: ss.id})
				resp, err := http.DefaultClient.Do(rq)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return string(b)
			}
			if page := get(admin.ID, "/"); !strings.Contains(page, `id="store-corrupt"`) || !strings.Contains(page, file) {
				t.Fatalf("the administrator's home page does not say the store is corrupt:\n%s", truncate(page))
			}
			if page := get(guard.ID, "/"); strings.Contains(page, `id="store-corrupt"`) {
				t.Fatal("the banner is for the administrator, who can restore a backup")
			}

			if page := get(admin.ID, "/guard"); !strings.Contains(page, "Data store damaged") && !strings.Contains(page, "数据存储损坏") {
				t.Fatalf("the guard station does not show the alarm:\n%s", truncate(page))
			}
		})
	}
}

// The audit page's second button checks the records too, and names the
// account whose role was changed directly in Badger.
func TestAuditPageDeepVerifyNamesAnEditedAccount(t *testing.T) {
	dir := t.TempDir()
	app := openIntegrityApp(t, dir)
	ctx := context.Background()
	admin, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: "boss", Name: "Boss", Role: auth.Admin, Password: "password-admin-1"})
	if err != nil {
		t.Fatal(err)
	}
	desk, err := app.Auth.CreateAccount(ctx, "test", auth.NewAccount{Username: "desk", Name: "Desk", Role: auth.Reception, Password: "password-desk-1"})
	if err != nil {
		t.Fatal(err)
	}
	app.Close()

	db, err := badger.Open(badger.DefaultOptions(dir).WithCompression(options.ZSTD).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		k := store.Key(store.KindAccount, desk.ID)
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		v, _ := it.ValueCopy(nil)
		return txn.Set(k, bytes.Replace(v, []byte(`"role":"reception"`), []byte(`"role":"admin"`), 1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	app = openIntegrityApp(t, dir)
	srv := New(app, Options{})
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close(); app.Close() }()
	if got, _ := app.Auth.Account(desk.ID); got.Role != auth.Admin {
		t.Fatalf("the edit did not take: %s", got.Role)
	}
	post := func(form url.Values) string {
		ss := srv.testSession(admin.ID, app.Clock.Now())
		form.Set("_csrf", srv.csrfFor(ss.id, ""))
		rq, _ := http.NewRequest("POST", ts.URL+"/admin/audit/verify", strings.NewReader(form.Encode()))
		rq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rq.AddCookie(&http.Cookie{Name: sessionCookie, Value: ss.id})
		resp, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if page := post(url.Values{}); !strings.Contains(page, `class="ok" id="verify-result"`) {
		t.Fatalf("the chain alone should verify:\n%s", truncate(page))
	}
	page := post(url.Values{"deep": {"1"}})
	if !strings.Contains(page, `class="alert" id="verify-result"`) || !strings.Contains(page, "account "+desk.ID+": changed outside the command path") {
		t.Fatalf("deep verify does not name account %s:\n%s", desk.ID, truncate(page))
	}
}
