package taglist

import "testing"

func TestListFormat(t *testing.T) {
	tags, order, _ := Parse("k=rsa; v=DKIM1; t=y:s; p=abc", false)
	l := List{Tags: tags, Order: order}
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
