package cmd

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver"
	"github.com/preflight-mail/preflight/smtp"
)

// loopbackOnlyEnv, when "1", makes every SMTP connection outside
// 127.0.0.0/8 and ::1 fail: the test suite sets it, so a test can never
// reach the Internet.
const loopbackOnlyEnv = "PREFLIGHT_DIAL_LOOPBACK_ONLY"

// sendOptions are the flags of a test send (send, and check --send-to).
type sendOptions struct {
	from, to     string
	path         string
	relays       []string
	relaysFile   string
	tls          string
	user         string
	passwordEnv  string
	passwordFile string
	deliver      bool
	probe        bool
	dkimKey      string
	dkimSelector string
	port         int
	sourceIP     string
	caFile       string
	insecure     bool
	plaintext    bool
	relayCheck   string
}

func (o *sendOptions) register(f *pflag.FlagSet, toFlag string) {
	f.StringVar(&o.to, toFlag, "", "recipient ADDR of the test send")
	f.StringVar(&o.path, "path", "direct", "direct (the recipient's MX), relay (--relay/--relays), or auto (direct, then the relays)")
	f.StringArrayVar(&o.relays, "relay", nil, "relay HOST:PORT, repeatable, tried in the order given")
	f.StringVar(&o.relaysFile, "relays", "", "relay FILE (YAML: host, priority highest..low, enabled, tls)")
	f.StringVar(&o.tls, "tls", "", "direct: opportunistic (default), required or none; relays: starttls (default), implicit or none")
	f.StringVar(&o.user, "auth-user", "", "user name for AUTH on the relays")
	f.StringVar(&o.passwordEnv, "password-env", "", "environment variable holding the AUTH password")
	f.StringVar(&o.passwordFile, "password-file", "", "FILE holding the AUTH password")
	f.BoolVar(&o.deliver, "deliver", false, "send a real test message (default: probe, QUIT after RCPT TO)")
	f.BoolVar(&o.probe, "probe", true, "stop after RCPT TO: nothing is delivered (the default)")
	f.IntVar(&o.port, "port", 0, "port of the direct path (default 25; labs use others)")
	f.StringVar(&o.sourceIP, "source-ip", "", "local IP to connect from")
	f.StringVar(&o.caFile, "ca-file", "", "PEM FILE of CA certificates to verify servers with (default: the system's)")
	f.BoolVar(&o.insecure, "insecure-skip-verify", false, "send AUTH credentials even when the relay's certificate does not verify")
	f.BoolVar(&o.plaintext, "allow-plaintext-auth", false, "send AUTH credentials over an unencrypted connection")
}

// build makes the send from the flags (and a config's relays), reading
// their files; a warning about them goes to s.Err.
func (o *sendOptions) build(ctx context.Context, s Streams, helo names.Host, from string, cfgRelays []configRelay, dkim *checks.Target) (*delivery.Send, error) {
	send := &delivery.Send{Path: o.path, HELO: helo, Port: o.port, User: o.user,
		AllowPlaintextAuth: o.plaintext, Deliver: o.deliver, Insecure: o.insecure, RelayCheck: o.relayCheck}
	var err error
	if err = o.addresses(send, from); err != nil {
		return nil, err
	}
	if send.TLS, err = o.checkFlags(); err != nil {
		return nil, err
	}
	if send.Relays, err = o.relayList(ctx, cfgRelays, send.TLS); err != nil {
		return nil, err
	}
	if (send.Path == "relay" || send.Path == "auto") && len(send.Relays) == 0 && o.relayCheck == "" {
		return nil, fmt.Errorf("--path %s needs --relay HOST:PORT or --relays FILE", send.Path)
	}
	if send.Password, err = o.password(ctx, s); err != nil {
		return nil, err
	}
	if send.User != "" && send.Password == "" {
		return nil, errors.New("--auth-user needs --password-env VAR or --password-file FILE (never the password itself as a flag)")
	}
	if strings.ContainsFunc(send.User, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		// A NUL would break SASL PLAIN's framing; CR or LF the command.
		return nil, fmt.Errorf("--auth-user %s: control characters are not allowed", names.Quote(send.User))
	}
	if send.RootCAs, err = o.rootCAs(ctx); err != nil {
		return nil, err
	}
	if o.dkimKey != "" {
		if o.dkimSelector == "" {
			return nil, errors.New("--dkim-key needs --dkim-selector")
		}
		if send.DKIMKey, err = loadKey(ctx, o.dkimKey); err != nil {
			return nil, err
		}
		sel, err := names.ParseSelector(o.dkimSelector)
		if err != nil {
			return nil, fmt.Errorf("--dkim-selector: %w", err)
		}
		send.DKIMSelector = string(sel)
	} else if dkim != nil && dkim.DKIMKey != nil && len(dkim.Selectors) == 1 {
		send.DKIMKey, send.DKIMSelector = dkim.DKIMKey, string(dkim.Selectors[0])
	}
	return send, nil
}

// addresses sets the envelope of s. The open-relay probe has its own
// defaults for both addresses (delivery.ProbeRelay): the sender is
// postmaster@ the HELO name, a name the user gives.
func (o *sendOptions) addresses(s *delivery.Send, from string) error {
	var err error
	if o.relayCheck != "" {
		if _, _, err := net.SplitHostPort(o.relayCheck); err != nil {
			return fmt.Errorf("--relay-check %q: want HOST:PORT", o.relayCheck)
		}
	}
	if o.relayCheck == "" || o.to != "" {
		if s.To, err = parseAddress("--to", o.to); err != nil {
			return err
		}
	}
	if o.relayCheck == "" || from != "" {
		if s.From, err = parseAddress("--from", from); err != nil {
			return err
		}
	}
	if o.relayCheck != "" && from == "" && s.HELO.IsLiteral() {
		return errors.New("--relay-check needs --from ADDR when --helo is an address literal: the probe's sender is postmaster@ the HELO name otherwise")
	}
	return nil
}

// checkFlags checks --path, --tls, --port and --deliver, and returns the
// TLS mode.
func (o *sendOptions) checkFlags() (delivery.TLSMode, error) {
	switch o.path {
	case "direct", "relay", "auto":
	default:
		return 0, fmt.Errorf("--path %q: want direct, relay or auto", o.path)
	}
	mode, err := delivery.ParseTLSMode(o.tls)
	if err != nil {
		return 0, fmt.Errorf("--tls %q: want starttls, implicit, none, opportunistic or required", o.tls)
	}
	if o.port < 0 || o.port > 65535 {
		return 0, fmt.Errorf("--port %d: want 1 to 65535", o.port)
	}
	if o.deliver && !o.probe {
		return 0, errors.New("--deliver and --probe=false say the same; give --deliver")
	}
	return mode, nil
}

// relayList is the --relay flags in order (with the --tls mode), then
// the relays of the --relays file and of the config.
func (o *sendOptions) relayList(ctx context.Context, cfgRelays []configRelay, mode delivery.TLSMode) ([]delivery.Relay, error) {
	var out []delivery.Relay
	for i, r := range o.relays {
		if _, _, err := net.SplitHostPort(r); err != nil {
			return nil, fmt.Errorf("--relay %q: want HOST:PORT", r)
		}
		out = append(out, delivery.Relay{Addr: r, Priority: min(i, len(delivery.Priorities)-1), TLS: mode, Enabled: true})
	}
	if o.relaysFile != "" {
		b, _, err := inputfile.ReadFile(ctx, o.relaysFile, inputfile.YAML)
		if err != nil {
			return nil, fmt.Errorf("--relays: %w", err)
		}
		var f struct {
			Relays []configRelay `yaml:"relays"`
		}
		if err := decodeYAML(o.relaysFile, b, &f); err != nil {
			return nil, fmt.Errorf("--relays: %w", err)
		}
		cfgRelays = append(cfgRelays, f.Relays...)
	}
	for _, r := range cfgRelays {
		rel, err := relayFrom(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

// password reads the AUTH password from --password-env or
// --password-file; never from a flag value.
func (o *sendOptions) password(ctx context.Context, s Streams) (string, error) {
	switch {
	case o.passwordEnv != "" && o.passwordFile != "":
		return "", errors.New("give --password-env or --password-file, not both")
	case o.passwordEnv != "":
		p := s.Getenv(o.passwordEnv)
		if p == "" {
			return "", fmt.Errorf("--password-env %s: the variable is empty or not set", o.passwordEnv)
		}
		if err := smtp.CheckSecret(p); err != nil {
			return "", fmt.Errorf("--password-env %s: %w", o.passwordEnv, err)
		}
		return p, nil
	case o.passwordFile != "":
		b, err := readSecret(ctx, s, "--password-file", o.passwordFile)
		if err != nil {
			return "", err
		}
		p := strings.TrimRight(string(b), "\r\n")
		if err := smtp.CheckSecret(p); err != nil {
			return "", fmt.Errorf("--password-file %s: %w", o.passwordFile, err)
		}
		return p, nil
	}
	return "", nil
}

// readSecret reads a secret's file (a regular file, a few KB at most),
// and warns on s.Err when other users may read it.
func readSecret(ctx context.Context, s Streams, flag, path string) ([]byte, error) {
	b, fi, err := inputfile.ReadFile(ctx, path, inputfile.Secret)
	if err == nil {
		// A secret with a NUL is some other file (/proc/self/environ),
		// not to be sent anywhere as a password.
		err = inputfile.CheckText(path, b, inputfile.Secret)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if inputfile.OthersCanRead(fi) {
		fmt.Fprintf(s.Err, "preflight: warning: %s %s can be read by other users (mode %04o); chmod 600 it\n", flag, path, fi.Mode().Perm())
	}
	return b, nil
}

// rootCAs reads --ca-file; nil without it (the system's roots).
func (o *sendOptions) rootCAs(ctx context.Context) (*x509.CertPool, error) {
	if o.caFile == "" {
		return nil, nil
	}
	pem, _, err := inputfile.ReadFile(ctx, o.caFile, inputfile.Certs)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", o.caFile)
	}
	return pool, nil
}

func relayFrom(r configRelay) (delivery.Relay, error) {
	if _, _, err := net.SplitHostPort(r.Host); err != nil {
		return delivery.Relay{}, fmt.Errorf("relay %q: want host HOST:PORT", r.Host)
	}
	prio := 2 // normal
	if r.Priority != "" {
		p, err := delivery.ParsePriority(r.Priority)
		if err != nil {
			return delivery.Relay{}, fmt.Errorf("relay %s: %w", r.Host, err)
		}
		prio = p
	}
	mode, err := delivery.ParseTLSMode(r.TLS)
	if err != nil || !mode.ForRelays() {
		return delivery.Relay{}, fmt.Errorf("relay %s: tls %q, want starttls, implicit or none", r.Host, r.TLS)
	}
	return delivery.Relay{Addr: r.Host, Priority: prio, TLS: mode, Enabled: r.Enabled == nil || *r.Enabled}, nil
}

// parseAddress wants local@domain with a valid domain, stored with its
// domain in ASCII.
func parseAddress(flag, a string) (names.Address, error) {
	if a == "" {
		return names.Address{}, fmt.Errorf("%s is required: an address like postmaster@example.com", flag)
	}
	addr, err := names.ParseAddress(a)
	if err != nil {
		return names.Address{}, fmt.Errorf("%s %q: %w", flag, a, err)
	}
	return addr, nil
}

// dialer connects from --source-ip, and only to loopback when the test
// suite asks so.
func (o *sendOptions) dialer(getenv func(string) string) (func(context.Context, string, string) (net.Conn, error), error) {
	var d net.Dialer
	if o.sourceIP != "" {
		ip, err := resolver.ParseIP(o.sourceIP)
		if err != nil {
			return nil, fmt.Errorf("--source-ip: %w", err)
		}
		d.LocalAddr = &net.TCPAddr{IP: ip.AsSlice()}
	}
	loopbackOnly := getenv(loopbackOnlyEnv) == "1"
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if loopbackOnly {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return nil, fmt.Errorf("refusing to connect to %s: %s is set (tests stay on loopback)", addr, loopbackOnlyEnv)
			}
		}
		return d.DialContext(ctx, network, addr)
	}, nil
}

type sendCmdOptions struct {
	*globalOptions
	sendOptions
	helo string
}

func newCmdSend(g *globalOptions) *cobra.Command {
	o := &sendCmdOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "send --from ADDR --to ADDR [--path direct|relay|auto] [--relay HOST:PORT]... [--deliver]",
		Short: "A real SMTP conversation: direct to the MX, or through relays with failover",
		Long: `Talk SMTP to the recipient's MX hosts (direct), or to authenticated relays in
priority order until one accepts (relay), or direct first and the relays when
that fails (auto). STARTTLS is used when offered (--tls required makes it
mandatory); certificates are checked against the system roots or --ca-file,
and a relay whose certificate does not verify gets no credentials. AUTH
PLAIN/LOGIN only over TLS. Every attempt is reported with its transcript
(--verbose prints it); AUTH exchanges and passwords appear nowhere.

By default this is a probe: QUIT after RCPT TO, nothing is delivered.
--deliver sends a generated test message, DKIM-signed with --dkim-key and
--dkim-selector. --relay-check HOST:PORT instead checks whether a server
relays for strangers (DATA is never sent): from --from (default postmaster@
the HELO name) to --to (default an address at example.net). Only a refusal
to relay at RCPT TO passes; greylisting or a refusal of the sender leaves
the question open (exit 3).

Relays on port 465 use implicit TLS unless --tls says otherwise; a TLS/plain
mismatch is reported within a second. Relay names resolve through
--resolver/--zone (not /etc/hosts); --offline connects to loopback only.

Passwords come from --password-env VAR or --password-file FILE, never a flag.` + "\n\n" + findingsHelp("send"),
		Example: `  # Would gmail.com accept mail from this server? (nothing is delivered)
  preflight send --from postmaster@example.com --to someone@gmail.com --helo mail.example.com

  # Through the provider's relay, with failover to a second one
  SMTP_PASSWORD=... preflight send --from me@example.com --to me@example.net --path relay \
    --relay smtp.example.net:587 --relay backup.example.net:587 --auth-user me@example.com --password-env SMTP_PASSWORD

  # Is my server an open relay?
  preflight send --relay-check mail.example.com:25`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			helo, err := heloOrHostname(o.helo)
			if err != nil {
				return err
			}
			s, err := o.build(cmd.Context(), o.streams, helo, o.from, nil, nil)
			if err != nil {
				return err
			}
			dial, err := o.dialer(o.streams.Getenv)
			if err != nil {
				return err
			}
			return o.runCheck(cmd, "send", checks.Target{HELO: helo, Send: s}, envOptions{dial: dial})
		},
	}
	f := c.Flags()
	f.StringVar(&o.from, "from", "", "envelope sender ADDR")
	f.StringVar(&o.helo, "helo", "", "name to say in EHLO (default: this host's name)")
	f.StringVar(&o.dkimKey, "dkim-key", "", "private key FILE to DKIM-sign the --deliver message")
	f.StringVar(&o.dkimSelector, "dkim-selector", "", "selector of --dkim-key")
	f.StringVar(&o.relayCheck, "relay-check", "", "HOST:PORT to probe for open relaying instead of sending")
	o.register(f, "to")
	return c
}

// heloOrHostname normalises --helo, or uses this host's name.
func heloOrHostname(h string) (names.Host, error) {
	if h == "" {
		name, err := os.Hostname()
		if err != nil || !strings.Contains(name, ".") {
			return names.Host{}, errors.New("--helo is required: this host's name is not fully qualified")
		}
		h = name
	}
	return parseHELO(h)
}
