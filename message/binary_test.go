package message

import (
	"errors"
	"testing"
)

// A file of another kind — an Outlook .msg (OLE), gzip, random octets —
// is refused as a whole: read as text it became a message of "fields"
// made of binary data, with a score and a report of control characters.
// A NUL in the body is the body's business (format findings), not this.
func TestParseRefusesBinary(t *testing.T) {
	for name, in := range map[string]string{
		"outlook .msg": "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00: x\r\nFrom: a@b.example\r\n\r\nbody\r\n",
		"gzip":         "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03From: a@b.example\n",
		"NUL in field": "From: a@b.example\r\nSubject: a\x00b\r\n\r\nbody\r\n",
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrBinary) {
			t.Errorf("%s: Parse error %v, want ErrBinary", name, err)
		}
	}
	m, err := Parse([]byte("From: a@b.example\r\nSubject: s\r\n\r\nbody \x00 here\r\n"))
	if err != nil || len(m.Fields) != 2 {
		t.Errorf("a NUL in the body: %v, %+v; want the message parsed", err, m)
	}
}
