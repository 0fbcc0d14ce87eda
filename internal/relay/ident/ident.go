// Package ident decides which e-mail addresses the relay takes as logins and when two
// of them name the same account.
//
// A login is shown to people (member lists, the audit log, invitations), so it must not
// hide anything: control and format characters (zero-width spaces and joiners, bidi
// overrides, the byte order mark, the soft hyphen), other invisible code points,
// private-use and unassigned code points, and surrounding or inner whitespace are
// refused. Two accepted addresses are the same account when their Key is equal: NFKC
// (full-width and other compatibility forms become plain letters) and full case folding
// ("ADMIN", "ſ", "ß" and "ss" compare as their folded forms). Every place an address
// enters or is compared goes through CheckEmail and Key, and nothing else.
package ident

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailLen bounds an address in bytes (RFC 5321's path limit less the brackets).
const MaxEmailLen = 254

// The reasons CheckEmail and CheckText give. They are fit for a problem detail.
var (
	ErrEmpty      = errors.New("is required")
	ErrSpace      = errors.New("must not start or end with white space")
	ErrInvisible  = errors.New("must not contain control, format, invisible, private-use or unassigned characters")
	ErrNotAnEmail = errors.New("not an e-mail address")
	ErrTooLong    = errors.New("must be at most 254 bytes")
	ErrEncoding   = errors.New("is not valid UTF-8")
)

// CheckEmail returns nil when s is acceptable as a login: a bare address (no display
// name, no angle brackets) of visible characters, or one of the reasons above.
func CheckEmail(s string) error {
	if err := checkRunes(s, false); err != nil {
		return err
	}
	if len(s) > MaxEmailLen {
		return ErrTooLong
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return ErrNotAnEmail
	}
	return nil
}

// CheckText returns nil when s may be shown as a name (an organization or an
// application client): the same characters as CheckEmail refuses are refused, except
// that single spaces inside are fine.
func CheckText(s string) error { return checkRunes(s, true) }

func checkRunes(s string, spaces bool) error {
	if s == "" {
		return ErrEmpty
	}
	if !utf8.ValidString(s) {
		return ErrEncoding
	}
	if strings.TrimSpace(s) != s {
		return ErrSpace
	}
	for _, r := range s {
		if !visible(r, spaces) {
			return ErrInvisible
		}
	}
	return nil
}

// visible reports whether r shows as itself: a letter, mark, number, punctuation or
// symbol that is assigned, not private-use and not default-ignorable (the variation
// selectors, the combining grapheme joiner and the Hangul fillers are marks and letters
// that draw nothing). spaces allows the Zs separators.
func visible(r rune, spaces bool) bool {
	switch {
	case unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point):
		return false
	case unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
		return true
	}
	return spaces && unicode.Is(unicode.Zs, r)
}

// Key is the form under which addresses are unique and looked up: NFKC, full case
// folding, and NFKC again (folding can undo normalization). It is meant for addresses
// CheckEmail accepted; the address itself is kept and shown as it was given.
func Key(s string) string {
	// A Caser keeps state between calls, so each call makes its own.
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}
