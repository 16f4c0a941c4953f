// Package dnstest runs an in-process authoritative DNS server for tests:
// zone text in, a 127.0.0.1 address out, UDP and TCP on the same port.
// It answers like a real authoritative server (records, NODATA, NXDOMAIN
// with the SOA, wildcards, CNAMEs followed inside its zones, REFUSED
// outside them, UDP replies truncated to the client's EDNS0 size), and
// has knobs for the faults checks must survive: latency, dropped
// queries, forced RCODEs and truncation, and for broken replies: another
// question section (or none), answers of another type, oversize UDP
// replies without TC, FORMERR to EDNS queries.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/preflight-mail/preflight/resolver"
)

// maxLog bounds the query log, so long benchmarks measure the code
// under test, not the log.
const maxLog = 10000

// Server is a running test server. Its knobs may be changed while it
// runs.
type Server struct {
	Addr string // "127.0.0.1:port", UDP and TCP

	zones []*resolver.Zone
	udp   *dns.Server
	tcp   *dns.Server

	mu       sync.Mutex
	latency  time.Duration
	dropAll  bool
	dropNext int
	rcodes   map[string]int // fqdn or "" for every name
	truncate bool
	tcpOff   bool
	log      []string
	// dropNames are never answered (a timeout for that name only).
	dropNames map[string]bool
	hook      Hook
	// question, when set, makes the reply's question section.
	question func(dns.Question) []dns.Question
	// answerAs maps a question's type to the type answered.
	answerAs    map[uint16]uint16
	oversizeUDP bool
	noEDNS      bool

	queries atomic.Int64
}

// New starts a server for zones (master-file text, each with an SOA or
// $ORIGIN) and stops it when the test ends.
func New(tb testing.TB, zones ...string) *Server {
	tb.Helper()
	s, err := Start(zones...)
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// NewRecords starts a server answering from records, all in one zone
// at the root (any names), and stops it when the test ends.
func NewRecords(tb testing.TB, rrs ...dns.RR) *Server {
	tb.Helper()
	z, err := resolver.NewZone(".", "records", rrs)
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	s, err := StartZones(z)
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server for zone texts; Close stops it. For tests use New.
func Start(zones ...string) (*Server, error) {
	var zs []*resolver.Zone
	for i, text := range zones {
		z, err := resolver.ParseZone(strings.NewReader(text), fmt.Sprintf("zone#%d", i+1))
		if err != nil {
			return nil, err
		}
		zs = append(zs, z)
	}
	return StartZones(zs...)
}

// StartZones starts a server for parsed zones.
func StartZones(zones ...*resolver.Zone) (*Server, error) {
	s := &Server{rcodes: map[string]int{}, dropNames: map[string]bool{}, answerAs: map[uint16]uint16{}, zones: zones}
	// Same port for UDP and TCP, like a real server: take a TCP port and
	// try the UDP one beside it; retry on the rare clash.
	var (
		ln  net.Listener
		pc  net.PacketConn
		err error
	)
	for range 20 {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		pc, err = net.ListenPacket("udp", ln.Addr().String())
		if err == nil {
			break
		}
		ln.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("no free port for UDP and TCP: %v", err)
	}
	s.Addr = ln.Addr().String()
	// Room for a batch's burst of questions (up to --max-inflight at
	// once): the default buffer drops some, and a dropped question is a
	// 2 s retry that a test or a benchmark would measure.
	pc.(*net.UDPConn).SetReadBuffer(4 << 20)
	h := dns.HandlerFunc(s.serve)
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: notify, UDPSize: 65535}
	s.tcp = &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: notify}
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	<-started
	<-started
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	s.udp.Shutdown()
	s.tcp.Shutdown()
}

// SetLatency delays every reply by d.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// DropAll makes the server read queries and never answer.
func (s *Server) DropAll(on bool) { s.mu.Lock(); s.dropAll = on; s.mu.Unlock() }

// Hook crafts a raw reply to a query: the bytes to send (they need not
// be a valid message), or nil to answer normally. reply is the answer
// the server would have sent.
type Hook func(q, reply *dns.Msg, proto string) []byte

// SetHook installs a hook for hostile replies (wrong ID, another
// question, compression loops...); nil removes it.
func (s *Server) SetHook(h Hook) { s.mu.Lock(); s.hook = h; s.mu.Unlock() }

// DropName never answers questions about name (any type).
func (s *Server) DropName(name string) {
	s.mu.Lock()
	s.dropNames[dns.CanonicalName(name)] = true
	s.mu.Unlock()
}

// DropNext drops the next n queries, then answers again.
func (s *Server) DropNext(n int) { s.mu.Lock(); s.dropNext = n; s.mu.Unlock() }

// SetRcode answers every question about name (any type) with rcode and
// no records; name "" means every name. rcode -1 removes the setting.
func (s *Server) SetRcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ""
	if name != "" {
		key = dns.CanonicalName(name)
	}
	if rcode < 0 {
		delete(s.rcodes, key)
		return
	}
	s.rcodes[key] = rcode
}

// TruncateUDP makes every UDP reply an empty one with TC set, so clients
// must retry over TCP.
func (s *Server) TruncateUDP(on bool) { s.mu.Lock(); s.truncate = on; s.mu.Unlock() }

// DisableTCP makes the server close TCP connections without answering.
func (s *Server) DisableTCP(on bool) { s.mu.Lock(); s.tcpOff = on; s.mu.Unlock() }

// SetReplyQuestion makes the question section of every reply f(the
// question asked): another name, type or class, or none when f returns
// nil. A nil f restores echoing the question.
func (s *Server) SetReplyQuestion(f func(q dns.Question) []dns.Question) {
	s.mu.Lock()
	s.question = f
	s.mu.Unlock()
}

// AnswerAs answers questions of type asked with the records of type
// served at the name (the question section still says asked), as a
// broken server that answers an A question with TXT records. served 0
// removes the setting.
func (s *Server) AnswerAs(asked, served uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if served == 0 {
		delete(s.answerAs, asked)
		return
	}
	s.answerAs[asked] = served
}

// OversizeUDP sends UDP replies whole, larger than the client's EDNS0
// size (or 512) and without the TC bit, as broken servers and
// middleboxes do.
func (s *Server) OversizeUDP(on bool) { s.mu.Lock(); s.oversizeUDP = on; s.mu.Unlock() }

// RefuseEDNS acts as a server from before EDNS (RFC 6891 §7): queries
// with an OPT record get FORMERR, and no reply carries an OPT record.
func (s *Server) RefuseEDNS(on bool) { s.mu.Lock(); s.noEDNS = on; s.mu.Unlock() }

// Queries returns how many queries arrived (dropped ones included).
func (s *Server) Queries() int64 { return s.queries.Load() }

// Log returns the first queries (up to 10,000) as "proto TYPE name" lines.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// ResetLog clears the query count and log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
	s.queries.Store(0)
}

func (s *Server) serve(w dns.ResponseWriter, q *dns.Msg) {
	proto := w.LocalAddr().Network()
	s.queries.Add(1)
	s.mu.Lock()
	if len(q.Question) == 1 && len(s.log) < maxLog {
		entry := fmt.Sprintf("%s %s %s", proto, dns.TypeToString[q.Question[0].Qtype], strings.TrimSuffix(q.Question[0].Name, "."))
		if o := q.IsEdns0(); o != nil && o.Do() {
			entry += " +dnssec" // a DNSSEC question: not the plain one of the same name
		}
		s.log = append(s.log, entry)
	}
	latency, drop, truncate := s.latency, s.dropAll || s.dropNext > 0, s.truncate && proto == "udp"
	if len(q.Question) == 1 && s.dropNames[dns.CanonicalName(q.Question[0].Name)] {
		drop = true
	}
	if s.dropNext > 0 {
		s.dropNext--
	}
	closeTCP := proto == "tcp" && s.tcpOff
	hook, question, oversize, noEDNS := s.hook, s.question, s.oversizeUDP, s.noEDNS
	ask := dns.Question{}
	if len(q.Question) == 1 {
		ask = q.Question[0]
		if t, ok := s.answerAs[ask.Qtype]; ok {
			ask.Qtype = t
		}
	}
	rcode, forced := -1, false
	if len(q.Question) == 1 {
		if rc, ok := s.rcodes[dns.CanonicalName(q.Question[0].Name)]; ok {
			rcode, forced = rc, true
		} else if rc, ok := s.rcodes[""]; ok {
			rcode, forced = rc, true
		}
	}
	s.mu.Unlock()

	if closeTCP {
		w.Close()
		return
	}
	if drop {
		return
	}
	if latency > 0 {
		time.Sleep(latency)
	}
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	opt := q.IsEdns0()
	switch {
	case len(q.Question) != 1:
		m.SetRcode(q, dns.RcodeFormatError)
	case opt != nil && noEDNS:
		m.Rcode = dns.RcodeFormatError
	case forced:
		m.Rcode = rcode
	case truncate:
		m.Truncated = true
	case opt != nil && opt.Do():
		s.answerSecure(m, ask)
	default:
		s.answer(m, ask)
	}
	if question != nil && len(q.Question) == 1 {
		m.Question = question(q.Question[0])
	}
	size := dns.MinMsgSize
	if opt != nil && !noEDNS {
		m.SetEdns0(opt.UDPSize(), opt.Do())
		size = int(opt.UDPSize())
	}
	if proto == "udp" && !oversize {
		m.Truncate(size)
	}
	if hook != nil {
		if raw := hook(q, m, proto); raw != nil {
			w.Write(raw)
			return
		}
	}
	w.WriteMsg(m)
}

// answer fills m like an authoritative server for the question.
func (s *Server) answer(m *dns.Msg, q dns.Question) {
	name := dns.CanonicalName(q.Name)
	z := s.zoneFor(name)
	if z == nil {
		m.Authoritative = false
		m.Rcode = dns.RcodeRefused
		return
	}
	// Follow CNAMEs inside our own zones, as authoritative servers do
	// (RFC 1034 §4.3.2 step 3.a); stop at loops and at other zones.
	seen := map[string]bool{}
	for !seen[name] {
		seen[name] = true
		res := z.Lookup(name, q.Qtype)
		if res.Kind != nil {
			if res.Kind == resolver.ErrNXDomain {
				m.Rcode = dns.RcodeNameError
			}
			if soa := z.SOA(); soa != nil {
				m.Ns = append(m.Ns, soa)
			}
			return
		}
		m.Answer = append(m.Answer, res.Records...)
		cn, ok := res.Records[0].(*dns.CNAME)
		if !ok || q.Qtype == dns.TypeCNAME {
			return
		}
		name = dns.CanonicalName(cn.Target)
		if z = s.zoneFor(name); z == nil {
			return
		}
	}
}

func (s *Server) zoneFor(name string) *resolver.Zone {
	var best *resolver.Zone
	for _, z := range s.zones {
		if z.Contains(name) && (best == nil || dns.CountLabel(z.Apex) > dns.CountLabel(best.Apex)) {
			best = z
		}
	}
	return best
}

// answerSecure fills m for a query with the DO bit: the zone's records
// with their RRSIGs and the NSEC or NSEC3 proofs (resolver.Zone's
// SecureAnswer). A DS question at a zone's apex is answered by the parent
// zone, as a resolver would. CNAMEs are not followed: the validator asks
// for each target.
func (s *Server) answerSecure(m *dns.Msg, q dns.Question) {
	name := dns.CanonicalName(q.Name)
	z := s.zoneFor(name)
	if z != nil && q.Qtype == dns.TypeDS && z.Apex == name && name != "." {
		up := name[strings.IndexByte(name, '.')+1:]
		if up == "" {
			up = "."
		}
		if p := s.zoneFor(up); p != nil {
			z = p
		}
	}
	if z == nil {
		m.Authoritative = false
		m.Rcode = dns.RcodeRefused
		return
	}
	r := z.SecureAnswer(name, q.Qtype)
	m.Rcode = r.Rcode
	m.Answer, m.Ns = r.Answer, r.Ns
}
