package auth

import (
	"strconv"
	"strings"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"gatehouse/appliance/field"
)

// Password strength (docs/decisions.md). A new password is refused when it
// is, as a whole, one of the common and breached passwords zxcvbn carries
// in the binary (the 30,000 most used, also reversed or in l33t spelling),
// or when zxcvbn estimates it guessable: a score under MinScore, under
// MinAdminScore and shorter than MinAdminPassword for administrators, who
// hold every key of the building. The account's name, username and the
// product's name count as known words. The reason is said in the user's
// language: too short, a common password, or too easy to guess.
const (
	MinScore         = 2  // about 10^6 guesses: slows an online guesser to years
	MinAdminScore    = 3  // about 10^8 guesses
	MinAdminPassword = 12 // characters
)

// CheckPasswordRules validates a new password for an account of role with
// the given username and display name.
func CheckPasswordRules(username, name string, role Role, pw string) field.Errors {
	var es field.Errors
	n := len([]rune(pw))
	minLen, minScore := MinPassword, MinScore
	if role == Admin {
		minLen, minScore = MinAdminPassword, MinAdminScore
	}
	switch {
	case n < minLen:
		es.AddArg("password", "password_too_short", strconv.Itoa(minLen))
	case n > MaxPassword:
		es.AddArg("password", "too_long", strconv.Itoa(MaxPassword))
	case strings.EqualFold(pw, username):
		es.Add("password", "password_is_username")
	default:
		known := []string{username, name, "gatehouse", "admin", "password"}
		r := zxcvbn.PasswordStrength(pw, known)
		switch {
		case common(r.Sequence, pw):
			es.Add("password", "password_common")
		case r.Score < minScore:
			es.Add("password", "password_weak")
		}
	}
	return es
}

// common reports whether pw as a whole is a listed password.
func common(seq []*match.Match, pw string) bool {
	if len(seq) != 1 {
		return false
	}
	m := seq[0]
	return m.Pattern == "dictionary" && m.DictionaryName == "passwords" && m.I == 0 && m.J == len([]rune(pw))-1
}
