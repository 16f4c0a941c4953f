// Package ststest runs an HTTPS server for MTA-STS policies in tests and
// labs: on a loopback address, with a certificate from the caller's CA,
// serving per host name a good policy or one of the ways a policy
// server goes wrong (RFC 8461 §3.3).
package ststest

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Response is what the server answers for one host's policy URL.
type Response struct {
	Body        string
	ContentType string // "" is text/plain
	Status      int    // 0 is 200
	Location    string // with a 3xx Status
	// Stall: "headers" answers nothing, "body" sends the headers and
	// half the body; either then waits until the client goes away.
	Stall string
}

// Kinds of answers, for the lab and the tests.
func Good(mode, maxAge string, mx ...string) Response {
	var b strings.Builder
	fmt.Fprintf(&b, "version: STSv1\r\nmode: %s\r\n", mode)
	for _, m := range mx {
		fmt.Fprintf(&b, "mx: %s\r\n", m)
	}
	fmt.Fprintf(&b, "max_age: %s\r\n", maxAge)
	return Response{Body: b.String()}
}

// Malformed is a body that is not a policy.
func Malformed() Response { return Response{Body: "version: STSv1\nmode: enforce-ish\nmx mail\n"} }

// Oversize is a policy over 64 KiB.
func Oversize() Response {
	return Response{Body: Good("enforce", "86400", "mail.example").Body + "# " + strings.Repeat("x", 70<<10) + "\n"}
}

// WrongType is a good policy served as text/html.
func WrongType(mx ...string) Response {
	r := Good("enforce", "86400", mx...)
	r.ContentType = "text/html"
	return r
}

// Stalled is a server that accepts the request and never answers
// ("headers") or stops halfway through a good policy ("body").
func Stalled(where string) Response {
	r := Good("enforce", "86400", "mail.example")
	r.Stall = where
	return r
}

// Redirect is a redirect to another URL.
func Redirect(to string) Response { return Response{Status: http.StatusFound, Location: to} }

// Server is a running policy server.
type Server struct {
	Addr string // IP:port
	srv  *http.Server
	mu   sync.Mutex
	by   map[string]Response // by host name (mta-sts.DOMAIN)
	hits []string
}

// Start serves on addr ("127.0.0.N:PORT"; PORT 0 picks one) with cfg
// (a certificate for every mta-sts.DOMAIN name served). Close stops it.
func Start(addr string, cfg *tls.Config, by map[string]Response) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), by: by}
	s.srv = &http.Server{Handler: s, ErrorLog: log.New(io.Discard, "", 0)}
	go s.srv.Serve(tls.NewListener(ln, cfg))
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Hits are the host names requested so far.
func (s *Server) Hits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hits...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	s.mu.Lock()
	s.hits = append(s.hits, host)
	resp, ok := s.by[host]
	s.mu.Unlock()
	if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	switch resp.Stall {
	case "headers":
		<-r.Context().Done()
		return
	case "body":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, resp.Body[:len(resp.Body)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	if resp.Location != "" {
		w.Header().Set("Location", resp.Location)
	}
	ct := resp.ContentType
	if ct == "" {
		ct = "text/plain"
	}
	w.Header().Set("Content-Type", ct)
	if resp.Status != 0 {
		w.WriteHeader(resp.Status)
	}
	io.WriteString(w, resp.Body)
}
