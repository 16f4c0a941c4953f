package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// netError turns our error into the bare *net.DNSError that go-msgauth
// classifies by type assertion: IsNotFound for NXDOMAIN and NODATA,
// IsTemporary (and so Temporary()) for everything else.
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
