package cmd

import (
	"flag"
	"net"
	"os"
	"strconv"
	"time"

	"crypto/tls"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/preflight-mail/preflight/mtasts/ststest"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// cmdTLSMX starts the MX servers and the MTA-STS policy server of the
// tls scenarios (issue #19) for the domains under SUFFIX:
//
//	tlsmx [-cert CERT -key KEY] [-port N] SUFFIX
//
// SMTP servers, all on one port ($TLSPORT; -port N to share the lab's):
// 127.0.0.71 mx1.SUFFIX (a certificate also valid for mx-mixed.SUFFIX)
// and 127.0.0.72 mx2.SUFFIX, 127.0.0.73 mx-expired.SUFFIX (expired),
// 127.0.0.74 mx-wrongname.SUFFIX (a certificate for other.example.net),
// 127.0.0.75 mx-tls10.SUFFIX (TLS 1.0 only), 127.0.0.76 (no STARTTLS),
// 127.0.0.77 (STARTTLS offered, no certificate: every handshake fails).
// The policy server on 127.0.0.70 ($HTTPSPORT) serves mta-sts.D.SUFFIX
// for D in good, expired, wrongname, tls10 (enforce, the MX hosts of
// the zone's domain D), one (enforce, mx1 only), postfix (enforce, mx1
// and the lab's mx.lab.example), testing, none,
// redirect, malformed, oversize and html (text/html). Certificates are from a new CA ($TLSCA, a PEM
// file), or the CA of -cert and -key (the lab's). The zone is the
// script's.
func cmdTLSMX(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("tlsmx", flag.ContinueOnError)
	certFile := fs.String("cert", "", "the CA's certificate")
	keyFile := fs.String("key", "", "the CA's key")
	port := fs.Int("port", 0, "SMTP port")
	if neg || fs.Parse(args) != nil || fs.NArg() != 1 || (*certFile == "") != (*keyFile == "") {
		ts.Fatalf("usage: tlsmx [-cert CERT -key KEY] [-port N] SUFFIX")
	}
	tb := &scriptTB{ts: ts}
	ts.Defer(tb.cleanup)
	suffix := fs.Arg(0)
	var ca *smtptest.CA
	if *certFile != "" {
		cert, err := os.ReadFile(*certFile)
		ts.Check(err)
		key, err := os.ReadFile(*keyFile)
		ts.Check(err)
		ca = smtptest.LoadCA(tb, cert, key)
	} else {
		ca = smtptest.NewCA(tb)
	}
	caFile := ts.MkAbs("tls-ca.pem")
	ts.Check(os.WriteFile(caFile, ca.PEM, 0o644))
	ts.Setenv("TLSCA", caFile)
	if *port == 0 {
		*port = freeLoopbackPort(ts)
	}
	valid := time.Now().Add(90 * 24 * time.Hour)
	servers := []struct {
		addr, host string
		cfg        *tls.Config
	}{
		{"127.0.0.71", "mx1", ca.ServerTLSUntil(tb, valid, "mx1."+suffix, "mx-mixed."+suffix)},
		{"127.0.0.72", "mx2", ca.ServerTLSUntil(tb, valid, "mx2."+suffix)},
		{"127.0.0.73", "mx-expired", ca.ServerTLSUntil(tb, time.Now().Add(-48*time.Hour), "mx-expired."+suffix)},
		{"127.0.0.74", "mx-wrongname", ca.ServerTLSUntil(tb, valid, "other.example.net")},
		{"127.0.0.75", "mx-tls10", ca.ServerTLSUntil(tb, valid, "mx-tls10."+suffix)},
		{"127.0.0.76", "mx-mixed", nil},
		{"127.0.0.77", "mx-broken", &tls.Config{}},
	}
	servers[4].cfg.MinVersion, servers[4].cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
	for _, s := range servers {
		smtptest.Start(tb, smtptest.Options{TLS: s.cfg, Listen: net.JoinHostPort(s.addr, strconv.Itoa(*port)), Domain: s.host + "." + suffix, Open: true})
	}
	ts.Setenv("TLSPORT", strconv.Itoa(*port))

	mx := func(hosts ...string) []string {
		for i := range hosts {
			hosts[i] += "." + suffix
		}
		return hosts
	}
	policies := map[string]ststest.Response{
		"good":      ststest.Good("enforce", "604800", mx("mx1", "mx2")...),
		"expired":   ststest.Good("enforce", "604800", mx("mx1", "mx-expired")...),
		"wrongname": ststest.Good("enforce", "604800", mx("mx-wrongname")...),
		"tls10":     ststest.Good("enforce", "604800", mx("mx-tls10")...),
		"one":       ststest.Good("enforce", "604800", mx("mx1")...),
		"postfix":   ststest.Good("enforce", "604800", append(mx("mx1"), "mx.lab.example")...),
		"testing":   ststest.Good("testing", "604800", mx("mx1", "mx-wrongname")...),
		"none":      ststest.Good("none", "604800"),
		"redirect":  ststest.Redirect("https://elsewhere.example/.well-known/mta-sts.txt"),
		"malformed": ststest.Malformed(),
		"oversize":  ststest.Oversize(),
		"html":      ststest.WrongType(mx("mx1")...),
	}
	by := map[string]ststest.Response{}
	var names []string
	for d, r := range policies {
		by["mta-sts."+d+"."+suffix] = r
		names = append(names, "mta-sts."+d+"."+suffix)
	}
	srv, err := ststest.Start(net.JoinHostPort("127.0.0.70", "0"), ca.ServerTLSUntil(tb, valid, names...), by)
	ts.Check(err)
	ts.Defer(srv.Close)
	_, hp, _ := net.SplitHostPort(srv.Addr)
	ts.Setenv("HTTPSPORT", hp)
}

// freeLoopbackPort is a port free on 127.0.0.1, for servers on other
// loopback addresses.
func freeLoopbackPort(ts *testscript.TestScript) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
