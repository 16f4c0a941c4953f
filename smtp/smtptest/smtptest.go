// Package smtptest runs SMTP servers on 127.0.0.1 for tests: a
// well-behaved one on go-smtp's server package (STARTTLS, implicit TLS,
// AUTH PLAIN, relay rules, scripted refusals), a raw scripted one for
// hostile peers, and a throw-away CA for certificates.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape a Server.
type Options struct {
	// TLS, when set, is offered with STARTTLS (or, with Implicit, on
	// connect).
	TLS      *tls.Config
	Implicit bool
	// Users enables AUTH PLAIN (after TLS unless InsecureAuth).
	Users        map[string]string
	InsecureAuth bool
	// Local are the domains the server receives for; other recipients
	// need AUTH (a relay) unless Open.
	Local []string
	Open  bool
	// MailError and RcptError, when set, refuse every MAIL FROM or
	// RCPT TO with them.
	MailError, RcptError *smtp.SMTPError
	// SMTPUTF8 offers the SMTPUTF8 extension (RFC 6531).
	SMTPUTF8 bool
	// Listen is the address to listen on; "" is 127.0.0.1:0. Tests of
	// several MX addresses on one port give 127.0.0.N:PORT.
	Listen string
	// Domain is the name in the greeting; "" is mx.test.example.
	Domain string
	// Latency delays every write of the server: one round trip per
	// exchange, TLS handshake flights included (benchmarks).
	Latency time.Duration
}

// Server is a running server.
type Server struct {
	Addr  string
	srv   *smtp.Server
	mu    sync.Mutex
	msgs  [][]byte
	auth  []string // users that authenticated
	mails []Mail
	conns int // connections accepted
}

// Mail is a MAIL command the server received.
type Mail struct {
	From     string // the reverse-path, without angle brackets
	SMTPUTF8 bool   // with the SMTPUTF8 parameter
}

// Start starts a server and stops it when the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	s := &Server{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, o: o}, nil
	}))
	s.srv.Domain = "mx.test.example"
	if o.Domain != "" {
		s.srv.Domain = o.Domain
	}
	s.srv.AllowInsecureAuth = o.InsecureAuth
	s.srv.EnableSMTPUTF8 = o.SMTPUTF8
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.TLSConfig = o.TLS
	addr := o.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	raw := ln
	ln = countingListener{ln, s}
	if o.Latency > 0 {
		ln = slowListener{ln, o.Latency}
	}
	if o.Implicit && o.TLS != nil {
		ln = tls.NewListener(ln, o.TLS)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	// The listener is closed here too: a server closed before Serve
	// has taken the listener would leave Serve accepting.
	tb.Cleanup(func() { s.srv.Close(); raw.Close() })
	return s
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	s *Server
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

// Conns returns how many connections the server has accepted: tests
// that a send never contacts a host count on it.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// slowListener's connections wait d before each write.
type slowListener struct {
	net.Listener
	d time.Duration
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return slowConn{c, l.d}, nil
}

type slowConn struct {
	net.Conn
	d time.Duration
}

func (c slowConn) Write(b []byte) (int, error) {
	time.Sleep(c.d)
	return c.Conn.Write(b)
}

// Messages returns the messages received so far.
func (s *Server) Messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

// Mails returns the MAIL commands received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Authenticated returns the users that authenticated.
func (s *Server) Authenticated() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

type session struct {
	s      *Server
	o      Options
	authed bool
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.o.Users) == 0 {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if p, ok := ss.o.Users[user]; !ok || p != pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		ss.authed = true
		ss.s.mu.Lock()
		ss.s.auth = append(ss.s.auth, user)
		ss.s.mu.Unlock()
		return nil
	}), nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, Mail{From: from, SMTPUTF8: opts != nil && opts.UTF8})
	ss.s.mu.Unlock()
	if ss.o.MailError != nil {
		return ss.o.MailError
	}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.o.RcptError != nil {
		return ss.o.RcptError
	}
	domain := strings.ToLower(to[strings.LastIndexByte(to, '@')+1:])
	for _, d := range ss.o.Local {
		if d == domain {
			return nil
		}
	}
	if ss.authed || ss.o.Open {
		return nil
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "<" + to + ">: Relay access denied"}
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 10<<20))
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, b)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        {}
func (ss *session) Logout() error { return nil }

// Script runs a raw server: handle gets each connection, for peers that
// misbehave in ways a real server library would not.
func Script(tb testing.TB, handle func(c net.Conn, r *bufio.Reader)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				go func() { <-done; c.Close() }()
				handle(c, bufio.NewReader(c))
			})
		}
	}()
	tb.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// CA is a throw-away certificate authority.
type CA struct {
	Pool *x509.CertPool
	PEM  []byte
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

// NewCA makes a CA.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Pool: pool, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key, cert: cert}
}

// LoadCA reads a CA from PEM: its certificate, and its private key
// (PKCS #8, SEC 1 or PKCS #1 ECDSA as openssl writes it): the lab's CA,
// to sign certificates for servers beside the lab's postfix.
func LoadCA(tb testing.TB, certPEM, keyPEM []byte) *CA {
	tb.Helper()
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		tb.Fatal("LoadCA: no PEM block")
		return nil
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	var key *ecdsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(kb.Bytes); err == nil {
		key, _ = k.(*ecdsa.PrivateKey)
	} else if k, err := x509.ParseECPrivateKey(kb.Bytes); err == nil {
		key = k
	}
	if key == nil {
		tb.Fatal("LoadCA: the key is not an ECDSA private key")
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Pool: pool, PEM: certPEM, key: key, cert: cert}
}

// ServerTLS is a server configuration with a certificate for names (DNS
// names or IP addresses) signed by the CA.
func (ca *CA) ServerTLS(tb testing.TB, names ...string) *tls.Config {
	tb.Helper()
	return ca.ServerTLSUntil(tb, time.Now().Add(24*time.Hour), names...)
}

// ServerTLSUntil is ServerTLS with a certificate valid until notAfter
// (in the past: an expired one).
func (ca *CA) ServerTLSUntil(tb testing.TB, notAfter time.Time, names ...string) *tls.Config {
	tb.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	notBefore := time.Now().Add(-time.Hour)
	if notAfter.Before(notBefore) {
		notBefore = notAfter.Add(-48 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: notBefore, NotAfter: notAfter,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}
