package escpos

import (
	"errors"
	"time"
)

// Labels are the captions printed on a slip, in the site's language.
type Labels struct {
	Banner string // across the top of a badge: "VISITOR"
	Host   string // before the host's name: "Host: "
	Floor  string // "Floor: "
	Valid  string // before the validity window: "Valid: "
}

// LabelsFor returns the captions for a language: "zh" (and "zh-…") for
// Chinese, English otherwise.
func LabelsFor(lang string) Labels {
	if lang == "zh" || len(lang) > 3 && lang[:3] == "zh-" {
		return Labels{Banner: "访客", Host: "被访人：", Floor: "楼层：", Valid: "有效期："}
	}
	return Labels{Banner: "VISITOR", Host: "Host: ", Floor: "Floor: ", Valid: "Valid: "}
}

// Slip is a visitor slip or badge: who, whom they visit, where, when, and
// the QR pass.
type Slip struct {
	Site    string
	Visitor string
	Host    string // optional
	Floor   string // optional
	// From and Until bound the validity window; they are printed in their
	// own location, so the caller passes them in the site's time zone.
	From, Until time.Time
	Pass        string // the QR token, printed by the printer's QR command
	// Badge prints a banner and the visitor's name at double width and
	// height, to be worn; a slip prints the name at double height.
	Badge  bool
	Labels Labels // zero: English
	// QRModule is the QR module size in dots; default 6 (a 134-character
	// pass is a 49-module symbol: 294 dots, within a 58 mm roll's 384).
	QRModule int
}

// ErrSlip: a slip without a visitor or without a pass.
var ErrSlip = errors.New("escpos: a slip needs a visitor name and a pass")

// Bytes lays the slip out:
//
//	ESC @ [FS &]
//	ESC a 1  ESC E 1 site LF ESC E 0
//	[badge: GS ! 0x11 ESC E 1 banner LF ESC E 0]
//	GS ! 0x11 (badge) or 0x01 (slip)  visitor LF  GS ! 0x00
//	ESC a 0  host LF  floor LF  validity LF
//	ESC a 1  QR (model 2, module, level M, store, print)  LF
//	GS V 66 0
func (s Slip) Bytes() ([]byte, error) {
	if s.Visitor == "" || s.Pass == "" {
		return nil, ErrSlip
	}
	l := s.Labels
	if l == (Labels{}) {
		l = LabelsFor("en")
	}
	module := s.QRModule
	if module == 0 {
		module = 6
	}
	valid := window(s.From, s.Until)
	text := []string{s.Site, s.Visitor}
	if s.Badge {
		text = append(text, l.Banner)
	}
	if s.Host != "" {
		text = append(text, l.Host+s.Host)
	}
	if s.Floor != "" {
		text = append(text, l.Floor+s.Floor)
	}
	if valid != "" {
		text = append(text, l.Valid+valid)
	}
	var b Builder
	b.Init()
	for _, t := range text {
		if needsChinese(t) {
			b.Chinese() // at the start: some printers switch only from the next line
			break
		}
	}
	b.Align(Center)
	if s.Site != "" {
		b.Bold(true).Line(s.Site).Bold(false)
	}
	if s.Badge {
		b.Size(2, 2).Bold(true).Line(l.Banner).Bold(false)
	} else {
		b.Size(1, 2)
	}
	b.Line(s.Visitor).Size(1, 1)
	b.Align(Left)
	if s.Host != "" {
		b.Line(l.Host + s.Host)
	}
	if s.Floor != "" {
		b.Line(l.Floor + s.Floor)
	}
	if valid != "" {
		b.Line(l.Valid + valid)
	}
	b.Align(Center).QR(s.Pass, module, QRLevelM).LF()
	b.Cut()
	return b.Bytes()
}

// window prints a validity window: "2026-11-23 09:00 - 11:00" within a
// day, both dates otherwise.
func window(from, until time.Time) string {
	const day, clock = "2006-01-02 15:04", "15:04"
	switch {
	case from.IsZero() && until.IsZero():
		return ""
	case until.IsZero():
		return from.Format(day) + " -"
	case from.IsZero():
		return "- " + until.Format(day)
	}
	fy, fm, fd := from.Date()
	uy, um, ud := until.Date()
	if fy == uy && fm == um && fd == ud {
		return from.Format(day) + " - " + until.Format(clock)
	}
	return from.Format(day) + " - " + until.Format(day)
}
