package dmarc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var kindNames = map[ProblemKind]string{PolicyBroken: "broken", Invalid: "invalid", Unknown: "unknown", Removed: "removed", Unsupported: "unsupported"}

// summary shows a record as the table below spells it: the policy for
// the domain itself, an existing subdomain and a non-existent one ("-"
// when no DMARC applies), the applied policy for the domain itself when
// t=y changes it, and the problems as kind:tag.
func summary(r Record) string {
	var b strings.Builder
	for i, role := range []Role{Own, Subdomain, NonExistent} {
		if i > 0 {
			b.WriteString("/")
		}
		p, _, ok := r.Policy(role)
		if !ok {
			p = "-"
		}
		b.WriteString(p)
	}
	if p, _, ok := r.Policy(Own); ok && r.Applied(p) != p {
		fmt.Fprintf(&b, " applied=%s", r.Applied(p))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, " %s:%s", kindNames[p.Kind], p.Tag)
	}
	return b.String()
}

// Our own cases, each with the RFC 9989 section that decides it.
func TestParse(t *testing.T) {
	tests := []struct {
		txt, want, section string
	}{
		{"v=DMARC1; p=reject", "reject/reject/reject", "§4.7 p"},
		{"V=DMARC1; p=reject", "reject/reject/reject", `§4.8: "v" is an ABNF literal, any case (RFC 5234 §2.3)`},
		{"v=dmarc1; p=reject", "not DMARC", `§4.8: %s"DMARC1" is case-sensitive`},
		{"v=DMARC10; p=reject", "not DMARC", "§4.7 v: the only value is DMARC1"},
		{"p=reject; v=DMARC1", "not DMARC", "§4.7 v: MUST be the first tag"},
		{"v=DMARC1 p=reject", "not DMARC", "§4.8 dmarc-sep: no separator, so v's value is not DMARC1"},
		{"v = DMARC1 ; p = reject ;", "reject/reject/reject", "§4.8 equals and dmarc-sep: *WSP around = and ;"},
		{"v=DMARC1; p=REJECT; sp=None", "reject/none/none", "§4.8 dmarc-request: literals in any case"},
		{"v=DMARC1; rua=mailto:a@example.com; p=none", "none/none/none", "§4.7: tag order is free after v"},
		{"v=DMARC1; p=reject; foo=bar", "reject/reject/reject unknown:foo", "§4.7: unknown tags MUST be ignored"},
		{"v=DMARC1; p=reject; junk", "reject/reject/reject invalid:", "§4.8: syntax errors in the remainder are ignored"},
		// Optional tags with errors are ignored; the policy stands.
		{"v=DMARC1; p=reject; rua=dmarc@example.com", "reject/reject/reject invalid:rua", "§4.8; the rua needs mailto:"},
		{"v=DMARC1; p=reject; rua=https://reports.example/dmarc", "reject/reject/reject unsupported:rua", "§4.7 rua: any valid URI; only mailto: is required"},
		{"v=DMARC1; p=reject; t=maybe; psd=x; adkim=z; aspf=1", "reject/reject/reject invalid:t invalid:psd invalid:adkim invalid:aspf", "§4.8 value rules"},
		{"v=DMARC1; p=reject; fo=0:1", "reject/reject/reject invalid:fo", "§4.8 dmarc-fo: 0 and 1 exclude each other"},
		{"v=DMARC1; p=reject; fo=1:d:s", "reject/reject/reject", "§4.8 dmarc-fo"},
		{"v=DMARC1; p=reject; adkim=s; adkim=r", "reject/reject/reject invalid:adkim", "§4.8: a repeated optional tag is ignored"},
		// Tags RFC 9989 removed (Appendix C.4, C.5.2).
		{"v=DMARC1; p=reject; pct=150", "reject/reject/reject removed:pct", "Appendix A.6: pct is gone, even a bad one"},
		{"v=DMARC1; p=reject; rf=afrf; ri=86400", "reject/reject/reject removed:rf removed:ri", "Appendix C.5.2"},
		{"v=DMARC1; p=reject; rua=mailto:a@example.com!10m", "reject/reject/reject removed:rua", "§4.8 obs-dmarc-report-size"},
		// A missing or broken policy (§4.10.1).
		{"v=DMARC1; rua=mailto:a@example.com", "none/none/none broken:p", "§4.10.1: no p but a valid rua acts as p=none"},
		{"v=DMARC1; adkim=s", "-/-/- broken:p", "§4.10.1: no p and no valid rua: no DMARC"},
		{"v=DMARC1; rua=dmarc@example.com", "-/-/- invalid:rua broken:p", "§4.10.1: the rua must be valid"},
		{"v=DMARC1; p=rejected; rua=mailto:a@example.com", "none/none/none broken:p", "§4.10.1: an invalid p"},
		{"v=DMARC1; p=reject; sp=bogus", "-/-/- broken:sp", "§4.10.1: an invalid sp breaks the record"},
		{"v=DMARC1; p=reject; np=bogus; rua=mailto:a@example.com", "none/none/none broken:np", "§4.10.1: so does an invalid np"},
		{"v=DMARC1; p=reject; p=none", "-/-/- broken:p", "a repeated p: receivers may take either"},
		// np and sp (§4.7), t (§4.7 t).
		{"v=DMARC1; p=reject; sp=none; np=reject", "reject/none/reject", "§4.7 np: non-existent subdomains"},
		{"v=DMARC1; p=quarantine; np=reject", "quarantine/quarantine/reject", "§4.7 sp: absent, p applies to existing subdomains"},
		{"v=DMARC1; p=reject; sp=quarantine", "reject/quarantine/quarantine", "§4.7 np: absent, sp applies"},
		{"v=DMARC1; p=reject; t=y", "reject/reject/reject applied=quarantine", "§4.7 t: one level below"},
		{"v=DMARC1; p=quarantine; t=Y", "quarantine/quarantine/quarantine applied=none", "§4.7 t"},
		{"v=DMARC1; p=none; t=y", "none/none/none", "§4.7 t: no effect on none"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.txt)
		got := summary(r)
		if errors.Is(err, ErrNotDMARC) {
			got = "not DMARC"
		} else if err != nil {
			t.Fatalf("Parse(%q): %v", tt.txt, err)
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %q, want %q (RFC 9989 %s)", tt.txt, got, tt.want, tt.section)
		}
		if IsRecord(tt.txt) != (err == nil) {
			t.Errorf("IsRecord(%q) = %v", tt.txt, IsRecord(tt.txt))
		}
	}
}

func TestParseFields(t *testing.T) {
	r, err := Parse("v=DMARC1; p=none; psd=Y; adkim=S; aspf=s; pct=50; rua=mailto:a@Example.COM, mailto:b@example.net!10m, https://r.example/x; ruf=mailto:c@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var rua []string
	for _, u := range r.RUA {
		rua = append(rua, u.Scheme+":"+u.Address+"@"+u.Host)
	}
	if r.PSD != "y" || r.ADKIM != "s" || r.ASPF != "s" || r.PCT != 50 || len(r.RUF) != 1 ||
		strings.Join(rua, " ") != "mailto:a@Example.COM@example.com mailto:b@example.net@example.net https:@r.example" {
		t.Errorf("fields: psd %s adkim %s aspf %s pct %d rua %v ruf %v", r.PSD, r.ADKIM, r.ASPF, r.PCT, rua, r.RUF)
	}
	if r, _ := Parse("v=DMARC1; p=none"); r.PSD != "u" || r.Test || r.ADKIM != "r" || r.PCT != -1 {
		t.Errorf("defaults: %+v", r)
	}
}

func TestNotRecordReason(t *testing.T) {
	// Each text, why it is no record, and the record it was meant to
	// be (Meant).
	for _, tt := range []struct{ txt, why, meant string }{
		{"v=DMARC1; p=none", "", "v=DMARC1; p=none"},
		{"v=dmarc1; p=none", "case-sensitive", "v=DMARC1; p=none"},
		{"v=DMARC2; p=none", "is not v=DMARC1", "v=DMARC1; p=none"},
		{"v=DMARC10; p=reject; rua=mailto:a@example.com", "is not v=DMARC1", "v=DMARC1; p=reject; rua=mailto:a@example.com"},
		{"p=none; v=DMARC1; adkim=s", "not its first tag", "v=DMARC1; p=none; adkim=s"},
		{"p=none", "no v=DMARC1", "v=DMARC1; p=none"},
		{"google-site-verify", "no v=DMARC1", "v=DMARC1"},
	} {
		if got := NotRecordReason(tt.txt); tt.why == "" && got != "" || !strings.Contains(got, tt.why) {
			t.Errorf("NotRecordReason(%q) = %q, want %q", tt.txt, got, tt.why)
		}
		if got := Meant(tt.txt).Format(); got != tt.meant {
			t.Errorf("Meant(%q) = %q, want %q", tt.txt, got, tt.meant)
		}
	}
	for txt, want := range map[string]bool{"v=DMARC10; p=reject": true, "p=reject": true, "rua=mailto:a@b.example": true, "google-site-verification=x": false, "v=spf1 -all": false} {
		if LooksLikeDMARC(txt) != want {
			t.Errorf("LooksLikeDMARC(%q) != %v", txt, want)
		}
	}
}

// RFC 7489 receivers read the same record with the tags they know.
func TestPolicy7489(t *testing.T) {
	for _, tt := range []struct {
		txt       string
		own, sub  string
		reference string
	}{
		{"v=DMARC1; p=reject; sp=none", "reject", "none", "RFC 7489 §6.3 sp"},
		{"v=DMARC1; p=reject; np=bogus", "reject", "reject", "np is unknown to RFC 7489, so ignored"},
		{"v=DMARC1; p=reject; sp=bogus; rua=mailto:a@example.com", "none", "none", "RFC 7489 §6.6.3 step 6"},
		{"v=DMARC1; rua=mailto:a@example.com", "none", "none", "RFC 7489 §6.6.3 step 6"},
		{"v=DMARC1; sp=reject", "", "", "RFC 7489 §6.6.3 step 6: no DMARC"},
	} {
		r, _ := Parse(tt.txt)
		if own, sub := r.policy7489(true), r.policy7489(false); own != tt.own || sub != tt.sub {
			t.Errorf("%q: RFC 7489 policy %q/%q, want %q/%q (%s)", tt.txt, own, sub, tt.own, tt.sub, tt.reference)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		txt  string
		edit func(Record) Record
		want string
	}{
		{"v=DMARC1; p=none; rua=mailto:a@example.com", func(r Record) Record { return r.With("p", "quarantine") }, "v=DMARC1; p=quarantine; rua=mailto:a@example.com"},
		{"v=DMARC1;p=reject;sp=none", func(r Record) Record { return r.With("sp", "quarantine") }, "v=DMARC1; p=reject; sp=quarantine"},
		{"v=DMARC1; p=reject", func(r Record) Record { return r.With("rua", "mailto:d@example.com") }, "v=DMARC1; p=reject; rua=mailto:d@example.com"},
		// p= after v=, a broken part and a repeated tag left out.
		{"v=DMARC1; rua=mailto:a@example.com; p=none; junk; p=reject", func(r Record) Record { return r }, "v=DMARC1; p=none; rua=mailto:a@example.com"},
		{"v=DMARC1; p=none; pct=150; adkim=s", func(r Record) Record { return r.Without("pct") }, "v=DMARC1; p=none; adkim=s"},
	}
	for _, tt := range tests {
		r, _ := Parse(tt.txt)
		if got := tt.edit(r).Format(); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.txt, got, tt.want)
		}
		if f, err := Parse(tt.edit(r).Format()); err != nil || len(f.Problems) > 0 {
			t.Errorf("%q: formatted record has problems %v %v", tt.txt, err, f.Problems)
		}
	}
	// With and Without leave the original alone.
	r, _ := Parse("v=DMARC1; p=none")
	r.With("p", "reject").Without("p")
	if r.Format() != "v=DMARC1; p=none" {
		t.Errorf("the original changed: %q", r.Format())
	}
}

// Mended leaves out what receivers ignore and keeps what either kind of
// receiver uses.
func TestMended(t *testing.T) {
	tests := []struct{ txt, want string }{
		{"v=DMARC1; p=reject; adkim=x; foo=bar; t=maybe", "v=DMARC1; p=reject"},
		// An address without mailto: gains it; one that is no address goes.
		{"v=DMARC1; p=none; rua=mailto:a@example.com,b@example.com,not an address", "v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@example.com"},
		{"v=DMARC1; p=none; rua=dmarc@example.com", "v=DMARC1; p=none; rua=mailto:dmarc@example.com"},
		// RFC 7489 receivers still read pct, rf and ri; pct=200 no one does.
		{"v=DMARC1; p=none; pct=50; ri=3600; rf=afrf", "v=DMARC1; p=none; pct=50; ri=3600; rf=afrf"},
		{"v=DMARC1; p=none; pct=200", "v=DMARC1; p=none"},
		// A valid URI of another scheme and a !size suffix stay as written.
		{"v=DMARC1; p=none; rua=https://r.example/x,mailto:a@example.com!10m", "v=DMARC1; p=none; rua=https://r.example/x,mailto:a@example.com!10m"},
		// Invalid policies go: the caller chooses the policy to publish.
		{"v=DMARC1; p=rejected; sp=none", "v=DMARC1; sp=none"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.txt)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Mended().Format(); got != tt.want {
			t.Errorf("%q: mended %q, want %q", tt.txt, got, tt.want)
		}
	}
}
