package spf

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	blitiri "blitiri.com.ar/go/spf"

	"github.com/preflight-mail/preflight/resolver"
)

// The differential test: generated records evaluated by CheckHost and by
// blitiri.com.ar/go/spf, an independent implementation, over the same
// in-memory DNS. Every difference must be one of libraryDeviations:
// with the deviation taken out of the case (neutralize), the two agree.
// Each deviation must explain at least one case of the corpus, so the
// list cannot go stale.

// libDeviation is a known way the library departs from RFC 7208.
type libDeviation struct {
	name string
	// why says what the library does, citing the RFC section it departs
	// from.
	why string
	// in reports whether the case has what the deviation is about.
	in func(w *world) bool
	// neutralize changes the case so the deviation no longer matters:
	// the records our evaluator reads, the records the library reads,
	// or how the library's DNS answers.
	neutralize func(c *diffCase)
}

var libraryDeviations = []libDeviation{
	{
		name: "syntax",
		why: "RFC 7208 §4.6: a record with a syntax error anywhere is permerror before any term is evaluated; " +
			"the library reads terms only until one matches, accepts domain-specs §7.1 refuses (no top label, " +
			"\"a:h.test:x\"), an exp= without domain-spec (§6.2) and unknown modifiers with invalid macros (§6).",
		in: func(w *world) bool { return w.anyRecord(func(r *Record) bool { return !r.Valid() }) },
		neutralize: func(c *diffCase) {
			// The library meets a term it refuses first in every record
			// our parser refuses: permerror as soon as it reads it.
			c.lib.mapRecords(func(txt string) string {
				if IsSPF(txt) && !Parse(txt).Valid() {
					return "v=spf1 % " + txt[len(Version):]
				}
				return txt
			})
		},
	},
	{
		name: "p-macro",
		why:  "RFC 7208 §7.3: %{p} is a name of <ip> that validates (§5.5); the library always expands it to \"unknown\".",
		in:   func(w *world) bool { return w.anyText(pMacro.MatchString) },
		neutralize: func(c *diffCase) {
			c.ours.mapRecords(func(txt string) string { return pMacro.ReplaceAllString(txt, "unknown") })
		},
	},
	{
		name: "family",
		why: "RFC 7208 §5.3, §5.4, §5.7, §4.6.4: a and mx ask only the address records of <ip>'s family, exists " +
			"only A records, so a name with addresses of the other family only is a void lookup; the library " +
			"asks both families everywhere and counts a void only when both are empty.",
		in: func(w *world) bool {
			for _, addrs := range w.addrs {
				v4 := slices.ContainsFunc(addrs, netip.Addr.Is4)
				v6 := slices.ContainsFunc(addrs, netip.Addr.Is6)
				if v4 != v6 {
					return true
				}
			}
			return false
		},
		neutralize: func(c *diffCase) {
			// The library's address lookups answer what RFC 7208 asks:
			// the sender's family, and for exists (whose names get a
			// marker suffix) A records.
			c.lib.family = Family(c.ip)
			c.lib.mapRecords(func(txt string) string {
				if !IsSPF(txt) {
					return txt
				}
				terms := strings.Split(txt, " ")
				for i, raw := range terms {
					if strings.HasPrefix(strings.ToLower(strings.TrimLeft(raw, "+-~?")), "exists:") {
						terms[i] = raw + existsMark
					}
				}
				return strings.Join(terms, " ")
			})
		},
	},
	{
		name: "slash",
		why: "RFC 7208 §7.1: a domain-spec's macro-literals include '/', so \"a:h/x.test\" names the host " +
			"h/x.test; the library refuses any '/' in a domain-spec (permerror), or reads it as a CIDR length.",
		in: func(w *world) bool {
			return w.anyRecord(func(r *Record) bool { return slices.ContainsFunc(r.Terms, slashTerm) })
		},
		neutralize: func(c *diffCase) {
			// A term that is permerror when evaluated, as the library's
			// refusal is: an include of a name that is no domain (§4.3).
			c.ours.mapRecords(func(txt string) string {
				if !IsSPF(txt) {
					return txt
				}
				terms := strings.Split(txt, " ")
				for i, raw := range terms {
					if raw == "" {
						continue
					}
					if t, err := parseTerm(raw); err == nil && slashTerm(t) {
						terms[i] = "include:%{d}..slash"
					}
				}
				return strings.Join(terms, " ")
			})
		},
	},
}

// existsMark ends the names of exists terms in the library's records
// when the family deviation is taken out: its DNS answers A records
// there, as §5.7 asks.
const existsMark = ".exists-a"

// pMacro matches a %{p} macro with its transformers.
var pMacro = regexp.MustCompile(`%\{[pP][0-9]*[rR]?[-.+,/_=]*\}`)

func slashTerm(t Term) bool { return strings.Contains(t.Domain, "/") }

// world is an in-memory DNS.
type world struct {
	txt   map[string][]string
	addrs map[string][]netip.Addr // A and AAAA
	mx    map[string][]string
	ptr   map[netip.Addr][]string
	names map[string]bool // names that exist without records of these types
	temp  map[string]bool // names whose every lookup fails (SERVFAIL)
}

func newWorld() *world {
	return &world{txt: map[string][]string{}, addrs: map[string][]netip.Addr{}, mx: map[string][]string{},
		ptr: map[netip.Addr][]string{}, names: map[string]bool{}, temp: map[string]bool{}}
}

func key(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// clone copies the world, its TXT records deeply.
func (w *world) clone() *world {
	c := *w
	c.txt = map[string][]string{}
	for k, v := range w.txt {
		c.txt[k] = slices.Clone(v)
	}
	return &c
}

func (w *world) mapRecords(f func(string) string) {
	for k, v := range w.txt {
		for i := range v {
			v[i] = f(v[i])
		}
		w.txt[k] = v
	}
}

func (w *world) anyText(f func(string) bool) bool {
	for _, v := range w.txt {
		if slices.ContainsFunc(v, f) {
			return true
		}
	}
	return false
}

func (w *world) anyRecord(f func(*Record) bool) bool {
	return w.anyText(func(txt string) bool { return IsSPF(txt) && f(Parse(txt)) })
}

// exists reports whether name has any record.
func (w *world) exists(k string) bool {
	return w.names[k] || len(w.txt[k]) > 0 || len(w.addrs[k]) > 0 || len(w.mx[k]) > 0
}

// lookup answers n records of name, with the error our resolver would
// give.
func (w *world) lookup(name, typ string, n int) error {
	k := key(name)
	switch {
	case w.temp[k]:
		return &resolver.LookupError{Name: k, Type: typ, Kind: resolver.ErrTemporary, Reason: "SERVFAIL"}
	case n > 0:
		return nil
	case w.exists(k):
		return &resolver.LookupError{Name: k, Type: typ, Kind: resolver.ErrNoData}
	}
	return &resolver.LookupError{Name: k, Type: typ, Kind: resolver.ErrNXDomain}
}

// The Resolver our evaluator uses.

func (w *world) LookupTXT(_ context.Context, name string) ([]string, error) {
	txt := w.txt[key(name)]
	return txt, w.lookup(name, "TXT", len(txt))
}

func (w *world) LookupIP(_ context.Context, network, name string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range w.addrs[key(name)] {
		if a.Is4() == (network == "ip4") {
			out = append(out, a)
		}
	}
	return out, w.lookup(name, "A", len(out))
}

func (w *world) LookupMX(_ context.Context, name string) ([]resolver.MX, error) {
	var out []resolver.MX
	for _, h := range w.mx[key(name)] {
		out = append(out, resolver.MX{Host: h, Pref: 10})
	}
	return out, w.lookup(name, "MX", len(out))
}

func (w *world) LookupPTR(_ context.Context, ip netip.Addr) ([]string, error) {
	names := w.ptr[ip]
	return names, w.lookup(resolver.ReverseName(ip), "PTR", len(names))
}

// libView is the world as blitiri's DNSResolver: *net.DNSError errors,
// names as the library passes them (raw octets, final dots). family,
// when set, makes LookupIPAddr answer only that family's addresses (how
// RFC 7208 asks for a and mx).
type libView struct {
	w      *world
	family string
}

func libError(err error, name string) error {
	if err == nil {
		return nil
	}
	return &net.DNSError{Err: err.Error(), Name: name, IsNotFound: resolver.IsNotFound(err), IsTemporary: !resolver.IsNotFound(err)}
}

func (v libView) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, err := v.w.LookupTXT(ctx, resolver.EscapeName(name))
	return txt, libError(err, name)
}

func (v libView) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mxs, err := v.w.LookupMX(ctx, resolver.EscapeName(name))
	var out []*net.MX
	for _, m := range mxs {
		out = append(out, &net.MX{Host: m.Host + ".", Pref: m.Pref})
	}
	return out, libError(err, name)
}

func (v libView) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	name := resolver.EscapeName(host)
	var addrs []netip.Addr
	var err error
	switch {
	case v.family == "":
		// Both families, as getaddrinfo does: an error only when both
		// have nothing.
		a4, err4 := v.w.LookupIP(ctx, "ip4", name)
		a6, err6 := v.w.LookupIP(ctx, "ip6", name)
		if addrs = append(a4, a6...); len(addrs) == 0 {
			err = cmpErr(err4, err6)
		}
	case strings.HasSuffix(key(name), existsMark):
		addrs, err = v.w.LookupIP(ctx, "ip4", strings.TrimSuffix(key(name), existsMark))
	default:
		addrs, err = v.w.LookupIP(ctx, v.family, name)
	}
	var out []net.IPAddr
	for _, a := range addrs {
		out = append(out, net.IPAddr{IP: a.AsSlice()})
	}
	return out, libError(err, host)
}

// cmpErr is the error of a lookup of both families that found nothing:
// a temporary error first, then NXDOMAIN.
func cmpErr(err4, err6 error) error {
	if !resolver.IsNotFound(err4) {
		return err4
	}
	if !resolver.IsNotFound(err6) || errors.Is(err4, resolver.ErrNoData) {
		return err6
	}
	return err4
}

func (v libView) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "bad address", Name: addr}
	}
	names, err := v.w.LookupPTR(ctx, ip)
	var out []string
	for _, n := range names {
		out = append(out, n+".")
	}
	return out, libError(err, addr)
}

// diffCase is one case: a world, a sender and an IP, and the worlds
// each side reads (the same until neutralized).
type diffCase struct {
	ip     netip.Addr
	sender string
	ours   *world
	lib    *libSide
}

type libSide struct {
	*world
	family string
}

const diffHELO = "mail.helo.test"

func newCase(w *world, ip netip.Addr, sender string) *diffCase {
	return &diffCase{ip: ip, sender: sender, ours: w, lib: &libSide{world: w}}
}

// sides evaluates the case both ways.
func (c *diffCase) sides() (Result, blitiri.Result, error) {
	ctx := context.Background()
	ours := CheckHost(ctx, c.ours, Args{IP: c.ip, Sender: c.sender, HELO: diffHELO})
	res, err := blitiri.CheckHostWithSender(c.ip.AsSlice(), diffHELO, c.sender,
		blitiri.WithResolver(libView{c.lib.world, c.lib.family}), blitiri.WithContext(ctx))
	return ours, res, err
}

// neutralized is the case with deviations ds taken out.
func (c *diffCase) neutralized(ds []libDeviation) *diffCase {
	n := &diffCase{ip: c.ip, sender: c.sender, ours: c.ours.clone(), lib: &libSide{world: c.lib.world.clone(), family: c.lib.family}}
	for _, d := range ds {
		d.neutralize(n)
	}
	return n
}

// libMatched is the mechanism the library says matched, from its
// debugging error.
func libMatched(err error) string {
	for e, m := range map[error]string{blitiri.ErrMatchedAll: "all", blitiri.ErrMatchedA: "a", blitiri.ErrMatchedIP: "ip",
		blitiri.ErrMatchedMX: "mx", blitiri.ErrMatchedPTR: "ptr", blitiri.ErrMatchedExists: "exists"} {
		if errors.Is(err, e) {
			return m
		}
	}
	return ""
}

// oursMatched is the mechanism of our deciding term, "ip" for ip4/ip6.
func oursMatched(r Result) string {
	if r.Deep == "" {
		return ""
	}
	t, _ := parseTerm(r.Deep)
	if t.Mechanism == "ip4" || t.Mechanism == "ip6" {
		return "ip"
	}
	return t.Mechanism
}

// compare says how the two sides differ, "" when they agree: the
// result, and for a result a term decided, the kind of that term.
func compare(ours Result, lib blitiri.Result, err error) string {
	if ours.Result != string(lib) {
		return fmt.Sprintf("result %s, library %s (%v; ours: %s)", ours.Result, lib, err, ours.Reason)
	}
	switch ours.Result {
	case Pass, Fail, SoftFail, Neutral:
		if o, l := oursMatched(ours), libMatched(err); o != l {
			return fmt.Sprintf("%s decided by %q (%s), library by %q (%v)", ours.Result, ours.Deep, o, l, err)
		}
	}
	return ""
}

// explain returns the deviations that explain the case's difference,
// each one needed, or an error saying what is unexplained.
func (c *diffCase) explain() ([]string, error) {
	ours, lib, err := c.sides()
	diff := compare(ours, lib, err)
	if diff == "" {
		return nil, nil
	}
	var in []libDeviation
	for _, d := range libraryDeviations {
		if d.in(c.ours) {
			in = append(in, d)
		}
	}
	if o, l, e := c.neutralized(in).sides(); compare(o, l, e) != "" {
		return nil, fmt.Errorf("%s; with the deviations %v taken out still %s", diff, names(in), compare(o, l, e))
	}
	var needed []string
	for i, d := range in {
		if o, l, e := c.neutralized(slices.Delete(slices.Clone(in), i, i+1)).sides(); compare(o, l, e) != "" {
			needed = append(needed, d.name)
		}
	}
	return needed, nil
}

func names(ds []libDeviation) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.name)
	}
	return out
}

// The generated corpus. Names: the sender's domain d.test; records to
// include or redirect to, r0.test to r4.test; hosts h0.test to
// h7.test; MX sets m0.test to m3.test; exists targets under e.test.

var (
	diffIP4 = netip.MustParseAddr("192.0.2.1")
	diffIP6 = netip.MustParseAddr("2001:db8::1")
)

type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g gen) chance(p float64) bool    { return g.r.Float64() < p }

// host returns a random host name, now and then one that is not there.
func (g gen) host() string {
	if g.chance(0.05) {
		return "gone.test"
	}
	return fmt.Sprintf("h%d.test", g.r.IntN(8))
}

func (g gen) qualifier() string { return g.pick("", "", "", "+", "-", "~", "?") }

// term is one random directive or modifier, valid unless bad.
func (g gen) term() string {
	q := g.qualifier()
	switch g.r.IntN(20) {
	case 0, 1:
		return q + g.pick("ip4:192.0.2.1", "ip4:192.0.2.0/24", "ip4:198.51.100.0/24", "ip4:0.0.0.0/0")
	case 2, 3:
		return q + g.pick("ip6:2001:db8::1", "ip6:2001:db8::/32", "ip6:2001:db9::/32", "ip6:::/0")
	case 4, 5, 6:
		return q + g.pick("a", "a:"+g.host(), "a:"+g.host()+"/24", "a:"+g.host()+"//64", "a/0", "a:%{d}")
	case 7, 8:
		return q + g.pick("mx", fmt.Sprintf("mx:m%d.test", g.r.IntN(4)), fmt.Sprintf("mx:m%d.test/24//48", g.r.IntN(4)))
	case 9:
		return q + g.pick("ptr", "ptr:test", "ptr:"+g.host(), "ptr:helo.test")
	case 10, 11:
		return q + g.pick("exists:%{i}.e.test", "exists:%{ir}.%{v}.e.test", "exists:%{l}.e.test", "exists:x.e.test",
			"exists:t.e.test", "exists:%{o}.e.test", "exists:%{h}.e.test", "exists:%{d2}.e.test", "exists:%{d}.e.test")
	case 12, 13, 14:
		if g.chance(0.1) {
			return q + "include:" + g.record() + "." // a final dot (§7.1)
		}
		return q + "include:" + g.record()
	case 15:
		return g.pick("exp=x.e.test", "foo=bar", "moo.cow=%{d}")
	case 16:
		if g.chance(0.3) {
			return q + "exists:%{p}.e.test" // the p-macro deviation
		}
		return q + "all"
	case 17:
		if g.chance(0.15) {
			return q + g.pick("a:h1/x.test", "include:r/1.test", "exists:%{i}/x.e.test") // slash
		}
		return q + "a:" + g.host()
	}
	return q + "all"
}

// badTerm is a term the parser refuses (the syntax deviation).
func (g gen) badTerm() string {
	return g.pick("bogus", "ip4:192.0.2", "a:h1", "exists:%{x}.e.test", "ipv4:192.0.2.1", "exp=", "foo=%x",
		"a:h1.test:x", "ip4:192.0.2.1/33", "ip6:192.0.2.1", "mx:%{c}.test", "include")
}

func (g gen) record() string {
	if g.chance(0.1) {
		return "d.test" // a loop
	}
	return fmt.Sprintf("r%d.test", g.r.IntN(5))
}

// spf is a random SPF record of at most n terms.
func (g gen) spf(n int) string {
	terms := []string{Version}
	for range g.r.IntN(n + 1) {
		terms = append(terms, g.term())
	}
	if g.chance(0.6) {
		terms = append(terms, g.qualifier()+"all")
	}
	if g.chance(0.2) {
		terms = slices.Insert(terms, 1+g.r.IntN(len(terms)), "redirect="+g.record())
	}
	if g.chance(0.08) {
		terms = slices.Insert(terms, 1+g.r.IntN(len(terms)), g.badTerm())
	}
	sep := " "
	if g.chance(0.05) {
		sep = "  "
	}
	return strings.Join(terms, sep)
}

// world makes a random world around d.test.
func (g gen) world() *world {
	w := newWorld()
	w.txt["d.test"] = []string{g.spf(6)}
	if g.chance(0.2) {
		w.txt["d.test"] = append(w.txt["d.test"], "google-site-verification=x")
	}
	for i := range 5 {
		k := fmt.Sprintf("r%d.test", i)
		switch g.r.IntN(12) {
		case 0:
		case 1:
			w.txt[k] = []string{"not spf"}
		case 2:
			w.txt[k] = []string{g.spf(3), g.spf(3)}
		case 3:
			w.temp[k] = true
		default:
			w.txt[k] = []string{g.spf(4)}
		}
	}
	other4 := func() netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(g.r.IntN(200))}) }
	other6 := func() netip.Addr { return netip.MustParseAddr(fmt.Sprintf("2001:db8:1::%x", g.r.IntN(200))) }
	for i := range 8 {
		k := fmt.Sprintf("h%d.test", i)
		switch g.r.IntN(10) {
		case 0:
			w.addrs[k] = []netip.Addr{diffIP4}
		case 1:
			w.addrs[k] = []netip.Addr{other4(), other4()}
		case 2:
			w.addrs[k] = []netip.Addr{diffIP6}
		case 3:
			w.addrs[k] = []netip.Addr{other6()}
		case 4:
			w.addrs[k] = []netip.Addr{diffIP4, diffIP6}
		case 5:
			w.addrs[k] = []netip.Addr{other4(), other6()}
		case 6:
			w.names[k] = true // NODATA
		case 7:
			w.temp[k] = true
		}
		// 8, 9: NXDOMAIN
	}
	for i := range 4 {
		k := fmt.Sprintf("m%d.test", i)
		switch g.r.IntN(8) {
		case 0:
		case 1:
			w.temp[k] = true
		case 2:
			w.names[k] = true
		case 3:
			w.mx[k] = []string{"."} // null MX
		default:
			n := 1 + g.r.IntN(4)
			if g.chance(0.15) {
				n = 11 + g.r.IntN(2) // over the limit
			}
			for range n {
				w.mx[k] = append(w.mx[k], g.host())
			}
		}
	}
	// exists targets hold A records only: the library asks both
	// families there too, but matches only IPv4 answers (§5.7).
	a := []netip.Addr{netip.MustParseAddr("127.0.0.2")}
	for _, k := range []string{"192.0.2.1.e.test", dottedIP(diffIP6) + ".e.test", "1.2.0.192.in-addr.e.test",
		"user.e.test", "mail.helo.test.e.test", "d.test.e.test", "r1.test.e.test", "r2.test.e.test", "h1.test.e.test", "h4.test.e.test", "unknown.e.test"} {
		if g.chance(0.4) {
			w.addrs[k] = a
		}
	}
	w.temp["t.e.test"] = true
	w.addrs["mail.helo.test"] = []netip.Addr{diffIP4}
	for _, ip := range []netip.Addr{diffIP4, diffIP6} {
		switch g.r.IntN(5) {
		case 0:
		case 1:
			w.temp[key(resolver.ReverseName(ip))] = true
		default:
			for range 1 + g.r.IntN(3) {
				w.ptr[ip] = append(w.ptr[ip], g.host())
			}
		}
	}
	return w
}

// corpusSize is how many cases the test generates: each evaluated for
// an IPv4 and an IPv6 sender.
const corpusSize = 10000

func TestDifferentialBlitiri(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(14, 7208))}
	explained := map[string]int{}
	results := map[string]int{}
	fails := 0
	for i := range corpusSize {
		w := g.world()
		sender := g.pick("user@d.test", "user@d.test", "a.b-c@d.test")
		for _, ip := range []netip.Addr{diffIP4, diffIP6} {
			c := newCase(w, ip, sender)
			ours, _, _ := c.sides()
			results[ours.Result]++
			needed, err := c.explain()
			if err != nil {
				fails++
				if fails <= 10 {
					t.Errorf("case %d, %s from %s: %v\n%s", i, sender, ip, err, w.dump())
				}
				continue
			}
			for _, n := range needed {
				explained[n]++
			}
		}
	}
	if fails > 10 {
		t.Errorf("%d cases differ unexplained (first 10 shown)", fails)
	}
	for _, d := range libraryDeviations {
		if explained[d.name] == 0 {
			t.Errorf("deviation %q explains no case of the corpus: remove it, or make the corpus reach it (%s)", d.name, d.why)
		}
	}
	// The corpus must reach every result, or it tests little.
	for _, r := range []string{Pass, Fail, SoftFail, Neutral, PermError, TempError} {
		if results[r] < corpusSize/100 {
			t.Errorf("only %d results %s of %d", results[r], r, 2*corpusSize)
		}
	}
	t.Logf("%d records, %d evaluations: results %v; differences explained by deviation %v", corpusSize, 2*corpusSize, results, explained)
}

// dump shows the world's records for a failure message.
func (w *world) dump() string {
	var b strings.Builder
	keys := func(m map[string][]string) []string { return slices.Sorted(maps.Keys(m)) }
	for _, k := range keys(w.txt) {
		fmt.Fprintf(&b, "  %s TXT %q\n", k, w.txt[k])
	}
	for _, k := range slices.Sorted(maps.Keys(w.addrs)) {
		fmt.Fprintf(&b, "  %s A/AAAA %v\n", k, w.addrs[k])
	}
	for _, k := range keys(w.mx) {
		fmt.Fprintf(&b, "  %s MX %v\n", k, w.mx[k])
	}
	for ip, n := range w.ptr {
		fmt.Fprintf(&b, "  %s PTR %v\n", ip, n)
	}
	fmt.Fprintf(&b, "  no data: %v; temporary errors: %v\n", slices.Sorted(maps.Keys(w.names)), slices.Sorted(maps.Keys(w.temp)))
	return b.String()
}

// FuzzDifferential evaluates any record, as d.test's, through both
// implementations in one generated world, for an IPv4 and an IPv6
// sender: a difference no libraryDeviations entry explains fails.
func FuzzDifferential(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all", "v=spf1 a mx ptr exists:%{i}.e.test include:r0.test ~all", "v=spf1 redirect=r1.test",
		"v=spf1 a:h1.test/24//64 mx:m0.test -all redirect=r2.test", "v=spf1 exists:%{p}.e.test -all",
		"v=spf1 a:h1/x.test -all", "v=spf1 ip4:192.0.2.1 bogus", "v=spf1 include:r3.test. exists:%{d}.e.test",
		"v=spf1 a:%{d}..e.test a:gone.test a:h0.test -all", "v=spf1 exp=x.e.test ?all", "v=spf1 ip6:2001:db8::/32 +all",
	} {
		f.Add(s)
	}
	w := gen{rand.New(rand.NewPCG(4, 4408))}.world()
	f.Fuzz(func(t *testing.T, record string) {
		c := w.clone()
		c.txt["d.test"] = []string{record}
		for _, ip := range []netip.Addr{diffIP4, diffIP6} {
			if _, err := newCase(c, ip, "user@d.test").explain(); err != nil {
				t.Fatalf("%q from %s: %v\n%s", record, ip, err, c.dump())
			}
		}
	})
}
