package message

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds untrusted messages through every reader of the
// package: none may panic, and the bounds hold.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/messages/*.eml")
	for _, name := range files[:min(len(files), 8)] {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("From: a@b\n\n"))
	f.Add([]byte("Received: from x (y [IPv6:::1]) (using TLSv1.3) by z with ESMTPS; d\r\nDKIM-Signature: v=1; l=x; x=9999999999999999999; h=from:from\r\nList-Unsubscribe: <https://a/>, <mailto:b@c>\r\nARC-Seal: i=1; d=a; cv=none\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if len(m.Fields) > MaxFields {
			t.Fatalf("%d fields", len(m.Fields))
		}
		m.Lint()
		m.FromAddress()
		m.Hops()
		m.Trusted("")
		m.ListUnsubscribe()
		m.ARCSets()
		m.AuthResults("")
		for _, f := range m.Get("DKIM-Signature") {
			ParseSignature(f.Value)
		}
		vs, _ := m.Verify(func(name string) ([]string, error) {
			return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		})
		if len(vs) > MaxSignatures {
			t.Fatalf("%d signatures verified", len(vs))
		}
	})
}

// A file saved by a mail client may begin with an mbox "From " line and
// have LF line endings: the message is what follows, in CRLF.
func TestParseMboxLF(t *testing.T) {
	m, err := Parse([]byte("From sender@example.com Sun Nov 29 10:00:00 2026\nFrom: a@example.com\nSubject: x\n\nbody\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Mbox || !m.BareLF || len(m.Fields) != 2 || m.Fields[0].Value != "a@example.com" || string(m.Body) != "body\r\n" {
		t.Errorf("%+v", m)
	}
	if _, d, why := m.FromAddress(); d != "example.com" {
		t.Errorf("From domain %q (%s)", d, why)
	}
}

func TestParseReceived(t *testing.T) {
	for _, c := range []struct {
		in, helo, ip, by, tls string
		enc                   bool
	}{
		{"from mail.example (mail.example [203.0.113.5]) (using TLSv1.3 with cipher X) by mx.r.example (Postfix) with ESMTPS id 1; date", "mail.example", "203.0.113.5", "mx.r.example", "TLSv1.3", true},
		{"from mail.example (mail.example. [2001:db8::5]) by mx.google.com with ESMTPS id x (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256); date", "mail.example", "2001:db8::5", "mx.google.com", "TLS1_3", true},
		{"by 2002:a05:6402::1 with SMTP id x; date", "", "", "2002:a05:6402::1", "", false},
		{"from [198.51.100.7] by mx with SMTP; d", "[198.51.100.7]", "198.51.100.7", "mx", "", false},
		{"((((", "", "", "", "", false},
	} {
		r := ParseReceived(c.in)
		ip := ""
		if r.IP.IsValid() {
			ip = r.IP.String()
		}
		if r.HELO != c.helo || ip != c.ip || r.By != c.by || r.TLS != c.tls || r.Encrypted() != c.enc {
			t.Errorf("%q: got %+v", c.in, r)
		}
	}
}
