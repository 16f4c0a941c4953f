package message

import (
	"cmp"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/preflight-mail/preflight/internal/words"
	"github.com/preflight-mail/preflight/resolver"
)

// Problem is one format rule a message breaks (RFC 5322, and the
// format rules large receivers add: Gmail's bulk sender guidelines ask
// for RFC 5322 compliance). Rule is a stable slug; Detail says where.
type Problem struct {
	Rule, Detail string
}

// Format rules.
const (
	RuleFromCount     = "from_count"      // not exactly one From field
	RuleFromAddresses = "from_addresses"  // From without exactly one valid address
	RuleNoDate        = "no_date"         // Date missing or not a date
	RuleNoMessageID   = "no_message_id"   // Message-ID missing or malformed
	RuleDuplicate     = "duplicate_field" // a single-instance field more than once
	RuleLongLine      = "long_line"       // a line over 998 octets
	RuleEncodedWord   = "bad_encoded_word"
	RuleControl       = "control_chars" // control characters in the header
	RuleNotUTF8       = "not_utf8"      // 8-bit header text that is not UTF-8
	RuleNotField      = "not_a_field"   // a header line that is no field
	RuleBareLF        = "bare_lf"       // LF line endings (the file, not necessarily the mail)
)

// singleInstance are the fields RFC 5322 §3.6 allows at most once.
var singleInstance = []string{"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To", "References", "Subject"}

// msgID is a usable Message-ID: <left@right>, no spaces (RFC 5322 §3.6.4).
var msgID = regexp.MustCompile(`^<[^<>@\s]+@[^<>@\s]+>$`)

// encodedWord finds RFC 2047 encoded-words.
var encodedWord = regexp.MustCompile(`=\?[^?\s]*\?[^?\s]*\?[^?\s]*\?=`)

// FromAddress returns the From field's one address and its domain, or
// why there is not exactly one.
func (m *Message) FromAddress() (addr *mail.Address, domain string, why string) {
	from := m.Get("From")
	switch len(from) {
	case 0:
		return nil, "", "no From field"
	case 1:
	default:
		return nil, "", fmt.Sprintf("%d From fields", len(from))
	}
	list, err := parseAddressList(from[0].Value)
	switch {
	case err != nil:
		return nil, "", fmt.Sprintf("From %q: %v", clipped(from[0].Value), err)
	case len(list) != 1:
		return nil, "", fmt.Sprintf("From holds %d addresses", len(list))
	}
	_, d, ok := strings.Cut(list[0].Address, "@")
	if !ok || d == "" {
		return nil, "", fmt.Sprintf("From %q has no domain", clipped(from[0].Value))
	}
	// The domain as DNS and the comparisons want it: an internationalised
	// From (RFC 6532) may write it in U-labels, whose policy and keys are
	// at the A-label names.
	if ascii, err := resolver.NormalizeDomain(d); err == nil {
		return list[0], ascii, ""
	}
	return list[0], strings.ToLower(strings.TrimSuffix(d, ".")), ""
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	// Any charset: the format check asks whether the word is well
	// formed, not what it says.
	return r, nil
}}

func parseAddressList(v string) ([]*mail.Address, error) {
	p := mail.AddressParser{WordDecoder: wordDecoder}
	return p.ParseList(v)
}

// Lint returns the format rules the message breaks.
func (m *Message) Lint() []Problem {
	var out []Problem
	if from := m.Get("From"); len(from) != 1 {
		out = append(out, Problem{RuleFromCount, fmt.Sprintf("%d From fields, RFC 5322 §3.6 wants exactly one", len(from))})
	} else if _, _, why := m.FromAddress(); why != "" {
		out = append(out, Problem{RuleFromAddresses, why})
	}
	if d, ok := m.First("Date"); !ok {
		out = append(out, Problem{RuleNoDate, "no Date field (RFC 5322 §3.6: required)"})
	} else if _, err := mail.ParseDate(d); err != nil {
		out = append(out, Problem{RuleNoDate, fmt.Sprintf("Date %q is not an RFC 5322 date", clipped(d))})
	}
	if id, ok := m.First("Message-ID"); !ok {
		out = append(out, Problem{RuleNoMessageID, "no Message-ID field (RFC 5322 §3.6.4: SHOULD; Gmail requires it of bulk mail)"})
	} else if !msgID.MatchString(id) {
		out = append(out, Problem{RuleNoMessageID, fmt.Sprintf("Message-ID %q is not <left@right>", clipped(id))})
	}
	for _, name := range singleInstance {
		if n := len(m.Get(name)); n > 1 && name != "From" {
			out = append(out, Problem{RuleDuplicate, fmt.Sprintf("%s appears %d times (RFC 5322 §3.6: at most once)", name, n)})
		}
	}
	if m.LongLines > 0 {
		out = append(out, Problem{RuleLongLine, fmt.Sprintf("%d lines over %d octets (RFC 5322 §2.1.1)", m.LongLines, MaxLine)})
	}
	for _, f := range m.Fields {
		if f.Name == "" {
			out = append(out, Problem{RuleNotField, fmt.Sprintf("header line %q is no field (no name and colon)", clipped(f.Raw))})
			break
		}
	}
	if m.Control > 0 {
		out = append(out, Problem{RuleControl, fmt.Sprintf("%d control characters in the header fields", m.Control)})
	}
	if m.NonASCII > 0 {
		for _, f := range m.Fields {
			if !utf8.ValidString(f.Raw) {
				out = append(out, Problem{RuleNotUTF8, fmt.Sprintf("%s holds 8-bit text that is not UTF-8 (RFC 5322 wants ASCII, RFC 6532 allows UTF-8; other charsets go in encoded-words)", clipped(cmp.Or(f.Name, "a header line")))})
				break
			}
		}
	}
	for _, f := range m.Fields {
		if bad := badEncodedWord(f.Value); bad != "" {
			out = append(out, Problem{RuleEncodedWord, fmt.Sprintf("%s: %q is not a valid RFC 2047 encoded-word", f.Name, clipped(bad))})
			break
		}
	}
	if m.BareLF {
		out = append(out, Problem{RuleBareLF, "the file has bare LF line endings; read as CRLF (a saved file often has them; on the wire they are an error, RFC 5322 §2.3)"})
	}
	return out
}

// badEncodedWord returns the first encoded-word in v that does not
// decode (an unknown encoding, bad base64 or quoted-printable), or "".
func badEncodedWord(v string) string {
	for _, w := range encodedWord.FindAllString(v, 20) {
		parts := strings.Split(w[2:len(w)-2], "?")
		if len(parts) != 3 || parts[0] == "" || len(w) > 75 { // RFC 2047 §2: at most 75 characters
			return w
		}
		if e := strings.ToUpper(parts[1]); e != "B" && e != "Q" {
			return w
		}
		text, err := wordDecoder.Decode(w)
		if err != nil {
			return w
		}
		// The decoder passes every charset through: what claims to be
		// UTF-8 or ASCII must be.
		switch cs, _, _ := strings.Cut(strings.ToLower(parts[0]), "*"); cs {
		case "utf-8", "utf8":
			if !utf8.ValidString(text) {
				return w
			}
		case "us-ascii":
			if strings.IndexFunc(text, func(r rune) bool { return r >= 0x80 }) >= 0 {
				return w
			}
		}
	}
	// "=?" that starts no complete encoded-word is left alone: it may
	// be plain text.
	return ""
}

// clipped is untrusted header text quoted in a problem: 80 octets at most.
func clipped(s string) string { return words.Clip(s, 80) }
