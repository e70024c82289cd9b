package notify

import "gatehouse/appliance/store"

// Depth counts the messages waiting in the outbox: pending ones (queued or
// waiting for a retry) and, of those, the ones due now — the backlog a
// worker has not yet caught up with. It walks the due index's keys only.
func Depth(r *store.Reader, now int64) (pending, due int, err error) {
	err = r.Scan([]byte{byte(store.KindNotifyDue)}, store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		at, _, ok := parseDue(k)
		if ok {
			pending++
			if at <= now {
				due++
			}
		}
		return true, nil
	})
	return pending, due, err
}

// Depth is the package's Depth over the service's store, at the service's
// clock's now.
func (s *Service) Depth() (pending, due int, err error) {
	err = s.db.View(func(r *store.Reader) error {
		pending, due, err = Depth(r, s.clock.Now().UnixNano())
		return err
	})
	return pending, due, err
}
