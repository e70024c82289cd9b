package ui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/labstack/echo/v4"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/printout"
	"gatehouse/appliance/stock"
	"gatehouse/ui/views"
)

// The card stock pages: cards on hand per lobby, the forms that receive,
// issue, return and write off cards, handovers confirmed by both sides
// with their printable sheet, the stock ledger report and the daily
// reconciliation per lobby, with CSV, XLSX and PDF exports.

const formatPDF = "pdf"

func stockPerson(c echo.Context) stock.Person { return stock.PersonOf(accountOf(c)) }

func (s *Server) stockPage(c echo.Context, status int, d views.StockData) error {
	me := accountOf(c).ID
	var err error
	if d.Items, d.Total, err = s.app.Stock.Items(stock.ItemFilter{Q: d.Q, Limit: 200}); err != nil {
		return err
	}
	// Counted card by card: the stock of every lobby is never held at once.
	err = s.app.Stock.EachItem(stock.ItemFilter{OnHand: true}, func(it stock.Item) {
		if it.Holder.ID == me {
			d.Mine++
		}
		i := slices.IndexFunc(d.OnHand, func(sc views.StockCount) bool { return sc.Lobby == it.Lobby && sc.Type == it.Type })
		if i < 0 {
			d.OnHand = append(d.OnHand, views.StockCount{Lobby: it.Lobby, Type: it.Type})
			i = len(d.OnHand) - 1
		}
		d.OnHand[i].N++
	})
	if err != nil {
		return err
	}
	slices.SortFunc(d.OnHand, func(a, b views.StockCount) int {
		if c := strings.Compare(a.Lobby, b.Lobby); c != 0 {
			return c
		}
		return strings.Compare(string(a.Type), string(b.Type))
	})
	hs, err := s.app.Stock.Handovers(me, 100)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if h.State == stock.HandoverPending {
			d.Pending = append(d.Pending, h)
		}
	}
	if d.Lobbies, err = s.app.Stock.Lobbies(); err != nil {
		return err
	}
	if d.Accounts, err = s.staffOptions(me); err != nil {
		return err
	}
	return s.render(c, status, views.Stock(d))
}

func (s *Server) stockHome(c echo.Context) error {
	return s.stockPage(c, http.StatusOK, views.StockData{Q: c.QueryParam("q")})
}

func stockFormOf(c echo.Context) views.StockForm {
	return views.StockForm{Lobby: c.FormValue("lobby"), Type: c.FormValue("type"), Numbers: c.FormValue("numbers"),
		Note: c.FormValue("note"), UsedBy: c.FormValue("used_by"), Op: c.FormValue("op"), To: c.FormValue("to")}
}

// stockDone answers a stock form: its errors beside the fields, or back
// to the page.
func (s *Server) stockDone(c echo.Context, which string, f views.StockForm, err error) error {
	if es, ok := field.As(err); ok {
		return s.stockPage(c, http.StatusUnprocessableEntity, views.StockData{Form: f, Which: which, Errs: es})
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/stock")
}

func (s *Server) stockReceive(c echo.Context) error {
	f := stockFormOf(c)
	ns, es := stock.ParseNumbers(f.Numbers)
	if es != nil {
		return s.stockDone(c, "receive", f, es)
	}
	err := s.app.Stock.Receive(c.Request().Context(), stockPerson(c), f.Lobby, stock.Type(f.Type), ns, f.Note)
	return s.stockDone(c, "receive", f, err)
}

func (s *Server) stockIssue(c echo.Context) error {
	f := stockFormOf(c)
	ns, es := stock.ParseNumbers(f.Numbers)
	if es != nil {
		return s.stockDone(c, "issue", f, es)
	}
	return s.stockDone(c, "issue", f, s.app.Stock.Issue(c.Request().Context(), stockPerson(c), ns, f.UsedBy, f.Note))
}

func (s *Server) stockReturn(c echo.Context) error {
	f := stockFormOf(c)
	ns, es := stock.ParseNumbers(f.Numbers)
	if es != nil {
		return s.stockDone(c, "return", f, es)
	}
	return s.stockDone(c, "return", f, s.app.Stock.Return(c.Request().Context(), stockPerson(c), f.Lobby, ns, f.Note))
}

func (s *Server) stockWriteOff(c echo.Context) error {
	f := stockFormOf(c)
	ns, es := stock.ParseNumbers(f.Numbers)
	if es != nil {
		return s.stockDone(c, "writeoff", f, es)
	}
	bl, err := s.app.Stock.WriteOff(c.Request().Context(), stockPerson(c), f.Op, ns, f.Note)
	if err != nil {
		return s.stockDone(c, "writeoff", f, err)
	}
	if len(bl) > 0 {
		// Say which credentials are now blocked at the gates, with links.
		return s.stockPage(c, http.StatusOK, views.StockData{Blocked: bl})
	}
	return s.stockDone(c, "writeoff", f, nil)
}

func (s *Server) stockItem(c echo.Context) error {
	it, err := s.app.Stock.Item(c.Param("id"))
	if err != nil {
		return err
	}
	h, err := s.app.Stock.History(it.Number)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.StockItem(views.StockItemData{Item: it, History: h}))
}

func (s *Server) handoverCreate(c echo.Context) error {
	f := stockFormOf(c)
	var es field.Errors
	to, err := s.app.Auth.Account(strings.TrimSpace(f.To))
	switch {
	case errors.Is(err, auth.ErrNotFound) || (err == nil && (to.Disabled || to.Role == auth.Host)):
		es.Add("to", "required")
	case err != nil:
		return err
	}
	ns, nes := stock.ParseNumbers(f.Numbers)
	es = append(es, nes...)
	if len(es) > 0 {
		return s.stockDone(c, "handover", f, es)
	}
	h, err := s.app.Stock.StartHandover(c.Request().Context(), stockPerson(c), stock.PersonOf(to), f.Lobby, ns, f.Note)
	if err != nil {
		return s.stockDone(c, "handover", f, err)
	}
	return s.redirect(c, "/stock/handovers/"+h.ID)
}

func (s *Server) handoverPage(c echo.Context, status int, es field.Errors) error {
	h, err := s.app.Stock.Handover(c.Param("id"))
	if err != nil {
		return err
	}
	return s.render(c, status, views.Handover(views.HandoverData{H: h, Me: accountOf(c).ID, Errs: es}))
}

func (s *Server) handoverShow(c echo.Context) error { return s.handoverPage(c, http.StatusOK, nil) }

func (s *Server) handoverAct(confirm bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		if _, err := s.app.Stock.Handover(id); err != nil {
			return err
		}
		var err error
		if confirm {
			err = s.app.Stock.Confirm(c.Request().Context(), stockPerson(c), id)
		} else {
			err = s.app.Stock.Cancel(c.Request().Context(), stockPerson(c), id)
		}
		if es, ok := field.As(err); ok {
			return s.handoverPage(c, http.StatusUnprocessableEntity, es)
		}
		if err != nil {
			return err
		}
		s.flash(c, "flash.saved")
		return s.redirect(c, "/stock/handovers/"+id)
	}
}

// handoverSheet is the printable handover sheet: every card, both names
// and the times.
func (s *Server) handoverSheet(c echo.Context) error {
	h, err := s.app.Stock.Handover(c.Param("id"))
	if err != nil {
		return err
	}
	if h.State != stock.HandoverConfirmed {
		return echo.NewHTTPError(http.StatusConflict)
	}
	l := langOf(c)
	loc := s.app.Config.Location
	types := map[string]stock.Type{}
	for _, n := range h.Numbers {
		if it, err := s.app.Stock.Item(n); err == nil {
			types[n] = it.Type
		}
	}
	lines := []string{
		l.T("stock.sheet_from") + ": " + h.From.Name,
		l.T("stock.sheet_to") + ": " + h.To.Name,
		l.T("stock.lobby") + ": " + h.Lobby,
		l.T("stock.sheet_created") + ": " + time.Unix(0, h.Created).In(loc).Format(exportTimeLayout),
		l.T("stock.sheet_confirmed") + ": " + time.Unix(0, h.Done).In(loc).Format(exportTimeLayout),
		l.T("stock.cards", len(h.Numbers)),
	}
	if h.Note != "" {
		lines = append(lines, l.T("keys.note")+": "+h.Note)
	}
	t := table{name: "handover-" + h.ID, header: []string{"#", l.T("stock.number"), l.T("stock.type")},
		rows: func(yield func([]any) bool) {
			for i, n := range h.Numbers {
				if !yield([]any{i + 1, n, l.T("stocktype." + string(types[n]))}) {
					return
				}
			}
		}}
	foot := []string{l.T("stock.sheet_sign", h.From.Name, h.To.Name)}
	return s.sendPDFWith(c, l.T("stock.sheet"), lines, t, foot)
}

// ledgerRange reads from/to (local dates, both inclusive; empty: open).
func (s *Server) ledgerRange(c echo.Context) (from, until time.Time, fromS, toS string) {
	fromS, toS = strings.TrimSpace(c.QueryParam("from")), strings.TrimSpace(c.QueryParam("to"))
	if d, _, err := s.app.Stock.Day(fromS); err == nil {
		from = d
	} else {
		fromS = ""
	}
	if _, d, err := s.app.Stock.Day(toS); err == nil {
		until = d
	} else {
		toS = ""
	}
	return from, until, fromS, toS
}

func (s *Server) ledgerData(c echo.Context) (d views.LedgerData, from, until time.Time, err error) {
	from, until, fs, ts := s.ledgerRange(c)
	rows, err := s.app.Stock.Report(from, until)
	if err != nil {
		return d, from, until, err
	}
	q := url.Values{}
	if fs != "" {
		q.Set("from", fs)
	}
	if ts != "" {
		q.Set("to", ts)
	}
	d = views.LedgerData{From: fs, To: ts, Rows: rows}
	if len(q) > 0 {
		d.Query = "?" + q.Encode()
	}
	return d, from, until, nil
}

// ledgerPageRows is how many entries the ledger page shows: the latest;
// the exports have them all.
const ledgerPageRows = 500

func (s *Server) stockLedger(c echo.Context) error {
	d, from, until, err := s.ledgerData(c)
	if err != nil {
		return err
	}
	if d.Entries, err = s.app.Stock.Latest(from, until, ledgerPageRows); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Ledger(d))
}

func (s *Server) stockLedgerExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, from, until, err := s.ledgerData(c)
		if err != nil {
			return err
		}
		l := langOf(c)
		period := d.From + " – " + d.To
		var lines []string
		for _, r := range d.Rows {
			lines = append(lines, fmt.Sprintf("%s: %s %d, %s %d, %s %d, %s %d", l.T("stocktype."+string(r.Type)),
				l.T("stock.opening"), r.Opening, l.T("stock.in"), r.In(), l.T("stock.out"), r.Out(), l.T("stock.closing"), r.Closing()))
		}
		t := table{name: "stock-ledger", header: []string{"#", l.T("audit.time"), l.T("stock.op"), l.T("keys.by"), l.T("stock.sheet_to"),
			l.T("stock.lobby"), l.T("stock.number"), l.T("stock.type"), l.T("keys.note")},
			// Entry by entry from the store, not the whole period in memory.
			rows: func(yield func([]any) bool) {
				err = s.app.Stock.EachEntry(from, until, func(e stock.Entry) bool {
					for _, r := range e.Items {
						if !yield([]any{e.Seq, time.Unix(0, e.At), l.T("stockop." + e.Op), e.By.Name, e.To.Name, firstNonEmpty(e.Lobby, r.Lobby),
							r.Number, l.T("stocktype." + string(r.Type)), strings.TrimSpace(e.UsedBy + " " + e.Note)}) {
							return false
						}
					}
					return true
				})
			},
			failed: func() error { return err }}
		if format == formatPDF {
			return s.sendPDF(c, l.T("stock.ledger")+" "+period, lines, t)
		}
		return s.sendTable(c, format, t)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// reconPageRows is how many reconciliations the page lists, the newest;
// the exports have them all.
const reconPageRows = 100

func (s *Server) reconData(c echo.Context, lobby, day string) (views.ReconData, error) {
	d := views.ReconData{Lobby: strings.TrimSpace(lobby), Day: strings.TrimSpace(day)}
	if _, _, err := s.app.Stock.Day(d.Day); err != nil {
		d.Day = s.app.Stock.Today()
	}
	var err error
	if d.Lobbies, err = s.app.Stock.Lobbies(); err != nil {
		return d, err
	}
	if d.Lobby == "" && len(d.Lobbies) == 1 {
		d.Lobby = d.Lobbies[0]
	}
	if d.Lobby != "" {
		if d.Preview, err = s.app.Stock.Preview(d.Lobby, d.Day); err != nil {
			return d, err
		}
	}
	if d.Recons, err = s.app.Stock.RecentRecons(d.Lobby, "", reconPageRows); err != nil {
		return d, err
	}
	q := url.Values{"day": {d.Day}}
	if d.Lobby != "" {
		q.Set("lobby", d.Lobby)
	}
	d.Query = "?" + q.Encode()
	return d, nil
}

func (s *Server) stockReconcile(c echo.Context) error {
	d, err := s.reconData(c, c.QueryParam("lobby"), c.QueryParam("day"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Reconcile(d))
}

func (s *Server) stockReconcileSave(c echo.Context) error {
	lobby, day := c.FormValue("lobby"), c.FormValue("day")
	counted, note := strings.TrimSpace(c.FormValue("counted")), c.FormValue("note")
	n, err := strconv.Atoi(counted)
	if err != nil {
		err = field.Errors{{Field: "counted", Code: "invalid"}}
	} else {
		_, err = s.app.Stock.Reconcile(c.Request().Context(), stockPerson(c), lobby, day, n, note)
	}
	if es, ok := field.As(err); ok {
		d, err := s.reconData(c, lobby, day)
		if err != nil {
			return err
		}
		d.Counted, d.Note, d.Errs = counted, note, es
		return s.render(c, http.StatusUnprocessableEntity, views.Reconcile(d))
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/stock/reconcile?"+url.Values{"lobby": {strings.TrimSpace(lobby)}, "day": {strings.TrimSpace(day)}}.Encode())
}

func (s *Server) stockReconcileExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		rs, err := s.app.Stock.Recons(c.QueryParam("lobby"), "")
		if err != nil {
			return err
		}
		l := langOf(c)
		t := table{name: "reconciliation", header: []string{l.T("stock.day"), l.T("stock.lobby"), l.T("stock.opening"), l.T("stock.received"),
			l.T("stock.issued"), l.T("stock.returned"), l.T("stock.written_off"), l.T("stock.expected"), l.T("stock.counted"),
			l.T("stock.difference"), l.T("stock.flagged"), l.T("keys.note"), l.T("keys.by"), l.T("audit.time")},
			rows: func(yield func([]any) bool) {
				for _, r := range rs {
					flag := ""
					if r.Flagged {
						flag = l.T("stock.flagged")
					}
					if !yield([]any{r.Day, r.Lobby, r.Opening, r.Received, r.Issued, r.Returned, r.WrittenOff, r.Expected, r.Counted,
						r.Difference, flag, r.Note, r.By, time.Unix(0, r.At)}) {
						return
					}
				}
			}}
		if format == formatPDF {
			return s.sendPDF(c, l.T("stock.recon"), []string{l.T("stock.recon_formula")}, t)
		}
		return s.sendTable(c, format, t)
	}
}

// sendPDF answers with t as a printable PDF, shown in the browser.
func (s *Server) sendPDF(c echo.Context, title string, lines []string, t table) error {
	return s.sendPDFWith(c, title, lines, t, nil)
}

func (s *Server) sendPDFWith(c echo.Context, title string, lines []string, t table, foot []string) error {
	var buf bytes.Buffer
	err := writePDF(&buf, pdfDoc{title: title, lines: lines, table: t, foot: foot, site: s.app.Config.SiteName,
		printed: s.app.Clock.Now(), loc: s.app.Config.Location})
	if err == nil {
		err = t.rowsErr()
	}
	if err != nil {
		return err
	}
	name := strings.Trim(unsafeFileName.ReplaceAllString(t.name, "-"), "-")
	h := c.Response().Header()
	h.Set("Content-Disposition", `inline; filename="`+name+`.pdf"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}

// pdfDoc is a printable listing: a title, lines of facts, a table and
// lines at the foot (signatures).
type pdfDoc struct {
	title   string
	lines   []string
	table   table
	foot    []string
	site    string
	printed time.Time
	loc     *time.Location
}

// writePDF sets d on A4 landscape pages, the table's header repeated on
// every page, in the fonts printout chooses.
func writePDF(w io.Writer, d pdfDoc) error {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetMargins(10, 10, 10)
	pdf.SetAutoPageBreak(false, 10)
	cjk, err := printout.AddFonts(pdf)
	if err != nil {
		return err
	}
	p := printout.Text{PDF: pdf, CJK: cjk}
	pageW, pageH := pdf.GetPageSize()
	const margin, rowH = 10.0, 6.0
	usable := pageW - 2*margin
	cols := max(1, len(d.table.header))
	colW := usable / float64(cols)
	y := 0.0
	header := func() {
		pdf.SetFillColor(230, 230, 230)
		pdf.Rect(margin, y, usable, rowH, "F")
		p.Size = 9
		for i, h := range d.table.header {
			p.Draw(margin+float64(i)*colW+1, y+4.2, p.Fit(h, colW-2))
		}
		y += rowH
	}
	page := func() {
		pdf.AddPage()
		y = margin
		p.Size = 8
		pdf.SetTextColor(120, 120, 120)
		p.Draw(margin, pageH-5, fmt.Sprintf("%s · %s · %d", d.site, d.printed.In(d.loc).Format(exportTimeLayout), pdf.PageNo()))
		pdf.SetTextColor(0, 0, 0)
	}
	page()
	p.Size = 14
	p.Draw(margin, y+6, p.Fit(d.title, usable))
	y += 10
	p.Size = 10
	for _, l := range d.lines {
		p.Draw(margin, y+4, p.Fit(l, usable))
		y += 5.5
	}
	y += 2
	header()
	p.Size = 9
	for row := range d.table.rows {
		if y+rowH > pageH-margin-2 {
			page()
			header()
			p.Size = 9
		}
		for i, v := range row {
			if i >= cols {
				break
			}
			p.Draw(margin+float64(i)*colW+1, y+4.2, p.Fit(csvCell(v, d.loc), colW-2))
		}
		pdf.SetDrawColor(220, 220, 220)
		pdf.Line(margin, y+rowH, margin+usable, y+rowH)
		y += rowH
	}
	if len(d.foot) > 0 {
		if y+12*float64(len(d.foot)) > pageH-margin {
			page()
		}
		y += 8
		p.Size = 10
		for _, l := range d.foot {
			p.Draw(margin, y+4, p.Fit(l, usable))
			y += 12
		}
	}
	if err := pdf.Error(); err != nil {
		return err
	}
	return pdf.Output(w)
}
