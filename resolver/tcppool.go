package resolver

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// TCP connections are kept open for the next question to the same
// server (issue #21; RFC 7766 §6.2.1 asks clients to reuse them), when
// the server keeps them open: a kept connection that fails before its
// reply (the server closed it while idle) is replaced by a new one at
// once. Only a connection whose exchange ended with a whole reply is
// kept, so no reply to an earlier question can be waiting on it.
const (
	// tcpIdle is how long a kept connection may wait for its next
	// question: servers close idle ones after a few seconds (RFC 7766
	// §6.2.3).
	tcpIdle = 5 * time.Second
	// tcpKept is how many idle connections a server keeps.
	tcpKept = 2
)

var tcpPools sync.Map // server → *tcpPool

type tcpPool struct {
	mu   sync.Mutex
	idle []tcpIdleConn
}

type tcpIdleConn struct {
	nc    net.Conn
	since time.Time
}

func tcpPoolFor(server string) *tcpPool {
	if p, ok := tcpPools.Load(server); ok {
		return p.(*tcpPool)
	}
	p, _ := tcpPools.LoadOrStore(server, &tcpPool{})
	return p.(*tcpPool)
}

// get returns the newest idle connection, nil without one; those idle
// too long are closed.
func (p *tcpPool) get() net.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(c.since) < tcpIdle {
			return c.nc
		}
		c.nc.Close()
	}
	return nil
}

// put keeps nc for the next question, or closes it.
func (p *tcpPool) put(nc net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= tcpKept {
		nc.Close()
		return
	}
	p.idle = append(p.idle, tcpIdleConn{nc, time.Now()})
}

// closeAll closes the idle connections.
func (p *tcpPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.nc.Close()
	}
	p.idle = nil
}

// askTCP sends msg to server over TCP, on a kept connection when there
// is one, and reads its reply until deadline.
func (r *Resolver) askTCP(ctx, dctx context.Context, q *query, msg *dns.Msg, server string, deadline time.Time, limit int) (*dns.Msg, error) {
	pool := tcpPoolFor(server)
	nc := pool.get()
	if nc != nil {
		m, err, stale := r.exchangeTCP(ctx, dctx, q, msg, nc, pool, deadline, limit)
		if !stale {
			return m, err
		}
		// The server closed it while it was idle: a new one.
		r.trace("dns: %s %s → %s: a kept TCP connection was closed (%v), asking on a new one", typeString(q.qtype), bare(q.name), server, err)
	}
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", server)
	if err != nil {
		return nil, attemptError(ctx, err)
	}
	m, err, _ := r.exchangeTCP(ctx, dctx, q, msg, nc, pool, deadline, limit)
	return m, err
}

// exchangeTCP asks on nc, and keeps it in pool after a whole reply that
// answers the question. stale says nc failed before any reply came:
// another connection may do.
func (r *Resolver) exchangeTCP(ctx, dctx context.Context, q *query, msg *dns.Msg, nc net.Conn, pool *tcpPool, deadline time.Time, limit int) (_ *dns.Msg, _ error, stale bool) {
	keep := false
	stop := context.AfterFunc(dctx, func() { nc.Close() })
	defer func() {
		if stop() && keep {
			nc.SetDeadline(time.Time{})
			pool.put(nc)
			return
		}
		nc.Close()
	}()
	if err := nc.SetDeadline(deadline); err != nil {
		return nil, err, false
	}
	co := &dns.Conn{Conn: nc}
	if err := co.WriteMsg(msg); err != nil {
		return nil, attemptError(ctx, err), !expired(dctx)
	}
	r.sent(q)
	p, err := co.ReadMsgHeader(nil)
	if err != nil {
		return nil, attemptError(ctx, err), !expired(dctx) && closedByPeer(err)
	}
	m, err := checkReply(p, msg, "tcp", limit)
	if errors.Is(err, errMismatch) {
		return nil, errors.New("reply does not match the question"), false
	}
	keep = err == nil
	return m, err, false
}

// closedByPeer reports whether err is the other end closing or
// resetting the connection.
func closedByPeer(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}
