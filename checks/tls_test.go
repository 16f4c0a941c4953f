package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/mtasts"
	"github.com/preflight-mail/preflight/mtasts/ststest"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// mxServer is one MX address of a TLS scenario and what it serves.
type mxServer struct {
	host string // mx1, mx2 (under example.test)
	addr string // a loopback address: 127.0.0.N or ::1
	// cert: "good", "expired", "wrong-name", "tls10" (good, TLS 1.0
	// only), "none" (no STARTTLS).
	cert string
}

// tlsScenario is a domain (example.test) with MX servers on loopback,
// an MTA-STS policy server and records.
type tlsScenario struct {
	mx      []mxServer
	sts     string           // the _mta-sts TXT, "" for none
	policy  ststest.Response // what mta-sts.example.test serves
	tlsrpt  string           // the _smtp._tls TXT, "" for none
	latency time.Duration    // added before each server write (benchmark)
	zone    string           // more zone lines
	// policyServer, when set, is given the policy server.
	policyServer func(*ststest.Server)
}

// freePort is a port free on 127.0.0.1, for servers on other loopback
// addresses (each scenario has its own addresses, so collisions are
// unlikely; a collision fails the listen loudly).
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs the scenario's servers and returns an Env for it: offline,
// the zone for example.test, the scenario's CA as roots.
func (sc tlsScenario) start(tb testing.TB) Env {
	tb.Helper()
	ca := smtptest.NewCA(tb)
	port, httpsPort := freePort(tb), freePort(tb)
	var z strings.Builder
	z.WriteString("$ORIGIN example.test.\n@ 3600 IN SOA ns. host. 1 3600 600 86400 60\n")
	var hosts []string
	valid := time.Now().Add(90 * 24 * time.Hour)
	for _, m := range sc.mx {
		if !slices.Contains(hosts, m.host) {
			hosts = append(hosts, m.host)
			fmt.Fprintf(&z, "@ 3600 IN MX %d %s\n", 10*len(hosts), m.host)
		}
		rr := "A"
		if strings.Contains(m.addr, ":") {
			rr = "AAAA"
		}
		fmt.Fprintf(&z, "%s 3600 IN %s %s\n", m.host, rr, m.addr)
		name := m.host + ".example.test"
		var cfg *tls.Config
		switch m.cert {
		case "good":
			cfg = ca.ServerTLSUntil(tb, valid, name)
		case "tls10":
			cfg = ca.ServerTLSUntil(tb, valid, name)
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
		case "expired":
			cfg = ca.ServerTLSUntil(tb, time.Now().Add(-24*time.Hour), name)
		case "wrong-name":
			cfg = ca.ServerTLSUntil(tb, valid, "other.example.net")
		}
		smtptest.Start(tb, smtptest.Options{TLS: cfg, Listen: net.JoinHostPort(m.addr, strconv.Itoa(port)), Domain: name, Local: []string{"example.test"}, Latency: sc.latency})
	}
	z.WriteString("mta-sts 3600 IN A 127.0.0.20\n")
	// A record per line: two lines are two records.
	for _, r := range strings.Split(sc.sts, "\n") {
		if r != "" {
			fmt.Fprintf(&z, "_mta-sts 3600 IN TXT %q\n", r)
		}
	}
	for _, r := range strings.Split(sc.tlsrpt, "\n") {
		if r != "" {
			fmt.Fprintf(&z, "_smtp._tls 3600 IN TXT %q\n", r)
		}
	}
	if sc.sts != "" {
		srv, err := ststest.Start(net.JoinHostPort("127.0.0.20", strconv.Itoa(httpsPort)), ca.ServerTLS(tb, "mta-sts.example.test"),
			map[string]ststest.Response{"mta-sts.example.test": sc.policy})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(srv.Close)
		if sc.policyServer != nil {
			sc.policyServer(srv)
		}
	}
	z.WriteString(sc.zone)
	env := zoneEnv(tb, z.String())
	env.TLS = TLSSettings{Port: port, HTTPSPort: httpsPort, Roots: ca.Pool}
	return env
}

const goodSTS = "v=STSv1; id=20261129"

// The scenarios of issue #19, modelled on postfix-mta-sts-resolver's
// published test matrix (our own cases): each names the findings that
// must be there, at their severities, and the run must have no other
// warn or fail.
func TestTLSScenarios(t *testing.T) {
	twoMX := func(mx2cert string) []mxServer {
		return []mxServer{{"mx1", "127.0.0.21", "good"}, {"mx1", "127.0.0.22", "good"}, {"mx2", "127.0.0.23", mx2cert}}
	}
	enforce := ststest.Good("enforce", "604800", "*.example.test")
	rpt := "v=TLSRPTv1; rua=mailto:tls@example.test"
	for _, tt := range []struct {
		name string
		sc   tlsScenario
		want []string // "id severity subject"
	}{
		{"enforce, valid certificates", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: enforce, tlsrpt: rpt},
			[]string{"tls.ok pass mx1.example.test[127.0.0.21]", "tls.ok pass mx1.example.test[127.0.0.22]", "tls.ok pass mx2.example.test[127.0.0.23]",
				"tls.mta_sts_ok pass", "tls.tlsrpt_ok pass"}},
		{"a pattern missing one MX", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: ststest.Good("enforce", "604800", "mx1.example.test"), tlsrpt: rpt},
			[]string{"tls.mta_sts_mx_not_covered fail mx2.example.test"}},
		{"enforce, an expired certificate", tlsScenario{mx: twoMX("expired"), sts: goodSTS, policy: enforce, tlsrpt: rpt},
			[]string{"tls.cert_expired fail mx2.example.test[127.0.0.23]", "tls.mta_sts_cert_invalid fail"}},
		{"enforce, a wrong-name certificate", tlsScenario{mx: twoMX("wrong-name"), sts: goodSTS, policy: enforce, tlsrpt: rpt},
			[]string{"tls.name_mismatch warn mx2.example.test[127.0.0.23]", "tls.mta_sts_cert_invalid fail"}},
		{"testing, a wrong-name certificate", tlsScenario{mx: twoMX("wrong-name"), sts: goodSTS, policy: ststest.Good("testing", "604800", "*.example.test"), tlsrpt: rpt},
			[]string{"tls.name_mismatch warn mx2.example.test[127.0.0.23]", "tls.mta_sts_testing info", "tls.mta_sts_cert_invalid warn"}},
		{"TLS 1.0 only", tlsScenario{mx: twoMX("tls10"), sts: goodSTS, policy: enforce, tlsrpt: rpt},
			[]string{"tls.old_version warn mx2.example.test[127.0.0.23]"}},
		{"no STARTTLS on one address", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.21", "good"}, {"mx1", "::1", "none"}}, tlsrpt: rpt},
			[]string{"tls.no_starttls fail mx1.example.test[::1]", "tls.inconsistent warn mx1.example.test", "tls.mta_sts_missing info"}},
		{"a redirect on the policy URL", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: ststest.Redirect("https://elsewhere.example/p"), tlsrpt: rpt},
			[]string{"tls.mta_sts_policy_unavailable fail"}},
		{"a malformed policy", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: ststest.Malformed(), tlsrpt: rpt},
			[]string{"tls.mta_sts_policy_invalid fail"}},
		{"an oversize policy", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: ststest.Oversize(), tlsrpt: rpt},
			[]string{"tls.mta_sts_policy_unavailable fail"}},
		{"a policy as text/html", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: ststest.WrongType("*.example.test"), tlsrpt: rpt},
			[]string{"tls.mta_sts_policy_unavailable fail"}},
		{"a malformed _mta-sts record", tlsScenario{mx: twoMX("good"), sts: "v=STSv1; id=not-alnum", policy: enforce, tlsrpt: rpt},
			[]string{"tls.mta_sts_record_invalid warn"}},
		{"TLS-RPT missing beside MTA-STS", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: enforce},
			[]string{"tls.tlsrpt_missing warn", "tls.mta_sts_ok pass"}},
		{"TLS-RPT malformed", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: enforce, tlsrpt: "v=TLSRPTv1; rua=tls@example.test"},
			[]string{"tls.tlsrpt_invalid warn"}},
		{"no MTA-STS, no TLS-RPT", tlsScenario{mx: twoMX("good")},
			[]string{"tls.mta_sts_missing info", "tls.tlsrpt_missing info"}},
		{"two _mta-sts records", tlsScenario{mx: twoMX("good"), sts: goodSTS + "\nv=STSv1; id=2", policy: enforce, tlsrpt: rpt},
			[]string{"tls.mta_sts_multiple_records warn"}},
		{"two TLS-RPT records", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: enforce, tlsrpt: rpt + "\n" + rpt + ",mailto:b@example.test"},
			[]string{"tls.tlsrpt_multiple_records warn", "tls.mta_sts_ok pass"}},
		{"a short max_age, a pattern for no MX", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: ststest.Good("enforce", "3600", "*.example.test", "old.example.net"), tlsrpt: rpt},
			[]string{"tls.mta_sts_short_max_age warn", "tls.mta_sts_pattern_unused warn", "tls.mta_sts_ok pass"}},
		{"a wildcard covers one label only", tlsScenario{mx: twoMX("good"), sts: goodSTS, policy: ststest.Good("enforce", "604800", "*.test"), tlsrpt: rpt},
			[]string{"tls.mta_sts_mx_not_covered fail mx1.example.test", "tls.mta_sts_mx_not_covered fail mx2.example.test", "tls.mta_sts_pattern_unused warn"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.sc.start(t)
			fs := TLS(context.Background(), env, Target{Domain: "example.test"})
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%s %s %s", f.ID, f.Severity, f.Subject))
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("no %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
			for _, f := range fs {
				if f.Severity >= report.Warn && !slices.ContainsFunc(tt.want, func(w string) bool { return strings.HasPrefix(fmt.Sprintf("%s %s %s", f.ID, f.Severity, f.Subject), w) }) {
					t.Errorf("unexpected %s %s %s: %s", f.ID, f.Severity, f.Subject, f.Message)
				}
			}
		})
	}
}

// --offline: the tls check connects to loopback addresses only. The
// zone points one MX at a closed loopback port and one outside this
// machine, and mta-sts outside too: the one dial is the loopback one.
func TestTLSOfflineDialsLoopbackOnly(t *testing.T) {
	env := zoneEnv(t, `$ORIGIN example.test.
@ 3600 IN SOA ns. host. 1 3600 600 86400 60
@ 3600 IN MX 10 near
@ 3600 IN MX 20 far
near 3600 IN A 127.0.0.29
far 3600 IN A 203.0.113.9
far 3600 IN AAAA 2001:db8::9
mta-sts 3600 IN A 198.51.100.7
_mta-sts 3600 IN TXT "v=STSv1; id=1"
`)
	var dials []string
	var n atomic.Int64
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		dials = append(dials, addr) // one at a time is not guaranteed: checked after
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	env.TLS.Port = freePort(t) // closed
	fs := TLS(context.Background(), env, Target{Domain: "example.test"})
	if n.Load() != 1 || !strings.HasPrefix(dials[0], "127.0.0.29:") {
		t.Errorf("dials %v, want the loopback MX only", dials)
	}
	want := map[string]report.Severity{
		"tls.connect_failed near.example.test[127.0.0.29]":                     report.Error,
		"tls.not_checked far.example.test[203.0.113.9]":                        report.Info,
		"tls.not_checked far.example.test[2001:db8::9]":                        report.Info,
		"tls.not_checked https://mta-sts.example.test/.well-known/mta-sts.txt": report.Info,
	}
	for _, f := range fs {
		if sev, ok := want[f.ID+" "+f.Subject]; ok {
			if sev != f.Severity {
				t.Errorf("%s %s: %s, want %s", f.ID, f.Subject, f.Severity, sev)
			}
			delete(want, f.ID+" "+f.Subject)
		}
		if f.ID == "tls.mta_sts_policy_unavailable" {
			t.Errorf("policy fetch offline is not a failure of the domain: %s", f.Message)
		}
		if f.ID == "tls.not_checked" && !strings.Contains(f.Message, "--offline connects to nothing outside this machine") {
			t.Errorf("not_checked in raw words: %s", f.Message)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing %v in %v", want, ids(fs))
	}
}

// A hostile MX: junk instead of a greeting, control characters in the
// banner, an endless reply. The check ends with a finding naming the
// address, within its deadline, and never panics.
func TestTLSHostileServers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		handle func(c net.Conn)
		want   string
	}{
		{"junk greeting", func(c net.Conn) { c.Write([]byte("\x00\x01HTTP/1.1 400 Bad\r\n")) }, "tls.connect_failed"},
		{"endless reply", func(c net.Conn) {
			c.Write([]byte("220-x\r\n"))
			for range 1000 {
				if _, err := c.Write([]byte("220-" + strings.Repeat("a", 100) + "\r\n")); err != nil {
					return
				}
			}
		}, "tls.connect_failed"},
		{"silence", func(c net.Conn) { time.Sleep(3 * time.Second) }, "tls.connect_failed"},
		{"silence after 220 to STARTTLS", func(c net.Conn) {
			buf := make([]byte, 512)
			c.Write([]byte("220 mx.example.test ESMTP\r\n"))
			c.Read(buf)
			c.Write([]byte("250-mx.example.test\r\n250 STARTTLS\r\n"))
			c.Read(buf)
			c.Write([]byte("220 go ahead\r\n"))
			time.Sleep(3 * time.Second)
		}, "tls.connect_failed"},
		{"escape in banner, no STARTTLS", func(c net.Conn) {
			buf := make([]byte, 512)
			c.Write([]byte("220 evil\x1b[2J.example ESMTP\r\n"))
			c.Read(buf)
			c.Write([]byte("250 evil\r\n"))
			c.Read(buf)
		}, "tls.banner_mismatch"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			port := freePort(t)
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.31", strconv.Itoa(port)))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					tt.handle(c)
					c.Close()
				}
			}()
			defer func() { ln.Close(); <-done }()
			env := zoneEnv(t, "$ORIGIN example.test.\n@ 3600 IN SOA ns. host. 1 3600 600 86400 60\n@ 3600 IN MX 10 mx\nmx 3600 IN A 127.0.0.31\n")
			env.TLS.Port = port
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			fs := TLS(ctx, env, Target{Domain: "example.test"})
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			if tt.want == "tls.banner_mismatch" && !slices.ContainsFunc(fs, func(f report.Finding) bool { return f.ID == "tls.no_starttls" }) {
				t.Errorf("want tls.no_starttls too, got %v", ids(fs))
			}
			if !slices.ContainsFunc(fs, func(f report.Finding) bool { return f.ID == tt.want && f.Subject == "mx.example.test[127.0.0.31]" }) {
				t.Errorf("want %s for the address, got %v", tt.want, ids(fs))
			}
		})
	}
}

// The direct path of the test send applies the recipient's MTA-STS
// policy (RFC 8461 §5): in enforce mode only MX hosts the policy names,
// and only over a certificate valid for the MX name; in testing mode it
// delivers and says which policy it applied.
func TestSendAppliesMTASTS(t *testing.T) {
	for _, tt := range []struct {
		name     string
		sc       tlsScenario
		want     string
		wantMode string
	}{
		{"enforce, valid certificate", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.81", "good"}}, sts: goodSTS, policy: ststest.Good("enforce", "86400", "mx1.example.test")},
			"send.accepted", "enforce"},
		{"enforce, wrong-name certificate", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.82", "wrong-name"}}, sts: goodSTS, policy: ststest.Good("enforce", "86400", "mx1.example.test")},
			"send.mta_sts_refused", "enforce"},
		{"enforce, no STARTTLS", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.83", "none"}}, sts: goodSTS, policy: ststest.Good("enforce", "86400", "mx1.example.test")},
			"send.mta_sts_refused", "enforce"},
		{"enforce, the MX not in the policy", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.84", "good"}}, sts: goodSTS, policy: ststest.Good("enforce", "86400", "other.example.test")},
			"send.mta_sts_refused", "enforce"},
		{"enforce, one MX refused, the next takes it", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.85", "wrong-name"}, {"mx2", "127.0.0.86", "good"}}, sts: goodSTS, policy: ststest.Good("enforce", "86400", "*.example.test")},
			"send.accepted", "enforce"},
		{"testing, wrong-name certificate", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.87", "wrong-name"}}, sts: goodSTS, policy: ststest.Good("testing", "86400", "mx1.example.test")},
			"send.accepted", "testing"},
		{"no MTA-STS", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.88", "wrong-name"}}},
			"send.accepted", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.sc.start(t)
			s := delivery.Send{From: names.MustAddress("sender@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"),
				Path: "direct", Port: env.TLS.Port, RootCAs: env.TLS.Roots}
			fs := SendCheck(context.Background(), env, Target{Send: &s})
			i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == tt.want })
			if i < 0 {
				t.Fatalf("no %s in %v", tt.want, ids(fs))
			}
			ev, _ := fs[i].Evidence["mta_sts"].(map[string]any)
			if mode, _ := ev["mode"].(string); mode != tt.wantMode || (tt.wantMode != "") != (ev["applied"] == true) {
				t.Errorf("mta_sts evidence %v, want mode %q", ev, tt.wantMode)
			}
			if tt.want == "send.mta_sts_refused" && fs[i].Severity != report.Fail {
				t.Errorf("%s at %s", tt.want, fs[i].Severity)
			}
		})
	}
}

// check DOMAIN --to x@DOMAIN fetches DOMAIN's MTA-STS policy once: the
// tls check and the test send share the fetch (each once made its own).
// Separate runs do not share.
func TestPolicyFetchedOncePerRun(t *testing.T) {
	var srv *ststest.Server
	sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.89", "good"}}, sts: goodSTS, policy: ststest.Good("enforce", "86400", "mx1.example.test"),
		tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test", policyServer: func(s *ststest.Server) { srv = s }}
	env := sc.start(t)
	s := delivery.Send{From: names.MustAddress("sender@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"),
		Path: "direct", Port: env.TLS.Port,
		RootCAs: env.TLS.Roots.Clone()} // another pool of the same roots, as check's --ca-file makes
	list := slices.DeleteFunc(slices.Clone(All), func(c Check) bool { return c.ID != "tls" && c.ID != "send" })
	for run := 1; run <= 2; run++ {
		var fs []report.Finding
		for _, r := range Run(context.Background(), env, Target{Domain: "example.test", Send: &s}, list) {
			fs = append(fs, r.Findings...)
		}
		for _, id := range []string{"tls.mta_sts_ok", "send.accepted"} {
			if _, ok := find(fs, id); !ok {
				t.Fatalf("run %d: no %s in %v", run, id, ids(fs))
			}
		}
		if n := len(srv.Hits()); n != run {
			t.Errorf("after run %d: the policy was fetched %d times, want %d", run, n, run)
		}
	}
}

// Errors on this side — the run's deadline, a policy server or an MX
// that stalls until it, a source address not on this machine — say
// nothing about the domain: they are errors (could not check), never a
// fail against it (review of #19, items 1 and 3). The policy fetch has
// its own limit inside the deadline.
func TestTLSThisSideErrorsAreNotFails(t *testing.T) {
	bindErr := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
	}
	for _, tt := range []struct {
		name string
		sc   tlsScenario
		dial func(ctx context.Context, network, addr string) (net.Conn, error)
		want []string // "id severity subject" prefixes that must be there
	}{
		{"a policy server that never answers", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.41", "good"}}, sts: goodSTS, policy: ststest.Stalled("headers"), tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test"}, nil,
			[]string{"tls.connect_failed error https://mta-sts.example.test", "tls.ok pass"}},
		{"a policy server that stops mid-body", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.42", "good"}}, sts: goodSTS, policy: ststest.Stalled("body"), tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test"}, nil,
			[]string{"tls.connect_failed error https://mta-sts.example.test", "tls.ok pass"}},
		{"a source address not on this machine", tlsScenario{mx: []mxServer{{"mx1", "127.0.0.43", "good"}}, sts: goodSTS, policy: ststest.Good("enforce", "86400", "mx1.example.test"), tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test"}, bindErr,
			[]string{"tls.connect_failed error https://mta-sts.example.test", "tls.connect_failed error mx1.example.test[127.0.0.43]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.sc.start(t)
			if tt.dial != nil {
				env.Dial = tt.dial
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			fs := TLS(ctx, env, Target{Domain: "example.test"})
			if d := time.Since(start); d > 2500*time.Millisecond {
				t.Errorf("took %s: the policy fetch's own limit is half the time left", d)
			}
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%s %s %s", f.ID, f.Severity, f.Subject))
				if f.Severity >= report.Warn && f.Severity != report.Error {
					t.Errorf("%s %s %s: %s", f.ID, f.Severity, f.Subject, f.Message)
				}
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("no %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// A policy server that hangs leaves the test send its time: the send
// goes ahead as without MTA-STS and says why (RFC 8461 §5).
func TestSendPolicyFetchTimeout(t *testing.T) {
	sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.44", "good"}}, sts: goodSTS, policy: ststest.Stalled("headers")}
	env := sc.start(t)
	s := delivery.Send{From: names.MustAddress("sender@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"),
		Path: "direct", Port: env.TLS.Port, RootCAs: env.TLS.Roots}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	fs := SendCheck(ctx, env, Target{Send: &s})
	i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == "send.accepted" })
	if i < 0 {
		t.Fatalf("no send.accepted in %v", ids(fs))
	}
	ev, _ := fs[i].Evidence["mta_sts"].(map[string]any)
	if r, _ := ev["reason"].(string); ev["applied"] != false || !strings.Contains(r, "no policy applied") || !strings.Contains(r, "timed out") {
		t.Errorf("mta_sts evidence %v", ev)
	}
	if !strings.Contains(fs[i].Message, "MTA-STS: no policy applied") {
		t.Errorf("message %q does not say no policy was applied", fs[i].Message)
	}
}

// A send that never started (the time was gone) is an error with a
// reason, not a fail with an empty one.
func TestSendNoAttemptIsError(t *testing.T) {
	env := zoneEnv(t, "$ORIGIN example.test.\n@ 3600 IN SOA ns. host. 1 3600 600 86400 60\n@ 3600 IN MX 10 mx1\nmx1 3600 IN A 127.0.0.45\n")
	s := delivery.Send{From: names.MustAddress("sender@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"),
		Path: "direct", Port: freePort(t)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range SendCheck(ctx, env, Target{Send: &s}) {
		if f.Severity == report.Fail || strings.Contains(f.Message, ": .") {
			t.Errorf("%s %s: %q", f.ID, f.Severity, f.Message)
		}
	}
}

// --offline with the policy host a CNAME out of the zone files: the
// policy was not fetched, which is not the domain's failure (review of
// #19, item 2).
func TestTLSOfflineCNAMEOutside(t *testing.T) {
	env := zoneEnv(t, `$ORIGIN example.test.
@ 3600 IN SOA ns. host. 1 3600 600 86400 60
@ 3600 IN MX 10 mx
mx 3600 IN A 203.0.113.9
mta-sts 3600 IN CNAME mta-sts.outside.example.
_mta-sts 3600 IN TXT "v=STSv1; id=1"
_smtp._tls 3600 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.test"
`)
	for _, f := range TLS(context.Background(), env, Target{Domain: "example.test"}) {
		if f.Severity >= report.Warn {
			t.Errorf("%s %s %s: %s", f.ID, f.Severity, f.Subject, f.Message)
		}
		if f.ID == "tls.not_checked" && strings.Contains(f.Subject, "mta-sts") && !strings.Contains(f.Message, "--offline") {
			t.Errorf("not_checked does not say why: %s", f.Message)
		}
	}
}

// The fix of a malformed _mta-sts record is a record only over a policy
// that is served and valid: pasted over no policy it would turn the
// warning into a fail (review of #19, item 5).
func TestTLSRecordFixOnlyOverAPolicy(t *testing.T) {
	rpt := "v=TLSRPTv1; rua=mailto:tls@example.test"
	for _, tt := range []struct {
		name    string
		policy  ststest.Response
		records bool
	}{
		{"policy served", ststest.Good("enforce", "604800", "*.example.test"), true},
		{"no policy", ststest.Response{Status: 404}, false},
		{"a malformed policy", ststest.Malformed(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.46", "good"}}, sts: "v=STSv1; id=\x1b[31mRED", policy: tt.policy, tlsrpt: rpt}
			fs := TLS(context.Background(), sc.start(t), Target{Domain: "example.test"})
			i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == "tls.mta_sts_record_invalid" })
			if i < 0 {
				t.Fatalf("no tls.mta_sts_record_invalid in %v", ids(fs))
			}
			if got := len(fs[i].FixRecords) > 0; got != tt.records {
				t.Errorf("fix records %v, want some: %v; fix %q", fs[i].FixRecords, tt.records, fs[i].Fix)
			}
			if !tt.records && !strings.Contains(fs[i].Fix, "serve the policy first") {
				t.Errorf("fix %q", fs[i].Fix)
			}
		})
	}
}

// The address cap keeps both families: six A records must not hide the
// AAAA without STARTTLS (review of #19, item 6).
func TestTLSAddrCapKeepsBothFamilies(t *testing.T) {
	a := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	for _, tt := range []struct{ in, want []netip.Addr }{
		{a("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "::1"), a("10.0.0.1", "10.0.0.2", "10.0.0.3", "::1")},
		{a("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"), a("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")},
		{a("::1", "::2", "::3", "10.0.0.1", "::4", "10.0.0.2", "10.0.0.3"), a("::1", "::2", "10.0.0.1", "10.0.0.2")},
		{a("::1", "::2", "::3", "::4", "::5"), a("::1", "::2", "::3", "::4")},
	} {
		if got := capAddrs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("capAddrs(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	var mx []mxServer
	for i := range 6 {
		mx = append(mx, mxServer{"mx1", fmt.Sprintf("127.0.0.%d", 51+i), "good"})
	}
	mx = append(mx, mxServer{"mx1", "::1", "none"})
	sc := tlsScenario{mx: mx, tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test"}
	fs := TLS(context.Background(), sc.start(t), Target{Domain: "example.test"})
	if !slices.ContainsFunc(fs, func(f report.Finding) bool {
		return f.ID == "tls.no_starttls" && f.Subject == "mx1.example.test[::1]"
	}) {
		t.Errorf("no tls.no_starttls for ::1 in %v", ids(fs))
	}
}

// TLSA records on an MX host are DANE published: TLS-RPT is then
// recommended (warn when missing), and no MTA-STS does not mean senders
// accept any certificate (review of #19, item 7).
func TestTLSDANEPublished(t *testing.T) {
	sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.47", "good"}},
		zone: "_25._tcp.mx1 3600 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"}
	fs := TLS(context.Background(), sc.start(t), Target{Domain: "example.test"})
	var rpt, sts *report.Finding
	for i := range fs {
		switch fs[i].ID {
		case "tls.tlsrpt_missing":
			rpt = &fs[i]
		case "tls.mta_sts_missing":
			sts = &fs[i]
		}
	}
	if rpt == nil || rpt.Severity != report.Warn || !strings.Contains(rpt.Message, "DANE") {
		t.Errorf("tlsrpt_missing: %+v", rpt)
	}
	if sts == nil || !strings.Contains(sts.Message, "TLSA") || strings.HasPrefix(strings.SplitN(sts.Message, ". ", 2)[1], "Senders use TLS when offered but accept any") {
		t.Errorf("mta_sts_missing: %+v", sts)
	}
}

// Thousands of mx lines under 64 KiB are a valid policy (RFC 8461 sets
// no limit): every pattern is matched, and the report stays short
// (review of #19, item 8).
func TestTLSManyPatterns(t *testing.T) {
	var pats []string
	for i := range 2500 {
		pats = append(pats, fmt.Sprintf("h%d.ex.net", i))
	}
	pats = append(pats, "mx1.example.test")
	sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.48", "good"}}, sts: goodSTS, policy: ststest.Good("enforce", "604800", pats...), tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test"}
	fs := TLS(context.Background(), sc.start(t), Target{Domain: "example.test"})
	unused := 0
	for _, f := range fs {
		switch f.ID {
		case "tls.mta_sts_policy_invalid", "tls.mta_sts_mx_not_covered":
			t.Errorf("%s: %s", f.ID, f.Message)
		case "tls.mta_sts_pattern_unused":
			unused++
		}
	}
	if unused != maxUnusedFindings {
		t.Errorf("%d pattern_unused findings, want %d", unused, maxUnusedFindings)
	}
	if !slices.ContainsFunc(fs, func(f report.Finding) bool { return f.ID == "tls.mta_sts_ok" }) {
		t.Errorf("no tls.mta_sts_ok in %v", ids(fs))
	}
}

// The review's minor points on wording (review of #19, MINOR): each
// message says what is true for its case.
func TestTLSWording(t *testing.T) {
	rpt := "v=TLSRPTv1; rua=mailto:tls@example.test"
	find := func(fs []report.Finding, id string) *report.Finding {
		for i := range fs {
			if fs[i].ID == id {
				return &fs[i]
			}
		}
		t.Fatalf("no %s in %v", id, ids(fs))
		return nil
	}
	t.Run("testing mode: no advice to switch to testing", func(t *testing.T) {
		sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.61", "wrong-name"}}, sts: goodSTS, policy: ststest.Good("testing", "604800", "*.example.test"), tlsrpt: rpt}
		f := find(TLS(context.Background(), sc.start(t), Target{Domain: "example.test"}), "tls.mta_sts_cert_invalid")
		if strings.Contains(f.Fix, "mode: testing") || strings.Contains(f.Message, "testing-mode policy") {
			t.Errorf("%s / %s", f.Message, f.Fix)
		}
	})
	t.Run("tls.ok names the key exchange, mta_sts_ok the record id", func(t *testing.T) {
		sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.62", "good"}}, sts: goodSTS, policy: ststest.Good("enforce", "604800", "*.example.test"), tlsrpt: rpt}
		fs := TLS(context.Background(), sc.start(t), Target{Domain: "example.test"})
		if f := find(fs, "tls.ok"); !strings.Contains(f.Message, "key exchange ") {
			t.Errorf("tls.ok: %s", f.Message)
		}
		if f := find(fs, "tls.mta_sts_ok"); !strings.Contains(f.Message, "id 20261129") {
			t.Errorf("mta_sts_ok: %s", f.Message)
		}
	})
	t.Run("a refused connection is the server's, not port 25 blocked", func(t *testing.T) {
		env := zoneEnv(t, "$ORIGIN example.test.\n@ 3600 IN SOA ns. host. 1 3600 600 86400 60\n@ 3600 IN MX 10 mx\nmx 3600 IN A 127.0.0.63\n_smtp._tls 3600 IN TXT \""+rpt+"\"\n")
		env.TLS.Port = freePort(t)
		f := find(TLS(context.Background(), env, Target{Domain: "example.test"}), "tls.connect_failed")
		if strings.Contains(f.Fix, "port 25 (many networks block it)") {
			t.Errorf("fix %q", f.Fix)
		}
	})
	t.Run("a null MX gets no advice to publish MTA-STS or TLS-RPT", func(t *testing.T) {
		env := zoneEnv(t, "$ORIGIN example.test.\n@ 3600 IN SOA ns. host. 1 3600 600 86400 60\n@ 3600 IN MX 0 .\n")
		for _, f := range TLS(context.Background(), env, Target{Domain: "example.test"}) {
			if f.ID == "tls.mta_sts_missing" || f.ID == "tls.tlsrpt_missing" {
				t.Errorf("%s: %s", f.ID, f.Message)
			}
		}
	})
	t.Run("the banner is shown as sent", func(t *testing.T) {
		env := zoneEnv(t, "$ORIGIN example.test.\n@ 3600 IN SOA ns. host. 1 3600 600 86400 60\n")
		p := &Probe{Host: "mx.example.test", Addr: netip.MustParseAddr("127.0.0.64"), Banner: "MiXeD.Example.NET ESMTP"}
		f, ok := bannerFinding(context.Background(), env, p)
		if !ok || !strings.Contains(f.Message, "greets as MiXeD.Example.NET;") {
			t.Errorf("%v %s", ok, f.Message)
		}
		p.Banner = "MX.Example.Test ESMTP"
		if f, ok := bannerFinding(context.Background(), env, p); ok {
			t.Errorf("the MX name in other case: %s", f.Message)
		}
	})
	t.Run("expiry counts calendar days", func(t *testing.T) {
		now := time.Date(2026, 11, 29, 23, 45, 0, 0, time.UTC)
		for _, tt := range []struct {
			at   time.Time
			want string
		}{
			{time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC), "5 days"},
			{time.Date(2026, 11, 30, 0, 10, 0, 0, time.UTC), "1 day"},
			{time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC), "less than a day (23:59 UTC)"},
		} {
			if got := daysUntil(now, tt.at); got != tt.want {
				t.Errorf("daysUntil(%s) = %q, want %q", tt.at, got, tt.want)
			}
		}
	})
	t.Run("certificate errors keep their point when cut", func(t *testing.T) {
		names := make([]string, 40)
		for i := range names {
			names[i] = fmt.Sprintf("a-rather-long-name-%d.example.net", i)
		}
		err := x509.HostnameError{Certificate: &x509.Certificate{DNSNames: names}, Host: "mx.example.test"}
		if got := shortErr(fmt.Errorf("tls: %w", err)); !strings.HasPrefix(got, "the certificate is not valid for mx.example.test (it names a-rather") {
			t.Errorf("shortErr = %q", got)
		}
	})
}

// send --tls none: the session in clear text is the flag's doing, and
// the message says so rather than blame the server (review of #19).
func TestSendTLSNoneWording(t *testing.T) {
	sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.65", "good"}}, sts: goodSTS, policy: ststest.Good("testing", "86400", "mx1.example.test")}
	env := sc.start(t)
	s := delivery.Send{From: names.MustAddress("sender@example.org"), To: names.MustAddress("user@example.test"), HELO: names.MustHost("client.example.org"),
		Path: "direct", Port: env.TLS.Port, RootCAs: env.TLS.Roots, TLS: delivery.TLSNone}
	fs := SendCheck(context.Background(), env, Target{Send: &s})
	i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == "send.no_starttls" })
	if i < 0 {
		t.Fatalf("no send.no_starttls in %v", ids(fs))
	}
	if m := fs[i].Message; strings.Contains(m, "did not offer") || !strings.Contains(m, "--tls none") {
		t.Errorf("message %q", m)
	}
}

// The fix of a malformed policy names the domain's own MX hosts, so the
// pasted policy covers them (review of #19).
func TestTLSPolicyFixNamesTheMX(t *testing.T) {
	sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.66", "good"}, {"mx2", "127.0.0.67", "good"}}, sts: goodSTS, policy: ststest.Malformed(), tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test"}
	fs := TLS(context.Background(), sc.start(t), Target{Domain: "example.test"})
	i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.ID == "tls.mta_sts_policy_invalid" })
	if i < 0 {
		t.Fatalf("no policy_invalid in %v", ids(fs))
	}
	body, _, _ := strings.Cut(strings.SplitN(fs[i].Fix, "\n", 2)[1], "then ")
	p, err := mtasts.ParsePolicy([]byte(body))
	if err != nil || p.Match("mx1.example.test") == "" || p.Match("mx2.example.test") == "" || len(p.MX) != 2 {
		t.Errorf("the fix's policy %q: %+v, %v", body, p, err)
	}
}

// A policy with a blank line or a comment is read as lenient senders
// read it, with a warning, not a blocking fail (review of #19).
func TestTLSLenientPolicy(t *testing.T) {
	body := "# ours\nversion: STSv1\nmode: enforce\n\nmx: *.example.test\nmax_age: 604800\n"
	sc := tlsScenario{mx: []mxServer{{"mx1", "127.0.0.68", "good"}}, sts: goodSTS, policy: ststest.Response{Body: body}, tlsrpt: "v=TLSRPTv1; rua=mailto:tls@example.test"}
	fs := TLS(context.Background(), sc.start(t), Target{Domain: "example.test"})
	got := map[string]report.Severity{}
	for _, f := range fs {
		got[f.ID] = max(got[f.ID], f.Severity)
	}
	if got["tls.mta_sts_policy_invalid"] != report.Warn || got["tls.mta_sts_ok"] != report.Pass {
		t.Errorf("got %v", got)
	}
}
