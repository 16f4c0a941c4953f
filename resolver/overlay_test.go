package resolver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// TestOverlayHoldsAgainstCNAMEsFromTheNetwork: a network reply whose
// CNAME chain enters an overlay apex brings records for the names there;
// they must not be used (issue #13 item 7). Each step of the chain is
// resolved on its own, so the zone file answers.
func TestOverlayHoldsAgainstCNAMEsFromTheNetwork(t *testing.T) {
	zf := filepath.Join(t.TempDir(), "example.zone")
	if err := os.WriteFile(zf, []byte(exampleZone), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay, err := resolver.LoadOverlay(context.Background(), zf)
	if err != nil {
		t.Fatal(err)
	}
	// The server holds its own example.test and follows CNAMEs into it,
	// so its replies carry the records it wants believed.
	srv := dnstest.New(t, `
$ORIGIN other.test.
@     SOA ns hm 1 1 1 1 1
alias CNAME mail.example.test.
two   CNAME one
one   CNAME mail.example.test.
ghost CNAME nope.example.test.
`, `
$ORIGIN example.test.
@    SOA ns hm 1 1 1 1 1
mail A 198.51.100.66
nope A 198.51.100.66
`)
	r := resolver.New(resolver.Config{Servers: []string{srv.Addr}, Overlay: overlay, Trace: t.Logf})
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		via  []string
	}{
		{"alias.other.test", []string{"mail.example.test"}},
		{"two.other.test", []string{"one.other.test", "mail.example.test"}},
	} {
		ans, err := r.Lookup(ctx, tt.name, dns.TypeA)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var got []string
		for _, rr := range ans.Records {
			got = append(got, rr.(*dns.A).A.String())
		}
		if !slices.Equal(got, []string{"203.0.113.5"}) || !slices.Equal(ans.CNAMEs, tt.via) || ans.Source != "zone "+zf {
			t.Errorf("%s = %q via %q from %q, want 203.0.113.5 via %q from the zone file", tt.name, got, ans.CNAMEs, ans.Source, tt.via)
		}
	}
	if _, err := r.Lookup(ctx, "ghost.other.test", dns.TypeA); !errors.Is(err, resolver.ErrNXDomain) {
		t.Errorf("ghost.other.test: err = %v, want NXDOMAIN from the zone file", err)
	}
	for _, q := range srv.Log() {
		if strings.HasSuffix(q, "example.test") {
			t.Errorf("server was asked %q, a name the overlay holds", q)
		}
	}
}

// TestLoadOverlayOver: a zone of over replaces the zone of base with the
// same apex (a --zone file over a config's zones, issue #16); others
// stay, and two zones with one apex within a layer are still an error.
func TestLoadOverlayOver(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a1 := write("a1.zone", "$ORIGIN a.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT \"old\"\n")
	a2 := write("a2.zone", "$ORIGIN a.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT \"new\"\n")
	b := write("b.zone", "$ORIGIN b.test.\n@ SOA ns hm 1 1 1 1 1\n@ TXT \"b\"\n")
	o, err := resolver.LoadOverlayOver(t.Context(), []string{a1, b}, []string{a2})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, z := range o.Zones() {
		files = append(files, filepath.Base(z.File))
	}
	if got := strings.Join(files, " "); got != "a2.zone b.zone" {
		t.Errorf("zones %s, want a2.zone b.zone", got)
	}
	if _, err := resolver.LoadOverlayOver(t.Context(), nil, []string{a1, a2}); err == nil || !strings.Contains(err.Error(), "both hold the zone a.test") {
		t.Errorf("two zones of a.test on top: %v", err)
	}
}
