package appliance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gatehouse/appliance/notify"
)

// A host hears of at most digestPerMinute visit requests a minute. Past
// that, requests are only counted, and once the minute is over the host
// (and the webhooks) get one digest: "N more visitors asked to visit".
// A flood of bookings can then cost a host one message a minute, not one
// per booking. Counts live in memory; a restart loses at most one digest,
// and the requests themselves are on the host's page.
const digestPerMinute = 3

type hostWindow struct {
	start time.Time
	sent  int
	held  int
}

type hostDigest struct {
	mu    sync.Mutex
	hosts map[string]*hostWindow
}

func newHostDigest() *hostDigest { return &hostDigest{hosts: map[string]*hostWindow{}} }

// admit reports whether a request notice to host may go now; if not, it
// is held for the digest.
func (d *hostDigest) admit(host string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.hosts[host]
	if w == nil {
		w = &hostWindow{start: now}
		d.hosts[host] = w
	}
	if now.Sub(w.start) >= time.Minute && w.held == 0 {
		w.start, w.sent = now, 0
	}
	if w.sent < digestPerMinute && w.held == 0 {
		w.sent++
		return true
	}
	w.held++
	return false
}

// due takes the held counts of the hosts whose minute is over.
func (d *hostDigest) due(now time.Time) map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out map[string]int
	for host, w := range d.hosts {
		if now.Sub(w.start) < time.Minute {
			continue
		}
		if w.held == 0 {
			delete(d.hosts, host)
			continue
		}
		if out == nil {
			out = map[string]int{}
		}
		out[host] = w.held
		w.start, w.sent, w.held = now, 1, 0 // the digest is this minute's first notice
	}
	return out
}

// sendDigests tells each host whose minute is over of the requests held.
func (n notices) sendDigests(ctx context.Context) {
	for host, held := range n.a.digest.due(n.a.Clock.Now()) {
		// The host's home lists them, requests first.
		digest := noteOf(notify.KindVisitRequested, "/",
			notify.Text{Subject: fmt.Sprintf("访客申请 %d 条", held), Body: fmt.Sprintf("又有 %d 位访客申请来访，请在首页审批。", held),
				SMS: fmt.Sprintf("又有%d位访客申请来访，请审批：", held)},
			notify.Text{Subject: fmt.Sprintf("%d visit requests", held), Body: fmt.Sprintf("%d more visitors asked to visit; answer them on your home page.", held),
				SMS: fmt.Sprintf("%d more visit requests. Answer:", held)})
		n.tell(ctx, n.host(host), digest, notify.Recipient{})
	}
}
