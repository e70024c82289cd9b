package store

import "encoding/json"

// AuditFilter selects audit entries for the audit page and its export.
type AuditFilter struct {
	Actor    string // exactly this actor ("account:<id>", "system", ...); "" any
	Type     string // exactly this command type; "" any
	From, To int64  // Unix ns, [From, To); 0 leaves that end open
}

func (f AuditFilter) match(e AuditEntry) bool {
	return (f.Actor == "" || e.Actor == f.Actor) && (f.Type == "" || e.Type == f.Type) &&
		(f.From == 0 || e.Time >= f.From) && (f.To == 0 || e.Time < f.To)
}

// auditSkew is how far an entry's time may run behind the one after it:
// in a cluster, the issuers' clocks differ a little, so the trail is in
// time order only roughly.
const auditSkew = int64(60e9)

// AuditSearch lists up to limit entries matching f, newest first, older
// than before (0: from the newest). It reads at most maxScan entries, so
// a rare actor over years of trail costs a bounded read per page; next is
// where to go on from (the seq to pass as before), 0 when nothing older
// can match: the trail's start, or f.From passed.
func AuditSearch(r *Reader, before uint64, f AuditFilter, limit, maxScan int) (out []AuditEntry, next uint64, err error) {
	o := ScanOptions{Reverse: true}
	if before > 0 {
		o.Start = auditKey(before - 1)
	}
	scanned := 0
	var last uint64
	err = r.Scan([]byte{byte(KindAudit)}, o, func(_, val []byte) (bool, error) {
		var e AuditEntry
		if err := json.Unmarshal(val, &e); err != nil {
			return false, err
		}
		if f.From != 0 && e.Time < f.From-auditSkew {
			last = 0
			return false, nil
		}
		scanned++
		last = e.Seq
		if f.match(e) {
			out = append(out, e)
		}
		return len(out) < limit && scanned < maxScan, nil
	})
	if err != nil {
		return nil, 0, err
	}
	if (len(out) == limit || scanned == maxScan) && last > 1 {
		next = last
	}
	return out, next, nil
}
