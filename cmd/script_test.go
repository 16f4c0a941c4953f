package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/preflight-mail/preflight/dmarc/dmarctest"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver/dnstest"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"preflight": func() { os.Exit(captureMain()) },
	})
}

// captureEnv names a directory where the preflight of the scripts keeps
// a copy of every stdout, for TestScript to validate the JSON against
// docs/schema.json once all scripts have run.
const captureEnv = "PREFLIGHT_TEST_CAPTURE"

func captureMain() int {
	dir := os.Getenv(captureEnv)
	if dir == "" {
		return Main()
	}
	var buf bytes.Buffer
	code := Run(context.Background(), os.Args[1:], Streams{Out: io.MultiWriter(os.Stdout, &buf), Err: os.Stderr, Getenv: os.Getenv, In: os.Stdin})
	if buf.Len() > 0 {
		f, err := os.CreateTemp(dir, "out-*.txt")
		if err == nil {
			f.Write(buf.Bytes())
			f.Close()
		}
	}
	return code
}

var updateScripts = flag.Bool("update-scripts", false, "rewrite testscript files' cmp outputs")

// TestScript runs the end-to-end cases in testdata/script: the real
// command line, in a subprocess, against in-process DNS servers.
func TestScript(t *testing.T) {
	t.Cleanup(func() { checkBlockingRun(t) }) // after captureDir's: cleanups run last first
	capture := captureDir(t)
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *updateScripts,
		Setup: func(env *testscript.Env) error {
			env.Setenv(captureEnv, capture)
			return setupScript(env)
		},
		Cmds: scriptCmds,
	})
}

// setupScript gives every script no colors, whatever the developer's
// terminal says, and a resolv.conf pointing at loopback, so a script
// that forgets --resolver or --offline cannot send a packet outside.
func setupScript(env *testscript.Env) error {
	env.Setenv("NO_COLOR", "1")
	conf := filepath.Join(env.WorkDir, ".resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		return err
	}
	env.Setenv(resolvConfEnv, conf)
	env.Setenv(loopbackOnlyEnv, "1")
	return nil
}

// scriptCmds are the custom commands of the scripts.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"demo":        cmdDemo,
	"dmarccorpus": cmdDMARCCorpus,
	"dnsserver":   cmdDNSServer,
	"msgcorpus":   cmdMsgCorpus,
	"smtpserver":  cmdSMTPServer,
	"tlsmx":       cmdTLSMX,
	"danemx":      cmdDANEMX,
	"smtpconns":   cmdSMTPConns,
	"expand":      cmdExpand,
	"verdict":     cmdVerdict,
}

// smtpServers are the servers smtpserver started, by address, for
// smtpconns.
var smtpServers sync.Map // string → *smtptest.Server

// cmdSMTPConns checks how many connections a server of smtpserver has
// accepted (every one is counted, before any SMTP):
//
//	smtpconns ADDR N
func cmdSMTPConns(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: smtpconns ADDR N")
	}
	v, ok := smtpServers.Load(args[0])
	if !ok {
		ts.Fatalf("smtpconns: no smtpserver at %s", args[0])
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	if got := v.(*smtptest.Server).Conns(); got != want {
		ts.Fatalf("%s accepted %d connections, want %d", args[0], got, want)
	}
}

// cmdExpand copies SRC to DST with $VAR and ${VAR} replaced by the
// script's environment (addresses of servers the script started):
//
//	expand SRC DST
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand SRC DST")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o644))
}

// demoDir is the bundled demo of the README: a config and its zone files.
const demoDir = "../testdata/demo"

// cmdDemo copies the bundled demo into DIR (under $WORK), so a script
// runs the README's command on the files the README names:
//
//	demo DIR
func cmdDemo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: demo DIR")
	}
	entries, err := os.ReadDir(demoDir)
	ts.Check(err)
	dst := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dst, 0o755))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(demoDir, e.Name()))
		ts.Check(err)
		ts.Check(os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
}

// dmarcCorpus is the RFC 9989 corpus: zone files and cases.txt.
const dmarcCorpus = "../testdata/dmarc"

// cmdDMARCCorpus copies the RFC 9989 corpus into DIR (under $WORK) and
// runs every case of its cases.txt through preflight dmarc, offline over
// its zone files, comparing the finding IDs of the JSON report:
//
//	dmarccorpus DIR
func cmdDMARCCorpus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: dmarccorpus DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.CopyFS(dir, os.DirFS(dmarcCorpus)))
	cases, err := dmarctest.Read(filepath.Join(dir, "cases.txt"))
	ts.Check(err)
	for _, c := range cases {
		cmdArgs := []string{"dmarc", c.Domain, "--zone", dir, "--offline", "--format", "json"}
		if c.MailFrom != "" {
			cmdArgs = append(cmdArgs, "--mail-from", c.MailFrom)
		}
		if c.PSL {
			cmdArgs = append(cmdArgs, "--psl", filepath.Join(dir, "test.psl"))
		}
		// Exit 0 or 1 (the gate): a report either way.
		if err := ts.Exec("preflight", cmdArgs...); err != nil && !strings.Contains(err.Error(), "exit status 1") {
			ts.Fatalf("preflight %s: %v", strings.Join(cmdArgs, " "), err)
		}
		var r report.Report
		ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &r))
		var got []string
		for _, f := range r.Findings() {
			got = append(got, f.ID)
		}
		if msg := c.Check(got); msg != "" {
			ts.Fatalf("%s", msg)
		}
	}
	ts.Logf("%d cases", len(cases))
}

// cmdSMTPServer starts an in-process SMTP server (go-smtp):
//
//	smtpserver [-open] [-smtputf8] [-local DOMAIN] [-mail REPLY] [-rcpt REPLY] [-user NAME:PASSWORD] VAR
//
// and puts its address in $VAR (its port in $VARPORT). -open relays for
// anyone; -smtputf8 offers SMTPUTF8; -mail and -rcpt refuse every MAIL
// FROM or RCPT TO with REPLY ("450 4.2.0 Greylisted"), or with a stock
// reply of a bare CODE (5xx: 5.7.1, 4xx: 4.7.1, greylisting); -user
// takes AUTH PLAIN without TLS.
func cmdSMTPServer(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("smtpserver", flag.ContinueOnError)
	open := fs.Bool("open", false, "relay for anyone")
	utf8 := fs.Bool("smtputf8", false, "offer SMTPUTF8")
	local := fs.String("local", "", "domain to receive for")
	mail := fs.String("mail", "", "refuse MAIL FROM with this reply")
	rcpt := fs.String("rcpt", "", "refuse RCPT TO with this reply, or a stock reply of this code")
	user := fs.String("user", "", "NAME:PASSWORD for AUTH PLAIN")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		ts.Fatalf("usage: smtpserver [-open] [-smtputf8] [-local DOMAIN] [-mail REPLY] [-rcpt REPLY] [-user NAME:PASSWORD] VAR")
	}
	o := smtptest.Options{Open: *open, SMTPUTF8: *utf8, Local: strings.Fields(*local),
		MailError: scriptReply(ts, *mail), RcptError: scriptReply(ts, *rcpt)}
	if name, pass, ok := strings.Cut(*user, ":"); ok {
		o.Users, o.InsecureAuth = map[string]string{name: pass}, true
	}
	srv := startSMTP(ts, o)
	smtpServers.Store(srv.Addr, srv)
	ts.Defer(func() { smtpServers.Delete(srv.Addr) })
	ts.Setenv(fs.Arg(0), srv.Addr)
	_, port, _ := net.SplitHostPort(srv.Addr)
	ts.Setenv(fs.Arg(0)+"PORT", port)
}

// scriptReply reads "CODE X.Y.Z text" as a server's refusal; nil for "".
func scriptReply(ts *testscript.TestScript, s string) *smtp.SMTPError {
	if s == "" {
		return nil
	}
	switch code, err := strconv.Atoi(s); {
	case err == nil && code >= 500:
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "refused for this test"}
	case err == nil && code >= 400:
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try again later"}
	}
	code, rest, _ := strings.Cut(s, " ")
	enh, text, _ := strings.Cut(rest, " ")
	e := &smtp.SMTPError{Message: text}
	var err error
	if e.Code, err = strconv.Atoi(code); err == nil {
		_, err = fmt.Sscanf(enh, "%d.%d.%d", &e.EnhancedCode[0], &e.EnhancedCode[1], &e.EnhancedCode[2])
	}
	if err != nil || text == "" {
		ts.Fatalf("reply %q: want CODE X.Y.Z TEXT", s)
	}
	return e
}

// cmdDNSServer starts an in-process authoritative server:
//
//	dnsserver [-drop] [-servfail NAME] VAR ZONEFILE...
//
// and puts its address ("127.0.0.1:port") in $VAR.
func cmdDNSServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! dnsserver")
	}
	fs := flag.NewFlagSet("dnsserver", flag.ContinueOnError)
	drop := fs.Bool("drop", false, "never answer")
	servfail := fs.String("servfail", "", "answer SERVFAIL for this name")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 {
		ts.Fatalf("usage: dnsserver [-drop] [-servfail NAME] VAR ZONEFILE...")
	}
	var zones []string
	for _, f := range fs.Args()[1:] {
		zones = append(zones, ts.ReadFile(f))
	}
	srv, err := dnstest.Start(zones...)
	if err != nil {
		ts.Fatalf("dnsserver: %v", err)
	}
	ts.Defer(srv.Close)
	srv.DropAll(*drop)
	if *servfail != "" {
		srv.SetRcode(*servfail, dns.RcodeServerFailure)
	}
	ts.Setenv(fs.Arg(0), srv.Addr)
}

// run runs the CLI in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(conf, []byte("nameserver 127.0.0.1\n"), 0o644)
	getenv := func(k string) string {
		switch k {
		case resolvConfEnv:
			return conf
		case loopbackOnlyEnv:
			return "1"
		}
		return ""
	}
	code = Run(context.Background(), args, Streams{Out: &out, Err: &errb, Getenv: getenv})
	validateOutput(t, strings.Join(args, " "), out.String())
	return code, out.String(), errb.String()
}

func TestUsageErrorsAreOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"rdns", "203.0.113"},
		{"rdns", "203.0.113.5", "--helo", "bad name!"},
		{"ip", "203.0.113.5", "--treat-as-public", "nonsense"},
		{"rdns", "203.0.113.5", "--format", "xml"},
		{"rdns", "203.0.113.5", "--fail-on", "info"},
		{"rdns", "203.0.113.5", "--resolver", "dns.google"},
		{"rdns", "203.0.113.5", "--bogus-flag"},
		{"rdns"},
		{"nosuchcommand"},
	} {
		code, stdout, stderr := run(t, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, one line on stderr", args, code, stdout, stderr)
		}
	}
}

// startSMTP adapts smtptest.Start to a script: the server lives until
// the script ends.
func startSMTP(ts *testscript.TestScript, o smtptest.Options) *smtptest.Server {
	t := &scriptTB{ts: ts}
	srv := smtptest.Start(t, o)
	ts.Defer(t.cleanup)
	return srv
}

// scriptTB is the part of testing.TB smtptest uses, for testscript.
type scriptTB struct {
	testing.TB
	ts       *testscript.TestScript
	cleanups []func()
}

func (s *scriptTB) Helper()                      {}
func (s *scriptTB) Fatal(args ...any)            { s.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (s *scriptTB) Fatalf(f string, args ...any) { s.ts.Fatalf(f, args...) }
func (s *scriptTB) Cleanup(f func())             { s.cleanups = append(s.cleanups, f) }
func (s *scriptTB) cleanup() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
}
