package mrz

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ICAO Doc 9303 specimens.
var (
	td3 = []string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}
	td1 = []string{
		"I<UTOD231458907<<<<<<<<<<<<<<<",
		"7408122F1204159UTO<<<<<<<<<<<6",
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
	}
	td2 = []string{
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"D231458907UTO7408122F1204159<<<<<<<6",
	}
	mrva = []string{
		"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
	}
	mrvb = []string{
		"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"L8988901C4XXX4009078F9612109<<<<<<<<",
	}
	// Document numbers over nine characters run on into the optional data.
	td1Long = []string{
		"I<UTOD23145890<1233<<<<<<<<<<<",
		"7408122F1204159UTO<<<<<<<<<<<2",
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
	}
	td2Long = []string{
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"D23145890<UTO7408122F12041591233<<<4",
	}
)

func TestCheckDigit(t *testing.T) {
	tests := []struct {
		in   string
		want byte
	}{
		{"L898902C3", '6'},
		{"740812", '2'},
		{"120415", '9'},
		{"ZE184226B<<<<<", '1'},
		{"D23145890", '7'},
		{"<<<<<<", '0'},
		{"", '0'},
		{"L898902C36" + "7408122" + "1204159ZE184226B<<<<<1", '0'},
	}
	for _, tt := range tests {
		if got := CheckDigit(tt.in); got != tt.want {
			t.Errorf("CheckDigit(%q) = %c, want %c", tt.in, got, tt.want)
		}
	}
}

func TestParseSpecimens(t *testing.T) {
	anna := Document{
		Issuer: "UTO", Primary: "ERIKSSON", Secondary: "ANNA MARIA", Nationality: "UTO",
		Birth: "740812", Sex: "F", Expiry: "120415",
	}
	with := func(f func(*Document)) Document {
		d := anna
		f(&d)
		return d
	}
	tests := []struct {
		name  string
		lines []string
		want  Document
	}{
		{"TD3 passport", td3, with(func(d *Document) {
			d.Format, d.Code, d.Number, d.Optional1 = TD3, "P", "L898902C3", "ZE184226B"
		})},
		{"TD1 card", td1, with(func(d *Document) { d.Format, d.Code, d.Number = TD1, "I", "D23145890" })},
		{"TD2 card", td2, with(func(d *Document) { d.Format, d.Code, d.Number = TD2, "I", "D23145890" })},
		{"TD1 long number", td1Long, with(func(d *Document) { d.Format, d.Code, d.Number = TD1, "I", "D23145890123" })},
		{"TD2 long number", td2Long, with(func(d *Document) { d.Format, d.Code, d.Number = TD2, "I", "D23145890123" })},
		{"MRV-A visa", mrva, with(func(d *Document) {
			d.Format, d.Code, d.Number, d.Nationality = TD3, "V", "L8988901C", "XXX"
			d.Birth, d.Expiry, d.Optional1 = "400907", "961210", "6ZE184226B"
		})},
		{"MRV-B visa", mrvb, with(func(d *Document) {
			d.Format, d.Code, d.Number, d.Nationality = TD2, "V", "L8988901C", "XXX"
			d.Birth, d.Expiry = "400907", "961210"
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.lines...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// set replaces the character at pos (0-based) of line i.
func set(lines []string, i, pos int, c byte) []string {
	out := append([]string(nil), lines...)
	b := []byte(out[i])
	b[pos] = c
	out[i] = string(b)
	return out
}

func TestParseNamesTheFailedCheckDigits(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []Field
	}{
		{"TD3 number misread", set(td3, 1, 3, '9'), []Field{FieldNumber, FieldComposite}},
		{"TD3 number check digit", set(td3, 1, 9, '5'), []Field{FieldNumber, FieldComposite}},
		{"TD3 birth date", set(td3, 1, 15, '1'), []Field{FieldBirth, FieldComposite}},
		{"TD3 expiry date", set(td3, 1, 22, '3'), []Field{FieldExpiry, FieldComposite}},
		{"TD3 personal number", set(td3, 1, 30, '9'), []Field{FieldPersonal, FieldComposite}},
		{"TD3 composite only", set(td3, 1, 43, '1'), []Field{FieldComposite}},
		{"TD3 check digit letter", set(td3, 1, 9, 'O'), []Field{FieldNumber, FieldComposite}},
		{"TD1 number", set(td1, 0, 14, '8'), []Field{FieldNumber, FieldComposite}},
		{"TD1 optional data counts in the composite", set(td1, 0, 20, 'B'), []Field{FieldComposite}},
		{"TD1 expiry", set(td1, 1, 14, '0'), []Field{FieldExpiry, FieldComposite}},
		{"TD1 long number", set(td1Long, 0, 18, '4'), []Field{FieldNumber, FieldComposite}},
		{"TD1 filler without a run-on", set(td1, 0, 14, '<'), []Field{FieldNumber, FieldComposite}},
		{"TD2 birth", set(td2, 1, 19, '0'), []Field{FieldBirth, FieldComposite}},
		{"TD2 composite", set(td2, 1, 35, '0'), []Field{FieldComposite}},
		{"visa number", set(mrva, 1, 9, '0'), []Field{FieldNumber}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(tt.lines...)
			var ce *CheckError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCheckDigit) {
				t.Fatalf("err %v, want a CheckError", err)
			}
			if !reflect.DeepEqual(ce.Fields, tt.want) {
				t.Fatalf("fields %q, want %q", ce.Fields, tt.want)
			}
			if doc.Primary != "ERIKSSON" {
				t.Errorf("document not returned with the error: %#v", doc)
			}
			if strings.Contains(err.Error(), "L898902C3") || strings.Contains(err.Error(), "D23145890") {
				t.Errorf("error %q holds the document number", err)
			}
		})
	}
}

func TestParseRejectsWhatIsNotAnMRZ(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"nothing", nil},
		{"one line", td3[:1]},
		{"three passport lines", append(td3, td3[1])},
		{"mixed lengths", []string{td3[0], td2[1]}},
		{"lower case", []string{strings.ToLower(td3[0]), td3[1]}},
		{"lines swapped", []string{td3[1], td3[0]}},
		{"first line twice", []string{td3[0], td3[0]}},
		{"digit in the document code", set(td3, 0, 0, '1')},
		{"filler first in the document code", set(td3, 0, 0, '<')},
		{"digit in the issuing state", set(td3, 0, 3, '0')},
		{"letter in the birth date", set(td3, 1, 14, 'A')},
		{"filler in the expiry date", set(td3, 1, 23, '<')},
		{"sex Q", set(td3, 1, 20, 'Q')},
		{"space", set(td3, 1, 20, ' ')},
		{"TD1 lines rotated", []string{td1[1], td1[2], td1[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse(tt.lines...)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("err %v, want ErrFormat", err)
			}
			if doc != (Document{}) {
				t.Fatalf("document returned with a format error: %#v", doc)
			}
		})
	}
}

func TestUnknownBirthDateParts(t *testing.T) {
	// Birth day and month unknown: fillers, check digit over them.
	l2 := []byte(td3[1])
	copy(l2[13:19], "74<<<<")
	l2[19] = CheckDigit("74<<<<")
	l2[43] = CheckDigit(string(l2[0:10]) + string(l2[13:20]) + string(l2[21:43]))
	doc, err := Parse(td3[0], string(l2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doc.BirthDate(time.Now()); !errors.Is(err, ErrDate) {
		t.Fatalf("BirthDate of 74<<<<: %v, want ErrDate", err)
	}
}

func TestDates(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		birth, expiry string
		wantB, wantE  string
	}{
		{"740812", "120415", "1974-08-12", "2012-04-15"},
		{"250101", "350601", "2025-01-01", "2035-06-01"},
		{"251231", "991231", "1925-12-31", "1999-12-31"},
		{"000229", "740101", "2000-02-29", "2074-01-01"},
	}
	for _, tt := range tests {
		d := Document{Birth: tt.birth, Expiry: tt.expiry}
		b, err := d.BirthDate(now)
		if err != nil || b.Format(time.DateOnly) != tt.wantB {
			t.Errorf("BirthDate(%s) = %v, %v; want %s", tt.birth, b, err, tt.wantB)
		}
		e, err := d.ExpiryDate(now)
		if err != nil || e.Format(time.DateOnly) != tt.wantE {
			t.Errorf("ExpiryDate(%s) = %v, %v; want %s", tt.expiry, e, err, tt.wantE)
		}
	}
	for _, bad := range []string{"741332", "740230", "740800", "7408", "74081A"} {
		if _, err := (Document{Birth: bad}).BirthDate(now); !errors.Is(err, ErrDate) {
			t.Errorf("BirthDate(%s): %v, want ErrDate", bad, err)
		}
	}
}

func TestDocumentNeverPrintsPersonalData(t *testing.T) {
	doc, _ := Parse(td3...)
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("read", "doc", doc)
	for _, s := range []string{fmt.Sprint(doc), fmt.Sprintf("%+v", doc), sb.String()} {
		for _, secret := range []string{"L898902C3", "ERIKSSON", "740812", "ZE184226B"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaked in %s", secret, s)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, d := range [][]string{td1, td2, td3, mrva, mrvb, td1Long, td2Long, set(td3, 1, 9, '5')} {
		f.Add(strings.Join(d, "\n"))
	}
	f.Add("P<\n<<")
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		doc, err := Parse(lines...)
		if errors.Is(err, ErrFormat) {
			if doc != (Document{}) {
				t.Fatal("document with a format error")
			}
			return
		}
		if err != nil && !errors.Is(err, ErrCheckDigit) {
			t.Fatalf("error %v is neither ErrFormat nor ErrCheckDigit", err)
		}
		if lines, length := doc.Format.Shape(); lines == 0 || len(s) < lines*length {
			t.Fatalf("parsed %d bytes as %v", len(s), doc.Format)
		}
		for _, v := range []string{doc.Number, doc.Primary, doc.Secondary, doc.Optional1, doc.Optional2} {
			if strings.Contains(v, "<") {
				t.Fatalf("filler left in %q", v)
			}
		}
	})
}
