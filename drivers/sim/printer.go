package sim

import (
	"strings"
	"sync"
	"unicode/utf8"

	"gatehouse/drivers/escpos"
	"gatehouse/drivers/sim/pty"
)

// Paper is the state of a simulated printer's paper roll.
type Paper int

// Paper states.
const (
	PaperOK  Paper = iota
	PaperLow       // the near-end sensor sees the end coming
	PaperOut       // the end sensor sees none: the printer stops, offline
)

// PrintedLine is one line as the printer would print it, with the modes in
// force when its first character arrived.
type PrintedLine struct {
	Text          string
	Align         escpos.Align
	Bold          bool
	Width, Height int // multiples of the normal size
}

// QRCode is a QR symbol the printer was asked to print (GS ( k function
// 181), with the settings in force.
type QRCode struct {
	Data   string
	Model  int // 49 model 1, 50 model 2
	Module int // dots
	Level  escpos.QRLevel
}

// PrintJob is what the printer printed between two cuts.
type PrintJob struct {
	Lines []PrintedLine
	QR    []QRCode
	Cut   bool // ended by a cut; false for Pending
}

// Text is the job's lines, one per line.
func (j PrintJob) Text() string {
	var b strings.Builder
	for i, l := range j.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l.Text)
	}
	return b.String()
}

// Printer is an ESC/POS receipt printer. It reads the byte stream as a
// printer does (escpos.Decoder: commands, ASCII and, in Chinese mode,
// GB18030), keeps the rendered text and QR payloads of each job, and
// answers DLE EOT status requests from the state the test sets (paper,
// cover, fault). It prints whatever it is sent, paper or not: refusing to
// send to a printer that cannot print is the driver's job, and tests check
// that nothing arrived.
type Printer struct {
	plug
	done chan struct{}

	mu sync.Mutex
	st printerState
}

// NewPrinter plugs a printer in at path.
func NewPrinter(path string) (*Printer, error) {
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	p := &Printer{plug: plug{d}, done: make(chan struct{})}
	p.st.reset()
	go answer(d, &p.mu, p.st.feed, p.done)
	return p, nil
}

// Close unplugs the printer for good and stops its goroutine.
func (p *Printer) Close() error {
	err := p.dev.Close()
	<-p.done
	return err
}

// SetPaper sets the paper roll's state.
func (p *Printer) SetPaper(s Paper) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.paper = s
}

// SetCoverOpen opens or closes the roll cover.
func (p *Printer) SetCoverOpen(open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.cover = open
}

// SetFault jams the cutter (or clears it).
func (p *Printer) SetFault(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.fault = on
}

// SetSilent stops the printer answering status requests, as a printer on a
// cable without its return line.
func (p *Printer) SetSilent(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.silent = on
}

// Jobs returns the jobs printed and cut, in order.
func (p *Printer) Jobs() []PrintJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PrintJob(nil), p.st.jobs...)
}

// Pending returns what was printed since the last cut, the line being
// assembled included.
func (p *Printer) Pending() PrintJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.st.job
	j.Lines = append([]PrintedLine(nil), j.Lines...)
	if p.st.inLine {
		j.Lines = append(j.Lines, p.st.line)
	}
	return j
}

// StatusRequests counts the DLE EOT requests received.
func (p *Printer) StatusRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.statusRequests
}

// Unknown counts the commands and bytes the printer did not understand.
func (p *Printer) Unknown() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.unknown
}

// printerState is the printer's mind: what it was told and what it prints.
// It does no I/O, so the fuzz test drives it directly.
type printerState struct {
	dec escpos.Decoder

	// Modes, as ESC @ leaves them.
	align         escpos.Align
	bold          bool
	width, height int
	qrModel       int
	qrModule      int
	qrLevel       escpos.QRLevel
	qrData        []byte

	line   PrintedLine
	inLine bool // line holds text not yet printed
	job    PrintJob
	jobs   []PrintJob

	paper                   Paper
	cover, fault, silent    bool
	statusRequests, unknown int
}

// Bounds on what the simulator keeps, whatever it is sent: jobs (the oldest
// go first), QR codes in a job, lines in a job, bytes in a line.
const (
	printerMaxJobs  = 1000
	printerMaxLines = 10000
	printerMaxLine  = 4096
)

// reset is ESC @: modes back to their defaults.
func (s *printerState) reset() {
	s.align, s.bold, s.width, s.height = escpos.Left, false, 1, 1
	s.qrModel, s.qrModule, s.qrLevel = escpos.QRModel2, 3, escpos.QRLevelL
}

// status is what the sensors say.
func (s *printerState) status() escpos.Status {
	out := s.paper == PaperOut
	return escpos.Status{
		Offline:      out || s.cover || s.fault,
		CoverOpen:    s.cover,
		PaperEndStop: out,
		Error:        s.fault,
		CutterError:  s.fault,
		PaperLow:     s.paper != PaperOK,
		PaperOut:     out,
	}
}

// feed takes bytes from the driver and returns the printer's answers.
func (s *printerState) feed(b []byte) []byte {
	var reply []byte
	s.dec.Feed(b, func(ev escpos.Event) {
		switch ev.Op {
		case escpos.OpText:
			if !s.inLine {
				s.line = PrintedLine{Align: s.align, Bold: s.bold, Width: s.width, Height: s.height}
				s.inLine = true
			}
			s.line.Text = clipText(s.line.Text+ev.Text, printerMaxLine) // a real printer wraps; this bounds memory
		case escpos.OpLF:
			s.printLine(true)
		case escpos.OpFeed:
			n := ev.N
			if s.inLine {
				s.printLine(true)
				n--
			}
			for range max(n, 0) {
				s.printLine(true)
			}
		case escpos.OpInit:
			s.reset()
		case escpos.OpAlign:
			if ev.N <= 2 {
				s.align = escpos.Align(ev.N)
			} else if ev.N >= '0' && ev.N <= '2' {
				s.align = escpos.Align(ev.N - '0')
			}
		case escpos.OpBold:
			s.bold = ev.N == 1
		case escpos.OpSize:
			s.width, s.height = ev.N>>4+1, ev.N&0x0F+1
		case escpos.OpCut:
			s.printLine(false)
			s.job.Cut = true
			s.jobs = append(s.jobs, s.job)
			if len(s.jobs) > printerMaxJobs {
				s.jobs = s.jobs[1:]
			}
			s.job = PrintJob{}
		case escpos.OpQRModel:
			s.qrModel = ev.N
		case escpos.OpQRModule:
			s.qrModule = ev.N
		case escpos.OpQRLevel:
			s.qrLevel = escpos.QRLevel(ev.N)
		case escpos.OpQRStore:
			s.qrData = ev.Data
		case escpos.OpQRPrint:
			s.printLine(false)
			if len(s.qrData) > 0 && len(s.job.QR) < printerMaxJobs {
				s.job.QR = append(s.job.QR, QRCode{Data: string(s.qrData), Model: s.qrModel, Module: s.qrModule, Level: s.qrLevel})
			}
		case escpos.OpStatus:
			s.statusRequests++
			if st := s.status().StatusByte(byte(ev.N)); st != 0 && !s.silent {
				reply = append(reply, st)
			}
		case escpos.OpChinese, escpos.OpOther:
		default:
			s.unknown++
		}
	})
	return reply
}

// clipText cuts s to at most n bytes, at a character boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// printLine ends the current line. blank says a line feed on an empty line
// prints an empty line; a cut or a QR code only finishes a line under way.
func (s *printerState) printLine(blank bool) {
	if !s.inLine && !blank {
		return
	}
	if !s.inLine {
		s.line = PrintedLine{Align: s.align, Bold: s.bold, Width: s.width, Height: s.height}
	}
	s.job.Lines = append(s.job.Lines, s.line)
	s.inLine = false
	s.line = PrintedLine{}
	if len(s.job.Lines) > printerMaxLines {
		s.job.Lines = s.job.Lines[1:]
	}
}
