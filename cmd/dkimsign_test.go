package cmd

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/preflight-mail/preflight/dkim"
)

// rawSig is a DKIM signature go-msgauth will not make: rsa-sha1, a body
// length l=, or a signing time t= of its own (for an x= in the past
// after it). relaxed/relaxed, RFC 6376 §3.4.2, §3.4.4, §3.7.
type rawSig struct {
	domain, selector string
	headers          []string
	hash             crypto.Hash // SHA-1 or SHA-256
	length           bool        // l= the whole body as signed
	signed, expires  time.Time   // t=, x= (zero: none)
}

var wsp = regexp.MustCompile(`[ \t]+`)

// relaxedBody is the relaxed body canonicalization.
func relaxedBody(body []byte) []byte {
	lines := strings.Split(string(body), "\r\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(wsp.ReplaceAllString(l, " "), " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// relaxedHeader is the relaxed header canonicalization of one field.
func relaxedHeader(name, value string) string {
	value = strings.ReplaceAll(value, "\r\n", "")
	value = strings.TrimSpace(wsp.ReplaceAllString(value, " "))
	return strings.ToLower(strings.TrimSpace(name)) + ":" + value
}

// signRaw signs msg (CRLF) with the lab key at keyFile and returns it
// with the DKIM-Signature field on top.
func signRaw(t *testing.T, msg []byte, keyFile string, s rawSig) []byte {
	t.Helper()
	key := labKey(t, keyFile)
	head, body, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	var fields [][2]string // name, value (folded as written)
	for _, l := range strings.Split(string(head), "\r\n") {
		if (l[0] == ' ' || l[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1][1] += "\r\n" + l
			continue
		}
		n, v, _ := strings.Cut(l, ":")
		fields = append(fields, [2]string{n, v})
	}
	cb := relaxedBody(body)
	h := s.hash.New()
	h.Write(cb)
	algo := map[crypto.Hash]string{crypto.SHA1: "rsa-sha1", crypto.SHA256: "rsa-sha256"}[s.hash]
	tags := fmt.Sprintf("v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s;", algo, s.domain, s.selector)
	if !s.signed.IsZero() {
		tags += fmt.Sprintf(" t=%d;", s.signed.Unix())
	}
	if !s.expires.IsZero() {
		tags += fmt.Sprintf(" x=%d;", s.expires.Unix())
	}
	if s.length {
		tags += fmt.Sprintf(" l=%d;", len(cb))
	}
	tags += fmt.Sprintf(" h=%s; bh=%s; b=", strings.Join(s.headers, ":"), base64.StdEncoding.EncodeToString(h.Sum(nil)))
	// The signed fields, each the last not yet used (bottom up).
	var canon strings.Builder
	used := map[int]bool{}
	for _, name := range s.headers {
		for i := len(fields) - 1; i >= 0; i-- {
			if !used[i] && strings.EqualFold(strings.TrimSpace(fields[i][0]), name) {
				used[i] = true
				canon.WriteString(relaxedHeader(fields[i][0], fields[i][1]) + "\r\n")
				break
			}
		}
	}
	canon.WriteString(relaxedHeader("DKIM-Signature", " "+tags))
	d := s.hash.New()
	d.Write([]byte(canon.String()))
	sig, err := key.Sign(rand.Reader, d.Sum(nil), s.hash)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte("DKIM-Signature: "+tags+base64.StdEncoding.EncodeToString(sig)+"\r\n"), msg...)
}

func labKey(t *testing.T, file string) crypto.Signer {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join("../testdata/lab/keys", file))
	if err != nil {
		t.Fatal(err)
	}
	key, err := dkim.LoadPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// The test signer is right: go-msgauth verifies what it signs with
// rsa-sha256 (it refuses rsa-sha1 and l= by design, which is what the
// corpus messages signed so test).
func TestSignRaw(t *testing.T) {
	msg := crlf(hdr + "\n" + bdy + "\n\n")
	signed := signRaw(t, msg, "rsa2048.pem", rawSig{domain: "news.example", selector: "s2048", headers: std, hash: crypto.SHA256,
		signed: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	txt := func(string) ([]string, error) {
		b, err := os.ReadFile(filepath.Join(messagesDir, "zones", "news.example.zone"))
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "s2048._domainkey") {
				var parts []string
				for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(l, -1) {
					parts = append(parts, q[1])
				}
				return []string{strings.Join(parts, "")}, nil
			}
		}
		return nil, fmt.Errorf("no key")
	}
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(signed), &msgdkim.VerifyOptions{LookupTXT: txt})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("%v %+v", err, vs)
	}
}
