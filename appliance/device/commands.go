package device

import (
	"encoding/json"
	"errors"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdSave   = "device.save"
	CmdDelete = "device.delete"
)

// Register installs the device command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdSave, applySave)
	reg.Register(CmdDelete, applyDelete)
	reg.Register(CmdKey, applyKey)
}

func nameKey(name string) []byte { return store.Key(store.KindDeviceByName, strings.ToLower(name)) }

func get(r *store.Reader, id string) (Device, error) {
	var d Device
	if !store.ValidID(id) {
		return d, ErrNotFound
	}
	err := r.GetJSON(store.Key(store.KindDevice, id), &d)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return d, err
}

func all(r *store.Reader) ([]Device, error) {
	var out []Device
	err := r.Scan(store.Prefix(store.KindDevice), store.ScanOptions{}, func(_, v []byte) (bool, error) {
		var d Device
		if err := json.Unmarshal(v, &d); err != nil {
			return false, err
		}
		out = append(out, d)
		return true, nil
	})
	return out, err
}

// checkRefs checks d against the other records: the lane exists, the name
// is free, the port is shared only as the protocol allows, an address is
// used once per port, and a lane has one relay.
func checkRefs(r *store.Reader, d Device, es *field.Errors) error {
	if d.LaneID != "" && store.ValidID(d.LaneID) {
		// The lane's record is access's; its key is all this needs.
		ok, err := r.Has(store.Key(store.KindLane, d.LaneID))
		if err != nil {
			return err
		}
		if !ok {
			es.Add("lane_id", "device_lane_unknown")
		}
	}
	if d.Name != "" {
		id, err := r.Get(nameKey(d.Name))
		switch {
		case err == nil && string(id) != d.ID:
			es.Add("name", "device_name_taken")
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	others, err := all(r)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID == d.ID {
			continue
		}
		if d.Port != "" && o.Port == d.Port {
			switch {
			case !shares(d, o):
				es.AddArg("port", "device_port_in_use", o.Name)
			case sameAddress(d, o):
				es.AddArg("address", "device_address_in_use", o.Name)
			}
		}
		if d.Role == Relay && o.Role == Relay && d.LaneID != "" && o.LaneID == d.LaneID {
			es.AddArg("lane_id", "device_lane_has_relay", o.Name)
		}
	}
	return nil
}

func applySave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var d Device
	if err := cmd.Decode(&d); err != nil {
		return store.Effect{}, err
	}
	es := Check(&d)
	if err := checkRefs(&tx.Reader, d, &es); err != nil {
		return store.Effect{}, err
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	old, err := get(&tx.Reader, d.ID)
	switch {
	case err == nil:
		d.Created = old.Created
		if d.Node == "" {
			d.Node = old.Node // an edit on another lobby's pages does not move it
		}
		if err := tx.Delete(nameKey(old.Name)); err != nil {
			return store.Effect{}, err
		}
	case errors.Is(err, ErrNotFound):
		d.Created = cmd.Time
	default:
		return store.Effect{}, err
	}
	d.Updated = cmd.Time
	if err := tx.Set(nameKey(d.Name), []byte(d.ID)); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "device:" + d.ID, Note: string(d.Protocol) + " " + string(d.Role)},
		tx.SetJSON(store.Key(store.KindDevice, d.ID), d)
}

type deletePayload struct {
	ID string `json:"id"`
}

func applyDelete(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p deletePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	d, err := get(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if err := tx.Delete(nameKey(d.Name)); err != nil {
		return store.Effect{}, err
	}
	// A reader's secure channel key goes with the reader: a device saved
	// again under the same port starts over in install mode.
	if err := tx.Delete(store.Key(store.KindDeviceKey, d.ID)); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "device:" + d.ID, Note: "deleted"}, tx.Delete(store.Key(store.KindDevice, d.ID))
}
