package checks

import (
	"bytes"
	"context"
	"crypto"
	"os"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/message"
	"github.com/preflight-mail/preflight/report"
)

// signedMessage is a message from FROM, received from 203.0.113.10 with
// Return-Path RETURN, signed for d=DOMAIN with the lab's RSA key over
// headers (none: unsigned).
func signedMessage(t *testing.T, from, returnPath, domain string, extra string, headers ...string) *Message {
	t.Helper()
	msg := []byte("From: <" + from + ">\r\nTo: <u@receiver.example>\r\nSubject: s\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@x.example>\r\n" + extra + "\r\nbody\r\n")
	if len(headers) > 0 {
		pem, err := os.ReadFile("../testdata/lab/keys/rsa2048.pem")
		if err != nil {
			t.Fatal(err)
		}
		key, err := dkim.LoadPrivateKey(pem)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := msgdkim.Sign(&b, bytes.NewReader(msg), &msgdkim.SignOptions{Domain: domain, Selector: "s2048", Signer: key, Hash: crypto.SHA256,
			HeaderCanonicalization: msgdkim.CanonicalizationRelaxed, BodyCanonicalization: msgdkim.CanonicalizationRelaxed, HeaderKeys: headers}); err != nil {
			t.Fatal(err)
		}
		msg = b.Bytes()
	}
	rp := "Return-Path: <" + returnPath + ">\r\nReceived: from mail.good.example (mail.good.example [203.0.113.10]) by mx.receiver.example with ESMTPS; Sun, 29 Nov 2026 10:00:01 +0000\r\n"
	m, err := message.Parse(append([]byte(rp), msg...))
	if err != nil {
		t.Fatal(err)
	}
	return &Message{Message: m}
}

func severityOf(fs []report.Finding, id string) string {
	if f, ok := find(fs, id); ok {
		return f.Severity.String()
	}
	return "absent"
}

// DMARC's alignment is the policy's: adkim=s at good.example makes a
// signature of good.example fail for mail from a subdomain, and the dkim
// check says not aligned too (it once judged relaxed alone); a failure
// under p=reject blocks while one under p=none warns.
func TestMessageDMARC(t *testing.T) {
	env := labZones(t)
	std := []string{"From", "To", "Subject", "Date", "Message-ID"}
	for _, tc := range []struct {
		name      string
		m         *Message
		dmarc     string
		sev       report.Severity
		dkimAlign string
	}{
		{"aligned", signedMessage(t, "a@good.example", "b@good.example", "good.example", "", std...), "dmarc.message_pass", report.Pass, "dkim.aligned"},
		{"strict adkim, subdomain From", signedMessage(t, "a@news.good.example", "b@esp.example", "good.example", "", std...), "dmarc.message_fail", report.Fail, "dkim.not_aligned"},
		{"unsigned, SPF pass aligned", signedMessage(t, "a@good.example", "bounce@good.example", "", ""), "dmarc.message_pass", report.Pass, ""},
		{"p=none, misaligned", signedMessage(t, "a@dmarc.example", "b@esp.example", "esp.example", "", std...), "dmarc.message_fail", report.Warn, "dkim.not_aligned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgt := Target{Message: tc.m}
			_, tgt.Domain, _ = tc.m.FromAddress()
			fs := DMARC(context.Background(), env, tgt)
			if got := severityOf(fs, tc.dmarc); got != tc.sev.String() {
				t.Errorf("%s at %q, want %q: %v", tc.dmarc, got, tc.sev, ids(fs))
			}
			if tc.dkimAlign != "" {
				if _, ok := find(DKIM(context.Background(), env, tgt), tc.dkimAlign); !ok {
					t.Errorf("no %s", tc.dkimAlign)
				}
			}
		})
	}
}

// One-click unsubscribe counts only when an aligned signature that
// verifies covers both fields.
func TestMessageUnsubscribe(t *testing.T) {
	env := labZones(t)
	lu := "List-Unsubscribe: <https://good.example/u/1>, <mailto:u@good.example>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	both := []string{"From", "To", "Subject", "Date", "List-Unsubscribe", "List-Unsubscribe-Post"}
	for _, tc := range []struct {
		name string
		m    *Message
		want string
	}{
		{"signed, aligned", signedMessage(t, "a@good.example", "b@good.example", "good.example", lu, both...), "unsubscribe.one_click"},
		{"signed, not aligned", signedMessage(t, "a@good.example", "b@good.example", "esp.example", lu, both...), "unsubscribe.not_signed"},
		{"Post unsigned", signedMessage(t, "a@good.example", "b@good.example", "good.example", lu, "From", "List-Unsubscribe"), "unsubscribe.not_signed"},
		{"no Post", signedMessage(t, "a@good.example", "b@good.example", "good.example", "List-Unsubscribe: <https://good.example/u/1>\r\n", both[:5]...), "unsubscribe.one_click_missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Unsubscribe(context.Background(), env, Target{Message: tc.m})
			if _, ok := find(fs, tc.want); !ok {
				t.Errorf("want %s, got %v", tc.want, ids(fs))
			}
		})
	}
}

// The null sender's SPF is the HELO name's (RFC 7208 §2.4), and the
// verification is made once however many checks ask.
func TestMessageEnvelope(t *testing.T) {
	m := signedMessage(t, "MAILER-DAEMON@mail.good.example", "", "", "")
	e := m.Envelope()
	if !e.NullSender || mailDomain(e, "") != "mail.good.example" || e.IP.String() != "203.0.113.10" {
		t.Errorf("envelope %+v, SPF domain %q", e, mailDomain(e, ""))
	}
	if d := mailDomain(Envelope{NoReturnPath: true}, "good.example"); d != "" {
		t.Errorf("without Return-Path: SPF domain %q, want none (not the From domain)", d)
	}
	env := labZones(t)
	m = signedMessage(t, "a@good.example", "b@good.example", "good.example", "", "From")
	a, _ := m.Signatures(context.Background(), env)
	b, _ := m.Signatures(context.Background(), env)
	if len(a) != 1 || &a[0] != &b[0] || a[0].Result != message.DKIMPass {
		t.Errorf("signatures %+v, %+v", a, b)
	}
	if !strings.Contains(a[0].Canon, "relaxed") {
		t.Errorf("canonicalization %q", a[0].Canon)
	}
}

// A signature whose t= is ahead of the clock is not a pass (RFC 6376
// §3.5; dkimpy refuses it too): go-msgauth does not check t=.
func TestMessageFutureSignature(t *testing.T) {
	env := labZones(t)
	env.Now = func() time.Time { return time.Now().Add(-24 * time.Hour) } // the signer's clock runs a day ahead
	m := signedMessage(t, "a@good.example", "b@good.example", "good.example", "", "From", "To", "Subject")
	sigs, _ := m.Signatures(context.Background(), env)
	if len(sigs) != 1 || sigs[0].Result == message.DKIMPass || sigs[0].Err == nil || !strings.Contains(sigs[0].Err.Error(), "in the future") {
		t.Fatalf("%+v", sigs)
	}
	if _, ok := find(DKIM(context.Background(), env, Target{Message: m}), "dkim.signature_error"); !ok {
		t.Error("no dkim.signature_error")
	}
}

// An aligned signature whose key cannot be looked up is "could not
// check" (dkim.dns_error), not also "no aligned signature verifies"
// (dkim.not_aligned, which it once added).
func TestMessageDKIMKeyUnknownIsNotUnaligned(t *testing.T) {
	env := labZones(t)
	m := signedMessage(t, "a@outside.example", "b@outside.example", "outside.example", "", "From", "To", "Subject", "Date", "Message-ID")
	fs := DKIM(context.Background(), env, Target{Domain: "outside.example", Message: m})
	if _, ok := find(fs, "dkim.dns_error"); !ok {
		t.Fatalf("no dkim.dns_error: %v", ids(fs))
	}
	if _, ok := find(fs, "dkim.not_aligned"); ok {
		t.Errorf("dkim.not_aligned beside the key's dns_error: %v", ids(fs))
	}
}

// A receiver's field that names one d= for several selectors is one
// difference, said once.
func TestAuthResDifferenceOnce(t *testing.T) {
	env := labZones(t)
	ar := "Authentication-Results: mx.receiver.example; dkim=pass header.d=good.example header.s=a; dkim=pass header.d=good.example header.s=b\r\n"
	m2, err := message.Parse([]byte(ar + "Return-Path: <b@good.example>\r\nReceived: from mail.good.example (mail.good.example [203.0.113.10]) by mx.receiver.example with ESMTPS; Sun, 29 Nov 2026 10:00:01 +0000\r\nFrom: <a@good.example>\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs := Received(context.Background(), env, Target{Message: &Message{Message: m2}})
	f, ok := find(fs, "received.authres_differs")
	if !ok {
		t.Fatalf("no received.authres_differs: %v", ids(fs))
	}
	if n := strings.Count(f.Message, "saw dkim=pass for d=good.example"); n != 1 {
		t.Errorf("the difference is said %d times: %s", n, f.Message)
	}
}
