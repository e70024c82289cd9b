package appliance

import (
	"context"

	"gatehouse/appliance/access"
	"gatehouse/appliance/keys"
)

// keyTaken raises the guard station's alarm for a key a cabinet's sensor
// saw leave its slot with no open checkout, through the access service's
// alarm command like every alarm a device raises. The alarm's name is the
// key's tag and where it is kept, so the guard knows which slot to look at.
type keyTaken struct{ a *App }

// KeyTaken implements keys.KeyTaken.
func (t keyTaken) KeyTaken(ctx context.Context, k keys.Key, cabinet string) error {
	return t.a.Access.Raise(ctx, "device:"+cabinet, access.AlarmKeyTaken, "", k.Tag+" · "+k.Cabinet+" / "+k.Slot)
}
