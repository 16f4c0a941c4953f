package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// netError turns our error into the bare *net.DNSError that
// blitiri.com.ar/go/spf and go-msgauth classify by type assertion:
// IsNotFound for NXDOMAIN and NODATA, IsTemporary (and so Temporary())
// for everything else. A wrapped error would turn "none" into
// "permerror" in the SPF library.
func netError(err error, name string) error {
	if err == nil {
		return nil
	}
	de := &net.DNSError{Err: err.Error(), Name: bare(name)}
	var le *LookupError
	if errors.As(err, &le) {
		de.Server = strings.TrimPrefix(le.Reason, "from ")
	}
	if IsNotFound(err) {
		de.IsNotFound = true
	} else {
		de.IsTemporary = true
		var ne net.Error
		de.IsTimeout = errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
	}
	return de
}

// SPF returns the resolver in the shape blitiri.com.ar/go/spf wants
// (spf.DNSResolver).
func (r *Resolver) SPF() *SPFResolver { return &SPFResolver{r: r} }

// SPFResolver adapts a Resolver to blitiri.com.ar/go/spf's DNSResolver.
type SPFResolver struct{ r *Resolver }

// LookupTXT implements spf.DNSResolver.
func (a *SPFResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	name = EscapeName(name)
	txt, err := a.r.LookupTXT(ctx, name)
	return txt, netError(err, name)
}

// LookupMX implements spf.DNSResolver.
func (a *SPFResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	name = EscapeName(name)
	mxs, err := a.r.LookupMX(ctx, name)
	if err != nil {
		return nil, netError(err, name)
	}
	out := make([]*net.MX, len(mxs))
	for i, m := range mxs {
		out[i] = &net.MX{Host: dns.Fqdn(m.Host), Pref: m.Pref}
	}
	return out, nil
}

// LookupIPAddr implements spf.DNSResolver.
func (a *SPFResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	host = EscapeName(host)
	ips, err := a.r.LookupIP(ctx, "ip", host)
	if err != nil {
		return nil, netError(err, host)
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: ip.AsSlice()}
	}
	return out, nil
}

// LookupAddr implements spf.DNSResolver: addr is an IP in text form.
func (a *SPFResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "not an IP address", Name: addr}
	}
	names, err := a.r.LookupPTR(ctx, ip)
	if err != nil {
		return nil, netError(err, ReverseName(ip))
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = dns.Fqdn(n)
	}
	return out, nil
}

// TXTFunc returns a TXT lookup bound to ctx in the shape go-msgauth's
// dkim.VerifyOptions.LookupTXT and dmarc.LookupOptions.LookupTXT want.
func (r *Resolver) TXTFunc(ctx context.Context) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		txt, err := r.LookupTXT(ctx, name)
		return txt, netError(err, name)
	}
}

// EscapeName turns a name of raw octets (as macro expansion makes them:
// spaces, '%', anything) into miekg/dns presentation form, where dots
// separate labels and other special octets are escaped.
func EscapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			b.WriteByte(c)
		case c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c <= ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
