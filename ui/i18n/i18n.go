// Package i18n holds the UI's catalogues (Simplified Chinese and English)
// and picks the user's language: the "lang" cookie if set, else the
// browser's Accept-Language, else the site default.
package i18n

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/language"

	"gatehouse/appliance/field"
)

// Lang is a UI language.
type Lang string

// Languages.
const (
	ZH Lang = "zh"
	EN Lang = "en"
)

// Langs lists the supported languages.
var Langs = []Lang{ZH, EN}

var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// Parse returns the language named by s, if supported.
func Parse(s string) (Lang, bool) {
	switch strings.ToLower(s) {
	case "zh", "zh-cn", "zh-hans":
		return ZH, true
	case "en":
		return EN, true
	}
	return "", false
}

// Detect picks the language: cookie, then Accept-Language, then fallback.
func Detect(cookie, acceptLanguage string, fallback Lang) Lang {
	if l, ok := Parse(cookie); ok {
		return l
	}
	if acceptLanguage != "" {
		tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
		if err == nil && len(tags) > 0 {
			_, idx, conf := matcher.Match(tags...)
			if conf != language.No {
				return []Lang{ZH, EN}[idx]
			}
		}
	}
	return fallback
}

// T translates key; args are formatted into the text with fmt verbs.
// A missing key shows as itself, and a test keeps that from shipping.
func (l Lang) T(key string, args ...any) string {
	cat := zh
	if l == EN {
		cat = en
	}
	s, ok := cat[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Field says what is wrong with a field in l.
func (l Lang) Field(e field.Error) string {
	key := "err." + e.Code
	if e.Arg != "" {
		return l.T(key, e.Arg)
	}
	return l.T(key)
}

// Command names a command type for the audit trail ("visit.approve":
// "Visit approved"); a type the catalogues lack shows as itself, never as
// its key.
func (l Lang) Command(typ string) string {
	key := CommandKey(typ)
	if s := l.T(key); s != key {
		return s
	}
	return typ
}

// CommandKey is the catalogue key naming command type typ.
func CommandKey(typ string) string { return "audit.cmd." + typ }

// Name is the language's name in itself.
func (l Lang) Name() string {
	if l == EN {
		return "English"
	}
	return "中文"
}

type ctxKey struct{}

// With returns ctx carrying l.
func With(ctx context.Context, l Lang) context.Context { return context.WithValue(ctx, ctxKey{}, l) }

// From returns the language in ctx, Chinese if none.
func From(ctx context.Context) Lang {
	if l, ok := ctx.Value(ctxKey{}).(Lang); ok {
		return l
	}
	return ZH
}

// Keys lists every catalogue key, sorted: for tests that look for a key
// shown as itself.
func Keys() []string {
	keys := make([]string, 0, len(en))
	for k := range en {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
