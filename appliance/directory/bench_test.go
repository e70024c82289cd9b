package directory

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/store"
)

// A synthetic building for the benchmarks and the RSS test: 20 floors, 50
// companies on two floors each, and n employees spread evenly over the
// companies and their floors, with distinct names.
const (
	benchFloors    = 20
	benchCompanies = 50
	benchPeople    = 100_000
)

var benchSyllables = []string{"ka", "lo", "mi", "ra", "ten", "vo", "shi", "an", "del", "pu",
	"ze", "nor", "bi", "qua", "fen", "go", "ly", "mar", "tis", "ul"}

func benchFloorName(f int) string   { return fmt.Sprintf("F%02d", f+1) }
func benchCompanyName(c int) string { return fmt.Sprintf("Company %02d", c) }

// benchCompanyFloors are the two floors (indexes) of company c.
func benchCompanyFloors(c int) [2]int {
	return [2]int{c % benchFloors, (c + benchFloors/2) % benchFloors}
}

// benchName is employee i's name: 400 first names × 400 surnames, so the
// first 160,000 names are all different.
func benchName(i int) string {
	n := len(benchSyllables)
	first := benchSyllables[i%n] + benchSyllables[(i/n)%n] + "a"
	last := benchSyllables[(i/(n*n))%n] + benchSyllables[(i/(n*n*n))%n] + "son"
	return strings.ToUpper(first[:1]) + first[1:] + " " + strings.ToUpper(last[:1]) + last[1:]
}

// benchEmployeesCSV is an import file of n employees.
func benchEmployeesCSV(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 64)
	b.WriteString(CSVHeader + "\n")
	for i := 0; i < n; i++ {
		c := i % benchCompanies
		f := benchCompanyFloors(c)[(i/benchCompanies)%2]
		host := "yes"
		if i%3 == 0 {
			host = "no"
		}
		fmt.Fprintf(&b, "%s,139%08d,%s,%s,E%06d,Engineer,%s\n", benchName(i), i, benchCompanyName(c), benchFloorName(f), i, host)
	}
	return b.Bytes()
}

type benchDirectory struct {
	svc       *Service
	floors    []Floor
	companies []Company
}

// setupBenchDirectory builds the synthetic building in dir through the
// ordinary services and the CSV import (500-row chunks).
func setupBenchDirectory(tb testing.TB, dir string, n int) *benchDirectory {
	tb.Helper()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	Register(st)
	d := &benchDirectory{svc: New(st, clock.System{}, testKeys(tb))}
	ctx := context.Background()
	for f := 0; f < benchFloors; f++ {
		fl, err := d.svc.SaveFloor(ctx, "bench", Floor{Name: benchFloorName(f), Level: f + 1})
		if err != nil {
			tb.Fatal(err)
		}
		d.floors = append(d.floors, fl)
	}
	for c := 0; c < benchCompanies; c++ {
		fs := benchCompanyFloors(c)
		co, err := d.svc.SaveCompany(ctx, "bench", Company{Name: benchCompanyName(c),
			FloorIDs: []string{d.floors[fs[0]].ID, d.floors[fs[1]].ID}})
		if err != nil {
			tb.Fatal(err)
		}
		d.companies = append(d.companies, co)
	}
	start := time.Now()
	got, err := d.svc.ImportEmployeesCSV(ctx, "bench", benchEmployeesCSV(n), nil)
	if err != nil {
		tb.Fatal(err)
	}
	pg, err := d.svc.Search(Query{Kind: Employee, Limit: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("imported %d employees in %v; the directory lists %d", got, time.Since(start).Round(time.Millisecond), pg.Total)
	if pg.Total != n {
		tb.Logf("WARNING: import reported %d rows but the directory lists %d employees", got, pg.Total)
	}
	return d
}

// BenchmarkSearch100k measures Search (what the people page and the API
// call) over 100,000 employees. The directory is built once, untimed.
func BenchmarkSearch100k(b *testing.B) {
	b.StopTimer()
	d := setupBenchDirectory(b, b.TempDir(), benchPeople)
	b.StartTimer()
	queries := []struct {
		name string
		q    Query
		want int // matches in all
	}{
		{"name-rare", Query{Kind: Employee, Text: strings.ToLower(benchName(54321))}, 1},
		{"name-common", Query{Kind: Employee, Text: "kalo"}, -1},
		{"company", Query{Kind: Employee, CompanyID: d.companies[7].ID}, benchPeople / benchCompanies},
		{"floor", Query{Kind: Employee, FloorID: d.floors[3].ID}, benchPeople / benchFloors},
		{"all-first-page", Query{Kind: Employee}, benchPeople},
		{"all-offset-50000", Query{Kind: Employee, Offset: 50_000}, benchPeople},
	}
	for _, tc := range queries {
		b.Run(tc.name, func(b *testing.B) {
			pg, err := d.svc.Search(tc.q)
			if err != nil {
				b.Fatal(err)
			}
			if tc.want >= 0 && pg.Total != tc.want {
				b.Logf("%s: %d matches, expected %d", tc.name, pg.Total, tc.want)
			}
			if len(pg.People) == 0 {
				b.Fatalf("%s: empty page (total %d)", tc.name, pg.Total)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.svc.Search(tc.q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pg.Total), "matches")
		})
	}
}
