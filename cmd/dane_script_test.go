package cmd

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/preflight-mail/preflight/dane"
	"github.com/preflight-mail/preflight/resolver/dnstest"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// cmdDANEMX starts the MX servers of the DANE scenarios (issue #20) and
// writes their signed zones:
//
//	danemx SUFFIX
//
// 127.0.0.81 mx1.SUFFIX and 127.0.0.82 mx2.SUFFIX (port $DANEPORT,
// certificates from a new CA, $DANECA) and, in dane/ (for --zone): the
// zone SUFFIX, signed, where ok.SUFFIX's MX is mx1 with a TLSA 3 1 1
// record of mx1's key, bad.SUFFIX's is mx2 with a TLSA record of another
// key, pkix.SUFFIX's is mx1 with only a usage 1 record, and
// broken.SUFFIX's is mx.broken.SUFFIX (127.0.0.81), in the zone
// broken.SUFFIX, delegated with a DS and signed with signatures that
// expired (bogus; its own MX is that host too); unsigned.SUFFIX (its own unsigned zone, delegated
// without DS) has mx1's TLSA record too; sha1.SUFFIX, its own zone signed
// with RSA/SHA-1 (algorithm 5, which preflight does not validate) and
// delegated with a DS, has MX mx.sha1.SUFFIX (127.0.0.81) with a TLSA
// record of mx2's key. dane/anchor.ds is the trust
// anchor (the DS of SUFFIX).
func cmdDANEMX(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: danemx SUFFIX")
	}
	suffix := args[0]
	tb := &scriptTB{ts: ts}
	ts.Defer(tb.cleanup)
	ca := smtptest.NewCA(tb)
	caFile := ts.MkAbs("dane-ca.pem")
	ts.Check(os.WriteFile(caFile, ca.PEM, 0o644))
	ts.Setenv("DANECA", caFile)
	port := freeLoopbackPort(ts)
	ts.Setenv("DANEPORT", strconv.Itoa(port))
	valid := time.Now().Add(90 * 24 * time.Hour)
	var leaves []*x509.Certificate
	for i, host := range []string{"mx1", "mx2"} {
		names := []string{host + "." + suffix}
		if i == 0 {
			names = append(names, "mx.broken."+suffix, "mx.unsigned."+suffix, "mx.sha1."+suffix)
		}
		cfg := ca.ServerTLSUntil(tb, valid, names...)
		leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
		ts.Check(err)
		leaves = append(leaves, leaf)
		smtptest.Start(tb, smtptest.Options{TLS: cfg, Listen: net.JoinHostPort(fmt.Sprintf("127.0.0.%d", 81+i), strconv.Itoa(port)), Domain: names[0], Open: true})
	}
	ee1 := dane.Record(3, 1, 1, leaves[0])
	block, _ := pem.Decode(ca.PEM)
	caCert, err := x509.ParseCertificate(block.Bytes)
	ts.Check(err)

	soa := func(apex string) string {
		return fmt.Sprintf("$ORIGIN %s.\n@ 3600 IN SOA ns.%s. host.%s. 1 3600 600 86400 60\n@ 3600 IN NS ns.%s.\n", apex, suffix, suffix, suffix)
	}
	broken, err := dnstest.SignText(soa("broken."+suffix)+
		"@ 3600 IN MX 10 mx\nmx 3600 IN A 127.0.0.81\n_25._tcp.mx 3600 IN TLSA "+ee1+"\n",
		dnstest.SignOptions{Inception: time.Now().Add(-10 * 24 * time.Hour), Expiration: time.Now().Add(-24 * time.Hour)})
	ts.Check(err)
	sha1, err := dnstest.SignText(soa("sha1."+suffix)+
		"@ 3600 IN MX 10 mx\nmx 3600 IN A 127.0.0.81\n_25._tcp.mx 3600 IN TLSA "+dane.Record(3, 1, 1, leaves[1])+"\n",
		dnstest.SignOptions{Algorithm: dns.RSASHA1})
	ts.Check(err)
	var z strings.Builder
	z.WriteString(soa(suffix))
	z.WriteString("ns 3600 IN A 127.0.0.1\nmx1 3600 IN A 127.0.0.81\nmx2 3600 IN A 127.0.0.82\n")
	fmt.Fprintf(&z, "_25._tcp.mx1 3600 IN TLSA %s\n", ee1)
	fmt.Fprintf(&z, "_25._tcp.mx2 3600 IN TLSA %s\n", dane.Record(3, 1, 1, leaves[0])) // mx1's key: mx2 does not match
	z.WriteString("ok 3600 IN MX 10 mx1\nbad 3600 IN MX 10 mx2\npkix 3600 IN MX 10 pkixmx\npkixmx 3600 IN A 127.0.0.81\n")
	fmt.Fprintf(&z, "_25._tcp.pkixmx 3600 IN TLSA %s\n", dane.Record(1, 1, 1, caCert))
	z.WriteString("bogusmail 3600 IN MX 10 mx.broken\nbroken 3600 IN NS ns\nunsigned 3600 IN NS ns\n")
	z.WriteString(broken.DS[0].String() + "\n")
	z.WriteString("sha1 3600 IN NS ns\n" + sha1.DS[0].String() + "\n")
	parent, err := dnstest.SignText(z.String(), dnstest.SignOptions{})
	ts.Check(err)
	dir := ts.MkAbs("dane")
	ts.Check(os.MkdirAll(dir, 0o755))
	ts.Check(os.WriteFile(dir+"/"+suffix+".zone", []byte(parent.Text()), 0o644))
	ts.Check(os.WriteFile(dir+"/broken."+suffix+".zone", []byte(broken.Text()), 0o644))
	ts.Check(os.WriteFile(dir+"/sha1."+suffix+".zone", []byte(sha1.Text()), 0o644))
	ts.Check(os.WriteFile(dir+"/unsigned."+suffix+".zone", []byte(soa("unsigned."+suffix)+
		"@ 3600 IN MX 10 mx\nmx 3600 IN A 127.0.0.81\n_25._tcp.mx 3600 IN TLSA "+ee1+"\n"), 0o644))
	ts.Check(os.WriteFile(ts.MkAbs("anchor.ds"), []byte(parent.DS[0].String()+"\n"), 0o644))
}
