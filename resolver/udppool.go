package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// The UDP socket pool (issue #21). Opening and closing a socket for
// every question was a third of a batch's CPU time; now each server has
// a few connected UDP sockets that many questions share, one reader
// goroutine each handing replies to the question whose ID they carry.
//
// The spoofing defences stay those of a socket per question (RFC 5452):
// every socket is bound by the kernel to its own random source port, and
// is connected, so the kernel drops datagrams from any other address;
// every question gets a random ID not in use on its socket; and the
// asker still checks the question of the reply it is handed (ask), so a
// forged reply must guess the port, the ID and the question. A socket
// is retired after poolSocketUses questions, so its port does not stay
// known for long, and closed when idle, so nothing lingers after a run.
const (
	// poolSockets is how many sockets a server's pool keeps.
	poolSockets = 4
	// poolSocketUses is how many questions a socket carries before it is
	// retired (it closes once its last reply is in).
	poolSocketUses = 256
	// poolIdle closes a socket that has had no question in flight for
	// this long.
	poolIdle = 250 * time.Millisecond
	// udpReadBuffer is the receive buffer asked for each socket: the
	// replies to a burst of questions arrive together.
	udpReadBuffer = 1 << 20
)

// udpPools holds the pool of each server address; pools are shared by
// every run of the process (a batch's targets reuse the sockets).
var udpPools sync.Map // server → *udpPool

type udpPool struct {
	server string
	mu     sync.Mutex
	socks  [poolSockets]*udpSock
	next   int
}

// udpSock is one connected UDP socket and the questions waiting on it.
type udpSock struct {
	pool *udpPool
	conn net.Conn

	mu      sync.Mutex
	pending map[uint16]chan udpReply
	uses    int
	last    time.Time // when a question last started or ended
	retired bool      // takes no new questions
	closed  bool
}

// udpReply is a datagram (in a pooled buffer the receiver releases) or
// an error of the socket (ICMP port unreachable: connection refused).
type udpReply struct {
	buf *[dns.MaxMsgSize]byte
	n   int
	err error
}

// poolFor returns server's pool.
func poolFor(server string) *udpPool {
	if p, ok := udpPools.Load(server); ok {
		return p.(*udpPool)
	}
	p, _ := udpPools.LoadOrStore(server, &udpPool{server: server})
	return p.(*udpPool)
}

// acquire returns a socket to server with a fresh random ID registered
// on it, and the channel its replies come on.
func (p *udpPool) acquire(ctx context.Context) (*udpSock, uint16, chan udpReply, error) {
	for {
		p.mu.Lock()
		i := p.next
		p.next = (p.next + 1) % poolSockets
		s := p.socks[i]
		if s == nil || s.unusable() {
			var d net.Dialer
			nc, err := d.DialContext(ctx, "udp", p.server)
			if err != nil {
				p.mu.Unlock()
				return nil, 0, nil, err
			}
			// Room for the replies to the questions in flight on it
			// (the kernel caps the size at net.core.rmem_max).
			nc.(*net.UDPConn).SetReadBuffer(udpReadBuffer)
			s = &udpSock{pool: p, conn: nc, pending: map[uint16]chan udpReply{}, last: time.Now()}
			p.socks[i] = s
			go s.read()
		}
		p.mu.Unlock()
		if id, ch, ok := s.register(); ok {
			return s, id, ch, nil
		}
	}
}

func (s *udpSock) unusable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retired || s.closed
}

// register takes a random ID not in flight on s; false when s takes no
// more questions.
func (s *udpSock) register() (uint16, chan udpReply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired || s.closed {
		return 0, nil, false
	}
	var id uint16
	for {
		// math/rand/v2's global source is ChaCha8, seeded from the
		// system's random source: not predictable from earlier IDs.
		id = uint16(rand.Uint32())
		if _, used := s.pending[id]; !used {
			break
		}
	}
	// Room for a few replies: ones that do not answer the question are
	// ignored by the asker, who goes on waiting for its own.
	ch := make(chan udpReply, 4)
	s.pending[id] = ch
	s.last = time.Now()
	if s.uses++; s.uses >= poolSocketUses {
		s.retired = true
	}
	return id, ch, true
}

// release ends the question id; a retired socket closes with its last.
func (s *udpSock) release(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, id)
	s.last = time.Now()
	if s.retired && len(s.pending) == 0 && !s.closed {
		s.closed = true
		s.conn.Close()
	}
}

// read hands each datagram to the question whose ID it carries; others
// (late replies to questions given up, forgeries) are dropped. It ends
// when the socket closes: retired and done, or idle for poolIdle.
func (s *udpSock) read() {
	buf := udpBuffers.Get().(*[dns.MaxMsgSize]byte)
	defer func() { udpBuffers.Put(buf) }()
	s.conn.SetReadDeadline(time.Now().Add(poolIdle))
	for {
		n, err := s.conn.Read(buf[:])
		if err != nil {
			if s.idleOrClosed(err) {
				return
			}
			continue
		}
		if n < 12 {
			continue // not even a header: not a reply to anyone
		}
		id := binary.BigEndian.Uint16(buf[:2])
		s.mu.Lock()
		ch := s.pending[id]
		s.mu.Unlock()
		if ch == nil {
			continue
		}
		select {
		case ch <- udpReply{buf: buf, n: n}:
			buf = udpBuffers.Get().(*[dns.MaxMsgSize]byte)
		default: // the asker has replies enough to look at
		}
	}
}

// idleOrClosed handles a read error: it reports whether the reader is
// to end (the socket is closed now). A refused datagram (ICMP port
// unreachable) is told to every question in flight: they all went to
// the one server that refused.
func (s *udpSock) idleOrClosed(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ne net.Error
	switch {
	case s.closed || errors.Is(err, net.ErrClosed):
		s.closed = true
		return true
	case errors.As(err, &ne) && ne.Timeout():
		if len(s.pending) == 0 && time.Since(s.last) >= poolIdle {
			s.closed = true
			s.conn.Close()
			return true
		}
		s.conn.SetReadDeadline(time.Now().Add(poolIdle))
		return false
	}
	for _, ch := range s.pending {
		select {
		case ch <- udpReply{err: err}:
		default:
		}
	}
	return false
}

// askPooled sends msg over one of server's pooled sockets, with an ID of
// its own, and waits until deadline for a reply that answers it.
func (r *Resolver) askPooled(ctx, dctx context.Context, q *query, msg *dns.Msg, server string, limit int) (*dns.Msg, error) {
	s, id, ch, err := poolFor(server).acquire(dctx)
	if err != nil {
		return nil, attemptError(ctx, err)
	}
	defer s.release(id)
	msg.Id = id
	out, err := msg.Pack()
	if err != nil {
		return nil, err
	}
	if _, err := s.conn.Write(out); err != nil {
		return nil, attemptError(ctx, err)
	}
	r.sent(q)
	var ignored error
	for {
		var rep udpReply
		select {
		case rep = <-ch:
		case <-dctx.Done():
			err := attemptError(ctx, dctx.Err())
			if ignored != nil && errors.Is(err, errTimeout) {
				return nil, fmt.Errorf("%w, after ignoring a %v", err, ignored)
			}
			return nil, err
		}
		if rep.err != nil {
			return nil, attemptError(ctx, rep.err)
		}
		m, err := checkReply(rep.buf[:rep.n], msg, "udp", limit)
		udpBuffers.Put(rep.buf)
		if errors.Is(err, errMismatch) {
			ignored = err
			continue
		}
		return m, err
	}
}

// CloseIdle closes the pooled UDP sockets no question is waiting on (and
// so ends their readers) and the kept TCP connections; the pools open
// new ones when asked again. A
// program done asking calls it, as do tests before they look for leaked
// goroutines; idle sockets close by themselves after poolIdle anyway.
func CloseIdle() {
	udpPools.Range(func(_, v any) bool {
		p := v.(*udpPool)
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, s := range p.socks {
			if s == nil {
				continue
			}
			s.mu.Lock()
			if len(s.pending) == 0 && !s.closed {
				s.closed = true
				s.conn.Close()
			}
			s.mu.Unlock()
		}
		return true
	})
	tcpPools.Range(func(_, v any) bool {
		v.(*tcpPool).closeAll()
		return true
	})
}
