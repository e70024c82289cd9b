package isapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The person search's request and answer, as the ISAPI access-control
// guide spells them.
func TestUserSearchShapes(t *testing.T) {
	var c UserSearchCond
	c.UserInfoSearchCond.SearchID, c.UserInfoSearchCond.SearchResultPosition, c.UserInfoSearchCond.MaxResults = "1", 30, 30
	if b, _ := json.Marshal(c); string(b) != `{"UserInfoSearchCond":{"searchID":"1","searchResultPosition":30,"maxResults":30}}` {
		t.Errorf("search %s", b)
	}
	page := `{"UserInfoSearch":{"searchID":"1","responseStatusStrg":"MORE","numOfMatches":2,"totalMatches":45,"UserInfo":[` +
		`{"employeeNo":"V1001","name":"Guest","userType":"visitor","Valid":{"enable":true,"beginTime":"2026-12-07T09:00:00","endTime":"2026-12-07T17:00:00","timeType":"local"},"doorRight":"1"},` +
		`{"employeeNo":"E0001","name":"Staff","userType":"normal","Valid":{"enable":true,"beginTime":"2000-01-01T00:00:00","endTime":"2037-12-31T23:59:59"}}]}}`
	r, err := ParseUserSearch([]byte(page))
	if err != nil || r.ResponseStatusStrg != "MORE" || r.TotalMatches != 45 || len(r.UserInfo) != 2 || r.UserInfo[1].EmployeeNo != "E0001" {
		t.Fatalf("page: %+v %v", r, err)
	}
	if r, err := ParseUserSearch([]byte(`{"UserInfoSearch":{"searchID":"1","responseStatusStrg":"NO MATCH","numOfMatches":0,"totalMatches":0}}`)); err != nil || len(r.UserInfo) != 0 {
		t.Fatalf("no match: %+v %v", r, err)
	}
	for _, bad := range []string{
		`{"UserInfoSearch":{"responseStatusStrg":"MORE","numOfMatches":3,"UserInfo":[{"employeeNo":"1"}]}}`, // says more than it carries
		`{"UserInfoSearch":{"responseStatusStrg":"OK","numOfMatches":1,"UserInfo":[{"employeeNo":""}]}}`,    // no number
		`{"UserInfoSearch":{"responseStatusStrg":"WHAT","numOfMatches":0}}`,
		`{"statusCode":4}`, `[`,
	} {
		if _, err := ParseUserSearch([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// A terminal that answers a search with pages that say "MORE" but carry
// nobody is refused rather than asked for ever.
func TestUsersStopsOnAnEmptyMorePage(t *testing.T) {
	srv := fixed(t, `{"UserInfoSearch":{"searchID":"1","responseStatusStrg":"MORE","numOfMatches":0,"totalMatches":9}}`)
	c, err := New(srv, "admin", "pw", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Users(context.Background()); err == nil {
		t.Fatal("an endless search was accepted")
	}
}

func FuzzUserSearch(f *testing.F) {
	f.Add([]byte(`{"UserInfoSearch":{"searchID":"1","responseStatusStrg":"OK","numOfMatches":1,"totalMatches":1,"UserInfo":[{"employeeNo":"V1001","name":"G","userType":"visitor","Valid":{"enable":true}}]}}`))
	f.Add([]byte(`{"UserInfoSearch":{"responseStatusStrg":"NO MATCH"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseUserSearch(b)
		if err != nil {
			return
		}
		if r.NumOfMatches != len(r.UserInfo) {
			t.Fatalf("accepted a page whose count is not its persons: %+v", r)
		}
		for _, u := range r.UserInfo {
			if u.EmployeeNo == "" {
				t.Fatal("accepted a person without a number")
			}
		}
	})
}

// fixed is a server answering body to every request, unauthenticated.
func fixed(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
