package spf

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MacroEnv holds what macros expand to (§7.3).
type MacroEnv struct {
	Sender string     // s: the full sender, local@domain
	Domain string     // d: the domain whose record is being evaluated
	IP     netip.Addr // i, c, v
	HELO   string     // h
	// Validated is p: a validated domain name of IP (§7.3), or "" for
	// "unknown". The caller resolves it when NeedsValidatedName says so.
	Validated string
	Receiver  string    // r, explanations only; "unknown" when empty
	Now       time.Time // t, explanations only
}

// NeedsValidatedName reports whether expanding s needs the p macro.
func NeedsValidatedName(s string) bool {
	return strings.Contains(strings.ToLower(s), "%{p")
}

// Expand expands a macro-string. exp allows c, r and t (explanation
// text, §7.1). When the result is a domain name (not exp), it is cut to
// 253 octets by dropping labels from the left (§7.3).
func Expand(s string, env MacroEnv, exp bool) (string, error) {
	if _, err := checkMacroString(s, exp); err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '%':
			b.WriteByte('%')
			i++
			continue
		case '_':
			b.WriteByte(' ')
			i++
			continue
		case '-':
			b.WriteString("%20")
			i++
			continue
		}
		end := i + strings.IndexByte(s[i:], '}')
		b.WriteString(expandOne(s[i+2:end], env))
		i = end
	}
	out := b.String()
	if !exp {
		out = truncateName(out)
	}
	return out, nil
}

// expandOne expands the body of one %{...} (already validated).
func expandOne(body string, env MacroEnv) string {
	letter := body[0]
	v := transform(macroValue(letter|0x20, env), body[1:])
	if letter >= 'A' && letter <= 'Z' {
		v = urlEscape(v)
	}
	return v
}

// macroValue is what a (lower-case) macro letter stands for (§7.3).
func macroValue(letter byte, env MacroEnv) string {
	var v string
	switch letter {
	case 's':
		v = env.Sender
	case 'l':
		v = localPart(env.Sender)
	case 'o':
		v = senderDomain(env.Sender)
	case 'd':
		v = env.Domain
	case 'i':
		v = dottedIP(env.IP)
	case 'p':
		v = env.Validated
		if v == "" {
			v = "unknown"
		}
	case 'v':
		v = "in-addr"
		if !env.IP.Unmap().Is4() {
			v = "ip6"
		}
	case 'h':
		v = env.HELO
	case 'c':
		v = env.IP.Unmap().String()
	case 'r':
		v = env.Receiver
		if v == "" {
			v = "unknown"
		}
	case 't':
		v = strconv.FormatInt(env.Now.Unix(), 10)
	}
	return v
}

// transform applies a macro's transformers, *DIGIT [ "r" ], and its
// delimiters (§7.3) to its value v.
func transform(v, rest string) string {
	j := 0
	for j < len(rest) && isDigit(rest[j]) {
		j++
	}
	keep := 0
	if j > 0 {
		keep, _ = strconv.Atoi(rest[:j])
	}
	rest = rest[j:]
	reverse := false
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		reverse = true
		rest = rest[1:]
	}
	delims := rest
	if delims == "" {
		delims = "."
	}
	parts := splitAny(v, delims)
	if reverse {
		slices.Reverse(parts)
	}
	if keep > 0 && keep < len(parts) {
		parts = parts[len(parts)-keep:]
	}
	return strings.Join(parts, ".")
}

// splitAny splits s at any of the delimiter bytes, keeping empty parts.
func splitAny(s, delims string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// urlEscape escapes all but the unreserved characters (RFC 3986 §2.3),
// as uppercase macro letters ask (§7.3).
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// dottedIP is the i macro: dotted quad, or dot-separated nibbles (§7.3).
func dottedIP(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return ip.Unmap().String()
	}
	a := ip.As16()
	var parts []string
	for _, x := range a {
		parts = append(parts, strconv.FormatUint(uint64(x>>4), 16), strconv.FormatUint(uint64(x&0xf), 16))
	}
	return strings.Join(parts, ".")
}

// localPart is l: the sender's local part, "postmaster" when empty (§4.3).
func localPart(sender string) string {
	i := strings.LastIndexByte(sender, '@')
	if i <= 0 {
		return "postmaster"
	}
	return sender[:i]
}

func senderDomain(sender string) string {
	i := strings.LastIndexByte(sender, '@')
	return sender[i+1:]
}

// truncateName cuts a name to 253 octets by dropping labels from the left.
func truncateName(s string) string {
	trail := strings.HasSuffix(s, ".")
	name := strings.TrimSuffix(s, ".")
	for len(name) > 253 {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
	if trail {
		return name + "."
	}
	return name
}
