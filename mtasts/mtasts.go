// Package mtasts reads SMTP MTA Strict Transport Security (RFC 8461):
// the _mta-sts TXT record, the policy file, and how a policy's mx
// patterns match MX host names. The parsers are pure; Fetch gets the
// policy over an HTTP client the caller makes (the project's resolver,
// certificate verification, no redirects).
package mtasts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Errors of the parsers and of Fetch, tested with errors.Is.
var (
	// ErrNotSTS: the TXT record is not an MTA-STS record (it does not
	// start with v=STSv1), so it is ignored (RFC 8461 §3.1).
	ErrNotSTS = errors.New("mtasts: not an MTA-STS record")
	// ErrRecord: an MTA-STS record (v=STSv1) that is malformed.
	ErrRecord = errors.New("mtasts: malformed record")
	// ErrPolicy: a policy file that is malformed.
	ErrPolicy = errors.New("mtasts: malformed policy")
	// ErrFetch: the policy could not be fetched as RFC 8461 §3.3 requires.
	ErrFetch = errors.New("mtasts: policy fetch failed")
)

// Limits.
const (
	// MaxPolicyBytes bounds a policy body. RFC 8461 §3.3 lets senders
	// limit it and suggests 64 KiB; real policies are a few hundred octets.
	MaxPolicyBytes = 64 << 10
	// MaxAge is the largest max_age (RFC 8461 §3.2: up to 31557600, a year).
	MaxAge = 31557600
	// MaxUnknown bounds the unknown keys kept for the report. The mx
	// lines are all kept: RFC 8461 sets no limit, and MaxPolicyBytes
	// bounds them (a policy with thousands is odd, not malformed).
	MaxUnknown = 100
)

// Record is a parsed _mta-sts TXT record.
type Record struct {
	ID         string            // 1 to 32 letters and digits
	Extensions map[string]string // other fields, ignored by senders
}

// ParseRecord reads one TXT record (its strings already joined):
// "v=STSv1; id=20260101T000000;". RFC 8461 §3.1: fields separated by
// ";" with optional whitespace, v first, id 1*32 alphanumerics.
func ParseRecord(txt string) (Record, error) {
	fields := strings.Split(txt, ";")
	first := strings.TrimSpace(fields[0])
	if first != "v=STSv1" {
		return Record{}, ErrNotSTS
	}
	var r Record
	seenID := false
	for i, f := range fields[1:] {
		f = strings.Trim(f, " \t")
		if f == "" {
			if i == len(fields)-2 { // a trailing ";" is allowed
				continue
			}
			return Record{}, fmt.Errorf("%w: an empty field", ErrRecord)
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok || !validFieldName(k) {
			return Record{}, fmt.Errorf("%w: field %q is not name=value", ErrRecord, f)
		}
		if k == "id" {
			if seenID {
				return Record{}, fmt.Errorf("%w: id twice", ErrRecord)
			}
			if !validID(v) {
				return Record{}, fmt.Errorf("%w: id %q is not 1 to 32 letters and digits", ErrRecord, v)
			}
			r.ID, seenID = v, true
			continue
		}
		if !validExtValue(v) {
			return Record{}, fmt.Errorf("%w: field %q has a value with characters RFC 8461 §3.1 does not allow", ErrRecord, k)
		}
		if r.Extensions == nil {
			r.Extensions = map[string]string{}
		}
		r.Extensions[k] = v
	}
	if !seenID {
		return Record{}, fmt.Errorf("%w: no id field", ErrRecord)
	}
	return r, nil
}

func validID(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// validFieldName is sts-ext-name: alphanumerics, "_", "-", ".", at most 32.
func validFieldName(s string) bool {
	if len(s) < 1 || len(s) > 32 || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validExtValue is sts-ext-value: printable ASCII but ";", "=" and space.
func validExtValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Mode is a policy's mode (RFC 8461 §5).
type Mode string

// Modes.
const (
	Enforce Mode = "enforce"
	Testing Mode = "testing"
	None    Mode = "none"
)

// Policy is a parsed policy file.
type Policy struct {
	Version string
	Mode    Mode
	MX      []string // patterns, lower case: "mail.example.com", "*.example.net"
	MaxAge  int      // seconds
	// Unknown are keys senders ignore (RFC 8461 §3.2), for the report.
	Unknown []string
	// Quirks are what the RFC 8461 §3.2 grammar does not allow but
	// lenient parsers skip — a byte-order mark, blank or whitespace-only
	// lines, "#" comment lines — for a warning: strict senders may
	// ignore the policy.
	Quirks []string
}

// ParsePolicy reads a policy file (RFC 8461 §3.2): lines of "key: value"
// ending in CRLF or LF; version STSv1, mode, max_age and (unless mode is
// none) at least one mx are required; unknown keys are ignored.
func ParsePolicy(body []byte) (Policy, error) {
	var p Policy
	seen := map[string]bool{}
	text := strings.TrimRight(string(body), "\r\n")
	if t, ok := strings.CutPrefix(text, "\ufeff"); ok {
		text = t
		p.Quirks = append(p.Quirks, "a byte-order mark before the first line")
	}
	if strings.TrimSpace(text) == "" {
		return p, fmt.Errorf("%w: the policy is empty", ErrPolicy)
	}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if len(p.Quirks) < MaxUnknown {
				p.Quirks = append(p.Quirks, fmt.Sprintf("line %d is blank", n+1))
			}
			continue
		case strings.HasPrefix(strings.TrimLeft(line, " \t"), "#"):
			if len(p.Quirks) < MaxUnknown {
				p.Quirks = append(p.Quirks, fmt.Sprintf("line %d is a comment", n+1))
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return p, fmt.Errorf("%w: line %d is not key: value", ErrPolicy, n+1)
		}
		k, v = strings.TrimSpace(k), strings.Trim(v, " \t")
		if !validFieldName(k) {
			return p, fmt.Errorf("%w: line %d: %q is not a key", ErrPolicy, n+1, k)
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return p, fmt.Errorf("%w: line %d: a control character in the value", ErrPolicy, n+1)
			}
		}
		if k != "mx" && seen[k] {
			// RFC 8461 §3.2 allows only mx to repeat; senders that take
			// the first or the last disagree, so it is an error.
			return p, fmt.Errorf("%w: line %d: %s given twice", ErrPolicy, n+1, k)
		}
		seen[k] = true
		switch k {
		case "version":
			if v != "STSv1" {
				return p, fmt.Errorf("%w: version %q, want STSv1", ErrPolicy, v)
			}
			p.Version = v
		case "mode":
			switch Mode(v) {
			case Enforce, Testing, None:
				p.Mode = Mode(v)
			default:
				return p, fmt.Errorf("%w: mode %q, want enforce, testing or none", ErrPolicy, v)
			}
		case "max_age":
			if v == "" || len(v) > 10 || strings.Trim(v, "0123456789") != "" {
				return p, fmt.Errorf("%w: max_age %q is not a number of seconds", ErrPolicy, v)
			}
			age, _ := strconv.Atoi(v)
			if age > MaxAge {
				return p, fmt.Errorf("%w: max_age %d is over %d (RFC 8461 §3.2)", ErrPolicy, age, MaxAge)
			}
			p.MaxAge = age
		case "mx":
			pat := strings.ToLower(strings.TrimSuffix(v, "."))
			if err := checkPattern(pat); err != nil {
				return p, fmt.Errorf("%w: line %d: mx %q: %v", ErrPolicy, n+1, v, err)
			}
			p.MX = append(p.MX, pat)
		default:
			if len(p.Unknown) < MaxUnknown {
				p.Unknown = append(p.Unknown, k)
			}
		}
	}
	switch {
	case p.Version == "":
		return p, fmt.Errorf("%w: no version line", ErrPolicy)
	case p.Mode == "":
		return p, fmt.Errorf("%w: no mode line", ErrPolicy)
	case !seen["max_age"]:
		return p, fmt.Errorf("%w: no max_age line", ErrPolicy)
	case len(p.MX) == 0 && p.Mode != None:
		return p, fmt.Errorf("%w: no mx line (required unless mode is none)", ErrPolicy)
	}
	return p, nil
}

// checkPattern: a domain name, or "*." and a domain (RFC 8461 §3.2).
func checkPattern(p string) error {
	name := strings.TrimPrefix(p, "*.")
	if name == "" || len(name) > 253 {
		return errors.New("not a host name")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("not a host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !isAlnum(c) && c != '-' && c != '_' {
				return errors.New("not a host name")
			}
		}
	}
	return nil
}

// Matches reports whether an MX host name (A-label, any case, with or
// without the final dot) matches a pattern (RFC 8461 §4.1): equal, or
// for "*.suffix" exactly one label followed by ".suffix" — a wildcard
// matches the leftmost label only, never more than one.
func Matches(pattern, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	pattern = strings.ToLower(pattern)
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		first, rest, ok := strings.Cut(host, ".")
		return ok && first != "" && rest == suffix
	}
	return host == pattern
}

// MXList is the policy's mx patterns for a message: the first n,
// comma-separated, and how many more there are.
func (p Policy) MXList(n int) string {
	s := strings.Join(p.MX[:min(len(p.MX), n)], ", ")
	if len(p.MX) > n {
		s += fmt.Sprintf(" and %d more", len(p.MX)-n)
	}
	return s
}

// Match returns the first pattern of the policy that host matches, or "".
func (p Policy) Match(host string) string {
	for _, pat := range p.MX {
		if Matches(pat, host) {
			return pat
		}
	}
	return ""
}

// PolicyURL is where a domain's policy is (RFC 8461 §3.3).
func PolicyURL(domain string) string {
	return "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
}

// Fetched is what Fetch got: the policy, and what the server said.
type Fetched struct {
	Policy      Policy
	URL         string
	ContentType string
	Body        []byte
}

// Fetch gets and parses a domain's policy with client (RFC 8461 §3.3):
// HTTPS GET, status 200 (a redirect is not followed: the client must not
// follow it, and a 3xx is an error here), media type text/plain, at most
// MaxPolicyBytes. port, when not 0, replaces 443 (labs). An error wraps
// ErrFetch, or ErrPolicy for a body that is not a policy.
func Fetch(ctx context.Context, client *http.Client, domain string, port int) (Fetched, error) {
	u := PolicyURL(domain)
	if port != 0 && port != 443 {
		u = "https://mta-sts." + domain + ":" + strconv.Itoa(port) + "/.well-known/mta-sts.txt"
	}
	f := Fetched{URL: u}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return f, fmt.Errorf("%w: %v", ErrFetch, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return f, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	f.ContentType = resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return f, fmt.Errorf("%w: HTTP %d redirect to %q; RFC 8461 §3.3 forbids following redirects", ErrFetch, resp.StatusCode, resp.Header.Get("Location"))
	case resp.StatusCode != http.StatusOK:
		return f, fmt.Errorf("%w: HTTP %d, want 200", ErrFetch, resp.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(f.ContentType)
	if err != nil || mt != "text/plain" {
		return f, fmt.Errorf("%w: Content-Type %q, want text/plain (RFC 8461 §3.2)", ErrFetch, f.ContentType)
	}
	if resp.ContentLength > MaxPolicyBytes {
		return f, fmt.Errorf("%w: the body is %d octets, over %d", ErrFetch, resp.ContentLength, MaxPolicyBytes)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicyBytes+1))
	if err != nil {
		return f, fmt.Errorf("%w: reading the body: %w", ErrFetch, err)
	}
	if len(b) > MaxPolicyBytes {
		return f, fmt.Errorf("%w: the body is over %d octets", ErrFetch, MaxPolicyBytes)
	}
	f.Body = b
	f.Policy, err = ParsePolicy(b)
	return f, err
}
