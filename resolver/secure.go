package resolver

import (
	"context"
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// secureReply is one DNSSEC question's reply and where it came from,
// kept for the run like the plain answers (once), in the run resolver's
// secure map.
type secureReply struct {
	msg    *dns.Msg
	source string
}

// message asks one question with the DO and CD bits and returns the whole
// reply (RRSIGs, NSEC and NSEC3 records, the authority section) for the
// validator: the overlay's zone answers when it holds the name, else the
// servers. A reply with an RCODE other than NOERROR or NXDOMAIN, or none,
// is a temporary *LookupError. Asked once per run (once).
func (r *Resolver) message(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	rep, err := once(ctx, r, &r.root().secure, key{name, qtype}, func() (secureReply, error) {
		m, source, err := r.secureResolve(ctx, name, qtype)
		return secureReply{m, source}, err
	})
	return rep.msg, rep.source, err
}

// secureResolve asks the overlay or the servers one DO question. A DS
// record lives in the parent zone (RFC 4035 §2.4), so a DS question at a
// zone file's apex is the parent file's when the overlay has it.
func (r *Resolver) secureResolve(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	z := r.cfg.Overlay.Zone(name)
	if z != nil && qtype == dns.TypeDS && z.Apex == name && name != "." {
		z = r.cfg.Overlay.Zone(parent(name))
	}
	if z == nil && qtype == dns.TypeDS {
		z = r.cfg.Overlay.parentOf(name) // a root zone file's delegation
	}
	if z != nil {
		r.stats.overlay.Add(1)
		m := z.SecureAnswer(name, qtype)
		source := "zone " + z.File
		r.trace("dns: %s %s +dnssec → %s: %s, %d records", typeString(qtype), bare(name), source, rcodeString(m.Rcode), len(m.Answer)+len(m.Ns))
		return m, source, nil
	}
	if r.cfg.Batch != nil {
		return r.cfg.Batch.secure(ctx, r, name, qtype)
	}
	return r.secureExchange(ctx, name, qtype)
}

// secureExchange puts one DO question on the wire: attempts rounds over
// the servers, as exchange does for plain questions (and, like it, within
// the run's question cap: an answer from the batch's cache takes none).
func (r *Resolver) secureExchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	if reason := r.refusal(); reason != "" {
		r.stats.refused.Add(1)
		return nil, "", r.lookupError(name, qtype, ErrTemporary, reason, errRefused)
	}
	q := &query{name: name, qtype: qtype, do: true}
	var failures []string
	for range r.cfg.Attempts {
		for _, server := range r.cfg.Servers {
			if expired(ctx) {
				failures = append(failures, ctxReason(ctx))
				return nil, "", r.lookupError(name, qtype, ErrTemporary, dedupe(failures), context.DeadlineExceeded)
			}
			m, err := r.askServerMsg(ctx, q, server)
			if err == nil {
				r.trace("dns: %s %s +dnssec → %s: %s", typeString(qtype), bare(name), server, rcodeString(m.Rcode))
				return m, server, nil
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				failures = append(failures, server+": "+ctxReason(ctx))
			} else {
				failures = append(failures, fmt.Sprintf("%s: %v", server, err))
			}
			r.trace("dns: %s %s +dnssec → %s: %v", typeString(qtype), bare(name), server, err)
		}
	}
	return nil, "", r.lookupError(name, qtype, ErrTemporary, dedupe(failures), nil)
}

// askServerMsg is askServer for a DO question: UDP, then TCP when the
// reply is truncated, malformed or oversize. No retry without EDNS: a
// server that refuses EDNS cannot send DNSSEC records at all.
func (r *Resolver) askServerMsg(ctx context.Context, q *query, server string) (*dns.Msg, error) {
	m, err := r.ask(ctx, q, server, "udp", true)
	if tcpReason(m, err) != "" {
		m, err = r.ask(ctx, q, server, "tcp", true)
	}
	if err != nil {
		return nil, err
	}
	switch m.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return m, nil
	}
	return nil, errors.New(rcodeString(m.Rcode))
}
