package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-mail/preflight/resolver"
)

// The seams for checks that talk to hosts by name (MTA-STS policies over
// HTTPS, TLS on MX hosts, DANE): every name is resolved through the
// run's resolver (so --zone, --resolver and --offline apply, and
// /etc/hosts does not), and every connection goes through Env.Dial.

// ErrOffline is the error for a connection to a host outside this
// machine with --offline: offline means nothing leaves the machine.
var ErrOffline = resolver.ErrOffline

// Limits of the seams.
const (
	// maxHTTPBody bounds what HTTPClient reads of a body; MTA-STS
	// policies are a few hundred octets (RFC 8461 §3.2 suggests 64 KiB).
	maxHTTPBody = 64 << 10
	// httpTimeout bounds one HTTPS request when the context has no
	// earlier deadline.
	httpTimeout = 20 * time.Second
)

// DialHost connects to host:port, trying each address the run's
// resolver gives for host (A and AAAA) in turn. host may be an address.
func (e Env) DialHost(ctx context.Context, network, host string, port int) (net.Conn, error) {
	var addrs []netip.Addr
	var err error
	if ip, perr := netip.ParseAddr(strings.Trim(host, "[]")); perr == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = e.DNS.LookupIP(ctx, "ip", host)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", host, err)
	}
	var errs []error
	for _, ip := range addrs {
		if e.DNS.Offline() && !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("%s: %w", ip, ErrOffline))
			continue
		}
		c, err := e.connect(ctx, network, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	return nil, errors.Join(errs...)
}

// DialTLS connects to host:port with DialHost and does a TLS handshake
// with cfg (ServerName defaults to host).
func (e Env) DialTLS(ctx context.Context, host string, port int, cfg *tls.Config) (*tls.Conn, error) {
	c, err := e.DialHost(ctx, "tcp", host, port)
	if err != nil {
		return nil, err
	}
	cfg = cfg.Clone()
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// HTTPClient is an HTTPS client whose connections resolve through the
// run's resolver and dial through Env.Dial: no proxy from the
// environment, no redirects followed (MTA-STS forbids them, RFC 8461
// §3.3; a caller that wants them reads the Location itself), TLS with
// cfg (nil: the system's roots). Bodies are the caller's to bound with
// ReadBody.
func (e Env) HTTPClient(cfg *tls.Config) *http.Client {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			p, err := strconv.Atoi(port)
			if err != nil {
				return nil, fmt.Errorf("port %q: %w", port, err)
			}
			return e.DialHost(ctx, network, host, p)
		},
		TLSClientConfig:        cfg,
		ForceAttemptHTTP2:      false,
		MaxResponseHeaderBytes: 16 << 10,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  httpTimeout,
		DisableKeepAlives:      true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       httpTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ReadBody reads at most maxHTTPBody octets of a response body; a
// longer body is an error, not a silently cut one.
func ReadBody(r *http.Response) ([]byte, error) {
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, maxHTTPBody+1))
	if err == nil && len(b) > maxHTTPBody {
		err = fmt.Errorf("the body is longer than %d octets", maxHTTPBody)
	}
	return b, err
}

// connect makes one connection through Env.Dial, or a net.Dialer.
func (e Env) connect(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.Dial != nil {
		return e.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
