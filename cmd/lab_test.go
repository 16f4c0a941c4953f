package cmd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/preflight-mail/preflight/resolver"
)

// labEnv loads the env file written by testdata/lab/lab.sh start, named
// by $PREFLIGHT_LAB_ENV. Without it the lab tests skip with one line —
// except in CI, where a lab test that would skip fails.
func labEnv(t *testing.T) map[string]string {
	t.Helper()
	path := os.Getenv("PREFLIGHT_LAB_ENV")
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("lab tests must run in CI: PREFLIGHT_LAB_ENV is not set (start the lab with testdata/lab/lab.sh start)")
		}
		t.Skip("lab not running: set PREFLIGHT_LAB_ENV to the file testdata/lab/lab.sh start prints (needs root on Debian, or nsd, rbldnsd and postfix installed)")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("lab env: %v", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// TestLab runs the scripts in testdata/lab against the real daemons of
// the lab: nsd for DNS, rbldnsd for blocklists, postfix for SMTP. The
// lab's addresses are in the scripts' environment ($LAB_DNS, ...).
func TestLab(t *testing.T) {
	env := labEnv(t)
	capture := captureDir(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/lab",
		Setup: func(e *testscript.Env) error {
			e.Setenv(captureEnv, capture)
			for k, v := range env {
				e.Setenv(k, v)
			}
			return setupScript(e)
		},
		Cmds: labCmds(env),
	})
}

// labCmds are script commands that look into the lab.
func labCmds(env map[string]string) map[string]func(*testscript.TestScript, bool, []string) {
	cmds := maps.Clone(scriptCmds)
	// mailcount -save NAME DOMAIN | mailcount -delta NAME DOMAIN N:
	// count the messages in a lab domain's Maildir, waiting up to 10 s for
	// N new ones (and 1 s more, to see that no other arrives).
	cmds["mailcount"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 3 {
			ts.Fatalf("usage: mailcount -save NAME DOMAIN | -delta NAME DOMAIN N")
		}
		dir := filepath.Join(env["LAB_MAILDIR"], args[2], "new")
		count := func() int { e, _ := os.ReadDir(dir); return len(e) }
		switch args[0] {
		case "-save":
			ts.Setenv(args[1], strconv.Itoa(count()))
		case "-delta":
			before, _ := strconv.Atoi(ts.Getenv(args[1]))
			want, _ := strconv.Atoi(args[3])
			deadline := time.Now().Add(10 * time.Second)
			for count()-before < want && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(time.Second)
			if got := count() - before; got != want {
				ts.Fatalf("%s: %d new messages, want %d", dir, got, want)
			}
		}
	}
	// dkimverify DOMAIN: verify the DKIM signature of the newest message
	// in DOMAIN's Maildir against the lab DNS, with go-msgauth.
	cmds["dkimverify"] = func(ts *testscript.TestScript, neg bool, args []string) {
		dir := filepath.Join(env["LAB_MAILDIR"], args[0], "new")
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			ts.Fatalf("no message in %s", dir)
		}
		newest := entries[0]
		for _, e := range entries {
			a, _ := e.Info()
			b, _ := newest.Info()
			if a.ModTime().After(b.ModTime()) {
				newest = e
			}
		}
		msg, err := os.ReadFile(filepath.Join(dir, newest.Name()))
		if err != nil {
			ts.Fatalf("%v", err)
		}
		msg = bytes.ReplaceAll(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		r := resolver.New(resolver.Config{Servers: []string{env["LAB_DNS"]}})
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{LookupTXT: r.TXTFunc(context.Background())})
		if err != nil || len(vs) != 1 || vs[0].Err != nil {
			ts.Fatalf("DKIM verification: %v %v", err, vs)
		}
		ts.Logf("DKIM signature of %s verifies (d=%s)", newest.Name(), vs[0].Domain)
	}
	// delivered DOMAIN SENT FILE: wait up to 10 s for the message whose
	// Message-ID is SENT's to arrive in DOMAIN's Maildir, and copy it to
	// FILE (under $WORK) as delivered. Other scripts deliver to the same
	// Maildirs at the same time: the Message-ID tells ours.
	cmds["delivered"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 3 {
			ts.Fatalf("usage: delivered DOMAIN SENT FILE")
		}
		id := textproto.MIMEHeader{}
		if r, err := textproto.NewReader(bufio.NewReader(strings.NewReader(ts.ReadFile(args[1])))).ReadMIMEHeader(); err == nil {
			id = r
		}
		want := id.Get("Message-Id")
		if want == "" {
			ts.Fatalf("%s has no Message-ID", args[1])
		}
		dir := filepath.Join(env["LAB_MAILDIR"], args[0], "new")
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err == nil && bytes.Contains(b, []byte("Message-ID: "+want)) {
					ts.Check(os.WriteFile(ts.MkAbs(args[2]), b, 0o644))
					return
				}
			}
		}
		ts.Fatalf("no message with Message-ID %s in %s within 10 s", want, dir)
	}
	// forward LISTEN TARGET: pass TCP connections from LISTEN
	// ("127.0.0.1:465") to TARGET until the script ends. The lab's
	// daemons use high ports; this gives the smtps one port 465, which
	// only root can bind (the lab runs as root).
	cmds["forward"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: forward LISTEN TARGET")
		}
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			ts.Fatalf("forward: %v", err)
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Go(func() { pipe(c, args[1], done) })
			}
		})
		ts.Defer(func() { close(done); ln.Close(); wg.Wait() })
	}
	return cmds
}

// pipe copies between c and a new connection to target, both ways,
// until either side closes or done is closed.
func pipe(c net.Conn, target string, done <-chan struct{}) {
	defer c.Close()
	t, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer t.Close()
	ended := make(chan struct{}, 2)
	go func() { io.Copy(t, c); ended <- struct{}{} }()
	go func() { io.Copy(c, t); ended <- struct{}{} }()
	n := 0
	select {
	case <-ended:
		n++
	case <-done:
	}
	c.Close()
	t.Close()
	for ; n < 2; n++ {
		<-ended
	}
}

// TestLabDaemons checks that the lab is what the scripts assume: nsd
// refuses names outside its zones, rbldnsd lists its RFC 5782 test
// points, postfix offers STARTTLS as an MX and requires it for AUTH.
func TestLabDaemons(t *testing.T) {
	env := labEnv(t)
	ctx := context.Background()

	t.Run("nsd", func(t *testing.T) {
		r := resolver.New(resolver.Config{Servers: []string{env["LAB_DNS"], env["LAB_DNS6"]}})
		if _, err := r.LookupTXT(ctx, "good.example"); err != nil {
			t.Errorf("good.example TXT: %v", err)
		}
		if _, err := r.LookupTXT(ctx, "example.com"); !resolver.IsTemporary(err) || !strings.Contains(err.Error(), "REFUSED") {
			t.Errorf("outside the lab zones: %v, want REFUSED", err)
		}
	})

	t.Run("rbldnsd", func(t *testing.T) {
		r := resolver.New(resolver.Config{Servers: []string{env["LAB_RBL"]}})
		for name, want := range map[string]string{
			"2.0.0.127.bl.lab.example":    "127.0.0.2",
			"1.0.0.127.bl.lab.example":    "",
			"40.113.0.203.bl.lab.example": "127.0.0.2",
			resolver.ReverseName(netip.MustParseAddr("::ffff:127.0.0.2"))[:63] + ".bl.lab.example": "127.0.0.2",
			"41.113.0.203.zen.lab.example":   "127.0.0.10",
			"test.dbl.lab.example":           "127.0.1.2",
			"invalid.dbl.lab.example":        "",
			"2.0.0.127.broken.lab.example":   "",
			"listed.example.dbl.lab.example": "127.0.1.2",
		} {
			ips, err := r.LookupIP(ctx, "ip4", name)
			switch {
			case want == "" && !resolver.IsNotFound(err):
				t.Errorf("%s: %v %v, want not listed", name, ips, err)
			case want != "" && (err != nil || len(ips) != 1 || ips[0].String() != want):
				t.Errorf("%s: %v %v, want %s", name, ips, err, want)
			}
		}
	})

	t.Run("postfix", func(t *testing.T) {
		for _, c := range []struct {
			addr, want string
		}{
			{env["LAB_SMTP"], "STARTTLS"},
			{env["LAB_SMTP6"], "STARTTLS"},
			{env["LAB_SUBMISSION"], "STARTTLS"},
		} {
			ext := ehlo(t, c.addr)
			if !strings.Contains(ext, c.want) || strings.Contains(ext, "AUTH") {
				t.Errorf("%s: EHLO says %q; want %s and no AUTH before TLS", c.addr, ext, c.want)
			}
		}
	})
}

// ehlo greets an SMTP server and returns its EHLO reply.
func ehlo(t *testing.T, addr string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	c := textproto.NewConn(nc)
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatalf("%s greeting: %v", addr, err)
	}
	id, _ := c.Cmd("EHLO lab-test.example")
	c.StartResponse(id)
	_, msg, err := c.ReadResponse(250)
	c.EndResponse(id)
	if err != nil {
		t.Fatalf("%s EHLO: %v", addr, err)
	}
	c.Cmd("QUIT")
	return msg
}
