package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/notify"
	"gatehouse/ui/i18n"
)

// heartbeat keeps proxies and the browser from giving up on a quiet
// stream; a failed write also tells the handler that the page is gone.
const heartbeat = 25 * time.Second

// missedMax is how many messages a reconnecting page is sent at most.
const missedMax = 50

// eventData is the JSON of one "notify" event.
type eventData struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Body    string    `json:"body,omitempty"`
	Link    string    `json:"link,omitempty"`
	Time    time.Time `json:"time"`
}

// writeEvent writes m in the reader's language l alone, when m has it.
func writeEvent(w io.Writer, m notify.Message, l i18n.Lang) error {
	subject, body := m.In(string(l))
	b, err := json.Marshal(eventData{Kind: m.Kind, Subject: subject, Body: body, Link: m.Link, Time: m.Created})
	if err != nil {
		return err
	}
	// JSON has no raw newlines, so the data is one line; the ID lets the
	// browser say where it was when it reconnects (Last-Event-ID).
	_, err = fmt.Fprintf(w, "id: %s\nevent: notify\ndata: %s\n\n", m.ID, b)
	return err
}

// events streams the signed-in user's in-page notifications as
// server-sent events until the page goes or the server closes. A page
// that reconnects first gets what it missed since its last event.
func (s *Server) events(c echo.Context) error {
	n, err := s.needNotifier(c)
	if err != nil {
		return err
	}
	u, l := userOf(c), langOf(c)
	sub := n.Hub().Subscribe(u.ID)
	defer sub.Close()

	w := c.Response()
	rc := http.NewResponseController(w)
	// The server's WriteTimeout is for pages; this response lasts as long
	// as the page is open. (Not every ResponseWriter has deadlines.)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a reverse proxy must not hold events back
	w.WriteHeader(http.StatusOK)
	send := func(write func() error) bool { return write() == nil && rc.Flush() == nil }
	if !send(func() error { _, err := io.WriteString(w, "retry: 5000\n\n"); return err }) {
		return nil
	}
	sent := map[string]bool{}
	if last := c.Request().Header.Get("Last-Event-ID"); last != "" {
		ms, err := n.Missed(u.ID, last, missedMax)
		if err != nil {
			s.log.Error("events: reading missed notifications", "err", err)
			return nil
		}
		for _, m := range ms {
			if !send(func() error { return writeEvent(w, m, l) }) {
				return nil
			}
			sent[m.ID] = true
		}
	}
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.Request().Context().Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case m, ok := <-sub.C:
			if !ok {
				return nil // dropped for falling behind: the browser reconnects and catches up
			}
			if sent[m.ID] {
				continue
			}
			if !send(func() error { return writeEvent(w, m, l) }) {
				return nil
			}
		case <-t.C:
			if !send(func() error { _, err := io.WriteString(w, ": ping\n\n"); return err }) {
				return nil
			}
		}
	}
}

// eventsScript shows live notifications at the top of a page. It is served
// at /events.js; the layout includes it for signed-in users.
const eventsScript = `// Gatehouse: live notifications (server-sent events from /events).
(function () {
  if (!window.EventSource) return;
  var safe = /^(\/(?!\/)|https?:\/\/)/;
  var es = new EventSource('/events');
  es.addEventListener('notify', function (e) {
    var m;
    try { m = JSON.parse(e.data); } catch (err) { return; }
    var main = document.querySelector('main');
    if (!main) return;
    var p = document.createElement('p');
    p.className = 'flash notify';
    p.setAttribute('role', 'status');
    var title = document.createElement(m.link && safe.test(m.link) ? 'a' : 'strong');
    if (title.tagName === 'A') title.href = m.link;
    title.textContent = m.subject;
    p.appendChild(title);
    if (m.body) p.appendChild(document.createTextNode(' — ' + m.body));
    main.insertBefore(p, main.firstChild);
    setTimeout(function () { p.remove(); }, 30000);
    // A page that shows what the message is about (the host's home)
    // refreshes itself on this event.
    document.dispatchEvent(new CustomEvent('gatehouse:notify', { detail: m }));
  });
})();
`

func (s *Server) eventsJS(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", []byte(eventsScript))
}
