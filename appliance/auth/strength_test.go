package auth

import "testing"

// TestWeakPasswordsRefused: common and guessable passwords are refused with
// the reason, administrators more strictly. Before, "admin123" was taken as
// the administrator's new password.
func TestWeakPasswordsRefused(t *testing.T) {
	tests := []struct {
		role     Role
		username string
		pw       string
		want     string // error code on "password", "" = accepted
	}{
		{Admin, "admin", "admin123", "password_too_short"},
		{Admin, "admin", "admin1234567", "password_weak"},
		{Admin, "admin", "password1234", "password_common"},
		{Admin, "admin", "qwertyuiopasdf", "password_weak"},
		{Admin, "admin", "Gatehouse2026!", "password_weak"},
		{Admin, "admin", "lobby-guard-7319-north", ""},
		{Host, "wang", "password", "password_common"},
		{Host, "wang", "iloveyou", "password_common"},
		{Host, "wang", "wang1990", "password_weak"},
		{Host, "wang", "11111111", "password_common"},
		{Host, "wang", "pass-word-1", ""},
		{Reception, "guard1", "correct horse", ""},
		{Reception, "guard1", "GUARD1", "password_too_short"},
		{Reception, "guard12", "GUARD12x", "password_weak"},
	}
	for _, tc := range tests {
		t.Run(string(tc.role)+" "+tc.pw, func(t *testing.T) {
			es := CheckPasswordRules(tc.username, "Wang Wei", tc.role, tc.pw)
			if got := es.For("password").Code; got != tc.want {
				t.Fatalf("code %q, want %q", got, tc.want)
			}
		})
	}
}
