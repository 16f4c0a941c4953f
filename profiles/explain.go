package profiles

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxReply bounds the text of one reply the explainer reads: a bounce
// pasted whole is a few KiB; anything past this is not looked at.
const MaxReply = 16 << 10

// Reply is an SMTP reply (or the part of a bounce that quotes one),
// parsed: its basic code, its enhanced status code (RFC 3463), and its
// text on one line, made printable.
type Reply struct {
	Basic    int    // 550; 0 when there is none
	Enhanced string // "5.7.26"; empty when there is none
	Text     string // the reply on one line: control characters gone, space runs one space
	// otherClass is an enhanced code found of another class than the
	// basic code ("450 5.7.1"), and so not taken as the reply's.
	otherClass string
}

// Temporary reports whether the reply says "try again later" (4xx).
func (r Reply) Temporary() bool {
	return r.Basic/100 == 4 || r.Basic == 0 && strings.HasPrefix(r.Enhanced, "4.")
}

// ParseReply reads a reply as pasted: one line or several (the
// "550-5.7.26 ..." continuation lines of a multi-line reply, or a bounce
// around it). The text is untrusted: it is cut at MaxReply octets,
// invalid UTF-8 and control characters become spaces, and the codes are
// found by scanning tokens, never by trusting a position.
func ParseReply(s string) Reply {
	if len(s) > MaxReply {
		s = s[:MaxReply]
	}
	s = strings.ToValidUTF8(stripEscapes(s), " ")
	var b strings.Builder
	space := true
	for _, c := range s {
		if unicode.IsControl(c) || unicode.IsSpace(c) || c == utf8.RuneError || unicode.Is(unicode.Cf, c) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		b.WriteRune(c)
		space = false
	}
	text := strings.TrimSpace(b.String())
	r := Reply{Text: dropContinuations(text)}
	for _, tok := range strings.FieldsFunc(text, func(c rune) bool { return !(c >= '0' && c <= '9' || c == '.') }) {
		tok = strings.Trim(tok, ".")
		if r.Basic == 0 {
			if c, ok := parseBasic(tok); ok && c >= 200 && c < 600 {
				r.Basic = c
				continue
			}
		}
		if r.Enhanced == "" {
			if e, ok := parseEnhanced(tok); ok {
				r.Enhanced = e
			}
		}
	}
	if r.Basic != 0 && r.Enhanced != "" && r.Basic/100 != int(r.Enhanced[0]-'0') {
		// "550 ... 4.16.55" or an enhanced code of another reply: the
		// classes must agree (RFC 3463 §2), else the code is not this
		// reply's.
		r.otherClass, r.Enhanced = r.Enhanced, ""
	}
	return r
}

// stripEscapes removes terminal escape sequences (ESC [ ... m, ESC ] ...
// BEL) a hostile server puts in its reply: left in, their letters would
// stick to the words the matchers and marks look for ("\x1b[0mgsmtp").
func stripEscapes(s string) string {
	if !strings.ContainsAny(s, "\x1b\u009b") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		csi := c == 0x1b && i+1 < len(s) && s[i+1] == '['
		if c == 0xc2 && i+1 < len(s) && s[i+1] == 0x9b { // U+009B, the one-character CSI
			csi, i = true, i+1
		}
		switch {
		case csi:
			if c == 0x1b {
				i++
			}
			for i+1 < len(s) && (s[i+1] < 0x40 || s[i+1] > 0x7e) {
				i++
			}
			i++ // the final byte
		case c == 0x1b && i+1 < len(s) && s[i+1] == ']': // OSC, to BEL or ESC \
			i++
			for i+1 < len(s) && s[i+1] != 0x07 && s[i+1] != 0x1b {
				i++
			}
			i++
			if i < len(s) && s[i] == 0x1b {
				i++
			}
		case c == 0x1b:
			i++ // ESC and the one character after it
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// dropContinuations removes the code prefixes a multi-line reply repeats
// on every line ("550-5.7.26 " ... "550 5.7.26 "), after the first, so
// the text reads as one sentence.
func dropContinuations(text string) string {
	f := strings.Fields(text)
	if len(f) == 0 {
		return text
	}
	first, after, _ := strings.Cut(f[0], "-")
	if _, ok := parseBasic(first); !ok {
		return text
	}
	enh, _ := parseEnhanced(after)
	if enh == "" && len(f) > 1 {
		enh, _ = parseEnhanced(f[1])
	}
	out := []string{f[0]}
	for i := 1; i < len(f); i++ {
		w := f[i]
		if (w == first+"-" || w == first) && i > 1 {
			if i+1 < len(f) && enh != "" && f[i+1] == enh {
				i++
			}
			continue
		}
		if strings.HasPrefix(w, first+"-") && i > 1 {
			w = strings.TrimPrefix(w, first+"-")
			if w == "" || w == enh {
				continue
			}
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// parseBasic reads a three-digit reply code.
func parseBasic(s string) (int, bool) {
	if len(s) != 3 || s[0] < '2' || s[0] > '5' {
		return 0, false
	}
	c, err := strconv.Atoi(s)
	return c, err == nil
}

// parseEnhanced reads an enhanced status code, class.subject.detail
// (RFC 3463 §2: class 2, 4 or 5; subject and detail up to three digits).
func parseEnhanced(s string) (string, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.Contains("245", parts[0]) {
		return "", false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return "", false
		}
		if len(p) > 1 && p[0] == '0' {
			return "", false
		}
	}
	return s, true
}

// Match is a provider rule a reply is about.
type Match struct {
	Provider Provider
	Rule     Rule
	Profile  bool // a profile (check --profile), not a receiver the explainer knows
}

// Explanation is what the table says about a reply.
type Explanation struct {
	Reply   Reply
	Matches []Match
	// Generic is the meaning of the reply's codes by RFC 3463 (the
	// enhanced code) or RFC 5321 (the basic one).
	Generic string
}

// Explain parses a reply and finds the rules it is about. A reply is
// attributed to a provider only when it carries one of the provider's
// marks (Gmail's "gsmtp") or a matcher that names the provider alone
// ("[TSS09]"), and the code and all the words of one of the rule's
// matchers: nothing is attributed on a code alone, since receivers
// share codes.
func (t *Table) Explain(s string) Explanation {
	r := ParseReply(s)
	e := Explanation{Reply: r, Generic: Generic(r)}
	lower := strings.ToLower(r.Text)
	// Marks are looked for outside addresses: the recipient's own
	// address (<bob@outlook.com>) in another server's reply names no
	// provider.
	var servers []string
	for _, w := range strings.Fields(lower) {
		if !strings.Contains(w, "@") {
			servers = append(servers, w)
		}
	}
	unaddressed := " " + strings.Join(servers, " ") + " "
	for i, p := range append(append([]Provider{}, t.Providers...), t.Receivers...) {
		marked := false
		for _, m := range t.marksOf(p) {
			marked = marked || hasMark(unaddressed, strings.ToLower(m))
		}
		for _, rule := range p.Rules {
			if matches(rule, r, lower, marked) {
				e.Matches = append(e.Matches, Match{Provider: p, Rule: rule, Profile: i < len(t.Providers)})
				break // the first rule of a provider that matches
			}
		}
	}
	return e
}

// hasMark reports whether a provider's mark is in s as its server would
// put it there: a mark with a dot (yahoodns.net, outlook.com) as the
// domain of a longer host name (mta5.am0.yahoodns.net) or of a URL
// (https://postmaster.yahooinc.com/...), never as a word in the text
// ("as Outlook.com would say"); a mark without one (Gmail's gsmtp) as a
// word of its own.
func hasMark(s, mark string) bool {
	if !strings.Contains(mark, ".") {
		return hasWord(s, mark)
	}
	for i := 0; ; {
		j := strings.Index(s[i:], mark)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(mark)
		if start > 0 && (s[start-1] == '.' || s[start-1] == '/') && (end == len(s) || !nameByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

// hasWord reports whether mark is in s as a word of its own: not inside a
// longer name ("me.com" is not in "awesome.com", "gmx.de" not in
// "xgmx.de").
func hasWord(s, mark string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], mark)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(mark)
		if (start == 0 || !nameByte(s[start-1])) && (end == len(s) || !nameByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func matches(rule Rule, r Reply, lower string, marked bool) bool {
	for _, m := range rule.Replies {
		if !marked && !m.Alone {
			continue
		}
		if m.Code != r.Enhanced && m.Code != strconv.Itoa(r.Basic) {
			continue
		}
		all := true
		for _, w := range m.Words {
			all = all && strings.Contains(lower, strings.ToLower(w))
		}
		if all {
			return true
		}
	}
	return false
}
