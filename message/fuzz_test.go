package message

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
		e, _ := m.Trusted("")
		m.Trusted("mx.example")
		m.ListUnsubscribe()
		m.ARCSets()
		m.AuthResults(e, "")
		m.AuthResults(e, "mx.example")
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
		// Microsoft 365: the address in plain parentheses.
		{"from mta.example.org (192.0.2.1) by DB5PEPF00014B8F.mail.protection.outlook.com (10.167.8.203) with Microsoft SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.7472.11 via Frontend Transport; date", "mta.example.org", "192.0.2.1", "DB5PEPF00014B8F.mail.protection.outlook.com", "TLS1_3", true},
		{"from AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208:1::1) by AM0PR01MB5678.eurprd01.prod.exchangelabs.com with HTTPS; date", "AM0PR01MB1234.eurprd01.prod.exchangelabs.com", "2603:10a6:208:1::1", "AM0PR01MB5678.eurprd01.prod.exchangelabs.com", "", false},
		// qmail: reverse DNS name first, then (HELO name) (address).
		{"from evil.test (HELO mta.example.org) (203.0.113.66) by mx.rcv.test with ESMTPS; date", "mta.example.org", "203.0.113.66", "mx.rcv.test", "", true},
		// Exim: helo= in the comment.
		{"from [192.0.2.9] (helo=mta.example.org) by mx.rcv.test with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384; date", "mta.example.org", "192.0.2.9", "mx.rcv.test", "TLS1.3", true},
		{"from mta.example.org ([192.0.2.9] port=4711 helo=mta.example.org) by mx.rcv.test with esmtp; date", "mta.example.org", "192.0.2.9", "mx.rcv.test", "", false},
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

// The trusted hop is where the mail entered the receiver: internal
// hops above it are passed over, and a hop whose client cannot be read
// ends the search (a lower hop may be forged).
func TestTrusted(t *testing.T) {
	const (
		entry  = "Received: from mta.example.org (mta.example.org [192.0.2.1]) by mx.rcv.test (Postfix) with ESMTPS id A; date\r\n"
		amavis = "Received: from localhost (localhost [127.0.0.1]) by mx.rcv.test (Postfix) with ESMTP id Y; date\r\nReceived: from mx.rcv.test ([127.0.0.1]) by localhost (amavisd-new, port 10024) with ESMTP id Z; date\r\n"
		gmail  = "Received: by 2002:a05:6402::1 with SMTP id x; date\r\n"
		forged = "Received: from mta.example.org (mta.example.org [192.0.2.7]) by mx.rcv.test (Postfix) with ESMTPS id F; date\r\n"
		m365   = "Received: from AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208:1::1) by AM0PR01MB5678.eurprd01.prod.exchangelabs.com with HTTPS; date\r\n" +
			"Received: from DB5PEPF00014B8F.eurprd02.prod.outlook.com (2603:10a6:10:2cd::4) by AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208:1::1) with Microsoft SMTP Server; date\r\n" +
			"Received: from mta.example.org (192.0.2.1) by DB5PEPF00014B8F.mail.protection.outlook.com (10.167.8.203) with Microsoft SMTP Server; date\r\n" +
			"Received: from [10.1.1.5] (laptop.lan [10.1.1.5]) by mta.example.org (Postfix) with ESMTPSA id 4AB; date\r\n"
	)
	for _, c := range []struct {
		name, head, by, ip string
		internal           int
	}{
		{"postfix", entry, "", "192.0.2.1", 0},
		{"gmail internal hop", gmail + entry, "", "192.0.2.1", 0},
		{"amavis", amavis + entry, "", "192.0.2.1", 2},
		{"amavis by", amavis + entry, "mx.rcv.test", "192.0.2.1", 2},
		{"m365", m365, "", "192.0.2.1", 2},
		{"m365 by", m365, "DB5PEPF00014B8F.mail.protection.outlook.com", "192.0.2.1", 0},
		{"unreadable top", "Received: from evil.test by mx.rcv.test with ESMTPS; date\r\n" + forged, "", "", 0},
		{"unreadable by", "Received: from evil.test by mx.rcv.test with ESMTPS; date\r\n" + forged, "mx.rcv.test", "", 0},
		{"qmail over a forged hop", "Received: from evil.test (HELO mta.example.org) (203.0.113.66) by mx.rcv.test with ESMTPS; date\r\n" + forged, "mx.rcv.test", "203.0.113.66", 0},
		{"local submission only", "Received: from [10.1.1.5] (laptop.lan [10.1.1.5]) by mta.example.org with ESMTPSA; date\r\n", "", "10.1.1.5", 0},
		{"no such receiver", entry, "mx.other.test", "", 0},
	} {
		m, err := Parse([]byte(c.head + "From: a@example.org\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		e, why := m.Trusted(c.by)
		ip := ""
		if why == "" {
			ip = e.IP.String()
		}
		if ip != c.ip || len(e.Internal) != c.internal || (why == "") != (c.ip != "") {
			t.Errorf("%s: hop %+v, %d internal, why %q; want %q, %d", c.name, e.Hop, len(e.Internal), why, c.ip, c.internal)
		}
	}
}

// Encoded-words must be RFC 2047's (75 characters at most, a payload
// that is what its charset says), and raw 8-bit text must be UTF-8.
func TestLintWords(t *testing.T) {
	for _, c := range []struct {
		subject, want string
	}{
		{"=?utf-8?B?" + strings.Repeat("YWFh", 20) + "?=", RuleEncodedWord}, // 91 characters
		{"=?utf-8?B?/w==?=", RuleEncodedWord},                               // 0xFF: not UTF-8
		{"=?us-ascii?Q?caf=E9?=", RuleEncodedWord},
		{"caf\xe9", RuleNotUTF8}, // Latin-1 sent raw
		{"=?utf-8?Q?caf=C3=A9?= and café", ""},
		{"=?iso-8859-1?Q?caf=E9?=", ""},
	} {
		m, err := Parse([]byte("From: a@example.org\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nSubject: " + c.subject + "\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range m.Lint() {
			got = append(got, p.Rule)
		}
		if c.want == "" && len(got) > 0 || c.want != "" && !slices.Contains(got, c.want) {
			t.Errorf("%q: %v, want %q", c.subject, got, c.want)
		}
	}
}
