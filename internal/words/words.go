// Package words holds the small helpers for wording messages that
// several packages share.
package words

import "unicode/utf8"

// Plural picks one or many by n.
func Plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Clip keeps at most n octets of s, cut at a character, with "…" when
// it cut: untrusted text quoted in a message.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
