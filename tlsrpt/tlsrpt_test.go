package tlsrpt

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		err  error
	}{
		{"v=TLSRPTv1; rua=mailto:tls@example.com", []string{"mailto:tls@example.com"}, nil},
		{"v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.net/tls;", []string{"mailto:a@example.com", "https://r.example.net/tls"}, nil},
		{"v=TLSRPTv1; rua=mailto:a@example.com; ext=1", []string{"mailto:a@example.com"}, nil},
		{"v=spf1 -all", nil, ErrNotTLSRPT},
		{"v=TLSRPTv2; rua=mailto:a@example.com", nil, ErrNotTLSRPT},
		{"v=TLSRPTv1", nil, ErrRecord},
		{"v=TLSRPTv1; rua=tls@example.com", nil, ErrRecord},
		{"v=TLSRPTv1; rua=http://example.com/r", nil, ErrRecord},
		{"v=TLSRPTv1; rua=mailto:", nil, ErrRecord},
		{"v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", nil, ErrRecord},
		{"v=TLSRPTv1;; rua=mailto:a@example.com", nil, ErrRecord},
	} {
		r, err := Parse(tt.in)
		if !errors.Is(err, tt.err) || err == nil && !slices.Equal(r.RUA, tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, r.RUA, err, tt.want, tt.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.net/x")
	f.Add("v=TLSRPTv1;rua=mailto:%40@x")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err == nil && len(r.RUA) == 0 {
			t.Errorf("Parse(%q): a record without rua", s)
		}
	})
}
