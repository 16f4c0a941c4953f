package resolver

import (
	"errors"
	"fmt"
	"time"
)

// Sentinels for the three outcomes a lookup can have besides records.
// Test with errors.Is; a *LookupError matches exactly one kind, and
// ErrNotFound matches both NXDOMAIN and NODATA.
var (
	// ErrNXDomain: the name does not exist (RCODE 3, RFC 1035 §4.1.1).
	ErrNXDomain = errors.New("no such domain")
	// ErrNoData: the name exists but has no records of the type asked
	// (RFC 2308 §2.2).
	ErrNoData = errors.New("no records of that type")
	// ErrNotFound is matched by both ErrNXDomain and ErrNoData errors.
	ErrNotFound = errors.New("not found")
	// ErrTemporary: no usable answer (timeout, SERVFAIL, REFUSED, a
	// broken reply, offline). Nothing can be concluded from it: a check
	// that meets it reports "could not check", never pass or fail.
	ErrTemporary = errors.New("no usable answer")
)

// ErrOffline is the error for a connection to a host outside this
// machine with --offline: offline means nothing leaves the machine, no
// DNS question and no connection. Like a lookup that is offline and not
// in the zone files, it means "could not check".
var ErrOffline = errors.New("offline: no connections to other machines")

// LookupError describes why a lookup gave no records.
type LookupError struct {
	Name   string // the name asked, without trailing dot
	Type   string // "TXT", "PTR", ...
	Kind   error  // ErrNXDomain, ErrNoData or ErrTemporary
	Reason string // detail for people: "timeout from 127.0.0.1:53", "offline, not in zone files"
	Err    error  // underlying error, if any

	ttl time.Duration // of a negative answer, for a batch's cache (replyTTL)
}

func (e *LookupError) Error() string {
	s := fmt.Sprintf("lookup %s %s: %v", e.Type, e.Name, e.Kind)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrNotFound) true for NXDOMAIN and NODATA.
func (e *LookupError) Is(target error) bool {
	if target == e.Kind {
		return true
	}
	return target == ErrNotFound && (e.Kind == ErrNXDomain || e.Kind == ErrNoData)
}

func (e *LookupError) Unwrap() error { return e.Err }

// Reason is the one text for people of why a lookup gave no records:
// the kind, and the detail when there is one ("no usable answer:
// timeout from 127.0.0.1:53"). Other errors give their own text.
func Reason(err error) string {
	var le *LookupError
	if !errors.As(err, &le) {
		return err.Error()
	}
	if le.Reason == "" {
		return le.Kind.Error()
	}
	return le.Kind.Error() + ": " + le.Reason
}

// IsNotFound reports whether err says the name or the records do not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsTemporary reports whether err means "no usable answer". Context
// expiry counts as temporary: the question was not answered in time.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	return !IsNotFound(err)
}
