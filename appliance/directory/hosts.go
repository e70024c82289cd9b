package directory

// The host search: how the desk, the kiosk and the booking page find the
// person a visitor comes to see, by what people actually type — the
// company ("Star", "星辰" for 星辰科技 Star Tech), the name in Chinese or
// English, its pinyin in full ("wanglei", "wang lei") or by initials
// ("wl"), the employee number, and, for staff only, the last 4 digits of
// the mobile.
//
// Each person's search terms are index entries (KindPersonByTerm: term 0
// id), written by putPerson in the transaction of every person command, so
// a keystroke is a prefix scan of the typed text, never a walk of the
// directory. The entry's value carries what the search filters on (host,
// kind, active, company, floor), so only the few people shown are loaded.
// Companies are matched by name in memory (a building has hundreds at
// most) and their hosts listed from the company index: renaming a company
// rewrites no person.
//
// The mobile's last 4 digits are 10,000 values: an index of them in clear
// would be a phone-number oracle, and even a blind value of them can be
// brute-forced by whoever holds the site key. So the tail is indexed only
// as a blind value (KindPersonByTail, BlindMobileTail) and only a caller
// that says so (the signed-in desk) may search by it; the public booking
// page and the kiosk never match phone digits at all.
//
// Terms are derived in Apply from the record alone (pinyin by
// github.com/mozillazg/go-pinyin, a pure table), so a replica that replays
// the log writes the same entries. The tail's blind value needs the site
// key, so the issuer computes it (sealMobile) and it travels on the record.
// Data from before the search existed is indexed once at start-up by
// CmdPersonReindex (Service.IndexHosts), a command like any other write.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"

	"gatehouse/appliance/store"
)

// SearchIndexVersion is the version of the search terms putPerson writes;
// raise it when the terms change, and the next start re-indexes everyone.
const SearchIndexVersion = 1

// Bounds on the terms of one person and on one search.
const (
	maxTerms     = 96
	maxTermBytes = 96
	// Readings tried per character with several: a surname's is often not
	// the first (单 dan chan shan, 仇 chou qiu), so three for the first
	// character, two for the others.
	maxSurnameReadings = 3
	maxReadings        = 2
	maxPinyinWays      = 12
	// MaxHostResults bounds HostQuery.Limit.
	MaxHostResults = 50
)

// normalizeSearch lowers s and turns every run of spaces and punctuation
// into one space: "Wang  Lei" and "wang-lei" are "wang lei".
func normalizeSearch(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

// textTerms are the terms of a name: the whole of it, with and without
// spaces, each word, and each tail of a word from a Chinese character on
// (王磊: 王磊 and 磊), so that a name is found by any word's beginning and
// a Chinese name by any part of it.
func textTerms(s string) []string {
	n := normalizeSearch(s)
	if n == "" {
		return nil
	}
	out := []string{n, strings.ReplaceAll(n, " ", "")}
	for _, w := range strings.Fields(n) {
		out = append(out, w)
		rs := []rune(w)
		for i := 1; i < len(rs); i++ {
			if unicode.Is(unicode.Han, rs[i]) {
				out = append(out, string(rs[i:]))
			}
		}
	}
	return out
}

// pinyinTerms are the pinyin of a Chinese name, in full and by initials,
// from each syllable on (王磊: wanglei, lei; wl, l), for each way of reading
// it when characters have more than one reading.
func pinyinTerms(s string) []string {
	a := pinyin.NewArgs()
	a.Heteronym = true
	var sylls [][]string
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			continue
		}
		rs := slices.Compact(pinyin.SinglePinyin(r, a))
		if len(rs) == 0 {
			continue
		}
		n := maxReadings
		if len(sylls) == 0 {
			n = maxSurnameReadings
		}
		sylls = append(sylls, rs[:min(len(rs), n)])
	}
	if len(sylls) == 0 {
		return nil
	}
	ways := [][]string{nil}
	for _, rs := range sylls {
		var next [][]string
		for _, w := range ways {
			for _, r := range rs {
				if len(next) < maxPinyinWays {
					next = append(next, append(slices.Clone(w), r))
				}
			}
		}
		ways = next
	}
	var out []string
	for _, w := range ways {
		for i := range w {
			full, initials := "", ""
			for _, syl := range w[i:] {
				full += syl
				initials += syl[:1]
			}
			out = append(out, full, initials)
		}
	}
	return out
}

// searchTerms are all the terms p is found by, deduplicated and bounded.
// A purged person has none.
func searchTerms(p Person) []string {
	if p.Purged != 0 {
		return nil
	}
	var all []string
	all = append(all, textTerms(p.Name)...)
	all = append(all, pinyinTerms(p.Name)...)
	all = append(all, textTerms(p.EnglishName)...)
	if p.EmployeeNo != "" {
		all = append(all, strings.ToLower(p.EmployeeNo))
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range all {
		if len(t) > maxTermBytes {
			t = t[:maxTermBytes]
			for len(t) > 0 && !utf8.ValidString(t) {
				t = t[:len(t)-1]
			}
		}
		if t == "" || seen[t] || strings.IndexByte(t, store.Sep) >= 0 {
			continue
		}
		seen[t] = true
		out = append(out, t)
		if len(out) == maxTerms {
			break
		}
	}
	return out
}

// personSearchKeys are p's entries in the host search.
func personSearchKeys(p Person) [][]byte {
	var keys [][]byte
	for _, t := range searchTerms(p) {
		keys = append(keys, store.Key(store.KindPersonByTerm, t, p.ID))
	}
	if p.MobileTail != "" && p.Purged == 0 {
		keys = append(keys, store.Key(store.KindPersonByTail, p.MobileTail, p.ID))
	}
	return keys
}

// termValue is a search entry's value: '1' for a host, '0' otherwise, then
// the person's index value.
func termValue(p Person) []byte {
	h := byte('0')
	if p.CanHost {
		h = '1'
	}
	return append([]byte{h}, indexValue(p)...)
}

// HostQuery is a search for hosts.
type HostQuery struct {
	Text      string
	CompanyID string // only this company's hosts (the booking page); "" for any
	// Tail is the blind value of 4 digits (Service.Hosts sets it for a
	// caller allowed to search by phone): hosts whose mobile ends in them.
	Tail  string
	Limit int
}

// Host is one host found: the person, and the company's name.
type Host struct {
	Person
	CompanyName string
}

// Hosts finds active hosts of active companies, best matches first: the
// mobile's tail, then the person's own terms, then the hosts of companies
// whose name holds the text, each group in name order.
func Hosts(r *store.Reader, q HostQuery) ([]Host, error) {
	if q.Limit <= 0 || q.Limit > MaxHostResults {
		q.Limit = 20
	}
	text := normalizeSearch(q.Text)
	if text == "" {
		return nil, nil
	}
	var ids []string
	seen := map[string]bool{}
	full := func() bool { return len(ids) >= q.Limit }
	take := func(key, val []byte) (bool, error) {
		if full() {
			return false, nil
		}
		if len(val) < 1 || val[0] != '1' {
			return true, nil
		}
		e, ok := parseIndex(key, val[1:])
		if !ok || e.kind != Employee || !e.active || (q.CompanyID != "" && string(e.company) != q.CompanyID) {
			return true, nil
		}
		if id := string(e.id); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		return !full(), nil
	}
	var groups [][]string
	group := func(scan func() error) error {
		start := len(ids)
		if full() {
			return nil
		}
		if err := scan(); err != nil {
			return err
		}
		groups = append(groups, ids[start:])
		return nil
	}
	if q.Tail != "" {
		if err := group(func() error {
			return r.Scan(store.Prefix(store.KindPersonByTail, q.Tail), store.ScanOptions{}, take)
		}); err != nil {
			return nil, err
		}
	}
	if err := group(func() error {
		// As normalized ("wang lei"), run together ("wanglei"), and as typed
		// for an employee number with punctuation ("st-0042").
		prefixes := []string{text, strings.ReplaceAll(text, " ", ""), strings.ToLower(strings.TrimSpace(q.Text))}
		for i, p := range prefixes {
			if slices.Contains(prefixes[:i], p) {
				continue
			}
			// A prefix of the term, not of a whole key part: no separator.
			if err := r.Scan(append([]byte{byte(store.KindPersonByTerm)}, p...), store.ScanOptions{}, take); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if q.CompanyID == "" {
		// One pass over the companies, decoding only what matching needs.
		type company struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Active bool   `json:"active"`
		}
		var cs []company
		flat := strings.ReplaceAll(text, " ", "")
		err := r.Scan(store.Prefix(store.KindCompany), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var c company
			if err := jsonUnmarshal(v, &c); err != nil {
				return false, err
			}
			n := normalizeSearch(c.Name)
			if c.Active && (strings.Contains(n, text) || strings.Contains(strings.ReplaceAll(n, " ", ""), flat)) {
				cs = append(cs, c)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		slices.SortFunc(cs, func(a, b company) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
		for _, c := range cs {
			if err := group(func() error {
				// The company index has no host flag: the record has.
				return r.Scan(store.Prefix(store.KindPersonByComp, c.ID), store.ScanOptions{}, func(k, v []byte) (bool, error) {
					e, ok := parseIndex(k, v)
					if !ok || e.kind != Employee || !e.active || seen[string(e.id)] {
						return true, nil
					}
					p, err := getPerson(r, string(e.id))
					if err != nil || !p.CanHost {
						return err == nil, err
					}
					seen[p.ID] = true
					ids = append(ids, p.ID)
					return !full(), nil
				})
			}); err != nil {
				return nil, err
			}
		}
	}
	names := map[string]string{}
	var out []Host
	for _, g := range groups {
		start := len(out)
		for _, id := range g {
			p, err := getPerson(r, id)
			if err != nil {
				return nil, fmt.Errorf("directory: host search: %w", err)
			}
			co, ok := names[p.CompanyID]
			if !ok {
				c, err := getCompany(r, p.CompanyID)
				if err != nil {
					return nil, fmt.Errorf("directory: host search: %w", err)
				}
				if c.Active {
					co = c.Name
				}
				names[p.CompanyID] = co
			}
			if co == "" || !p.Active || !p.CanHost || p.Kind != Employee {
				continue
			}
			out = append(out, Host{Person: p, CompanyName: co})
		}
		slices.SortStableFunc(out[start:], func(a, b Host) int { return strings.Compare(a.Name, b.Name) })
	}
	return out, nil
}

// tailBlind is the blind value of the last 4 digits of a mobile number in
// clear, "" for a number shorter than that.
func (s *Service) tailBlind(mobile string) string {
	m := NormalizeMobile(mobile)
	if len(m) < 4 {
		return ""
	}
	return s.keys.Blind(BlindMobileTail, m[len(m)-4:])
}

// Hosts finds hosts; byPhone lets 4 typed digits find hosts by the end of
// their mobile, for staff pages only (see the top of this file).
func (s *Service) Hosts(q HostQuery, byPhone bool) (hs []Host, err error) {
	q.Tail = ""
	if t := strings.TrimSpace(q.Text); byPhone && len(t) == 4 && strings.Trim(t, "0123456789") == "" {
		q.Tail = s.tailBlind(t)
	}
	err = s.db.View(func(r *store.Reader) error { hs, err = Hosts(r, q); return err })
	return hs, err
}

// reindexEntry is one person in a CmdPersonReindex: the tail's blind value
// the issuer computed from the mobile whose blind value was MobileBlind.
type reindexEntry struct {
	ID          string `json:"id"`
	MobileBlind string `json:"mobile_blind,omitempty"`
	Tail        string `json:"tail,omitempty"`
}

type reindexPayload struct {
	People  []reindexEntry `json:"people"`
	Version int            `json:"version,omitempty"` // on the last chunk: the version now indexed
}

const reindexChunk = 500

// applyPersonReindex rewrites the index entries of a chunk of people,
// with the tails the issuer computed; the last chunk records the version.
func applyPersonReindex(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var pl reindexPayload
	if err := cmd.Decode(&pl); err != nil {
		return store.Effect{}, err
	}
	if len(pl.People) > reindexChunk {
		return store.Effect{}, fmt.Errorf("directory: %d people in one reindex", len(pl.People))
	}
	for _, e := range pl.People {
		p, err := getPerson(&tx.Reader, e.ID)
		if err != nil {
			return store.Effect{}, err
		}
		if p.Purged != 0 {
			continue
		}
		// A save since the issuer read the number brought its own tail.
		if p.MobileBlind == e.MobileBlind {
			p.MobileTail = e.Tail
		}
		if err := putPerson(tx, p); err != nil {
			return store.Effect{}, err
		}
	}
	if pl.Version > 0 {
		if err := tx.Set(store.Key(store.KindPersonSearchOK, "version"), []byte(fmt.Sprint(pl.Version))); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "people", Note: fmt.Sprintf("host search entries of %d people rebuilt", len(pl.People))}, nil
}

// IndexHosts builds the host search's entries of people stored before
// them (or before their SearchIndexVersion), once: at start-up, after
// Recover. It opens each mobile to blind its last 4 digits.
func (s *Service) IndexHosts(ctx context.Context) error {
	var todo []reindexEntry
	done := false
	err := s.db.View(func(r *store.Reader) error {
		v, err := r.Get(store.Key(store.KindPersonSearchOK, "version"))
		if done = err == nil && bytes.Equal(v, []byte(fmt.Sprint(SearchIndexVersion))); done {
			return nil
		}
		return r.Scan(store.Prefix(store.KindPerson), store.ScanOptions{}, func(_, val []byte) (bool, error) {
			var p Person
			if err := jsonUnmarshal(val, &p); err != nil {
				return false, err
			}
			if p.Purged != 0 {
				return true, nil
			}
			m, err := s.Mobile(p)
			if err != nil {
				return false, err
			}
			todo = append(todo, reindexEntry{ID: p.ID, MobileBlind: p.MobileBlind, Tail: s.tailBlind(m)})
			return true, nil
		})
	})
	if err != nil || done {
		return err
	}
	// An empty directory records the version too, in one empty chunk.
	for i := 0; i == 0 || i < len(todo); i += reindexChunk {
		pl := reindexPayload{People: todo[i:min(i+reindexChunk, len(todo))]}
		if i+reindexChunk >= len(todo) {
			pl.Version = SearchIndexVersion
		}
		if _, err := s.apply(ctx, CmdPersonReindex, "system", pl); err != nil {
			return fmt.Errorf("directory: index hosts for search: %w", err)
		}
	}
	return nil
}

// PeopleByMobile finds the people whose mobile is exactly mobile, through
// the blind index of its last 4 digits and then the blind value of the
// whole number: the number is never opened. The employees' self sign-up
// (appliance/signup.go) asks it; a caller must not tell a stranger what it
// found.
func (s *Service) PeopleByMobile(mobile string) ([]Person, error) {
	m := NormalizeMobile(mobile)
	if !mobileRE.MatchString(m) {
		return nil, nil
	}
	tail, full := s.tailBlind(m), s.keys.Blind(BlindMobile, m)
	var out []Person
	err := s.db.View(func(r *store.Reader) error {
		var ids []string
		err := r.Scan(store.Prefix(store.KindPersonByTail, tail), store.ScanOptions{}, func(key, val []byte) (bool, error) {
			if len(val) < 1 {
				return true, nil
			}
			if e, ok := parseIndex(key, val[1:]); ok {
				ids = append(ids, string(e.id))
			}
			return len(ids) < 1000, nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			p, err := getPerson(r, id)
			if err != nil {
				return err
			}
			if p.MobileBlind == full && p.Purged == 0 {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}
