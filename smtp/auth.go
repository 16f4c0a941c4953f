package smtp

import "strings"

// minBase64Run is the shortest run of base64 characters masked while AUTH
// is in progress.
//
// Why a run rule and not the secret's forms: a relay that echoes the
// client's AUTH PLAIN line in its 535 reply shows base64("\0user\0pass"),
// where base64(pass) does not occur; the password's octets land at an
// offset that depends on the length of the user name, and only the middle
// of one of three encodings (of pass, "x"+pass, "xx"+pass) is there.
// Substring redaction misses it. So every server line read from the AUTH
// command to its final reply has each run of 8 or more base64 characters
// replaced by "<redacted>", unless it reads as a word: letters only, in
// lower case after at most one capital, or all capitals
// ("Authentication", "successful", "CREDENTIALS"). Base64 of a secret of
// 8 or more characters is such a word with a chance under 1 in 500, and
// the password itself, plain and base64 at every alignment, is redacted
// before the runs are looked at.
const minBase64Run = 8

// maskAuth returns a server line as it may be shown: unchanged outside
// AUTH; inside, the password redacted (a server may echo it decoded) and
// then every base64 run of minBase64Run or more characters masked.
func (c *Conn) maskAuth(line string) string {
	if !c.inAuth {
		return line
	}
	return maskBase64Runs(Redact(line, c.authPass))
}

// maskReply masks each line of a reply read during AUTH.
func (c *Conn) maskReply(r Reply) Reply {
	lines := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		lines[i] = c.maskAuth(l)
	}
	r.Lines = lines
	return r
}

// maskBase64Runs replaces each maximal run of base64 characters (A-Z a-z
// 0-9 + /, with its "=" padding) of minBase64Run or more by "<redacted>".
// The "redacted" of a "<redacted>" already there is left alone.
func maskBase64Runs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isBase64(s[j]) {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		run := j - i
		for j < len(s) && s[j] == '=' {
			j++
		}
		marker := s[i:j] == "redacted" && i > 0 && s[i-1] == '<' && j < len(s) && s[j] == '>'
		if run >= minBase64Run && !marker && !isWord(s[i:j]) {
			b.WriteString("<redacted>")
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// isWord reports whether a run is letters only, in lower case after at
// most one capital, or all capitals: text, not an encoding.
func isWord(s string) bool {
	lower, upper := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z':
			lower++
		case 'A' <= c && c <= 'Z':
			if i > 0 && lower > 0 {
				return false
			}
			upper++
		default:
			return false
		}
	}
	return lower == 0 || upper <= 1
}
