package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// The HTTPS and TLS seams resolve through the run's resolver (zone
// files here, offline), never /etc/hosts, and connect to nothing outside
// this machine with --offline.
func TestEnvHTTPClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		case "/big":
			w.Write([]byte(strings.Repeat("x", maxHTTPBody+1)))
		default:
			fmt.Fprint(w, "version: STSv1\nmode: enforce\n")
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	env := zoneEnv(t, `$ORIGIN example.test.
@ 3600 IN SOA ns. host. 1 3600 600 86400 60
mta-sts 3600 IN A 127.0.0.1
far 3600 IN A 203.0.113.9
`)
	var dials atomic.Int64
	env.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	cfg := &tls.Config{RootCAs: poolOf(srv), ServerName: "example.com"} // httptest's certificate name
	c := env.HTTPClient(cfg)
	get := func(host, path string) (*http.Response, error) {
		return c.Get("https://" + net.JoinHostPort(host, port) + path)
	}

	resp, err := get("mta-sts.example.test", "/.well-known/mta-sts.txt")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ReadBody(resp); err != nil || !strings.HasPrefix(string(b), "version: STSv1") {
		t.Errorf("body %q, %v", b, err)
	}
	if resp, err := get("mta-sts.example.test", "/redirect"); err != nil || resp.StatusCode != http.StatusFound {
		t.Errorf("redirect: %v, %v (want the 302 itself)", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := get("mta-sts.example.test", "/big"); err != nil {
		t.Error(err)
	} else if _, err := ReadBody(resp); err == nil {
		t.Error("ReadBody: no error for a body over the limit")
	}

	before := dials.Load()
	if _, err := get("far.example.test", "/"); !errors.Is(err, ErrOffline) {
		t.Errorf("offline, address outside this machine: %v, want ErrOffline", err)
	}
	if _, err := get("localhost", "/"); err == nil || !strings.Contains(err.Error(), "looking up localhost") {
		t.Errorf("localhost (in /etc/hosts, not in the zones): %v, want a lookup error", err)
	}
	if n := dials.Load() - before; n != 0 {
		t.Errorf("%d connections made for names that must not connect", n)
	}

	tc, err := env.DialTLS(context.Background(), "mta-sts.example.test", atoi(t, port), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc.Close()
}

func poolOf(srv *httptest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(srv.Certificate())
	return p
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
