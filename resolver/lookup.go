package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// LookupTXT returns one string per TXT record, its character-strings
// joined with nothing between them (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ans, err := r.Lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	return TXTStrings(ans.Records), nil
}

// TXTStrings returns one string per TXT record, its character-strings
// joined, as the octets on the wire (miekg/dns keeps them escaped).
func TXTStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			var b strings.Builder
			for _, s := range t.Txt {
				b.WriteString(unescape(s))
			}
			out = append(out, b.String())
		}
	}
	return out
}

// unescape turns miekg/dns's presentation form of a character-string
// (\" and \DDD escapes) back into the octets that were on the wire.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

// LookupIP returns the addresses of name. network is "ip4" (A), "ip6"
// (AAAA) or "ip" (both, asked concurrently). For "ip" the result holds
// whatever either lookup found; it fails only when both do, as not found
// only when both are not found.
func (r *Resolver) LookupIP(ctx context.Context, network, name string) ([]netip.Addr, error) {
	switch network {
	case "ip4":
		h, err := r.lookupAddrs(ctx, name, dns.TypeA)
		return h.Addrs, err
	case "ip6":
		h, err := r.lookupAddrs(ctx, name, dns.TypeAAAA)
		return h.Addrs, err
	}
	h, err := r.LookupHost(ctx, name)
	return h.Addrs, err
}

// Host is what LookupHost found: the addresses, and the CNAME chain that
// led to them (empty when the name has its own records).
type Host struct {
	Addrs  []netip.Addr
	CNAMEs []string
}

// LookupHost returns the A and AAAA addresses of name (asked
// concurrently) with the alias chain of whichever answered through one.
// Like LookupIP "ip", it fails only when both lookups do, as not found
// only when both are not found.
func (r *Resolver) LookupHost(ctx context.Context, name string) (Host, error) {
	var (
		wg         sync.WaitGroup
		v4, v6     Host
		err4, err6 error
	)
	// Both at once; the A lookup in this goroutine (issue #21: a
	// goroutine each was a stack to grow per pair).
	wg.Go(func() { v6, err6 = r.lookupAddrs(ctx, name, dns.TypeAAAA) })
	v4, err4 = r.lookupAddrs(ctx, name, dns.TypeA)
	wg.Wait()
	if addrs := append(v4.Addrs, v6.Addrs...); len(addrs) > 0 {
		chain := v4.CNAMEs
		if len(chain) == 0 {
			chain = v6.CNAMEs
		}
		return Host{Addrs: addrs, CNAMEs: chain}, nil
	}
	return Host{}, bothFailed(err4, err6)
}

// bothFailed picks the error of an A and AAAA lookup that both found
// nothing: a temporary error first (nothing is known), then NXDOMAIN
// (the name does not exist), then NODATA.
func bothFailed(err4, err6 error) error {
	switch {
	case err4 == nil:
		return err6
	case err6 == nil:
		return err4
	case IsTemporary(err4):
		return err4
	case IsTemporary(err6):
		return err6
	case errors.Is(err4, ErrNXDomain) || errors.Is(err6, ErrNXDomain):
		// One of them NXDOMAIN: the name does not exist.
		if errors.Is(err4, ErrNXDomain) {
			return err4
		}
		return err6
	}
	return err4
}

func (r *Resolver) lookupAddrs(ctx context.Context, name string, qtype uint16) (Host, error) {
	ans, err := r.Lookup(ctx, name, qtype)
	if err != nil {
		return Host{}, err
	}
	h := Host{CNAMEs: ans.CNAMEs}
	for _, rr := range ans.Records {
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			ip = v.A.To4()
		case *dns.AAAA:
			ip = v.AAAA.To16()
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			h.Addrs = append(h.Addrs, a)
		}
	}
	return h, nil
}

// LookupPTR returns the names (no trailing dot, lower case) in the PTR
// records of ip, in the order served.
func (r *Resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	ans, err := r.Lookup(ctx, ReverseName(ip), dns.TypePTR)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range ans.Records {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, strings.ToLower(bare(p.Ptr)))
		}
	}
	return out, nil
}

// MX is one mail exchanger.
type MX struct {
	Host string `json:"host"` // no trailing dot; "." for a null MX (RFC 7505)
	Pref uint16 `json:"preference"`
}

// LookupMX returns the MX records of name sorted by preference (stable
// for equal preferences; shuffling is the caller's business).
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]MX, error) {
	ans, err := r.Lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	var out []MX
	for _, rr := range ans.Records {
		if m, ok := rr.(*dns.MX); ok {
			out = append(out, MX{Host: strings.ToLower(bare(m.Mx)), Pref: m.Preference})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pref < out[j].Pref })
	return out, nil
}

// checkTXTSize refuses TXT answers over MaxTXTBytes.
func checkTXTSize(name string, rrs []dns.RR) error {
	n := 0
	for _, rr := range rrs {
		if t, ok := rr.(*dns.TXT); ok {
			for _, s := range t.Txt {
				n += len(s)
			}
		}
	}
	if n > MaxTXTBytes {
		return &LookupError{Name: bare(name), Type: "TXT", Kind: ErrTemporary,
			Reason: fmt.Sprintf("the TXT answer holds %d octets, more than the %d a record can reasonably need", n, MaxTXTBytes)}
	}
	return nil
}
