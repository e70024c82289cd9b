package idcard

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"
	"unicode/utf16"
)

// block lays fields out by explicit byte offsets, as the layouts in the
// public SDK manuals give them, independently of Card.Text.
func block(fields map[int]string) []byte {
	b := make([]byte, TextSize)
	for i := 0; i < TextSize; i += 2 {
		b[i] = ' '
	}
	for off, s := range fields {
		for i, u := range utf16.Encode([]rune(s)) {
			binary.LittleEndian.PutUint16(b[off+2*i:], u)
		}
	}
	return b
}

// GB 11643's own examples of citizen identity numbers.
const (
	number1 = "11010519491231002X"
	number2 = "440524188001010014"
)

var resident = Card{Kind: Resident, Name: "张三", Sex: SexMale, Ethnicity: "01", Birth: Date{1949, 12, 31},
	Address: "北京市朝阳区某某路1号", Number: number1, Authority: "北京市公安局朝阳分局",
	ValidFrom: Date{2015, 3, 1}, ValidTo: Date{2035, 3, 1}}

func TestCheckChar(t *testing.T) {
	for _, n := range []string{number1, number2, "110105194912310021"[:17] + "?"} {
		c, ok := CheckChar(n[:17])
		if !ok {
			t.Fatalf("%s: not digits", n)
		}
		if want := n[17]; want != '?' && c != want {
			t.Errorf("%s: check char %c", n, c)
		}
	}
	if ValidNumber("110105194912310021") || ValidNumber("11010519491231002") || ValidNumber("1101051949123100AX") {
		t.Error("invalid numbers accepted")
	}
}

func TestParseText(t *testing.T) {
	residentBlock := map[int]string{0: "张三", 30: "1", 32: "01", 36: "19491231", 52: "北京市朝阳区某某路1号",
		122: number1, 158: "北京市公安局朝阳分局", 188: "20150301", 204: "20350301"}
	with := func(m map[int]string, k int, v string) map[int]string {
		n := map[int]string{}
		for a, b := range m {
			n[a] = b
		}
		n[k] = v
		return n
	}
	longTerm := resident
	longTerm.ValidTo, longTerm.LongTerm, longTerm.Sex, longTerm.Ethnicity, longTerm.Number = Date{}, true, SexFemale, "98", number2
	expired := resident
	expired.ValidFrom, expired.ValidTo = Date{2004, 5, 1}, Date{2024, 5, 1}
	badDigit := resident
	badDigit.Number = "110105194912310021"
	permit := Card{Kind: Permit, Name: "陈大文", Sex: SexMale, Birth: Date{1980, 1, 1}, Address: "广东省深圳市福田区某某路2号",
		Number: "810000198001010011", Authority: "深圳市公安局", ValidFrom: Date{2019, 1, 1}, ValidTo: Date{2024, 1, 1},
		PassNumber: "H12345678", IssueCount: "01"}
	permit.Number = permit.Number[:17] + string(must(CheckChar(permit.Number[:17])))
	foreigner := Card{Kind: Foreigner, NameEN: "SMITH, JOHN", Name: "史密斯", Sex: SexMale, Number: "USA310080012345",
		Nationality: "USA", Birth: Date{1980, 8, 1}, ValidFrom: Date{2018, 1, 1}, ValidTo: Date{2028, 1, 1},
		Version: "01", Authority: "1500"}
	for _, tc := range []struct {
		name   string
		block  []byte
		want   Card
		fields []Field // nil: no error
		err    error
	}{
		{"resident", block(residentBlock), resident, nil, nil},
		{"resident, long-term, foreign-born, female", block(with(with(with(with(residentBlock, 204, "长期"), 30, "2"), 32, "98"), 122, number2)), longTerm, nil, nil},
		{"expired resident card parses", block(with(with(residentBlock, 188, "20040501"), 204, "20240501")), expired, nil, nil},
		{"bad check digit names the number", block(with(residentBlock, 122, "110105194912310021")), badDigit, []Field{FieldNumber}, nil},
		{"unknown ethnicity code", block(with(residentBlock, 32, "60")), func() Card { c := resident; c.Ethnicity = "60"; return c }(), []Field{FieldEthnicity}, nil},
		{"impossible birth date", block(with(residentBlock, 36, "19490231")), func() Card { c := resident; c.Birth = Date{}; return c }(), []Field{FieldBirth}, nil},
		{"HK/Macao/Taiwan permit", block(map[int]string{0: "陈大文", 30: "1", 36: "19800101", 52: permit.Address, 122: permit.Number,
			158: "深圳市公安局", 188: "20190101", 204: "20240101", 220: "H12345678", 238: "01", 248: "J"}), permit, nil, nil},
		{"foreigner 2017", block(map[int]string{0: "SMITH, JOHN", 120: "1", 122: "USA310080012345", 152: "USA", 158: "史密斯",
			188: "20180101", 204: "20280101", 220: "19800801", 236: "01", 240: "1500", 248: "I"}), foreigner, nil, nil},
		{"foreigner 2023 is not guessed", block(map[int]string{248: "Y"}), Card{}, nil, ErrUnknownKind},
		{"short block", make([]byte, 100), Card{}, nil, ErrText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseText(tc.block)
			switch {
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
			case tc.fields != nil:
				var fe *FieldError
				if !errors.As(err, &fe) || !reflect.DeepEqual(fe.Fields, tc.fields) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v, want fields %v", err, tc.fields)
				}
			case err != nil:
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, tc.want) {
				t.Fatalf("card\n %+v\nwant\n %+v", c, tc.want)
			}
			if tc.err == nil && tc.fields == nil {
				if got, _ := ParseText(tc.want.Text()); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("Text does not round-trip: %+v", got)
				}
			}
		})
	}
}

func must(b byte, ok bool) byte {
	if !ok {
		panic("not digits")
	}
	return b
}

func TestExpired(t *testing.T) {
	c := resident
	c.ValidTo = Date{2024, 5, 1}
	// The last valid day is the end date, in China's time.
	if c.Expired(time.Date(2024, 5, 1, 15, 59, 0, 0, time.UTC)) {
		t.Error("expired on its last day")
	}
	if !c.Expired(time.Date(2024, 5, 1, 16, 0, 0, 0, time.UTC)) {
		t.Error("not expired the day after (00:00 in Beijing)")
	}
	c.LongTerm, c.ValidTo = true, Date{}
	if c.Expired(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("long-term card expired")
	}
}

func TestEthnicities(t *testing.T) {
	if len(ethnicities) != 58 {
		t.Fatalf("%d codes, want 56 groups + 97 + 98", len(ethnicities))
	}
	c := Card{Ethnicity: "05"}
	if c.EthnicityName() != "维吾尔" {
		t.Fatal(c.EthnicityName())
	}
}

// FuzzParseText: any 256 bytes parse to a card, a card with named field
// errors, or a refusal — never a panic — and a clean card lays out again
// to the same card.
func FuzzParseText(f *testing.F) {
	f.Add(resident.Text())
	f.Add(block(map[int]string{248: "I"}))
	f.Add(block(map[int]string{248: "J", 204: "长期"}))
	f.Add(make([]byte, TextSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseText(b)
		if errors.Is(err, ErrText) || errors.Is(err, ErrUnknownKind) {
			if !reflect.DeepEqual(c, Card{}) {
				t.Fatal("a card with a refusal")
			}
			return
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("unexpected error %v", err)
		}
		if err == nil {
			if c2, err := ParseText(c.Text()); err != nil || !reflect.DeepEqual(c, c2) {
				t.Fatalf("round trip: %v\n%+v\n%+v", err, c, c2)
			}
		}
	})
}
