package resolver_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
)

// tcpServer answers over UDP with TC set (go to TCP), and over TCP with
// an A record, closing each connection after one reply when oneShot;
// it counts the TCP connections accepted.
func tcpServer(t *testing.T, oneShot bool) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		ln.Close()
		t.Skip(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	reply := func(p []byte, tc bool) []byte {
		q := new(dns.Msg)
		if q.Unpack(p) != nil || len(q.Question) != 1 {
			return nil
		}
		m := new(dns.Msg)
		m.SetReply(q)
		m.Truncated = tc
		if !tc {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(203, 0, 113, 1)})
		}
		out, _ := m.Pack()
		return out
	}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(buf[:n], true); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	accepted = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				for {
					var l [2]byte
					if _, err := io.ReadFull(c, l[:]); err != nil {
						return
					}
					p := make([]byte, binary.BigEndian.Uint16(l[:]))
					if _, err := io.ReadFull(c, p); err != nil {
						return
					}
					out := reply(p, false)
					c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
					if oneShot {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), accepted
}

// TestTCPReuse: questions that go to TCP one after another share one
// connection while the server keeps it open; when the server closes
// each after its reply, every question is still answered, on a new one.
func TestTCPReuse(t *testing.T) {
	for _, oneShot := range []bool{false, true} {
		t.Run(fmt.Sprintf("oneShot=%v", oneShot), func(t *testing.T) {
			addr, accepted := tcpServer(t, oneShot)
			defer resolver.CloseIdle()
			r := resolver.New(resolver.Config{Servers: []string{addr}})
			for i := range 20 {
				if _, err := r.LookupIP(context.Background(), "ip4", fmt.Sprintf("h%d.tcp.test", i)); err != nil {
					t.Fatal(err)
				}
			}
			want := int64(1)
			if oneShot {
				want = 20
			}
			if got := accepted.Load(); got != want {
				t.Errorf("%d TCP connections for 20 questions, want %d", got, want)
			}
		})
	}
}
