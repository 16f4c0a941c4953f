package resolver_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
)

// rawServer answers every A question with 203.0.113.1 from a plain UDP
// socket, first sending the forgeries forge makes of the reply, and
// records each query's source port and ID.
func rawServer(t *testing.T, forge func(q, reply *dns.Msg) []*dns.Msg) (addr string, seen chan [2]int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	seen = make(chan [2]int, 10000)
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			seen <- [2]int{from.(*net.UDPAddr).Port, int(q.Id)}
			reply := new(dns.Msg)
			reply.SetReply(q)
			reply.Answer = append(reply.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(203, 0, 113, 1)})
			var out []*dns.Msg
			if forge != nil {
				out = forge(q, reply)
			}
			for _, m := range append(out, reply) {
				p, _ := m.Pack()
				pc.WriteTo(p, from)
			}
		}
	}()
	return pc.LocalAddr().String(), seen
}

// TestPooledSockets: many questions share a few sockets (each on its
// own source port), every question has its own random ID, and sockets
// are renewed as they are used, so a port does not stay known.
func TestPooledSockets(t *testing.T) {
	addr, seen := rawServer(t, nil)
	ctx := context.Background()
	const n = 1200
	r := resolver.New(resolver.Config{Servers: []string{addr}})
	for i := range n {
		if _, err := r.LookupIP(ctx, "ip4", fmt.Sprintf("h%d.pool.test", i)); err != nil {
			t.Fatal(err)
		}
	}
	ports, ids := map[int]int{}, map[int]bool{}
	for range n {
		s := <-seen
		ports[s[0]]++
		ids[s[1]] = true
	}
	// 1,200 questions on sockets of at most 256 questions each.
	if len(ports) < n/256 || len(ports) > n/10 {
		t.Errorf("%d source ports for %d questions, want between %d and %d", len(ports), n, n/256, n/10)
	}
	for p, c := range ports {
		if c > 256 {
			t.Errorf("port %d carried %d questions, more than 256", p, c)
		}
	}
	// Random 16-bit IDs: a few birthday collisions among 1,200, no more.
	if len(ids) < n*95/100 {
		t.Errorf("%d distinct IDs for %d questions: not random", len(ids), n)
	}
}

// TestPooledSpoofing: on a shared socket, a reply with another ID, or
// with the right ID and another question, is ignored, and the right
// reply still answers.
func TestPooledSpoofing(t *testing.T) {
	addr, _ := rawServer(t, func(q, reply *dns.Msg) []*dns.Msg {
		wrongID := reply.Copy()
		wrongID.Id ^= 1
		wrongID.Answer[0].(*dns.A).A = net.IPv4(192, 0, 2, 66)
		other := reply.Copy()
		other.Question[0].Name = "evil.test."
		other.Answer[0].(*dns.A).A = net.IPv4(192, 0, 2, 66)
		return []*dns.Msg{wrongID, other}
	})
	ctx := context.Background()
	r := resolver.New(resolver.Config{Servers: []string{addr}})
	for i := range 50 {
		ips, err := r.LookupIP(ctx, "ip4", fmt.Sprintf("h%d.pool.test", i))
		if err != nil {
			t.Fatal(err)
		}
		if len(ips) != 1 || ips[0].String() != "203.0.113.1" {
			t.Fatalf("h%d: %v, want the server's 203.0.113.1", i, ips)
		}
	}
}
