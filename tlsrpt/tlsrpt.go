// Package tlsrpt reads SMTP TLS Reporting records (RFC 8460): the
// _smtp._tls TXT record that says where senders send their reports of
// TLS failures. The parser is pure.
package tlsrpt

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Errors of Parse, tested with errors.Is.
var (
	// ErrNotTLSRPT: the TXT record does not start with v=TLSRPTv1, so
	// senders ignore it (RFC 8460 §3).
	ErrNotTLSRPT = errors.New("tlsrpt: not a TLS-RPT record")
	// ErrRecord: a TLS-RPT record that is malformed.
	ErrRecord = errors.New("tlsrpt: malformed record")
)

// MaxURIs bounds the rua URIs read from one record.
const MaxURIs = 32

// Record is a parsed TLS-RPT record.
type Record struct {
	RUA        []string // mailto: and https: URIs, in order
	Extensions map[string]string
}

// Parse reads one TXT record, its strings joined: "v=TLSRPTv1;
// rua=mailto:tls@example.com". RFC 8460 §3: v first, rua required, a
// comma-separated list of mailto: or https: URIs; other fields are
// extensions.
func Parse(txt string) (Record, error) {
	fields := strings.Split(txt, ";")
	if strings.Trim(fields[0], " \t") != "v=TLSRPTv1" {
		return Record{}, ErrNotTLSRPT
	}
	var r Record
	seenRUA := false
	for i, f := range fields[1:] {
		f = strings.Trim(f, " \t")
		if f == "" {
			if i == len(fields)-2 {
				continue
			}
			return Record{}, fmt.Errorf("%w: an empty field", ErrRecord)
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return Record{}, fmt.Errorf("%w: field %q is not name=value", ErrRecord, f)
		}
		if k != "rua" {
			if r.Extensions == nil {
				r.Extensions = map[string]string{}
			}
			r.Extensions[k] = v
			continue
		}
		if seenRUA {
			return Record{}, fmt.Errorf("%w: rua twice", ErrRecord)
		}
		seenRUA = true
		for _, u := range strings.Split(v, ",") {
			u = strings.Trim(u, " \t")
			if err := checkURI(u); err != nil {
				return Record{}, fmt.Errorf("%w: rua %q: %v", ErrRecord, u, err)
			}
			if len(r.RUA) >= MaxURIs {
				return Record{}, fmt.Errorf("%w: more than %d rua URIs", ErrRecord, MaxURIs)
			}
			r.RUA = append(r.RUA, u)
		}
	}
	if !seenRUA {
		return Record{}, fmt.Errorf("%w: no rua field", ErrRecord)
	}
	return r, nil
}

// checkURI accepts mailto:ADDRESS and https://HOST/... (RFC 8460 §3).
func checkURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URI")
	}
	switch strings.ToLower(u.Scheme) {
	case "mailto":
		local, domain, ok := strings.Cut(u.Opaque, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(u.Opaque, " ,;<>") {
			return errors.New("mailto: without an address")
		}
		return nil
	case "https":
		if u.Host == "" {
			return errors.New("https: without a host")
		}
		return nil
	case "":
		return errors.New("no scheme (mailto or https)")
	}
	return fmt.Errorf("scheme %q: only mailto: and https: are defined", u.Scheme)
}
