// Command labsign signs a zone file with a new key, for the lab (run by
// testdata/lab/lab.sh at lab start) and for test zone files: it writes
// the signed zone (DNSKEY, RRSIG, NSEC or NSEC3 records added) and the
// DS records the parent publishes, which are also the trust anchor of a
// zone at the top.
//
//	labsign -in example.zone -out signed/example.zone -ds signed/example.ds [-include child.ds] [-nsec3] [-expired]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver/dnstest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "labsign:", err)
		os.Exit(1)
	}
}

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func run(args []string) error {
	fs := flag.NewFlagSet("labsign", flag.ContinueOnError)
	in := fs.String("in", "", "zone FILE to sign (master-file syntax, with an SOA)")
	out := fs.String("out", "", "signed zone FILE to write")
	dsOut := fs.String("ds", "", "FILE to write the zone's DS records to")
	var include files
	fs.Var(&include, "include", "FILE of records (a child's DS) to add before signing (repeatable)")
	nsec3 := fs.Bool("nsec3", false, "an NSEC3 chain instead of NSEC")
	optOut := fs.Bool("opt-out", false, "NSEC3 opt-out")
	expired := fs.Bool("expired", false, "signatures that expired a day ago (a bogus zone)")
	alg := fs.Int("algorithm", int(dns.ECDSAP256SHA256), "DNSSEC algorithm number (8, 13, 14, 15)")
	from := fs.String("inception", "", "signatures valid from DATE (2006-01-02); default an hour ago")
	until := fs.String("expiration", "", "signatures valid until DATE (2006-01-02); default in 30 days")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("-in and -out are required")
	}
	text, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	zone := string(text)
	for _, f := range include {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		zone += "\n" + string(b)
	}
	opt := dnstest.SignOptions{NSEC3: *nsec3, OptOut: *optOut, Algorithm: uint8(*alg)}
	if *expired {
		opt.Inception, opt.Expiration = time.Now().Add(-30*24*time.Hour), time.Now().Add(-24*time.Hour)
	}
	for _, d := range []struct {
		s string
		t *time.Time
	}{{*from, &opt.Inception}, {*until, &opt.Expiration}} {
		if d.s == "" {
			continue
		}
		if *d.t, err = time.Parse("2006-01-02", d.s); err != nil {
			return err
		}
	}
	s, err := dnstest.SignText(zone, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	if err := os.WriteFile(*out, []byte("; signed by internal/labsign; do not edit\n"+s.Text()), 0o644); err != nil {
		return err
	}
	if *dsOut != "" {
		var b strings.Builder
		for _, rr := range s.DS {
			b.WriteString(rr.String() + "\n")
		}
		return os.WriteFile(*dsOut, []byte(b.String()), 0o644)
	}
	return nil
}
