package appliance

import (
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/visit"
)

// TestPassNoteCarriesTheMessageAndDirectionsInTheEmail: the host's
// invitation message and the site's directions are in the pass e-mail's
// body in the visitor's language, and not in its SMS, which keeps its parts.
func TestPassNoteCarriesTheMessageAndDirectionsInTheEmail(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	if _, err := a.SaveSettings(ctx, "test", map[string]string{"map_directions": "North gate, lift B to 8F"}); err != nil {
		t.Fatal(err)
	}
	p, _ := testHost(t, a)
	now := clk.Now()
	v, _, err := a.Visits.Invite(ctx, "test", visit.Request{Name: "Maria Garcia", Mobile: "13900139005", HostID: p.ID,
		Reason: "Meeting", Message: "Bring the signed contract, please.", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour), Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	note := notices{a}.passNote(v)
	for lang, want := range map[string][]string{"en": {"A message from your host: Bring the signed contract", "Finding your way: North gate"},
		"zh": {"被访人留言：Bring the signed contract", "到访指引：North gate"}} {
		txt := note.Langs[lang]
		for _, w := range want {
			if !strings.Contains(txt.Body, w) {
				t.Errorf("%s e-mail body %q lacks %q", lang, txt.Body, w)
			}
		}
		if strings.Contains(txt.SMS, "contract") || strings.Contains(txt.SMS, "North gate") {
			t.Errorf("%s SMS %q carries the message or directions", lang, txt.SMS)
		}
	}
	v.Message = ""
	if b := (notices{a}).passNote(v).Langs["en"].Body; strings.Contains(b, "message from your host") {
		t.Errorf("a visit without a message: body %q", b)
	}
}
