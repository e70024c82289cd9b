package access

import (
	"testing"
	"time"

	"gatehouse/appliance/pass"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")
var berlin, _ = time.LoadLocation("Europe/Berlin")

// workingHours: Monday to Friday 08:00–18:00, closed on holidays.
var workingHours = &Profile{ID: "wh", Week: [7][]Range{
	1: {{8 * 60, 18 * 60}}, 2: {{8 * 60, 18 * 60}}, 3: {{8 * 60, 18 * 60}}, 4: {{8 * 60, 18 * 60}}, 5: {{8 * 60, 18 * 60}},
}}

// nights: every day 22:00–06:00, crossing midnight.
var nights = &Profile{ID: "n", Week: [7][]Range{
	{{22 * 60, 6 * 60}}, {{22 * 60, 6 * 60}}, {{22 * 60, 6 * 60}}, {{22 * 60, 6 * 60}}, {{22 * 60, 6 * 60}}, {{22 * 60, 6 * 60}}, {{22 * 60, 6 * 60}},
}}

// base is a valid employee card at an entry reader on a Monday at 10:00.
func base() Facts {
	return Facts{
		Now: time.Date(2026, 11, 23, 10, 0, 0, 0, shanghai), LaneKnown: true, Entry: true,
		Found: true, State: Active, Profile: workingHours, Permitted: true,
	}
}

func TestDecideTable(t *testing.T) {
	at := func(y int, m time.Month, d, h, min int, loc *time.Location) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	tests := []struct {
		name  string
		edit  func(*Facts)
		grant bool
		why   Reason
		alarm Alarm
	}{
		{"grant in working hours", func(*Facts) {}, true, Granted, NoAlarm},
		{"unknown lane", func(f *Facts) { f.LaneKnown = false }, false, UnknownLane, NoAlarm},
		{"unknown credential", func(f *Facts) { f.Found = false }, false, Unknown, NoAlarm},
		{"revoked", func(f *Facts) { f.State = StateRevoked }, false, Revoked, NoAlarm},
		{"lost", func(f *Facts) { f.State = StateLost }, false, Lost, NoAlarm},
		{"suspended", func(f *Facts) { f.State = StateSuspended }, false, Suspended, NoAlarm},
		{"returned", func(f *Facts) { f.State = StateReturned }, false, Returned, NoAlarm},
		{"blacklisted holder", func(f *Facts) { f.HolderBlacklisted = true }, false, Blacklisted, AlarmBlacklisted},
		{"deactivated holder", func(f *Facts) { f.HolderDeactivated = true }, false, HolderDeactivated, NoAlarm},
		{"deactivated holder's company", func(f *Facts) { f.CompanyDeactivated = true }, false, CompanyDeactivated, NoAlarm},
		{"deactivated holder leaves", func(f *Facts) { f.HolderDeactivated, f.Entry, f.Inside = true, false, true }, true, Granted, NoAlarm},
		{"deactivated company's employee leaves", func(f *Facts) { f.CompanyDeactivated, f.Entry, f.Inside = true, false, true }, true, Granted, NoAlarm},
		{"a lost card of a deactivated holder is lost", func(f *Facts) { f.State, f.HolderDeactivated = StateLost, true }, false, Lost, NoAlarm},
		{"not yet valid", func(f *Facts) { f.NotBefore = f.Now.Add(time.Minute) }, false, NotYetValid, NoAlarm},
		{"valid from this instant", func(f *Facts) { f.NotBefore = f.Now }, true, Granted, NoAlarm},
		{"expired at the end instant", func(f *Facts) { f.NotAfter = f.Now }, false, Expired, NoAlarm},
		{"no permission for this door", func(f *Facts) { f.Permitted = false }, false, NoPermission, NoAlarm},
		{"daily limit reached", func(f *Facts) { f.LimitDay, f.UsesToday = 2, 2 }, false, UseLimit, NoAlarm},
		{"daily limit not yet reached", func(f *Facts) { f.LimitDay, f.UsesToday = 2, 1 }, true, Granted, NoAlarm},
		{"total limit reached", func(f *Facts) { f.LimitTotal, f.UsesTotal = 10, 10 }, false, UseLimit, NoAlarm},
		{"limits do not stop leaving", func(f *Facts) { f.LimitTotal, f.UsesTotal, f.Entry, f.Inside = 1, 1, false, true }, true, Granted, NoAlarm},
		{"no profile: any time", func(f *Facts) { f.Profile = nil; f.Now = at(2026, 11, 22, 3, 0, shanghai) }, true, Granted, NoAlarm},

		// Time-profile edges.
		{"07:59 is before opening", func(f *Facts) { f.Now = at(2026, 11, 23, 7, 59, shanghai) }, false, OutsideProfile, NoAlarm},
		{"08:00 opens", func(f *Facts) { f.Now = at(2026, 11, 23, 8, 0, shanghai) }, true, Granted, NoAlarm},
		{"17:59 still open", func(f *Facts) { f.Now = at(2026, 11, 23, 17, 59, shanghai) }, true, Granted, NoAlarm},
		{"18:00 closed", func(f *Facts) { f.Now = at(2026, 11, 23, 18, 0, shanghai) }, false, OutsideProfile, NoAlarm},
		{"Sunday closed", func(f *Facts) { f.Now = at(2026, 11, 22, 10, 0, shanghai) }, false, OutsideProfile, NoAlarm},
		{"holiday closed", func(f *Facts) { f.Holiday = true }, false, OutsideProfile, NoAlarm},
		{"holiday open for a holiday profile", func(f *Facts) {
			p := *workingHours
			p.Holidays = true
			f.Profile, f.Holiday = &p, true
		}, true, Granted, NoAlarm},
		{"overnight before midnight", func(f *Facts) { f.Profile, f.Now = nights, at(2026, 11, 23, 23, 30, shanghai) }, true, Granted, NoAlarm},
		{"overnight after midnight", func(f *Facts) { f.Profile, f.Now = nights, at(2026, 11, 24, 0, 30, shanghai) }, true, Granted, NoAlarm},
		{"overnight ends at 06:00", func(f *Facts) { f.Profile, f.Now = nights, at(2026, 11, 24, 6, 0, shanghai) }, false, OutsideProfile, NoAlarm},
		{"overnight midnight exactly", func(f *Facts) { f.Profile, f.Now = nights, at(2026, 11, 24, 0, 0, shanghai) }, true, Granted, NoAlarm},
		{"overnight from a holiday eve stays closed", func(f *Facts) {
			f.Profile, f.Now, f.PrevHol = nights, at(2026, 11, 24, 1, 0, shanghai), true
		}, false, OutsideProfile, NoAlarm},
		// Same instant, other zone: the profile reads the building's wall clock.
		{"instant seen in Berlin is outside hours", func(f *Facts) { f.Now = at(2026, 11, 23, 10, 0, shanghai).In(berlin) }, false, OutsideProfile, NoAlarm},
		// Daylight saving in Berlin: 29 March 2026 02:00 -> 03:00, 25 October 03:00 -> 02:00.
		{"DST spring: 03:00 wall clock after the jump", func(f *Facts) {
			f.Profile = &Profile{Week: [7][]Range{0: {{3 * 60, 4 * 60}}}}
			f.Now = time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC).In(berlin) // 03:30 CEST
		}, true, Granted, NoAlarm},
		{"DST spring: the hour before the jump", func(f *Facts) {
			f.Profile = &Profile{Week: [7][]Range{0: {{3 * 60, 4 * 60}}}}
			f.Now = time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC).In(berlin) // 01:59 CET
		}, false, OutsideProfile, NoAlarm},
		{"DST autumn: 02:30 first time", func(f *Facts) {
			f.Profile = &Profile{Week: [7][]Range{0: {{2 * 60, 3 * 60}}}}
			f.Now = time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC).In(berlin) // 02:30 CEST
		}, true, Granted, NoAlarm},
		{"DST autumn: 02:30 second time", func(f *Facts) {
			f.Profile = &Profile{Week: [7][]Range{0: {{2 * 60, 3 * 60}}}}
			f.Now = time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC).In(berlin) // 02:30 CET
		}, true, Granted, NoAlarm},
		{"DST autumn: 03:00 after the repeat", func(f *Facts) {
			f.Profile = &Profile{Week: [7][]Range{0: {{2 * 60, 3 * 60}}}}
			f.Now = time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC).In(berlin) // 03:00 CET
		}, false, OutsideProfile, NoAlarm},

		// Anti-passback.
		{"hard: second entry", func(f *Facts) { f.Passback, f.Inside = PassbackHard, true }, false, AntiPassback, AlarmPassback},
		{"hard: exit without entry", func(f *Facts) { f.Passback, f.Entry, f.Inside = PassbackHard, false, false }, false, AntiPassback, AlarmPassback},
		{"hard: exit after entry", func(f *Facts) { f.Passback, f.Entry, f.Inside = PassbackHard, false, true }, true, Granted, NoAlarm},
		{"soft: second entry let through with alarm", func(f *Facts) { f.Passback, f.Inside = PassbackSoft, true }, true, GrantedSoftBreach, AlarmPassback},
		{"off: second entry", func(f *Facts) { f.Inside = true }, true, Granted, NoAlarm},

		// Visitors' QR passes.
		{"visitor approved", func(f *Facts) { visitor(f) }, true, Granted, NoAlarm},
		{"visitor rejected raises an alarm", func(f *Facts) { visitor(f); f.VisitUsable, f.VisitRejected = false, true }, false, VisitRejected, AlarmRejected},
		{"visitor not yet approved", func(f *Facts) { visitor(f); f.VisitUsable, f.VisitPending = false, true }, false, VisitNotApproved, AlarmDeniedVisit},
		{"visitor pass cancelled or closed", func(f *Facts) { visitor(f); f.VisitUsable = false }, false, Revoked, AlarmDeniedVisit},
		{"visitor pass forged", func(f *Facts) { visitor(f); f.PassProblem = PassInvalid }, false, PassInvalid, AlarmDeniedVisit},
		{"visitor pass expired", func(f *Facts) { visitor(f); f.Pass.NotAfter = f.Now }, false, Expired, AlarmDeniedVisit},
		{"visitor pass not yet valid", func(f *Facts) { visitor(f); f.Pass.NotBefore = f.Now.Add(time.Second) }, false, NotYetValid, AlarmDeniedVisit},
		{"visitor blacklisted", func(f *Facts) { visitor(f); f.HolderBlacklisted = true }, false, Blacklisted, AlarmBlacklisted},
		{"visitor at a staff-only lane", func(f *Facts) { visitor(f); f.Permitted = false }, false, NoPermission, AlarmDeniedVisit},
		{"visitor pass replayed while inside", func(f *Facts) { visitor(f); f.Passback, f.Inside = PassbackHard, true }, false, AntiPassback, AlarmPassback},
	}
	seen := map[Reason]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			tc.edit(&f)
			d := Decide(f)
			if d.Grant != tc.grant || d.Reason != tc.why || d.Alarm != tc.alarm {
				t.Fatalf("Decide = %+v, want grant %v %s %q", d, tc.grant, tc.why, tc.alarm)
			}
			seen[d.Reason] = true
		})
	}
	for _, r := range []Reason{Granted, Unknown, Revoked, Lost, Suspended, Returned, NotYetValid, Expired, OutsideProfile,
		NoPermission, UseLimit, AntiPassback, Blacklisted, VisitNotApproved, VisitRejected, PassInvalid, UnknownLane, GrantedSoftBreach} {
		if !seen[r] {
			t.Errorf("no case reaches %s", r)
		}
	}
}

func visitor(f *Facts) {
	f.IsVisitor, f.Found, f.Profile, f.VisitUsable = true, false, nil, true
	f.Pass = pass.Claims{NotBefore: f.Now.Add(-time.Hour), NotAfter: f.Now.Add(time.Hour)}
}

// TestVisitorGrace: the site's grace widens a visitor pass's window at
// both ends, to the minute, and nothing else.
func TestVisitorGrace(t *testing.T) {
	grace := pass.Grace{Early: 30 * time.Minute, Late: 15 * time.Minute}
	tests := []struct {
		name  string
		early time.Duration // now before the window opens (negative: after it closes)
		grace pass.Grace
		grant bool
		why   Reason
	}{
		{"29 min early, grace 30", 29 * time.Minute, grace, true, Granted},
		{"30 min early, grace 30: the first instant", 30 * time.Minute, grace, true, Granted},
		{"31 min early, grace 30", 31 * time.Minute, grace, false, NotYetValid},
		{"17 min early, no grace", 17 * time.Minute, pass.Grace{}, false, NotYetValid},
		{"14 min late, grace 15", -14 * time.Minute, grace, true, Granted},
		{"15 min late, grace 15: the end instant", -15 * time.Minute, grace, false, Expired},
		{"1 min late, no grace after", -time.Minute, pass.Grace{Early: 30 * time.Minute}, false, Expired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			visitor(&f)
			if tc.early > 0 {
				f.Pass = pass.Claims{NotBefore: f.Now.Add(tc.early), NotAfter: f.Now.Add(tc.early + time.Hour)}
			} else {
				f.Pass = pass.Claims{NotBefore: f.Now.Add(tc.early - time.Hour), NotAfter: f.Now.Add(tc.early)}
			}
			f.Grace = tc.grace
			d := Decide(f)
			if d.Grant != tc.grant || d.Reason != tc.why {
				t.Fatalf("Decide = %+v, want grant %v %s", d, tc.grant, tc.why)
			}
			if !d.Grant && d.Alarm != AlarmDeniedVisit {
				t.Fatalf("a refused visitor raises %q, want %q", d.Alarm, AlarmDeniedVisit)
			}
		})
	}
}

// TestAntiPassbackSequence walks a holder through a zone with hard
// anti-passback, keeping the inside flag as the event log would.
func TestAntiPassbackSequence(t *testing.T) {
	steps := []struct {
		entry bool
		grant bool
	}{{true, true}, {true, false}, {false, true}, {false, false}, {true, true}, {false, true}}
	inside := false
	for i, st := range steps {
		f := base()
		f.Passback, f.Entry, f.Inside = PassbackHard, st.entry, inside
		d := Decide(f)
		if d.Grant != st.grant {
			t.Fatalf("step %d (entry %v, inside %v): %+v", i, st.entry, inside, d)
		}
		if d.Grant {
			inside = st.entry
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	f := base()
	f.Passback, f.LimitDay, f.UsesToday = PassbackHard, 10, 3
	for b.Loop() {
		if !Decide(f).Grant {
			b.Fatal("denied")
		}
	}
}

func TestNormalizeCard(t *testing.T) {
	tests := map[string]string{
		"04:a2:3b:1c":  "04A23B1C",
		"04-A2-3B-1C":  "04A23B1C",
		"04a23b1c":     "04A23B1C",
		"0x04A23B1C":   "04A23B1C",
		"W26:012:3456": "W:12:3456",
		"w34:1:23456":  "W:1:23456",
		"12:3456":      "W:12:3456", // a reader's FC:NUMBER
		"1:23456":      "W:1:23456", // not the UID 12:34:56
		"12:34:56":     "123456",
		"0:0":          "W:0:0",
		"12:345:6":     "",
		"123:45":       "W:123:45",
		"04A":          "",
		"hello":        "",
		"":             "",
		"04:A2":        "W:4:2" + "",
	}
	delete(tests, "04:A2") // two hex-looking bytes with a letter are neither
	if got := NormalizeCard("04:A2"); got != "" {
		t.Errorf("NormalizeCard(04:A2) = %q", got)
	}
	for in, want := range tests {
		if got := NormalizeCard(in); got != want {
			t.Errorf("NormalizeCard(%q) = %q, want %q", in, got, want)
		}
	}
	if NormalizeCard("12:3456") == NormalizeCard("1:23456") {
		t.Error("two Wiegand cards share a spelling")
	}
}
