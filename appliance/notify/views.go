package notify

import (
	"encoding/json"
	"errors"
	"fmt"

	"gatehouse/appliance/store"
)

// Get returns one outbox record.
func Get(r *store.Reader, id string) (Record, error) {
	if !store.ValidID(id) {
		return Record{}, ErrNotFound
	}
	return get(r, id)
}

// Due walks pending messages whose next attempt is at or before now,
// earliest first, looking at no more than maxScan of them, and returns
// those take accepts (a worker takes what it has free slots for).
func Due(r *store.Reader, now int64, maxScan int, take func(Record) bool) ([]Record, error) {
	var out []Record
	scanned := 0
	err := r.Scan([]byte{byte(store.KindNotifyDue)}, store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		due, id, ok := parseDue(k)
		if !ok || due > now {
			return false, nil
		}
		scanned++
		rec, err := get(r, id)
		if err != nil {
			return false, err
		}
		if take(rec) {
			out = append(out, rec)
		}
		return scanned < maxScan, nil
	})
	return out, err
}

// NextDue returns when the earliest pending message is due.
func NextDue(r *store.Reader) (int64, bool, error) {
	var next int64
	var found bool
	err := r.Scan([]byte{byte(store.KindNotifyDue)}, store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		next, _, found = parseDue(k)
		return false, nil
	})
	return next, found, err
}

// Recent lists the newest messages, newest first.
func Recent(r *store.Reader, limit int) ([]Record, error) {
	var out []Record
	err := r.Scan([]byte{byte(store.KindNotify)}, store.ScanOptions{Reverse: true}, func(_, val []byte) (bool, error) {
		var rec Record
		if err := json.Unmarshal(val, &rec); err != nil {
			return false, fmt.Errorf("notify: decode record: %w", err)
		}
		out = append(out, rec)
		return len(out) < limit, nil
	})
	return out, err
}

// DeadLetters lists dead messages, newest first.
func DeadLetters(r *store.Reader, limit int) ([]Record, error) {
	var ids []string
	err := r.Scan([]byte{byte(store.KindNotifyDead)}, store.ScanOptions{KeysOnly: true, Reverse: true}, func(k, _ []byte) (bool, error) {
		ids = append(ids, string(k[1:]))
		return len(ids) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	return load(r, ids)
}

// Retrying lists pending messages that have failed at least once, by
// next attempt, looking at no more than maxScan pending messages.
func Retrying(r *store.Reader, limit, maxScan int) ([]Record, error) {
	var out []Record
	scanned := 0
	err := r.Scan([]byte{byte(store.KindNotifyDue)}, store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		scanned++
		_, id, ok := parseDue(k)
		if !ok {
			return true, nil
		}
		rec, err := get(r, id)
		if err != nil {
			return false, err
		}
		if rec.Attempts > 0 {
			out = append(out, rec)
		}
		return len(out) < limit && scanned < maxScan, nil
	})
	return out, err
}

// ForAccount lists the in-page messages of an account queued after the
// message after ("" for the oldest kept), oldest first: what a page that
// lost its event stream missed.
func ForAccount(r *store.Reader, account, after string, limit int) ([]Record, error) {
	if !store.ValidID(account) {
		return nil, nil
	}
	prefix := store.Prefix(store.KindNotifyTo, account)
	o := store.ScanOptions{KeysOnly: true}
	if after != "" {
		if !store.ValidID(after) {
			return nil, nil
		}
		// The first key after prefix+after: append a byte below every ID character.
		o.Start = append(store.Key(store.KindNotifyTo, account, after), 0)
	}
	var ids []string
	err := r.Scan(prefix, o, func(k, _ []byte) (bool, error) {
		ids = append(ids, string(k[len(prefix):]))
		return len(ids) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	return load(r, ids)
}

// purgeable reports whether a finished message was queued before before,
// looking at no more than maxScan of the oldest messages.
func purgeable(r *store.Reader, before int64) (bool, error) {
	found, scanned := false, 0
	err := r.Scan([]byte{byte(store.KindNotify)}, store.ScanOptions{}, func(_, val []byte) (bool, error) {
		var rec Record
		if err := json.Unmarshal(val, &rec); err != nil {
			return false, fmt.Errorf("notify: decode record: %w", err)
		}
		if rec.Created >= before {
			return false, nil
		}
		found = rec.State != Pending
		scanned++
		return !found && scanned < maxPurge, nil
	})
	return found, err
}

func load(r *store.Reader, ids []string) ([]Record, error) {
	out := make([]Record, 0, len(ids))
	for _, id := range ids {
		rec, err := get(r, id)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// storedSettings returns the settings as stored (sealed); none saved yet
// is the zero Settings.
func storedSettings(r *store.Reader) (Settings, error) {
	var s Settings
	err := r.GetJSON(settingsKey, &s)
	if errors.Is(err, store.ErrNotFound) {
		return Settings{}, nil
	}
	return s, err
}
