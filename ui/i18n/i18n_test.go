package i18n

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh lacks %q", k)
		}
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
}

// TestEveryKeyUsedExists scans the UI and appliance sources for the keys
// they use, so a missing translation fails here and not in front of a guard.
func TestEveryKeyUsedExists(t *testing.T) {
	lit := regexp.MustCompile(`(?:T\(ctx, |\.T\(|Flash: |flash\(c, |Error: |Failure = |msg: )"([a-z_]+\.[a-z0-9_.]+)"`)
	code := regexp.MustCompile(`(?:Code: |Add\("[a-z_]+", |AddArg\("[a-z_]+", )"([a-z_]+)"`)
	n := 0
	for _, root := range []string{"..", "../../appliance"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_templ.go") || strings.HasSuffix(p, "_test.go") ||
				!(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".templ")) {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
				n++
				if _, ok := en[m[1]]; !ok && !strings.HasSuffix(m[1], ".") {
					t.Errorf("%s uses %q, not in the catalogues", p, m[1])
				}
			}
			for _, m := range code.FindAllStringSubmatch(string(b), -1) {
				n++
				if _, ok := en["err."+m[1]]; !ok {
					t.Errorf("%s reports code %q, no err.%s in the catalogues", p, m[1], m[1])
				}
			}
			return nil
		})
	}
	if n < 100 {
		t.Fatalf("found only %d keys: the scan is broken", n)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct{ cookie, accept, want string }{
		{"en", "zh-CN", "en"},
		{"", "zh-CN,zh;q=0.9,en;q=0.8", "zh"},
		{"", "en-US,en;q=0.9", "en"},
		{"", "fr-FR", "zh"},
		{"xx", "", "zh"},
		{"", "zh-TW", "zh"},
	}
	for _, tc := range tests {
		if got := Detect(tc.cookie, tc.accept, ZH); string(got) != tc.want {
			t.Errorf("Detect(%q, %q) = %s, want %s", tc.cookie, tc.accept, got, tc.want)
		}
	}
}

// TestChineseWording keeps out words a Chinese reader takes the wrong way:
// 人流 reads as "abortion" (the page is 客流统计), 大会 is a congress (a
// meeting is 会议), 社区公告 is a residents' board (ours are 公告), and a
// staff form's "您的单位" would be the guard's own company.
func TestChineseWording(t *testing.T) {
	for k, v := range zh {
		for _, bad := range []string{"人流", "大会", "社区公告", "防回传"} {
			if strings.Contains(v, bad) {
				t.Errorf("zh %q = %q contains %q", k, v, bad)
			}
		}
		if strings.Contains(v, "您的单位") && k != "book.your_company" {
			t.Errorf("zh %q = %q says 您的单位 outside the visitor's own booking page", k, v)
		}
	}
}
