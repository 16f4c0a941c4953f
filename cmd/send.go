package cmd

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/net/publicsuffix"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
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
	tls          string // the direct path's
	relayTLS     string
	user         string
	passwordEnv  string
	passwordFile string
	deliver      bool
	probe        bool
	dkimKey      string
	dkimSelector string
	port         int
	httpsPort    int // the MTA-STS policy server's (labs)
	sourceIP     string
	caFile       string
	insecure     bool
	plaintext    bool
	relayCheck   string
	// pathSet: --path, or a config's send.path, was given; otherwise
	// a relays file's policy chooses the path.
	pathSet bool
	// pathFrom names where a path not from --path came from (a
	// config's send.path), for the report.
	pathFrom string
	// changed reports whether the command line gave a flag (set by
	// checkUse), for the flags a relays file's policy leaves unused.
	changed func(string) bool
}

func (o *sendOptions) register(f *pflag.FlagSet) {
	f.Var(&onceString{p: &o.to}, "to", "recipient ADDR of the test send (one; preflight route takes several)")
	f.StringVar(&o.path, "path", "", "direct (the recipient's MX; the default), relay (--relay/--relays), or auto (direct, then the relays); overrides a --relays file's policy, which otherwise chooses")
	f.StringArrayVar(&o.relays, "relay", nil, "relay HOST:PORT for --path relay or auto, repeatable, tried in the order given, after a relays file's")
	f.StringVar(&o.relaysFile, "relays", "", "relay FILE (YAML: a list of {host, priority, enabled, tls}, or that list under relays: with a gateway policy: never, on-error, for-domains or always; README)")
	f.StringVar(&o.tls, "tls", "", "TLS on the direct path: opportunistic (default: STARTTLS when offered), required or none")
	f.StringVar(&o.relayTLS, "relay-tls", "", "TLS with the relays: starttls (default; implicit on port 465), implicit or none")
	f.StringVar(&o.user, "auth-user", "", "user name for AUTH on the relays")
	f.StringVar(&o.passwordEnv, "password-env", "", "environment variable holding the AUTH password (needs --auth-user)")
	f.StringVar(&o.passwordFile, "password-file", "", "FILE holding the AUTH password (needs --auth-user)")
	f.BoolVar(&o.deliver, "deliver", false, "send a real test message (default: probe, QUIT after RCPT TO)")
	f.BoolVar(&o.probe, "probe", true, "stop after RCPT TO: nothing is delivered (the default)")
	f.IntVar(&o.port, "port", 0, "SMTP port of MX hosts (the direct path; check: also the tls check), 1 to 65535 (default 25; labs use others)")
	f.IntVar(&o.httpsPort, "https-port", 0, "port of MTA-STS policy servers, 1 to 65535 (default 443; labs use others)")
	f.StringVar(&o.sourceIP, "source-ip", "", "local IP to connect from")
	f.StringVar(&o.caFile, "ca-file", "", "PEM FILE of CA certificates to verify servers with (default: the system's)")
	f.BoolVar(&o.insecure, "insecure-skip-verify", false, "send AUTH credentials even when the relay's certificate does not verify")
	f.BoolVar(&o.plaintext, "allow-plaintext-auth", false, "send AUTH credentials over an unencrypted connection")
}

// onceString is a string flag that refuses a second value: a test send
// has one recipient, and a repeated --to must not drop all but the last.
type onceString struct {
	p   *string
	set bool
}

func (o *onceString) String() string {
	if o.p == nil {
		return ""
	}
	return *o.p
}

func (o *onceString) Set(s string) error {
	if o.set {
		return fmt.Errorf("given twice (%s, then %s): a test send has one recipient; preflight route plans several", names.Quote(*o.p), names.Quote(s))
	}
	*o.p, o.set = s, true
	return nil
}

func (o *onceString) Type() string { return "string" }

// Which flags of a test send each path uses: a flag the send would not
// use is a usage error (issue #16), not a setting silently dropped.
var (
	// relayOnlyFlags are used by the relays alone (--path relay, auto).
	relayOnlyFlags = []string{"relay", "relays", "relay-tls", "auth-user", "password-env", "password-file", "insecure-skip-verify", "allow-plaintext-auth"}
	// directOnlyFlags are used by the direct path alone (direct, auto).
	directOnlyFlags = []string{"tls", "port"}
	// relayCheckUnused are the flags --relay-check does not use.
	relayCheckUnused = []string{"path", "relay", "relays", "tls", "relay-tls", "auth-user", "password-env", "password-file",
		"deliver", "probe", "port", "https-port", "dkim-key", "selector", "insecure-skip-verify", "allow-plaintext-auth"}
	// sendFlags are every flag of check's test send, which needs --to.
	// --port, --source-ip and --ca-file are not among them: the tls
	// check uses them too.
	sendFlags = []string{"path", "relay", "relays", "tls", "relay-tls", "auth-user", "password-env", "password-file",
		"deliver", "probe", "insecure-skip-verify", "allow-plaintext-auth"}
)

// sendPathName names the send's path as a usage error does.
func sendPathName(o *sendCmdOptions) string {
	if o.relayCheck != "" {
		return "--relay-check"
	}
	return "--path " + o.path
}

// checkUse refuses the flags the command line gave that the send would
// not use, or that need another; changed reports whether the command line
// gave a flag. hasUser says an AUTH user is set (flag or config).
func (o *sendOptions) checkUse(changed func(string) bool, hasUser bool) error {
	if o.path == "" {
		// No default in the flag: a relays file's policy chooses when
		// --path is absent, and help must not say "direct".
		o.path = "direct"
	}
	if o.relayCheck != "" {
		for _, f := range relayCheckUnused {
			if changed(f) {
				return conflict("--relay-check", "--"+f, "the open-relay probe is one unauthenticated session with HOST:PORT that never sends DATA; it uses --mail-from, --to, --helo, --source-ip and --ca-file only")
			}
		}
		return nil
	}
	o.pathSet = o.pathSet || changed("path")
	o.changed = changed
	path := "--path " + o.path
	if !o.pathSet {
		path += " (the default)"
	}
	// Without --path, a relays file's policy may choose the relays: the
	// file is read (build) before the path is known.
	if o.path == "direct" && (o.pathSet || !changed("relays")) {
		for _, f := range relayOnlyFlags {
			// A relays file with a policy that --path direct overrides
			// is allowed (the report says so); build refuses one
			// without a policy.
			if changed(f) && f != "relays" {
				return conflict(path, "--"+f, "only the relays use it: give --path relay, or --path auto (direct, then the relays)")
			}
		}
	}
	if o.path == "relay" {
		for _, f := range directOnlyFlags {
			if changed(f) {
				return conflict(path, "--"+f, "only the direct path (the recipient's MX) uses it: the relays' TLS is --relay-tls, their port is in HOST:PORT")
			}
		}
	}
	switch {
	case changed("probe") && !o.probe && !o.deliver:
		return needs("--probe=false", "--deliver", "without --deliver the send is still a probe, which QUITs after RCPT TO")
	case changed("port") && (o.port < 1 || o.port > 65535):
		return fmt.Errorf("--port %d: want 1 to 65535", o.port)
	case changed("https-port") && (o.httpsPort < 1 || o.httpsPort > 65535):
		return fmt.Errorf("--https-port %d: want 1 to 65535", o.httpsPort)
	case changed("password-env") && !hasUser:
		return needs("--password-env", "--auth-user", "the password is for AUTH as that user")
	case changed("password-file") && !hasUser:
		return needs("--password-file", "--auth-user", "the password is for AUTH as that user")
	}
	return nil
}

// build makes the send from the flags (and a config's relays), reading
// their files; a warning about them goes to s.Err.
func (o *sendOptions) build(ctx context.Context, s Streams, helo names.Host, from string, cfgRelays []configRelay, dkim *checks.Target) (*delivery.Send, error) {
	send := &delivery.Send{Path: o.path, PathFrom: o.pathFrom, HELO: helo, Port: o.port, User: o.user,
		AllowPlaintextAuth: o.plaintext, Deliver: o.deliver, Insecure: o.insecure, RelayCheck: o.relayCheck}
	var err error
	if err = o.addresses(send, from); err != nil {
		return nil, err
	}
	var relayTLS delivery.TLSMode
	if send.TLS, relayTLS, err = o.checkFlags(); err != nil {
		return nil, err
	}
	if send.Relays, send.Policy, err = o.relayList(ctx, cfgRelays, relayTLS); err != nil {
		return nil, err
	}
	switch {
	case send.Policy != nil && !o.pathSet:
		send.Path = "" // the policy chooses, for each recipient
		if err := o.policyUse(send.Policy); err != nil {
			return nil, err
		}
	case send.Policy == nil && o.path == "direct" && o.relaysFile != "" && o.relayCheck == "":
		path := "--path direct"
		if !o.pathSet {
			path += " (the default)"
		}
		return nil, conflict(path, "--relays", "the relays file has no policy: key, so nothing would use its relays: give --path relay or auto, or a policy in the file (policy: on-error, for-domains or always; README)")
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
			return nil, needs("--dkim-key", "--selector", "a signature names the selector its key is published at")
		}
		if send.DKIMKey, err = loadKey(ctx, o.dkimKey); err != nil {
			return nil, err
		}
		sel, err := names.ParseSelector(o.dkimSelector)
		if err != nil {
			return nil, fmt.Errorf("--selector: %w", err)
		}
		send.DKIMSelector = string(sel)
	} else if dkim != nil && dkim.DKIMKey != nil && len(dkim.Selectors) == 1 {
		send.DKIMKey, send.DKIMSelector = dkim.DKIMKey, string(dkim.Selectors[0])
	}
	return send, nil
}

// policyUse refuses the flags a relays file's policy leaves unused, as
// checkUse does for --path: under always the MX is never contacted (no
// --tls, --port), under never the relays are not used (no --relay,
// --relay-tls, AUTH).
func (o *sendOptions) policyUse(p *delivery.Policy) error {
	if o.changed == nil {
		return nil
	}
	where := fmt.Sprintf("the policy at %s (policy: %s)", p.At["policy"], p.Name)
	switch p.Name {
	case delivery.PolicyAlways:
		for _, f := range directOnlyFlags {
			if o.changed(f) {
				return conflict(where, "--"+f, "mail goes through the gateways only and the recipient's MX is never contacted: the relays' TLS is --relay-tls, their port is in HOST:PORT")
			}
		}
	case delivery.PolicyNever:
		for _, f := range relayOnlyFlags {
			if o.changed(f) && f != "relays" {
				return conflict(where, "--"+f, "mail goes direct and the relays are never used: give --path relay or auto to use them")
			}
		}
	}
	return nil
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
		if s.From, err = parseAddress("--mail-from", from); err != nil {
			return err
		}
	}
	if o.relayCheck != "" && from == "" && s.HELO.IsLiteral() {
		return errors.New("--relay-check needs --mail-from ADDR when --helo is an address literal: the probe's sender is postmaster@ the HELO name otherwise")
	}
	return nil
}

// checkFlags checks --path, --tls, --relay-tls and --port, and returns
// the TLS modes of the direct path and of the relays.
func (o *sendOptions) checkFlags() (direct, relay delivery.TLSMode, err error) {
	if err := checkPath(o.path); err != nil {
		return 0, 0, fmt.Errorf("--path %w", err)
	}
	if direct, err = parseDirectTLS(o.tls); err != nil {
		return 0, 0, fmt.Errorf("--tls %w", err)
	}
	if relay, err = parseRelayTLS(o.relayTLS); err != nil {
		return 0, 0, fmt.Errorf("--relay-tls %w", err)
	}
	if o.port < 0 || o.port > 65535 {
		return 0, 0, fmt.Errorf("--port %d: want 1 to 65535", o.port)
	}
	return direct, relay, nil
}

// checkPath checks a path's name (--path, send.path).
func checkPath(path string) error {
	switch path {
	case "direct", "relay", "auto":
		return nil
	}
	return fmt.Errorf("%q: want direct, relay or auto", path)
}

// The two paths' TLS modes: the direct path's (--tls, send.tls) and the
// relays' (--relay-tls, send.relay_tls, a relay's tls).
var (
	directTLS = tlsPath{delivery.TLSMode.ForDirect, "the direct path", "the direct path's", "--tls (tls in a config)", []string{"opportunistic", "required", "none"}}
	relayTLS  = tlsPath{delivery.TLSMode.ForRelays, "the relays", "the relays'", "--relay-tls (relay_tls in a config)", []string{"starttls", "implicit", "none"}}
)

// tlsPath is one path's TLS modes, for reading and for errors.
type tlsPath struct {
	takes func(delivery.TLSMode) bool
	name  string   // "the direct path"
	whose string   // "the direct path's"
	flag  string   // where its mode is set
	modes []string // the modes it takes
}

// parse reads a mode of the path; other is the other path, named in the
// error for a mode of its.
func (p tlsPath) parse(s string, other tlsPath) (delivery.TLSMode, error) {
	m, err := delivery.ParseTLSMode(s)
	switch {
	case err == nil && p.takes(m):
		return m, nil
	case err == nil:
		return 0, fmt.Errorf("%q: a mode of %s, whose TLS is %s; %s modes are %s", s, other.name, other.flag, p.whose, joinWords(p.modes, "and"))
	}
	return 0, fmt.Errorf("%q: want %s", s, joinWords(p.modes, "or"))
}

// joinWords joins words as a sentence does: "a, b and c".
func joinWords(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// parseDirectTLS reads a TLS mode of the direct path.
func parseDirectTLS(s string) (delivery.TLSMode, error) { return directTLS.parse(s, relayTLS) }

// parseRelayTLS reads a TLS mode of the relays.
func parseRelayTLS(s string) (delivery.TLSMode, error) { return relayTLS.parse(s, directTLS) }

// relayList is the relays of the --relays file and of the config, then
// the --relay flags in the order given, after them all (priority low,
// added last); mode (--relay-tls) is the TLS of those that do not say
// theirs. A --relay that the file or config lists is that relay: it is
// not tried twice, and one they disable (enabled: false) is a usage
// error, not a way to enable it.
func (o *sendOptions) relayList(ctx context.Context, cfgRelays []configRelay, mode delivery.TLSMode) (out []delivery.Relay, policy *delivery.Policy, err error) {
	var flagRelays []delivery.Relay
	for _, r := range o.relays {
		addr, err := parseRelayAddr(r)
		if err != nil {
			return nil, nil, fmt.Errorf("--relay %w; want HOST:PORT", err)
		}
		flagRelays = append(flagRelays, delivery.Relay{Addr: addr, Priority: len(delivery.Priorities) - 1, TLS: mode, Enabled: true})
	}
	defer func() {
		if err != nil {
			return
		}
		for _, f := range flagRelays {
			i := slices.IndexFunc(out, func(r delivery.Relay) bool { return r.Addr == f.Addr })
			switch {
			case i < 0:
				out = append(out, f)
			case !out[i].Enabled:
				out, policy, err = nil, nil, fmt.Errorf("--relay %s: the relays file (or config) disables this relay (enabled: false); enable it there, or leave out --relay", names.Quote(f.Addr))
				return
			}
		}
	}()
	if o.relaysFile != "" {
		b, _, err := inputfile.ReadFile(ctx, o.relaysFile, inputfile.YAML)
		if err != nil {
			return nil, nil, fmt.Errorf("--relays: %w", err)
		}
		rs, p, err := readRelays(o.relaysFile, b)
		if err != nil {
			return nil, nil, fmt.Errorf("--relays: %w", err)
		}
		policy = p
		cfgRelays = append(cfgRelays, rs...)
	}
	for _, r := range cfgRelays {
		rel, err := relayFrom(r, mode)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, rel)
	}
	return out, policy, nil
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
		fmt.Fprintf(s.Err, "preflight: warning: %s %s can be read by other users (mode %04o); chmod 600 it\n", flag, errorText(path), fi.Mode().Perm())
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

// relaysFile is a relays file: the gateways and the policy that says
// when to use them (issue #22). A file that is a bare list of relays is
// the relays alone, with no policy.
type relaysFile struct {
	Policy     string        `yaml:"policy"`
	FallbackOn []string      `yaml:"fallback_on"`
	Domains    []string      `yaml:"domains"`
	Relays     []configRelay `yaml:"relays"`
}

// readRelays reads a relays file: a list of relays, or that list under
// a top-level relays: key (the shape of preflight.yaml's) with the
// gateway policy beside it. Each value is checked; errors name
// file:line and the key. The policy is nil when the file has none.
func readRelays(path string, b []byte) ([]configRelay, *delivery.Policy, error) {
	var (
		f      relaysFile
		d      *yamlDoc
		err    error
		prefix string
	)
	if yamlTopIsList(b) {
		d, err = decodeYAML(path, b, &f.Relays)
	} else {
		d, err = decodeYAML(path, b, &f)
		prefix = "relays."
	}
	if err != nil {
		return nil, nil, err
	}
	for i, r := range f.Relays {
		if _, err := relayFrom(r, 0); err != nil {
			key := prefix + strconv.Itoa(i)
			var fe *fieldError
			if errors.As(err, &fe) {
				key += "." + fe.field
			}
			return nil, nil, d.keyError(key, err)
		}
	}
	if len(f.Relays) == 0 {
		return nil, nil, fmt.Errorf(`%s: no relays: want a list of relays, such as - {host: "smtp.example.net:587", priority: high}`, path)
	}
	p, err := f.policy(d)
	if err != nil {
		return nil, nil, err
	}
	return f.Relays, p, nil
}

// policy checks and reads the file's gateway policy; nil without one.
func (f *relaysFile) policy(d *yamlDoc) (*delivery.Policy, error) {
	at := func(key string) string { return fmt.Sprintf("%s:%d", d.path, d.lines[key]) }
	fail := func(key, format string, args ...any) error {
		return errors.New(d.message(d.lines[key], key, fmt.Sprintf(format, args...)))
	}
	_, hasFallback := d.lines["fallback_on"]
	_, hasDomains := d.lines["domains"]
	switch {
	case f.Policy == "" && hasFallback:
		return nil, fail("fallback_on", "it says when policy: on-error falls back, and the file has no policy; add policy: on-error")
	case f.Policy == "" && hasDomains:
		return nil, fail("domains", "it says which recipients policy: for-domains sends through the gateways, and the file has no policy; add policy: for-domains")
	case f.Policy == "":
		if _, ok := d.lines["policy"]; ok {
			return nil, fail("policy", "empty: want %s", joinWords(delivery.PolicyNames, "or"))
		}
		return nil, nil
	case !slices.Contains(delivery.PolicyNames, f.Policy):
		return nil, fail("policy", "%s: want %s", inputfile.Excerpt(f.Policy), joinWords(delivery.PolicyNames, "or"))
	case hasFallback && f.Policy != delivery.PolicyOnError:
		return nil, fail("fallback_on", "it is for policy: on-error, and the policy is %s (line %d)", f.Policy, d.lines["policy"])
	case hasDomains && f.Policy != delivery.PolicyForDomains:
		return nil, fail("domains", "it is for policy: for-domains, and the policy is %s (line %d)", f.Policy, d.lines["policy"])
	case f.Policy == delivery.PolicyForDomains && len(f.Domains) == 0:
		line, ok := d.lines["domains"] // domains: [] is at its line
		if !ok {
			line = d.lines["policy"]
		}
		return nil, errors.New(d.message(line, "domains", "policy: for-domains needs the list of recipient domains the gateways are for"))
	}
	p := &delivery.Policy{Name: f.Policy, At: map[string]string{"policy": at("policy")}}
	if f.Policy == delivery.PolicyOnError {
		p.FallbackOn = delivery.ErrorClasses // the default: every class
		if hasFallback {
			p.At["fallback_on"], p.FallbackOn = at("fallback_on"), nil
			if len(f.FallbackOn) == 0 {
				return nil, fail("fallback_on", "empty: a policy that never falls back is policy: never")
			}
			for _, s := range f.FallbackOn {
				c, err := delivery.ParseErrorClass(s)
				if err != nil {
					return nil, fail("fallback_on", "%s: want dns, connect or smtp", inputfile.Excerpt(s))
				}
				if !slices.Contains(p.FallbackOn, c) {
					p.FallbackOn = append(p.FallbackOn, c)
				}
			}
		}
	}
	if hasDomains {
		p.At["domains"] = at("domains")
		if len(f.Domains) > maxPolicyDomains {
			return nil, fail("domains", "%d domains: at most %d", len(f.Domains), maxPolicyDomains)
		}
		for _, s := range f.Domains {
			dom, err := delivery.NormalizePolicyDomain(s)
			if err != nil {
				return nil, fail("domains", "%s: %v; want a domain (gmail.com), or .domain for its subdomains (.example.com)", inputfile.Excerpt(s), err)
			}
			if ps, icann := publicsuffix.PublicSuffix(strings.TrimPrefix(dom, ".")); ps == strings.TrimPrefix(dom, ".") && (icann || !strings.Contains(ps, ".")) {
				// com, .com, .co.uk, gmail: every recipient under a public
				// suffix (or a single label) would go to the gateways.
				return nil, fail("domains", "%s is a public suffix or a single label, not a receiver's domain: every recipient under it would go through the gateways; want a domain (gmail.com), or .domain for its subdomains (.example.com)", inputfile.Excerpt(s))
			}
			if !slices.Contains(p.Domains, dom) {
				p.Domains = append(p.Domains, dom)
			}
		}
	}
	if f.Policy != delivery.PolicyNever && !slices.ContainsFunc(f.Relays, func(r configRelay) bool { return r.Enabled == nil || *r.Enabled }) {
		return nil, fail("policy", "%s, and every relay is disabled (enabled: false): enable one, or policy: never", f.Policy)
	}
	return p, nil
}

// maxPolicyDomains bounds a for-domains list.
const maxPolicyDomains = 1000

// relayFrom makes a relay of an entry of a relays file or a config;
// mode (--relay-tls) is its TLS when it does not say its own.
func relayFrom(r configRelay, mode delivery.TLSMode) (delivery.Relay, error) {
	addr, err := parseRelayAddr(r.Host)
	if err != nil {
		return delivery.Relay{}, &fieldError{field: "host", err: fmt.Errorf("relay %w", err)}
	}
	prio := 2 // normal
	if r.Priority != "" {
		p, err := delivery.ParsePriority(r.Priority)
		if err != nil {
			return delivery.Relay{}, &fieldError{field: "priority", err: fmt.Errorf("relay %s: %w", addr, err)}
		}
		prio = p
	}
	if r.TLS != "" {
		m, err := parseRelayTLS(r.TLS)
		if err != nil {
			return delivery.Relay{}, &fieldError{field: "tls", err: fmt.Errorf("relay %s: tls %w", addr, err)}
		}
		mode = m
	}
	return delivery.Relay{Addr: addr, Priority: prio, TLS: mode, Enabled: r.Enabled == nil || *r.Enabled}, nil
}

// parseRelayAddr checks a relay's HOST:PORT (a relays file's host:, a
// config's, --relay) and returns it with the host in ASCII (A-labels)
// and lower case: an IP address or a domain name, and a port of 1 to
// 65535 in digits. A bad value is an error here, naming it, not a
// connection to some other port at send time.
func parseRelayAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%s: not HOST:PORT", names.Quote(s))
	}
	if n, err := strconv.Atoi(port); err != nil || strings.Trim(port, "0123456789") != "" || port[0] == '0' || n < 1 || n > 65535 {
		return "", fmt.Errorf("%s: the port %s is not a number from 1 to 65535", names.Quote(s), names.Quote(port))
	}
	if host == "" {
		return "", fmt.Errorf("%s: no host before the port", names.Quote(s))
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Zone() == "" {
		return net.JoinHostPort(ip.String(), port), nil
	}
	if strings.Trim(host, "0123456789.") == "" {
		return "", fmt.Errorf("%s: %s is not an IP address", names.Quote(s), names.Quote(host))
	}
	name, err := resolver.NormalizeDomain(host)
	if err != nil || strings.Contains(name, "*") {
		return "", fmt.Errorf("%s: %s is not a host name", names.Quote(s), names.Quote(host))
	}
	return net.JoinHostPort(name, port), nil
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
				return nil, fmt.Errorf("refusing to connect to %s: %s is set (tests stay on loopback): %w", addr, loopbackOnlyEnv, checks.ErrLoopbackOnly)
			}
		}
		return d.DialContext(ctx, network, addr)
	}, nil
}

type sendCmdOptions struct {
	*globalOptions
	sendOptions
	helo        string
	saveMessage string
}

func newCmdSend(g *globalOptions) *cobra.Command {
	o := &sendCmdOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "send --mail-from ADDR --to ADDR [--path direct|relay|auto] [--relay HOST:PORT]... [--deliver]",
		Short: "A real SMTP conversation: direct to the MX, or through relays with failover",
		Long: `Talk SMTP to the recipient's MX hosts (direct), or to authenticated relays in
priority order until one accepts (relay), or direct first and the relays when
that fails (auto). Every attempt is reported with its transcript (--verbose
prints it as it happens); AUTH exchanges and passwords appear nowhere.

TLS: on the direct path STARTTLS is used when offered (--tls opportunistic,
the default), or required (--tls required), or never (--tls none). With the
relays, --relay-tls starttls (the default), implicit (TLS from the first
byte; the default on port 465, RFC 8314) or none; a relays file may give
each relay its own tls. Certificates are checked against the system roots
or --ca-file; a relay whose certificate does not verify gets no credentials,
and AUTH PLAIN/LOGIN goes over TLS only. A TLS/plain mismatch is reported
within a second. Relay names resolve through --resolver/--zone (not
/etc/hosts); --offline connects to loopback only.

MTA-STS: the direct path applies the recipient domain's MTA-STS policy
(RFC 8461) as a compliant MTA does. In enforce mode only the MX hosts the
policy names are tried, and only over TLS whose certificate verifies for
the MX name (else send.mta_sts_refused); testing mode delivers as usual.
The policy is fetched from https://mta-sts.DOMAIN (--https-port for labs)
within its own time limit; when it cannot be fetched the send goes ahead
without a policy. The report's mta_sts evidence says which policy was
applied, or why none was.

By default this is a probe: QUIT after RCPT TO, nothing is delivered.
--deliver sends a generated test message, DKIM-signed with --dkim-key and
--selector. --dkim-key is the same as in check and dkim: the private key is
checked against the public key published at --selector for the sender's
domain (the dkim check joins the report), and with --deliver it signs. --relay-check HOST:PORT instead checks whether a server relays
for strangers (DATA is never sent): from --mail-from (default postmaster@
the HELO name) to --to (default an address at example.net). Only a refusal
to relay at RCPT TO passes; greylisting or a refusal of the sender leaves
the question open (exit 3).

A relays file (--relays) may hold a gateway policy beside the relays: never,
on-error (with fallback_on: the error classes dns, connect, smtp that go on to
the gateways), for-domains (with domains: the recipients the gateways are for)
or always. Without --path the policy chooses, and the report names the line
that chose (send.route); --path overrides it, and the report says so. Each
failed attempt is classified dns, connect or smtp, and a fallback names the
class and the line that allowed or refused it. preflight route shows the way
without sending. A gateway's acceptance proves the gateway hop only.

A flag the send would not use is a usage error naming it: relay flags
(--relay, --relays, --relay-tls, --auth-user, the password flags) with
--path direct, --tls or --port with --path relay, --selector without
--dkim-key, a password without --auth-user, send flags with --relay-check.
The old names --from and --dkim-selector still work, with a warning.

Passwords come from --password-env VAR or --password-file FILE, never a flag.` + "\n\n" + findingsHelp("send"),
		Example: `  # Would gmail.com accept mail from this server? (nothing is delivered)
  preflight send --mail-from postmaster@example.com --to someone@gmail.com --helo mail.example.com

  # Through the provider's relay, with failover to a second one
  SMTP_PASSWORD=... preflight send --mail-from me@example.com --to me@example.net --path relay \
    --relay smtp.example.net:587 --relay backup.example.net:587 --auth-user me@example.com --password-env SMTP_PASSWORD

  # A real, DKIM-signed test message
  preflight send --mail-from me@example.com --to me@example.net --deliver --dkim-key s1.pem --selector s1

  # The relays file's gateway policy chooses the path (policy: for-domains ...)
  preflight send --mail-from me@example.com --to someone@gmail.com --helo mail.example.com \
    --relays relays.yaml --auth-user me@example.com --password-file smtp.pass

  # Is my server an open relay?
  preflight send --relay-check mail.example.com:25`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := c.Flags()
	f.StringVar(&o.from, "mail-from", "", "envelope sender ADDR")
	f.StringVar(&o.helo, "helo", "", "name to say in EHLO (default: this host's name)")
	f.StringVar(&o.dkimKey, "dkim-key", "", "private key FILE of --selector: checked against the published key, and with --deliver it signs the message")
	f.StringVarP(&o.dkimSelector, "selector", "s", "", "DKIM selector of --dkim-key")
	f.StringVar(&o.relayCheck, "relay-check", "", "HOST:PORT to probe for open relaying instead of sending")
	f.StringVar(&o.saveMessage, "save-message", "", "with --deliver: write the message a server accepted, exactly as sent, to FILE (then: preflight message FILE)")
	o.register(f)
	alias(f, "from", "mail-from")
	alias(f, "dkim-selector", "selector")
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

// run is the send command: the addresses first, then the send, and with
// --dkim-key the dkim check of the key beside it.
func (o *sendCmdOptions) run(cmd *cobra.Command) error {
	changed := func(name string) bool { return changedFlag(cmd, name) }
	if err := o.checkUse(changed, o.user != ""); err != nil {
		return err
	}
	if changed("trust-anchor") && (o.relayCheck != "" || o.path == "relay") {
		// DANE applies to the direct path alone (RFC 7672: the
		// recipient's MX hosts); the relays are not looked up securely.
		return conflict(sendPathName(o), "--trust-anchor", "only the direct path validates DNSSEC (the recipient's DANE TLSA records)")
	}
	if o.saveMessage != "" && !o.deliver {
		return needs("--save-message", "--deliver", "without it nothing is sent")
	}
	if o.saveMessage != "" {
		// Before anything is sent: a message delivered and then not
		// saved is a send the user cannot check.
		if err := writable(o.saveMessage); err != nil {
			return fmt.Errorf("--save-message: %w", err)
		}
	}
	if o.relayCheck == "" {
		// What to send, then how: a send with no flags is told
		// about its addresses first.
		if _, err := parseAddress("--mail-from", o.from); err != nil {
			return err
		}
		if _, err := parseAddress("--to", o.to); err != nil {
			return err
		}
		if changed("selector") && o.dkimKey == "" {
			return needs("--selector", "--dkim-key", "the selector names where the key is published")
		}
	}
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
	var (
		mu   sync.Mutex
		sent []byte
	)
	if o.saveMessage != "" {
		s.Delivered = func(msg []byte) { mu.Lock(); sent = msg; mu.Unlock() }
	}
	t := checks.Target{HELO: helo, MailFrom: s.From, Send: s}
	ids := []string{"send"}
	if s.DKIMKey != nil {
		// --dkim-key is what it is in every command: the key is
		// checked against the one published at --selector for the
		// sender's domain, and with --deliver it signs.
		t.Domain, t.Selectors, t.DKIMKey = s.From.Domain, []names.Selector{names.Selector(s.DKIMSelector)}, s.DKIMKey
		ids = []string{"dkim", "send"}
	}
	err = o.runChecks(cmd, t, envOptions{dial: dial, tls: checks.TLSSettings{HTTPSPort: o.httpsPort}}, ids...)
	if o.saveMessage != "" {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case sent == nil:
			fmt.Fprintf(o.streams.Err, "preflight send: --save-message: no server accepted the message; %s not written\n", o.saveMessage)
		default:
			if werr := os.WriteFile(o.saveMessage, sent, 0o644); werr != nil {
				fmt.Fprintf(o.streams.Err, "preflight send: --save-message: %v\n", werr)
				return cmp.Or(err, error(exitError{report.ExitIncomplete}))
			}
		}
	}
	return err
}

// writable reports whether a message can be saved at path: a regular
// file or a new one in an existing directory that can be written (a
// temporary file tried there is removed). It does not open a FIFO,
// which would wait for a reader.
func writable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".preflight-save-*")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot create %s: no directory %s", path, dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot create %s: permission denied in %s", path, dir)
	case err != nil:
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
