package message

import (
	"net"
	"testing"
)

// A signature without d= or s=, or with an l= that is no number of
// octets, is malformed: a permanent error. go-msgauth looked the key up
// at "s._domainkey." (a temperror offline: exit 3, could not check) or
// refused the l= as a body length (unknown, never a fail).
func TestVerifyMalformedSignatures(t *testing.T) {
	lookup := func(name string) ([]string, error) {

		return nil, &net.DNSError{Err: "offline", Name: name, IsTemporary: true}
	}
	for _, sig := range []string{
		"v=1; a=rsa-sha256; d=; s=s1; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; s=s1; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=news.example; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=news.example; s=s1; h=from; bh=AAAA; b=AAAA; l=-1",
		"v=1; a=rsa-sha256; d=news.example; s=s1; h=from; bh=AAAA; b=AAAA; l=99999999999999999999999",
	} {
		m, err := Parse([]byte("DKIM-Signature: " + sig + "\r\nFrom: a@news.example\r\n\r\nbody\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		vs, _ := m.Verify(lookup)
		if len(vs) != 1 || vs[0].Result != DKIMPermError || vs[0].Reason != ReasonMalformed {
			t.Errorf("%s: %+v, want a permerror, malformed", sig, vs)
		}
	}
}
