package ident

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCheckEmail(t *testing.T) {
	for _, c := range []struct {
		in   string
		want error
	}{
		{"admin@localhost", nil},
		{"ａｄｍｉｎ@localhost", nil}, // accepted; Key makes it admin@localhost
		{"jürgen@example.de", nil},
		{"admin@localhost\u200b", ErrInvisible},
		{"admin@localhost\u200c", ErrInvisible},
		{"admin@localhost\u200d", ErrInvisible},
		{"admin@localhost\u202e", ErrInvisible},
		{"admin@localhost\u2066", ErrInvisible},
		{"\ufeffadmin@localhost", ErrInvisible},
		{"ad\u00admin@localhost", ErrInvisible},
		{"ad\u034fmin@localhost", ErrInvisible}, // combining grapheme joiner
		{"ad\ufe0fmin@localhost", ErrInvisible}, // variation selector
		{"\u3164admin@localhost", ErrInvisible}, // Hangul filler
		{"admin\x00@localhost", ErrInvisible},
		{"admin\x1b@localhost", ErrInvisible},
		{"admin\u0085@localhost", ErrInvisible},
		{"admin@local\ue000host", ErrInvisible}, // private use
		{"admin@local\U000F0000host", ErrInvisible},
		{"admin@local\U0010FFFEhost", ErrInvisible}, // noncharacter, unassigned
		{"admin@local\u0378host", ErrInvisible},     // unassigned
		{"admin@local\u00a0host", ErrInvisible},     // no-break space
		{" admin@localhost", ErrSpace},
		{"admin@localhost\n", ErrSpace},
		{"admin@localhost\u3000", ErrSpace},
		{"admin\xff@localhost", ErrEncoding},
		{"", ErrEmpty},
		{"Admin <admin@localhost>", ErrInvisible}, // the space is refused before the parse
		{"<admin@localhost>", ErrNotAnEmail},
		{"admin", ErrNotAnEmail},
		{strings.Repeat("a", 250) + "@x.io", ErrTooLong},
	} {
		if got := CheckEmail(c.in); !errors.Is(got, c.want) {
			t.Errorf("CheckEmail(%s) = %v, want %v", strconv.QuoteToASCII(c.in), got, c.want)
		}
	}
}

func TestCheckText(t *testing.T) {
	for in, want := range map[string]error{
		"Site 1 — Main St.": nil,
		"東京 本社":             nil,
		"evil\u202eexe.txt": ErrInvisible,
		"a\u200bb":          ErrInvisible,
		"a\tb":              ErrInvisible,
		" padded":           ErrSpace,
	} {
		if got := CheckText(in); !errors.Is(got, want) {
			t.Errorf("CheckText(%s) = %v, want %v", strconv.QuoteToASCII(in), got, want)
		}
	}
}

func TestKey(t *testing.T) {
	same := [][]string{
		{"admin@localhost", "ADMIN@localhost", "ａｄｍｉｎ@localhost", "Admin@LOCALHOST", "ＡＤＭＩＮ@localhost"},
		{"sam@example.com", "\u017fam@example.com", "SAM@example.com"},
		{"strasse@example.com", "straße@example.com", "STRASSE@example.com", "STRAẞE@example.com"},
		{"kate@example.com", "\u212aate@example.com"},
		{"josé@example.com", "jose\u0301@example.com", "JOSÉ@example.com"},
	}
	for _, group := range same {
		for _, s := range group[1:] {
			if Key(s) != Key(group[0]) {
				t.Errorf("Key(%s) = %q, Key(%s) = %q; want equal", strconv.QuoteToASCII(s), Key(s), group[0], Key(group[0]))
			}
		}
	}
	if Key("admin@localhost") == Key("admin@localhost.") || Key("a@x.io") == Key("b@x.io") {
		t.Error("different addresses share a key")
	}
	for _, group := range same {
		for _, s := range group {
			if k := Key(s); Key(k) != k {
				t.Errorf("Key is not idempotent on %s", strconv.QuoteToASCII(s))
			}
		}
	}
}
