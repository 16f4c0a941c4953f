package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/names"
)

// alignZone: SPF and the lab's s2048 DKIM key for every envelope domain
// of TestAlignmentAgrees, and the author domains' DMARC records.
const alignZone = `$ORIGIN test.
@ SOA ns hm 1 1 1 1 1
_dmarc.org TXT "v=DMARC1; p=reject"
_dmarc.sorg TXT "v=DMARC1; p=reject; aspf=s; adkim=s"
_dmarc.a.shop TXT "v=DMARC1; p=reject"
_dmarc.shop TXT "v=DMARC1; p=none; psd=y"
_dmarc.xn--bcher-kva TXT "v=DMARC1; p=reject"
`

const alignGitHub = `$ORIGIN github.io.
@ SOA ns hm 1 1 1 1 1
_dmarc TXT "v=DMARC1; p=reject"
_dmarc.alice TXT "v=DMARC1; p=reject"
`

// TestAlignmentAgrees: the dmarc check (the target's envelope domain)
// and a message's DMARC result (its Return-Path and its d=) judge one
// pair of domains alike, through dmarc.Align: relaxed and strict, a
// pair that aligns for RFC 9989 receivers only (alice.github.io and
// bob.github.io: one organizational domain by the tree walk, two by the
// Public Suffix List) or for RFC 7489 receivers only (psd=y), and an
// IDN From written in U-labels. Both once had their own predicate, and
// the message's passed a pair the dmarc check called unaligned.
func TestAlignmentAgrees(t *testing.T) {
	var z strings.Builder
	z.WriteString(alignZone)
	for _, d := range []string{"org", "mail.org", "mail.sorg", "a.shop", "b.shop", "mail.xn--bcher-kva", "xn--bcher-kva"} {
		fmt.Fprintf(&z, "%s TXT \"v=spf1 ip4:203.0.113.10 -all\"\ns2048._domainkey.%s CNAME key.dkim.example.\n", d, d)
	}
	var gh strings.Builder
	gh.WriteString(alignGitHub)
	for _, d := range []string{"alice", "bob"} {
		fmt.Fprintf(&gh, "%s TXT \"v=spf1 ip4:203.0.113.10 -all\"\ns2048._domainkey.%s CNAME key.dkim.example.\n", d, d)
	}
	key := `$ORIGIN dkim.example.
@ SOA ns hm 1 1 1 1 1
key TXT ( "v=DKIM1; k=rsa; p=" "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnoEtEzXFQu8qZoX488Gyxg7gdXhcMUYQj7j1EYDqX5MflKlKKIReXCYJHGjtcad69cqsEolYGRR2im44hb7MD2YH4CQ/lKya5APZHZNPJmrZ9vKYN5Nml+37lqieDkqb5mDuGDY599z/aJOHz6hLUzc/nOkdU+C44ShmKXO4hCB6SNa4155R6zd5clktBBORmavn0X7MlLdBdE" "ENd0S/U/YClBoqMrmgraF2A+Xodt2W3zKug/pUpngmVi6PHqzE5p6eoGin9qfrozA3hoafrD5HmEm63T5nBRO8I2Cm/ho8YahZaINDRHQzTLY1bPoBBzj6XGmjh4Y/L6z/mzOAyQIDAQAB" )
`
	env := zoneEnv(t, z.String(), gh.String(), key)
	std := []string{"From", "To", "Subject", "Date", "Message-ID"}
	for _, tc := range []struct {
		from, other string // the author domain (as the From field has it), the envelope and d= domain
		aligned     bool
	}{
		{"org.test", "org.test", true},
		{"org.test", "mail.org.test", true},
		{"ORG.test", "mail.org.test", true},
		{"sorg.test", "mail.sorg.test", false},           // strict
		{"alice.github.io", "bob.github.io", false},      // RFC 9989 receivers only
		{"a.shop.test", "b.shop.test", false},            // RFC 7489 receivers only
		{"bücher.test", "mail.xn--bcher-kva.test", true}, // U-labels in From
		{"xn--bcher-kva.test", "xn--bcher-kva.test", true},
	} {
		t.Run(tc.from+"/"+tc.other, func(t *testing.T) {
			ctx := context.Background()
			author, err := names.ParseSender(tc.from)
			if err != nil {
				t.Fatal(err)
			}
			fs := DMARC(ctx, env, Target{Domain: author.Domain, MailFrom: names.MustAddress("bounce@" + tc.other)})
			want := map[bool]string{true: "dmarc.spf_aligned", false: "dmarc.spf_unaligned"}[tc.aligned]
			if _, ok := find(fs, want); !ok {
				t.Errorf("dmarc check: no %s: %v", want, ids(fs))
			}
			m := signedMessage(t, "a@"+tc.from, "bounce@"+tc.other, tc.other, "", std...)
			_, from, why := m.FromAddress()
			if from == "" {
				t.Fatal(why)
			}
			r, _, err := evalDMARC(ctx, env, m, from)
			if err != nil {
				t.Fatal(err)
			}
			if r.spfResult != "pass" || r.spfAligned != tc.aligned {
				t.Errorf("message: SPF %s for %s, aligned %v; the dmarc check says %s", r.spfResult, r.spfDomain, r.spfAligned, want)
			}
			if got := len(r.dkimAligned) > 0; got != tc.aligned {
				t.Errorf("message: DKIM d=%s aligned %v; the dmarc check says %s", tc.other, got, want)
			}
			if tc.aligned != r.pass {
				t.Errorf("message: DMARC pass %v, want %v", r.pass, tc.aligned)
			}
		})
	}
}

// A From domain in U-labels finds its policy (at the A-label name).
func TestMessageDMARCIDNFrom(t *testing.T) {
	env := zoneEnv(t, alignZone+"mail.xn--bcher-kva TXT \"v=spf1 ip4:203.0.113.10 -all\"\n")
	m := signedMessage(t, "a@bücher.test", "bounce@mail.xn--bcher-kva.test", "", "")
	fs := messageDMARCResult(context.Background(), env, Target{Message: m})
	if f, ok := find(fs, "dmarc.message_pass"); !ok || f.Evidence["policy"] != "reject" {
		t.Errorf("got %v, want dmarc.message_pass under p=reject", fs)
	}
}
