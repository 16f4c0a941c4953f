package taglist

import (
	"fmt"
	"strings"
	"testing"
)

func show(l List, problems []Problem) string {
	var b strings.Builder
	for _, t := range l {
		fmt.Fprintf(&b, "[%s=%s]", t.Name, t.Value)
	}
	for _, p := range problems {
		fmt.Fprintf(&b, " !%d:%s", p.Kind, p.Tag)
	}
	return b.String()
}

func TestParse(t *testing.T) {
	tests := []struct {
		txt  string
		s    Syntax
		want string
	}{
		// RFC 6376 §3.2: whitespace around names, "=" and values goes;
		// inside a value it stays; a trailing ";" is allowed.
		{" v = DKIM1 ;k=rsa;", DKIM, "[v=DKIM1][k=rsa]"},
		{"p=AB CD\r\n EF", DKIM, "[p=AB CD\r\n EF]"},
		{"n=a\r\n\tb", DKIM, "[n=a\r\n\tb]"},
		{"n=a\rb", DKIM, "[n=a\rb] !3:n"}, // a bare CR is not FWS
		// DKIM names are case-sensitive and may hold digits and "_".
		{"K=rsa; x_1=y", DKIM, "[K=rsa][x_1=y]"},
		{"1x=y", DKIM, " !2:1x"},
		// RFC 6376 §3.2: a duplicate tag; the first value is kept.
		{"p=a; p=b", DKIM, "[p=a] !4:p"},
		{"v=DKIM1; junk; p=x", DKIM, "[v=DKIM1][p=x] !1:"},
		{"=x", DKIM, " !1:"},
		{"t=", DKIM, "[t=]"}, // empty is not omitted (RFC 6376 §3.2)
		// RFC 9989 §4.8 (via RFC 5234 §2.3): names in any case.
		{"V=DMARC1; P=reject", DMARC, "[v=DMARC1][p=reject]"},
		{"v = DMARC1 ; p =reject", DMARC, "[v=DMARC1][p=reject]"},
		{"v=DMARC1;;p=none;", DMARC, "[v=DMARC1][p=none]"},
		{"v=DMARC1; rua2=x", DMARC, "[v=DMARC1] !2:rua2"}, // 1*ALPHA
		{"v=DMARC1; p=none\n", DMARC, "[v=DMARC1][p=none\n] !3:p"},
		{"v=DMARC1; rua=mailto:a@b, mailto:c@d", DMARC, "[v=DMARC1][rua=mailto:a@b, mailto:c@d]"},
	}
	for _, tt := range tests {
		if got := show(Parse(tt.txt, tt.s)); got != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.txt, got, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	l, _ := Parse("v=DMARC1; p=none", DMARC)
	if v, ok := l.Get("p"); !ok || v != "none" || l.Has("sp") || l.First() != "v" {
		t.Errorf("list %v", l)
	}
	if (List{}).First() != "" {
		t.Error("empty list has a first tag")
	}
}

func TestListFormat(t *testing.T) {
	l, _ := Parse("k=rsa; v=DKIM1; t=y:s; p=abc", DKIM)
	for _, tt := range []struct {
		got, want string
	}{
		{l.Format("v"), "v=DKIM1; k=rsa; t=y:s; p=abc"},
		{l.Without("t").Format("v"), "v=DKIM1; k=rsa; p=abc"},
		{l.With("t", "s").Format(), "k=rsa; v=DKIM1; t=s; p=abc"},
		{l.With("h", "sha256").Format("v"), "v=DKIM1; k=rsa; t=y:s; p=abc; h=sha256"},
		{List{}.With("v", "DMARC1").Format(), "v=DMARC1"},
		{l.Format(), "k=rsa; v=DKIM1; t=y:s; p=abc"}, // With and Without left l alone
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
