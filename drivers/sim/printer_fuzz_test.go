package sim

import (
	"testing"

	"gatehouse/drivers/escpos"
)

// FuzzPrinterInput: whatever the printer is sent, it neither panics nor
// answers with anything but status bytes, one per request.
func FuzzPrinterInput(f *testing.F) {
	job, _ := escpos.Slip{Site: "HQ", Visitor: "张三", Pass: "GH1.x", Badge: true}.Bytes()
	f.Add(job, true)
	f.Add([]byte("\x10\x04\x01\x10\x04\x05\x10\x04\x04"), false)
	f.Add([]byte("\x1b\x64\xff\x1d\x56\x41"), true)
	f.Fuzz(func(t *testing.T, b []byte, paperOut bool) {
		var s printerState
		s.reset()
		if paperOut {
			s.paper = PaperOut
		}
		reply := s.feed(b)
		if len(reply) > s.statusRequests {
			t.Fatalf("%d answers to %d requests", len(reply), s.statusRequests)
		}
		for _, r := range reply {
			if !escpos.IsStatusByte(r) {
				t.Fatalf("answer %02X", r)
			}
		}
		if len(s.jobs) > printerMaxJobs || len(s.job.Lines) > printerMaxLines+1 || len(s.line.Text) > printerMaxLine {
			t.Fatalf("unbounded: %d jobs, %d lines", len(s.jobs), len(s.job.Lines))
		}
	})
}
