// Package message reads one received RFC 5322 message as untrusted
// input: its header fields (bounded in size and number), the Received
// trace, DKIM-Signature tags, List-Unsubscribe URIs, ARC sets and the
// format rules receivers apply. Parsing is pure and never panics; the
// lookups (DKIM keys, SPF, DMARC) are the checks' work.
package message

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Limits on a message. A received message's header section is a few
// KB, up to about 100 KB after many hops with ARC sets; 1 MiB is far
// beyond any real one. Verification of DKIM signatures costs a key
// lookup and a body hash each: receivers stop after a few (Gmail
// reports at most a handful), and so does preflight.
const (
	MaxHeaderBytes = 1 << 20
	MaxFields      = 2000
	MaxSignatures  = 10
	// MaxLine is RFC 5322 §2.1.1's limit on a line, CRLF excluded.
	MaxLine = 998
)

// Field is one header field: its name as written and its value
// unfolded (CRLF before whitespace removed), and Raw, the field as it
// was in the message (name, colon, folded value, without the final CRLF).
type Field struct {
	Name, Value, Raw string
}

// Message is a parsed message. Raw has CRLF line endings (a message
// saved with bare LF, as mail clients save files, is converted first:
// signatures are computed over CRLF, RFC 6376 §3.4).
type Message struct {
	Raw    []byte
	Fields []Field
	Body   []byte
	// BareLF is set when the file had bare LF line endings; Mbox when
	// it began with an mbox "From " line, which was dropped.
	BareLF, Mbox bool
	// LongLines counts lines over MaxLine octets, in the header and
	// the body; Control the control characters (other than tab) in
	// header fields; NonASCII the header octets over 0x7f.
	LongLines, Control, NonASCII int
}

// ErrBinary is Parse's error for a NUL octet in the header section. No
// message has one (RFC 5322 §2.2 allows none, and MTAs refuse them); a
// file that does is another kind (an Outlook .msg, a compressed file,
// random data), which read as text gave a report of "fields" made of
// binary data.
var ErrBinary = errors.New("a NUL octet in the header section: a binary file, not an RFC 5322 message (save the message as text, .eml)")

// Errors of Parse.
var (
	ErrEmpty      = errors.New("empty")
	ErrNoHeader   = errors.New("no header fields: not an RFC 5322 message")
	ErrHeaderSize = fmt.Errorf("header section over %d octets", MaxHeaderBytes)
	// ErrTooManyFields: a header of more fields than MaxFields is
	// refused, not read in part: the fields left out (a From, the
	// Received trace) would be reported missing.
	ErrTooManyFields = fmt.Errorf("more than %d header fields", MaxFields)
)

// Parse reads a message. It fails only when there is nothing that can
// be a message's header; everything else wrong is in the Message for
// the format rules to report.
func Parse(b []byte) (*Message, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, ErrEmpty
	}
	m := &Message{}
	if bytes.HasPrefix(b, []byte("From ")) {
		// An mbox separator ("From sender date"), as mail clients save
		// a message: the file's, not the message's.
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b, m.Mbox = b[i+1:], true
		}
	}
	b, m.BareLF = toCRLF(b)
	m.Raw = b
	end := bytes.Index(b, []byte("\r\n\r\n"))
	var head []byte
	switch {
	case end < 0 && len(b) > MaxHeaderBytes:
		return nil, ErrHeaderSize
	case end < 0: // header only, no body
		head = b
		m.Body = nil
	case end+2 > MaxHeaderBytes:
		return nil, ErrHeaderSize
	default:
		head, m.Body = b[:end+2], b[end+4:]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return nil, ErrBinary
	}
	lines := strings.Split(strings.TrimSuffix(string(head), "\r\n"), "\r\n")
	var cur []string
	cut := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		raw := strings.Join(cur, "\r\n")
		cur = nil
		if len(m.Fields) >= MaxFields {
			cut++
			return
		}
		name, value, ok := strings.Cut(raw, ":")
		if !ok || !validName(name) {
			// Not a field: kept with an empty name, so the format
			// rules can say so.
			m.Fields = append(m.Fields, Field{Raw: raw, Value: raw})
			return
		}
		m.Fields = append(m.Fields, Field{Name: name, Value: unfold(value), Raw: raw})
	}
	for i, l := range lines {
		if len(l) > MaxLine {
			m.LongLines++
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			switch {
			case c == '\t':
			case c < ' ' || c == 0x7f:
				m.Control++
			case c > 0x7f:
				m.NonASCII++
			}
		}
		if i > 0 && l != "" && (l[0] == ' ' || l[0] == '\t') && len(cur) > 0 {
			cur = append(cur, l)
			continue
		}
		flush()
		cur = append(cur, l)
	}
	flush()
	if cut > 0 {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyFields, len(m.Fields)+cut)
	}
	if len(m.Fields) == 0 || m.Fields[0].Name == "" && len(m.Fields) == 1 {
		return nil, ErrNoHeader
	}
	if named := countNamed(m.Fields); named == 0 {
		return nil, ErrNoHeader
	}
	for l := range bytes.SplitSeq(m.Body, []byte("\r\n")) {
		if len(l) > MaxLine {
			m.LongLines++
		}
	}
	return m, nil
}

func countNamed(fs []Field) int {
	n := 0
	for _, f := range fs {
		if f.Name != "" {
			n++
		}
	}
	return n
}

// validName is RFC 5322 §3.6.8 ftext: printable ASCII but colon.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// unfold removes the CRLF of folding and the whitespace around the
// value (RFC 5322 §2.2.3).
func unfold(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	return strings.Trim(v, " \t")
}

// toCRLF turns bare LF line endings into CRLF. A bare CR is no line
// break (RFC 5322 §2.3; DKIM verifiers such as dkimpy read it so too):
// it stays, and the format rules count it as a control character.
func toCRLF(b []byte) ([]byte, bool) {
	bare := false
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			bare = true
			break
		}
	}
	if !bare {
		return b, false
	}
	out := make([]byte, 0, len(b)+len(b)/20)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out, true
}

// Get returns the fields of that name (case-insensitive), in order.
func (m *Message) Get(name string) []Field {
	var out []Field
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	return out
}

// First returns the value of the first field of that name.
func (m *Message) First(name string) (string, bool) {
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Header returns the raw header section the fields were read from,
// ending in CRLF CRLF, with at most MaxFields fields.
func (m *Message) Header() []byte {
	var b bytes.Buffer
	for _, f := range m.Fields {
		b.WriteString(f.Raw)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
