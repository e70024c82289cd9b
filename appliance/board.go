package appliance

import (
	"context"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
)

// board tells the message centre who is in an audience: accounts by role
// (employees are host accounts; property staff the administrators,
// managers and receptionists), visitors by today's visits that are
// expected or inside.
type board struct{ a *App }

// Audience implements notice.People.
func (b board) Audience(_ context.Context, aud notice.Audience) ([]notify.Recipient, error) {
	var out []notify.Recipient
	if aud == notice.Employees || aud == notice.Staff || aud == notice.Everyone {
		as, err := b.a.Auth.Accounts()
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if a.Disabled {
				continue
			}
			if AudienceOf(a.Role) == aud || aud == notice.Everyone {
				out = append(out, notify.Recipient{AccountID: a.ID})
			}
		}
	}
	if aud == notice.Visitors || aud == notice.Everyone {
		vs, err := b.TodaysVisitors()
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, v := range vs {
			phone, err := b.a.Visits.Mobile(v)
			if err != nil || phone == "" || seen[phone] {
				continue
			}
			seen[phone] = true
			out = append(out, notify.Recipient{Phone: phone})
		}
	}
	return out, nil
}

// TodaysVisitors are today's visits (site time) still expected or inside.
func (b board) TodaysVisitors() ([]visit.Visit, error) {
	vs, err := b.a.Visits.Day(b.a.Clock.Now(), b.a.Config.Location)
	if err != nil {
		return nil, err
	}
	out := vs[:0]
	for _, v := range vs {
		if v.State == visit.Requested || v.State == visit.Approved || v.State == visit.In {
			out = append(out, v)
		}
	}
	return out, nil
}

// TodaysVisitors lists today's visits that a message can still reach.
func (a *App) TodaysVisitors() ([]visit.Visit, error) { return board{a}.TodaysVisitors() }

// AudienceOf is the audience an account's holder belongs to.
func AudienceOf(r auth.Role) notice.Audience {
	if r == auth.Host {
		return notice.Employees
	}
	return notice.Staff
}
