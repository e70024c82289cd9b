package stock

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdReceive        = "stock.receive"
	CmdHandoverCreate = "stock.handover.create"
	CmdHandoverOK     = "stock.handover.confirm"
	CmdHandoverCancel = "stock.handover.cancel"
	CmdIssue          = "stock.issue"
	CmdReturn         = "stock.return"
	CmdWriteOff       = "stock.writeoff"
	CmdBlocked        = "stock.blocked"
	CmdReconcile      = "stock.reconcile"
)

// Register installs the card stock's command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdReceive, applyReceive)
	reg.Register(CmdHandoverCreate, applyHandoverCreate)
	reg.Register(CmdHandoverOK, applyHandoverConfirm)
	reg.Register(CmdHandoverCancel, applyHandoverCancel)
	reg.Register(CmdIssue, applyIssue)
	reg.Register(CmdReturn, applyReturn)
	reg.Register(CmdWriteOff, applyWriteOff)
	reg.Register(CmdBlocked, applyBlocked)
	reg.Register(CmdReconcile, applyReconcile)
}

func itemKey(n string) []byte { return store.Key(store.KindStockItem, n) }

// cardEntryKey indexes ledger entry seq under a card it touched, so a
// card's history is read without going through the whole ledger.
func cardEntryKey(n string, seq uint64) []byte {
	return append(store.Prefix(store.KindStockByCard, n), store.U64(seq)...)
}

func getItem(r *store.Reader, n string) (Item, error) {
	var it Item
	n = NormalizeNumber(n)
	if n == "" || strings.ContainsRune(n, 0) {
		return it, ErrNotFound
	}
	err := r.GetJSON(itemKey(n), &it)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return it, err
}

func getHandover(r *store.Reader, id string) (Handover, error) {
	var h Handover
	if !store.ValidID(id) {
		return h, ErrNotFound
	}
	err := r.GetJSON(store.Key(store.KindStockHand, id), &h)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return h, err
}

// lobbyName checks a lobby name and returns its first spelling.
func lobbyName(r *store.Reader, name string, es *field.Errors) (string, error) {
	name = es.Text("lobby", name, true, 40)
	if name == "" {
		return "", nil
	}
	b, err := r.Get(store.Key(store.KindStockByLobby, strings.ToLower(name)))
	switch {
	case err == nil:
		return string(b), nil
	case errors.Is(err, store.ErrNotFound):
		return name, nil
	}
	return "", err
}

func nextSeq(tx *store.Tx) (uint64, error) {
	var seq uint64
	b, err := tx.Get(store.Key(store.KindStockSeq, "seq"))
	switch {
	case err == nil && len(b) == 8:
		seq = binary.BigEndian.Uint64(b)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	seq++
	return seq, tx.Set(store.Key(store.KindStockSeq, "seq"), store.U64(seq))
}

// write stores the items and the ledger entry of one command.
func write(tx *store.Tx, cmd store.Command, e Entry, items []Item) (store.Effect, error) {
	seq, err := nextSeq(tx)
	if err != nil {
		return store.Effect{}, err
	}
	e.Seq, e.At = seq, cmd.Time
	for _, it := range items {
		it.Updated = cmd.Time
		if err := tx.SetJSON(itemKey(it.Number), it); err != nil {
			return store.Effect{}, err
		}
	}
	if e.Lobby != "" {
		if err := tx.Set(store.Key(store.KindStockByLobby, strings.ToLower(e.Lobby)), []byte(e.Lobby)); err != nil {
			return store.Effect{}, err
		}
	}
	if err := tx.SetJSON(store.Key(store.KindStockLedger, string(store.U64(seq))), e); err != nil {
		return store.Effect{}, err
	}
	for _, r := range e.Items {
		if err := tx.Set(cardEntryKey(r.Number, seq), nil); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "stock:" + e.Op, Note: itoa(len(e.Items)) + " cards"}, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

type receivePayload struct {
	By      Person   `json:"by"`
	Lobby   string   `json:"lobby"`
	Type    Type     `json:"type"`
	Numbers []string `json:"numbers"`
	Note    string   `json:"note,omitempty"`
}

func applyReceive(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p receivePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	lobby, err := lobbyName(&tx.Reader, p.Lobby, &es)
	if err != nil {
		return store.Effect{}, err
	}
	if !slices.Contains(Types, p.Type) {
		es.Add("type", "required")
	}
	p.Note = es.Text("note", p.Note, false, 200)
	ns := checkNumbers(p.Numbers, &es)
	for _, n := range ns {
		if ok, err := tx.Has(itemKey(n)); err != nil {
			return store.Effect{}, err
		} else if ok {
			es.AddArg("numbers", "stock_number_taken", n)
			break
		}
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	e := Entry{Op: OpReceive, By: p.By, Lobby: lobby, Note: p.Note}
	items := make([]Item, 0, len(ns))
	for _, n := range ns {
		items = append(items, Item{Number: n, Type: p.Type, State: Received, Lobby: lobby, Holder: p.By})
		e.Items = append(e.Items, Ref{Number: n, Type: p.Type})
	}
	return write(tx, cmd, e, items)
}

// onHandOf loads the cards ns and checks they are on hand (and held by
// holder, unless holder is "").
func onHandOf(r *store.Reader, ns []string, holder string, es *field.Errors) ([]Item, error) {
	items := make([]Item, 0, len(ns))
	for _, n := range ns {
		it, err := getItem(r, n)
		switch {
		case errors.Is(err, ErrNotFound):
			es.AddArg("numbers", "stock_number_unknown", n)
			return nil, nil
		case err != nil:
			return nil, err
		case !OnHand(it.State):
			es.AddArg("numbers", "stock_not_on_hand", n)
			return nil, nil
		case holder != "" && it.Holder.ID != holder:
			es.AddArg("numbers", "stock_not_yours", n)
			return nil, nil
		}
		items = append(items, it)
	}
	return items, nil
}

func applyHandoverCreate(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var h Handover
	if err := cmd.Decode(&h); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	lobby, err := lobbyName(&tx.Reader, h.Lobby, &es)
	if err != nil {
		return store.Effect{}, err
	}
	h.Lobby = lobby
	h.Note = es.Text("note", h.Note, false, 200)
	switch {
	case h.To.ID == "" || !store.ValidID(h.To.ID):
		es.Add("to", "required")
	case h.To.ID == h.From.ID:
		es.Add("to", "stock_same_person")
	}
	h.Numbers = checkNumbers(h.Numbers, &es)
	if len(es) == 0 {
		if _, err := onHandOf(&tx.Reader, h.Numbers, h.From.ID, &es); err != nil {
			return store.Effect{}, err
		}
	}
	if !store.ValidID(h.ID) {
		es.Add("id", "invalid")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	h.Created, h.State, h.Done = cmd.Time, HandoverPending, 0
	return store.Effect{Subject: "handover:" + h.ID, Note: "pending, " + itoa(len(h.Numbers)) + " cards"},
		tx.SetJSON(store.Key(store.KindStockHand, h.ID), h)
}

type handoverPayload struct {
	ID string `json:"id"`
	By Person `json:"by"`
}

func applyHandoverConfirm(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p handoverPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	h, err := getHandover(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	switch {
	case h.State != HandoverPending:
		es.Add("handover", "stock_handover_done")
	case p.By.ID != h.To.ID:
		es.Add("handover", "stock_handover_not_receiver")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	items, err := onHandOf(&tx.Reader, h.Numbers, h.From.ID, &es)
	if err != nil {
		return store.Effect{}, err
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	h.State, h.Done, h.To = HandoverConfirmed, cmd.Time, p.By
	if err := tx.SetJSON(store.Key(store.KindStockHand, h.ID), h); err != nil {
		return store.Effect{}, err
	}
	e := Entry{Op: OpHandover, By: h.From, To: p.By, Lobby: h.Lobby, Handover: h.ID, Note: h.Note}
	for i, it := range items {
		e.Items = append(e.Items, Ref{Number: it.Number, Type: it.Type, Was: it.State, Lobby: it.Lobby})
		items[i].State, items[i].Lobby, items[i].Holder = Issued, h.Lobby, p.By
	}
	return write(tx, cmd, e, items)
}

func applyHandoverCancel(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p handoverPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	h, err := getHandover(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	switch {
	case h.State != HandoverPending:
		return store.Effect{}, field.Errors{{Field: "handover", Code: "stock_handover_done"}}
	case p.By.ID != h.From.ID && p.By.ID != h.To.ID:
		return store.Effect{}, field.Errors{{Field: "handover", Code: "stock_handover_not_party"}}
	}
	h.State, h.Done = HandoverCancelled, cmd.Time
	return store.Effect{Subject: "handover:" + h.ID, Note: "cancelled"}, tx.SetJSON(store.Key(store.KindStockHand, h.ID), h)
}

type movePayload struct {
	By      Person   `json:"by"`
	Numbers []string `json:"numbers"`
	Lobby   string   `json:"lobby,omitempty"`   // return: where it comes back; "" = its lobby
	UsedBy  string   `json:"used_by,omitempty"` // issue: to whom
	Op      string   `json:"op,omitempty"`      // write-off: lost or damaged
	Note    string   `json:"note,omitempty"`
}

func applyIssue(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p movePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	p.UsedBy = es.Text("used_by", p.UsedBy, false, 80)
	p.Note = es.Text("note", p.Note, false, 200)
	ns := checkNumbers(p.Numbers, &es)
	var items []Item
	if len(es) == 0 {
		var err error
		if items, err = onHandOf(&tx.Reader, ns, "", &es); err != nil {
			return store.Effect{}, err
		}
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	e := Entry{Op: OpIssue, By: p.By, UsedBy: p.UsedBy, Note: p.Note}
	for i, it := range items {
		e.Items = append(e.Items, Ref{Number: it.Number, Type: it.Type, Was: it.State, Lobby: it.Lobby})
		items[i].State, items[i].UsedBy = InUse, p.UsedBy
	}
	return write(tx, cmd, e, items)
}

func applyReturn(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p movePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	lobby := ""
	if strings.TrimSpace(p.Lobby) != "" {
		var err error
		if lobby, err = lobbyName(&tx.Reader, p.Lobby, &es); err != nil {
			return store.Effect{}, err
		}
	}
	p.Note = es.Text("note", p.Note, false, 200)
	ns := checkNumbers(p.Numbers, &es)
	var items []Item
	for _, n := range ns {
		it, err := getItem(&tx.Reader, n)
		if errors.Is(err, ErrNotFound) {
			es.AddArg("numbers", "stock_number_unknown", n)
			break
		} else if err != nil {
			return store.Effect{}, err
		}
		if it.State != InUse {
			es.AddArg("numbers", "stock_not_in_use", n)
			break
		}
		items = append(items, it)
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	// One entry per lobby the cards come back to, so each lobby's day adds up.
	var entries []Entry
	for i, it := range items {
		to := lobby
		if to == "" {
			to = it.Lobby
		}
		j := slices.IndexFunc(entries, func(e Entry) bool { return e.Lobby == to })
		if j < 0 {
			entries = append(entries, Entry{Op: OpReturn, By: p.By, Lobby: to, Note: p.Note})
			j = len(entries) - 1
		}
		entries[j].Items = append(entries[j].Items, Ref{Number: it.Number, Type: it.Type, Was: it.State, Lobby: it.Lobby})
		items[i].State, items[i].Lobby, items[i].Holder, items[i].UsedBy = Returned, to, p.By, ""
	}
	var eff store.Effect
	for k, e := range entries {
		var batch []Item
		if k == 0 {
			batch = items
		}
		var err error
		if eff, err = write(tx, cmd, e, batch); err != nil {
			return store.Effect{}, err
		}
	}
	eff.Note = itoa(len(items)) + " cards"
	return eff, nil
}

func applyWriteOff(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p movePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	if p.Op != OpLost && p.Op != OpDamaged {
		es.Add("op", "required")
	}
	p.Note = es.Text("note", p.Note, true, 200)
	ns := checkNumbers(p.Numbers, &es)
	var items []Item
	for _, n := range ns {
		it, err := getItem(&tx.Reader, n)
		if errors.Is(err, ErrNotFound) {
			es.AddArg("numbers", "stock_number_unknown", n)
			break
		} else if err != nil {
			return store.Effect{}, err
		}
		if it.State == LostCard || it.State == Damaged {
			es.AddArg("numbers", "stock_written_off", n)
			break
		}
		items = append(items, it)
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	e := Entry{Op: p.Op, By: p.By, Note: p.Note}
	st := LostCard
	if p.Op == OpDamaged {
		st = Damaged
	}
	for i, it := range items {
		e.Items = append(e.Items, Ref{Number: it.Number, Type: it.Type, Was: it.State, Lobby: it.Lobby})
		items[i].State = st
	}
	return write(tx, cmd, e, items)
}

type blockedPayload struct {
	By         Person `json:"by"`
	Number     string `json:"number"`
	Credential string `json:"credential"`
}

func applyBlocked(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p blockedPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	it, err := getItem(&tx.Reader, p.Number)
	if err != nil {
		return store.Effect{}, err
	}
	if !store.ValidID(p.Credential) {
		return store.Effect{}, field.Errors{{Field: "credential", Code: "invalid"}}
	}
	it.Credential = p.Credential
	e := Entry{Op: OpBlocked, By: p.By, Note: p.Credential, Items: []Ref{{Number: it.Number, Type: it.Type, Was: it.State, Lobby: it.Lobby}}}
	return write(tx, cmd, e, []Item{it})
}

// eachEntry hands fn the ledger's entries one at a time, oldest first
// (newest first with reverse), until fn says stop. The ledger covers all
// history, so it is never loaded whole.
func eachEntry(r *store.Reader, reverse bool, fn func(Entry) bool) error {
	return r.Scan(store.Prefix(store.KindStockLedger), store.ScanOptions{Reverse: reverse}, func(_, v []byte) (bool, error) {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return false, err
		}
		return fn(e), nil
	})
}

// figures adds up lobby's stock of typ over [from, until) from the ledger.
func figures(r *store.Reader, lobby string, typ Type, from, until int64) (Figures, error) {
	var f Figures
	err := eachEntry(r, false, func(e Entry) bool { f.add(e, lobby, typ, from, until); return true })
	return f, err
}

type reconcilePayload struct {
	By      Person `json:"by"`
	Lobby   string `json:"lobby"`
	Day     string `json:"day"`
	From    int64  `json:"from"`
	Until   int64  `json:"until"`
	Counted int    `json:"counted"`
	Note    string `json:"note,omitempty"`
}

func reconKey(lobby, day string, seq uint64) []byte {
	return append(store.Prefix(store.KindStockRecon, strings.ToLower(lobby), day), store.U64(seq)...)
}

func applyReconcile(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p reconcilePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	lobby, err := lobbyName(&tx.Reader, p.Lobby, &es)
	if err != nil {
		return store.Effect{}, err
	}
	p.Note = es.Text("note", p.Note, false, 500)
	if p.Counted < 0 || p.Counted > 10_000_000 {
		es.Add("counted", "invalid")
	}
	if len(p.Day) != 10 || p.From >= p.Until || p.From > cmd.Time {
		es.Add("day", "invalid_date")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	f, err := figures(&tx.Reader, lobby, "", p.From, p.Until)
	if err != nil {
		return store.Effect{}, err
	}
	seq, err := nextSeq(tx)
	if err != nil {
		return store.Effect{}, err
	}
	rc := Recon{Seq: seq, Lobby: lobby, Day: p.Day, From: p.From, Until: p.Until, Opening: f.Opening, Received: f.Received,
		Issued: f.Issued, Returned: f.Returned, WrittenOff: f.WrittenOff, Expected: f.Closing(), Counted: p.Counted,
		Note: p.Note, By: p.By.Name, At: cmd.Time}
	rc.Difference = rc.Counted - rc.Expected
	rc.Flagged = rc.Difference != 0 && rc.Note == ""
	if err := tx.SetJSON(reconKey(lobby, p.Day, seq), rc); err != nil {
		return store.Effect{}, err
	}
	note := "balanced"
	switch {
	case rc.Flagged:
		note = "flagged: unexplained difference " + itoa(rc.Difference)
	case rc.Difference != 0:
		note = "difference " + itoa(rc.Difference) + " explained"
	}
	return store.Effect{Subject: "stock-recon:" + p.Day, Note: note}, nil
}
