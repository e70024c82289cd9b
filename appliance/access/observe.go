package access

import (
	"time"

	"gatehouse/appliance/gate"
)

// Observer hears of every decision Decide makes, for the appliance's
// metrics: the lane, the answer (Reason "error" with a non-nil err when the
// decision failed), and how long Decide took — gathering the facts,
// deciding, and the synced event command, which is most of it. It is
// called on the lane's goroutine before the lane opens, so it must be
// quick and must not allocate per call.
type Observer interface {
	Decided(lane string, a gate.Action, err error, took time.Duration)
}

// SetObserver sets the decisions' observer; call it before the gates run.
func (s *Service) SetObserver(o Observer) { s.obs = o }
