package cmd

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/preflight-mail/preflight/dkim"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

var updateMessages = flag.Bool("update-messages", false, "rewrite the generated messages of testdata/messages")

// messagesDir is the message corpus: messages, zone files and cases.txt.
const messagesDir = "../testdata/messages"

// corpusMessage is one generated message of the corpus: headers and
// body, and how to sign it.
type corpusMessage struct {
	file    string
	header  string // fields, one per line, LF
	body    string
	sign    []corpusSig
	raw     *rawSig               // a signature go-msgauth will not make (dkimsign_test.go)
	after   func(b []byte) []byte // a change in transit, after signing
	prepend string                // fields the receiver adds on top (Received, Authentication-Results)
}

type corpusSig struct {
	domain, selector, key string // key: a file of testdata/lab/keys
	headers               []string
	hash                  crypto.Hash
	expires               time.Time
}

// rx is the receiver's trace for a client at ip with HELO helo, over TLS.
func rx(helo, ip string) string {
	return "Received: from " + helo + " (" + helo + " [" + ip + "])\n" +
		"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n" +
		"\tby mx.receiver.example (Postfix) with ESMTPS id 4Q1xYz2abc\n" +
		"\tfor <user@receiver.example>; Sun, 29 Nov 2026 10:00:01 +0000\n"
}

const (
	hdr = "From: News <news@news.example>\nTo: user@receiver.example\nSubject: The November issue\nDate: Sun, 29 Nov 2026 10:00:00 +0000\nMessage-ID: <nov-2026@news.example>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
	bdy = "Hello,\n\nthis month's news.\n"
	rp  = "Return-Path: <bounces@news.example>\n"
)

var (
	std    = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}
	bulk   = append(append([]string{}, std...), "List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID")
	goodRX = rp + rx("mail.news.example", "203.0.113.10")
	s2048  = corpusSig{domain: "news.example", selector: "s2048", key: "rsa2048.pem", headers: std}
)

// corpus is every generated message; cases.txt says what each must give.
var corpus = []corpusMessage{
	{file: "good.eml", header: hdr, body: bdy, sign: []corpusSig{s2048}, prepend: goodRX},
	{file: "good-ed25519.eml", header: hdr, body: bdy, sign: []corpusSig{{domain: "news.example", selector: "ed2026", key: "ed25519.pem", headers: std}}, prepend: goodRX},
	{file: "body-modified.eml", header: hdr, body: bdy, sign: []corpusSig{s2048}, prepend: goodRX,
		after: func(b []byte) []byte { return append(b, "-- \r\nSent through a gateway that adds footers\r\n"...) }},
	{file: "header-modified.eml", header: hdr, body: bdy, sign: []corpusSig{s2048}, prepend: goodRX,
		after: func(b []byte) []byte {
			return bytes.Replace(b, []byte("The November issue"), []byte("[EXTERNAL] The November issue"), 1)
		}},
	// l= over the whole body as signed, then text appended: the
	// signature still verifies for what it covers.
	{file: "body-length.eml", header: hdr, body: bdy, prepend: goodRX,
		raw:   &rawSig{domain: "news.example", selector: "s2048", headers: std, hash: crypto.SHA256, length: true},
		after: func(b []byte) []byte { return append(b, "Appended by someone else: click here\r\n"...) }},
	// go-msgauth will not sign without From: the h= list loses it after.
	{file: "from-unsigned.eml", header: hdr, body: bdy, prepend: goodRX,
		sign:  []corpusSig{{domain: "news.example", selector: "s2048", key: "rsa2048.pem", headers: []string{"From", "To", "Subject", "Date"}}},
		after: func(b []byte) []byte { return bytes.Replace(b, []byte("h=From:"), []byte("h="), 1) }},
	{file: "two-signatures-one-failing.eml", header: hdr, body: bdy, prepend: goodRX,
		sign: []corpusSig{s2048, {domain: "esp.example", selector: "missing", key: "rsa2048.pem", headers: std}}},
	{file: "misaligned.eml", header: hdr, body: bdy, prepend: rp + rx("out.esp.example", "203.0.113.20"),
		sign: []corpusSig{{domain: "esp.example", selector: "s1", key: "rsa2048.pem", headers: std}}},
	// Signed on 1 December 2025, expired on 1 January 2026.
	{file: "expired.eml", header: hdr, body: bdy, prepend: goodRX,
		raw: &rawSig{domain: "news.example", selector: "s2048", headers: std, hash: crypto.SHA256,
			signed: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), expires: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
	// A real rsa-sha1 signature (body hash SHA-1 too).
	{file: "sha1.eml", header: hdr, body: bdy, prepend: goodRX,
		raw: &rawSig{domain: "news.example", selector: "sha1", headers: std, hash: crypto.SHA1}},
	{file: "unsigned-spf-pass.eml", header: hdr, body: bdy, prepend: goodRX},
	{file: "unsigned-spf-fail.eml", header: hdr, body: bdy, prepend: rp + rx("spammer.invalid", "198.51.100.99")},
	{file: "bulk-one-click.eml", body: bdy, prepend: goodRX,
		header: hdr + "List-Unsubscribe: <https://news.example/u/abc123>, <mailto:unsub@news.example?subject=unsubscribe>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\nFeedback-ID: nov2026:news:newsletter:newsexample\n",
		sign:   []corpusSig{{domain: "news.example", selector: "s2048", key: "rsa2048.pem", headers: bulk}}},
	{file: "bulk-no-one-click.eml", body: bdy, prepend: goodRX,
		header: hdr + "List-Unsubscribe: <https://news.example/u/abc123>\n",
		sign:   []corpusSig{{domain: "news.example", selector: "s2048", key: "rsa2048.pem", headers: bulk}}},
	{file: "bulk-mailto-only.eml", body: bdy, prepend: goodRX,
		header: hdr + "List-Unsubscribe: <mailto:unsub@news.example?subject=unsubscribe>\n",
		sign:   []corpusSig{{domain: "news.example", selector: "s2048", key: "rsa2048.pem", headers: bulk}}},
	{file: "bulk-unsigned-unsubscribe.eml", body: bdy, prepend: goodRX,
		header: hdr + "List-Unsubscribe: <https://news.example/u/abc123>, <mailto:unsub@news.example>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\nFeedback-ID: not a feedback id\n",
		sign:   []corpusSig{s2048}},
	{file: "two-from.eml", header: hdr + "From: Other <other@news.example>\n", body: bdy, prepend: goodRX},
	{file: "no-message-id.eml", header: strings.Replace(hdr, "Message-ID: <nov-2026@news.example>\n", "", 1), body: bdy, prepend: goodRX},
	{file: "duplicate-subject.eml", header: hdr + "Subject: Again\n", body: bdy, prepend: goodRX},
	{file: "bad-encoded-word.eml", header: strings.Replace(hdr, "Subject: The November issue", "Subject: =?utf-8?B?not*base64!?=", 1), body: bdy, prepend: goodRX},
	{file: "ipv6.eml", header: hdr, body: bdy, sign: []corpusSig{s2048},
		prepend: rp + "Received: from mail.news.example (mail.news.example [IPv6:2001:db8:10::10])\n\tby mx.receiver.example (Postfix) with ESMTPS id 7Z; Sun, 29 Nov 2026 10:00:01 +0000\n"},
	{file: "null-sender-bounce.eml", body: "This is the mail system at host mail.news.example.\n\nYour message could not be delivered.\n",
		header:  "From: MAILER-DAEMON@mail.news.example (Mail Delivery System)\nTo: user@receiver.example\nSubject: Undelivered Mail Returned to Sender\nDate: Sun, 29 Nov 2026 10:00:00 +0000\nMessage-ID: <bounce-1@mail.news.example>\n",
		prepend: "Return-Path: <>\n" + rx("mail.news.example", "203.0.113.10")},
	{file: "forwarded-arc.eml", header: hdr, body: bdy, sign: []corpusSig{s2048},
		after: func(b []byte) []byte { return append(b, "-- \r\nlists.example: the list footer\r\n"...) },
		prepend: "Return-Path: <list-bounces@lists.example>\n" + rx("mx.lists.example", "198.51.100.7") +
			"Authentication-Results: mx.receiver.example; dkim=fail header.d=news.example; spf=pass smtp.mailfrom=lists.example; dmarc=fail header.from=news.example; arc=pass\n" +
			"ARC-Seal: i=1; a=rsa-sha256; t=1764410400; cv=none; d=lists.example; s=arc; b=AAAA\n" +
			"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=lists.example; s=arc; h=from:to:subject; bh=AAAA; b=AAAA\n" +
			"ARC-Authentication-Results: i=1; mx.lists.example; dkim=pass header.d=news.example; spf=pass smtp.mailfrom=news.example; dmarc=pass\n"},
	{file: "authres-differs.eml", header: hdr, body: bdy, sign: []corpusSig{s2048},
		prepend: goodRX + "Authentication-Results: mx.receiver.example; dkim=fail header.d=news.example; spf=pass smtp.mailfrom=news.example\n"},
	// As Gmail's "Download original" saves it: its internal hop on top
	// (no client address), ARC sealed by google.com, the trusted hop with
	// version=TLS1_3, and Authentication-Results naming header.i=.
	{file: "gmail-original.eml", header: hdr, body: bdy, sign: []corpusSig{s2048},
		prepend: "Delivered-To: user@gmail.com\n" +
			"Received: by 2002:a05:6402:1234:b0:5c9:abcd:1234 with SMTP id x12csp123456edb;\n        Sun, 29 Nov 2026 02:00:02 -0800 (PST)\n" +
			"X-Received: by 2002:a17:906:1234:b0:a9a:1234:5678 with SMTP id a1mr1234567ejb.12.1764410402123;\n        Sun, 29 Nov 2026 02:00:02 -0800 (PST)\n" +
			"ARC-Seal: i=1; a=rsa-sha256; t=1764410402; cv=none; d=google.com; s=arc-20240605; b=AAAA\n" +
			"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com; s=arc-20240605; h=from:to:subject; bh=AAAA; b=AAAA\n" +
			"ARC-Authentication-Results: i=1; mx.google.com;\n       dkim=pass header.i=@news.example header.s=s2048 header.b=X8eV4wgf;\n       spf=pass smtp.mailfrom=bounces@news.example;\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=news.example\n" +
			"Return-Path: <bounces@news.example>\n" +
			"Received: from mail.news.example (mail.news.example. [203.0.113.10])\n        by mx.google.com with ESMTPS id a1si1234567ejb.123.2026.11.29.02.00.01\n        for <user@gmail.com>\n        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\n        Sun, 29 Nov 2026 02:00:02 -0800 (PST)\n" +
			"Received-SPF: pass (google.com: domain of bounces@news.example designates 203.0.113.10 as permitted sender) client-ip=203.0.113.10;\n" +
			"Authentication-Results: mx.google.com;\n       dkim=pass header.i=@news.example header.s=s2048 header.b=X8eV4wgf;\n       spf=pass (google.com: domain of bounces@news.example designates 203.0.113.10 as permitted sender) smtp.mailfrom=bounces@news.example;\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=news.example\n"},
	{file: "many-signatures.eml", header: hdr, body: bdy, prepend: goodRX, sign: manySigs(14)},
	// The aligned signature below 11 of an ESP's: it is verified first.
	{file: "aligned-signature-last.eml", header: hdr, body: bdy, prepend: rp + rx("out.esp.example", "203.0.113.20"),
		sign: append([]corpusSig{s2048}, slices.Repeat([]corpusSig{{domain: "esp.example", selector: "s1", key: "rsa2048.pem", headers: std}}, 11)...)},
	{file: "control-chars.eml", header: hdr + "X-Junk: a\x01b\x1bc\n", body: bdy, prepend: goodRX},
}

func manySigs(n int) []corpusSig {
	out := make([]corpusSig, n)
	for i := range out {
		out[i] = s2048
	}
	return out
}

// TestMessageCorpusFiles keeps the generated messages of the corpus as
// the code writes them (go test ./cmd -run TestMessageCorpusFiles
// -update-messages rewrites them: signatures over new content).
func TestMessageCorpusFiles(t *testing.T) {
	for _, m := range corpus {
		path := filepath.Join(messagesDir, m.file)
		if !*updateMessages {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: %v (run with -update-messages)", m.file, err)
			}
			continue
		}
		b := crlf(m.header + "\n" + m.body)
		for _, s := range m.sign {
			b = signCorpus(t, b, s)
		}
		if m.raw != nil {
			b = signRaw(t, b, "rsa2048.pem", *m.raw)
		}
		if m.after != nil {
			b = m.after(b)
		}
		b = append(crlf(m.prepend), b...)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func signCorpus(t *testing.T, msg []byte, s corpusSig) []byte {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join("../testdata/lab/keys", s.key))
	if err != nil {
		t.Fatal(err)
	}
	key, err := dkim.LoadPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	hash := s.hash
	if hash == 0 {
		hash = crypto.SHA256
	}
	var b bytes.Buffer
	err = msgdkim.Sign(&b, bytes.NewReader(msg), &msgdkim.SignOptions{
		Domain: s.domain, Selector: s.selector, Signer: key, Hash: hash,
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed, BodyCanonicalization: msgdkim.CanonicalizationRelaxed,
		HeaderKeys: s.headers, Expiration: s.expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// cmdMsgCorpus copies the message corpus into DIR (under $WORK) and runs
// every line of its cases.txt through preflight message, offline over
// its zone files, comparing the message verdict and the finding IDs of
// the JSON report:
//
//	msgcorpus DIR
func cmdMsgCorpus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: msgcorpus DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.CopyFS(dir, os.DirFS(messagesDir)))
	n := 0
	for line := range strings.SplitSeq(ts.ReadFile(filepath.Join(dir, "cases.txt")), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		n++
		file, verdict, ids := fields[0], fields[1], fields[2:]
		cmdArgs := []string{"message", filepath.Join(dir, file), "--zone", filepath.Join(dir, "zones"), "--offline", "--format", "json"}
		if err := ts.Exec("preflight", cmdArgs...); err != nil && !strings.Contains(err.Error(), "exit status 1") && !strings.Contains(err.Error(), "exit status 3") {
			ts.Fatalf("preflight %s: %v", strings.Join(cmdArgs, " "), err)
		}
		var r report.Report
		ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &r))
		got := map[string]bool{}
		for _, f := range r.Findings() {
			got[f.ID] = true
		}
		if r.Verdict.Message != verdict {
			ts.Fatalf("%s: verdict.message %q, want %q", file, r.Verdict.Message, verdict)
		}
		for _, id := range ids {
			if want := !strings.HasPrefix(id, "!"); got[strings.TrimPrefix(id, "!")] != want {
				ts.Fatalf("%s: %s: got %v", file, id, slices.Sorted(maps.Keys(got)))
			}
		}
	}
	if n < 25 {
		ts.Fatalf("%d cases, want at least 25", n)
	}
	ts.Logf("%d messages", n)
}

// TestMessageHostile feeds preflight message what an attacker controls:
// every case ends in a report or a one-line usage error naming the
// input, within the time limit, and nothing of the message reaches the
// terminal unescaped.
func TestMessageHostile(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(messagesDir, "good.eml"))
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(good, []byte("DKIM-Signature:")), bytes.Index(good, []byte("From: News"))
	manySigs := slices.Concat(good[:i], bytes.Repeat(good[i:j], 1500), good[j:])
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zones := filepath.Join(messagesDir, "zones")
	for _, c := range []struct {
		name   string
		msg    []byte
		code   int
		output string // in stdout for a report, stderr for an error
	}{
		{"huge-header", append([]byte("X-Big: "), bytes.Repeat([]byte("a"), 2<<20)...), 2, "header section over 1048576 octets"},
		{"binary", bytes.Repeat([]byte{0, 1, 2, 0xff, '\n'}, 1000), 2, "a NUL octet in the header section: a binary file"},
		{"empty", nil, 2, "empty"},
		{"many-signatures", manySigs, 0, "10 were verified (those whose d= relates to the From domain first, then in header order) and 1490 were not"},
		{"many-fields", slices.Concat(bytes.Repeat([]byte("X-A: b\r\n"), 5000), good), 2, "more than 2000 header fields"},
		{"escape-in-from", []byte("From: \x1b]0;pwned\x07 <a@news.example>\r\nSubject: \x1b[2J\r\n\r\nbody\r\n"), 0, "format.control_chars"},
		{"bad-base64-signature", []byte("DKIM-Signature: v=1; a=rsa-sha256; d=news.example; s=s2048; h=from; bh=!!!; b=@@@\r\nFrom: a@news.example\r\n\r\nx\r\n"), 0, "dkim.signature_error"},
		{"bidi", []byte("Received: from x (x [192.0.2.1]) by mx (\u202eusing TLSv1.3\u202e) with ESMTPS; d\r\nAuthentication-Results: mx; dkim=fail header.d=ex\u202eample.org\r\nFrom: a@news.example\r\nList-Unsubscribe: <http://ex\u202eample.org/u>\r\nFeedback-ID: a:b\u202ec\r\nARC-Seal: i=1; d=ex\u202eample.org; cv=none; b=AA\r\n\r\nx\r\n"), 0, "unsubscribe.insecure_uri"},
		{"deep-comments", append(append([]byte("Received: from x "), bytes.Repeat([]byte("("), 100000)...), "\r\nFrom: a@news.example\r\n\r\n"...), 0, "received.no_trusted_hop"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			code, stdout, stderr := run(t, "message", write(c.name+".eml", c.msg), "--zone", zones, "--offline", "--timeout", "10s", "-v")
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			if code != c.code && !(c.code == 0 && (code == 1 || code == 3)) { // a report: fail, or unknown
				t.Fatalf("exit %d, want %d; stderr %s", code, c.code, stderr)
			}
			got := stdout
			if c.code == 2 {
				got = stderr
				if strings.Count(stderr, "\n") != 1 {
					t.Errorf("the error is not one line: %q", stderr)
				}
			}
			if !strings.Contains(got, c.output) {
				t.Errorf("output lacks %q:\n%s", c.output, got)
			}
			if strings.ContainsAny(stdout+stderr, "\x1b\x07\x00\u202e") {
				t.Errorf("a control character reached the output")
			}
			for _, format := range []string{"json", "github"} {
				_, out, _ := run(t, "message", write(c.name+".eml", c.msg), "--zone", zones, "--offline", "--timeout", "10s", "--format", format)
				if strings.ContainsAny(out, "\x1b\x07\x00\u202e") {
					t.Errorf("--format %s: a control character reached the output", format)
				}
			}
		})
	}
}

// send --save-message checks its path before anything is sent: a
// directory or a missing one is a usage error, and the server gets
// nothing.
func TestSaveMessageCheckedFirst(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing", "x.eml"), dir} {
		code, _, stderr := run(t, "send", "--mail-from", "a@example.org", "--to", "b@example.net", "--helo", "client.example.org",
			"--path", "relay", "--relay", srv.Addr, "--relay-tls", "none", "--deliver", "--save-message", path, "--offline")
		if code != 2 || !strings.Contains(stderr, "--save-message") {
			t.Errorf("%s: exit %d, want 2; stderr %s", path, code, stderr)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages sent before the path was found unwritable", n)
	}
}

// check --message with a message of another domain or client says so
// (received.other_target); with the target's own message it does not.
func TestCheckMessageOtherTarget(t *testing.T) {
	zones := filepath.Join(messagesDir, "zones")
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"news.example", "--ip", "203.0.113.10", "--message", filepath.Join(messagesDir, "good.eml")}, false},
		{[]string{"news.example", "--ip", "203.0.113.10", "--message", filepath.Join(messagesDir, "misaligned.eml")}, true},
		{[]string{"esp.example", "--ip", "203.0.113.10", "--message", filepath.Join(messagesDir, "good.eml")}, true},
	} {
		_, stdout, stderr := run(t, append(append([]string{"check"}, c.args...), "--zone", zones, "--offline", "--format", "json")...)
		var r report.Report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v: %v; stderr %s", c.args, err, stderr)
		}
		got := slices.ContainsFunc(r.Findings(), func(f report.Finding) bool { return f.ID == "received.other_target" })
		if got != c.want {
			t.Errorf("%v: received.other_target %v, want %v", c.args, got, c.want)
		}
	}
}

// check DOMAIN --offline --message FILE with another sender's message:
// that sender's key and policy are outside the zone files, which is
// "not checked" (info), not an error that made the target's run
// incomplete (no score, exit 3).
func TestCheckMessageOtherSenderOffline(t *testing.T) {
	code, stdout, stderr := run(t, "check", "--config", "../testdata/demo/preflight.yaml", "--message", filepath.Join(messagesDir, "good.eml"), "--format", "json")
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v; stderr %s", err, stderr)
	}
	if code != 0 || len(r.Incomplete) != 0 || r.Score == nil {
		t.Errorf("exit %d, incomplete %v, score %v; want 0, complete, scored", code, r.Incomplete, r.Score)
	}
	for _, id := range []string{"dkim.not_checked", "dmarc.not_checked", "received.other_target"} {
		if !slices.ContainsFunc(r.Findings(), func(f report.Finding) bool { return f.ID == id }) {
			t.Errorf("no %s", id)
		}
	}
	// The target's own message is judged as before: its lookups are
	// errors when the zones cannot answer them.
	_, stdout, _ = run(t, "check", "news.example", "--ip", "203.0.113.10", "--message", filepath.Join(messagesDir, "good.eml"), "--zone", "../testdata/demo", "--offline", "--format", "json")
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r.Incomplete, "dmarc") {
		t.Errorf("own message, key and policy outside the zones: incomplete %v, want dmarc in it", r.Incomplete)
	}
}

// A writer that stalls mid-message: the error says part of it came
// (it once said no message arrived), within --timeout.
func TestMessageStdinStalls(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("From: a@news.example\r\nSubject: x\r\n"))
	var out, errb bytes.Buffer
	start := time.Now()
	code := Run(context.Background(), []string{"message", "-", "--offline", "--timeout", "1s"}, Streams{Out: &out, Err: &errb, Getenv: func(string) string { return "" }, In: pr})
	if code != 2 || !strings.Contains(errb.String(), "the message did not end within --timeout (34 octets read") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}
