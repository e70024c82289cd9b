package views

// Charts drawn on the server as inline SVG: no script, no framework. Every
// chart has a title and a description for screen readers, and prints its
// numbers as text next to the marks, so it reads on a tablet at arm's
// length and survives a black-and-white printer. Colours come from
// classes in app.css (the page's CSP allows no inline style).

import (
	"context"
	"fmt"
	"html"
	"strings"

	"github.com/a-h/templ"
)

// Series is one set of bars or one line of a chart.
type Series struct {
	Name   string
	Class  string // CSS class: c-in, c-out, c-avg, c-emp, c-vis, c-oth
	Values []float64
	Line   bool // drawn as a dashed line over the bars, not as bars
}

// Chart is a bar chart of one or more series over labelled slots.
type Chart struct {
	ID     string
	Title  string
	Desc   string
	Labels []string
	Series []Series
	Every  int // label every n-th slot (0: choose)
	Width  int // viewBox width (0: 720)
	Height int // viewBox height (0: 260)
}

func esc(s string) string { return html.EscapeString(s) }

func num(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

// niceMax rounds m up to 1, 2 or 5 times a power of ten.
func niceMax(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= m {
		p *= 10
	}
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}

// SVG draws the chart.
func (c Chart) SVG() string {
	w, h := c.Width, c.Height
	if w == 0 {
		w = 720
	}
	if h == 0 {
		h = 260
	}
	const left, right, top, bottom = 44.0, 8.0, 24.0, 28.0
	pw, ph := float64(w)-left-right, float64(h)-top-bottom
	n := len(c.Labels)
	var bars []Series
	maxV := 0.0
	for _, s := range c.Series {
		if !s.Line {
			bars = append(bars, s)
		}
		for _, v := range s.Values {
			maxV = max(maxV, v)
		}
	}
	top2 := niceMax(maxV)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d">`,
		esc(c.ID), w, h, esc(c.ID), esc(c.ID))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
	// Axis and grid: 0, half, top.
	for _, f := range []float64{0, .5, 1} {
		y := top + ph - f*ph
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, left, left+pw, y, y)
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="end">%s</text>`, left-4, y+4, num(f*top2))
	}
	if n == 0 {
		b.WriteString(`</svg>`)
		return b.String()
	}
	slot := pw / float64(n)
	every := c.Every
	if every == 0 {
		every = max(1, (n+15)/16)
	}
	bw := slot * .8 / float64(max(1, len(bars)))
	marks := 0 // values are printed over the bars when there is room
	for _, s := range bars {
		for _, v := range s.Values {
			if v > 0 {
				marks++
			}
		}
	}
	showValues := marks <= 40 && slot >= 14
	for i, label := range c.Labels {
		x0 := left + float64(i)*slot + slot*.1
		for j, s := range bars {
			if i >= len(s.Values) {
				continue
			}
			v := s.Values[i]
			bh := v / top2 * ph
			x := x0 + float64(j)*bw
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
				esc(s.Class), x, top+ph-bh, max(bw-1, 1), bh, esc(label), esc(s.Name), num(v))
			if showValues && v > 0 {
				fmt.Fprintf(&b, `<text class="val" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+bw/2, top+ph-bh-3, num(v))
			}
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, left+(float64(i)+.5)*slot, top+ph+16, esc(label))
		}
	}
	for _, s := range c.Series {
		if !s.Line {
			continue
		}
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", left+(float64(i)+.5)*slot, top+ph-v/top2*ph))
		}
		fmt.Fprintf(&b, `<polyline class="line %s" fill="none" points="%s"><title>%s</title></polyline>`, esc(s.Class), strings.Join(pts, " "), esc(s.Name))
	}
	// Legend, top left.
	x := left
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="6" width="12" height="12"/><text class="legend" x="%.1f" y="16">%s</text>`,
			esc(s.Class), x, x+16, esc(s.Name))
		x += 24 + 8*float64(len([]rune(s.Name)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Component renders the chart into a templ page.
func (c Chart) Component() templ.Component { return templ.Raw(c.SVG()) }

// Floor is one floor of the building picture.
type Floor struct {
	Name string
	N    int
}

// Building draws the floors as a stack of rectangles, the lowest at the
// bottom, each shaded by how full it is against the fullest and labelled
// with its name and count.
func Building(id, title, desc string, floors []Floor) templ.Component {
	const w, rowH, pad = 360.0, 30.0, 4.0
	h := float64(len(floors))*rowH + 2*pad
	maxN := 1
	for _, f := range floors {
		maxN = max(maxN, f.N)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart building" id="%s" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t %s-d">`,
		esc(id), w, max(h, rowH), esc(id), esc(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	for i, f := range floors {
		y := h - pad - float64(i+1)*rowH // floors[0] at the bottom
		shade := 0
		if f.N > 0 {
			shade = 1 + 4*f.N/maxN // 1..5
			shade = min(shade, 5)
		}
		bar := (w - 140) * float64(f.N) / float64(maxN)
		fmt.Fprintf(&b, `<g class="floor" data-floor="%s" data-count="%d">`, esc(f.Name), f.N)
		fmt.Fprintf(&b, `<rect class="storey s%d" x="60" y="%.1f" width="%.1f" height="%.1f"/>`, shade, y+1, w-70, rowH-2)
		if bar > 0 {
			fmt.Fprintf(&b, `<rect class="fill" x="64" y="%.1f" width="%.1f" height="%.1f"/>`, y+rowH/2-4, bar, 8.0)
		}
		fmt.Fprintf(&b, `<text class="fname" x="52" y="%.1f" text-anchor="end">%s</text>`, y+rowH/2+5, esc(f.Name))
		fmt.Fprintf(&b, `<text class="fcount" x="%.1f" y="%.1f" text-anchor="end">%d</text>`, w-16, y+rowH/2+6, f.N)
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return templ.Raw(b.String())
}

// Part is one segment of a stacked bar.
type Part struct {
	Name  string
	Class string
	N     int
}

// Stacked draws one horizontal bar split into parts, with each part's name
// and number beneath.
func Stacked(id, title string, parts []Part) templ.Component {
	const w, barH = 600.0, 28.0
	total := 0
	for _, p := range parts {
		total += p.N
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart stacked" id="%s" viewBox="0 0 %.0f 64" role="img" aria-labelledby="%s-t">`,
		esc(id), w, esc(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, esc(id), esc(title))
	x := 0.0
	for _, p := range parts {
		pw := 0.0
		if total > 0 {
			pw = w * float64(p.N) / float64(total)
		}
		if pw > 0 {
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="2" width="%.1f" height="%.0f"><title>%s: %d</title></rect>`, esc(p.Class), x, pw, barH, esc(p.Name), p.N)
		}
		x += pw
	}
	lx := 0.0
	for _, p := range parts {
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="44" width="12" height="12"/><text class="legend" x="%.1f" y="54">%s %d</text>`,
			esc(p.Class), lx, lx+16, esc(p.Name), p.N)
		lx += w / float64(max(1, len(parts)))
	}
	b.WriteString(`</svg>`)
	return templ.Raw(b.String())
}

// laneLabel names a lane, or says it has been removed.
func laneLabel(ctx context.Context, name string) string {
	if name == "" {
		return T(ctx, "reports.lane_gone")
	}
	return name
}
