package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/report"
)

// routeGateways are the gateways of every policy of TestRoute, in the
// file's order: low, disabled highest, high, normal.
const routeGateways = `relays:
  - {host: "low.gw.test:587", priority: low}
  - {host: "off.gw.test:587", priority: highest, enabled: false}
  - {host: "high.gw.test:587", priority: high}
  - {host: "normal.gw.test:25"}
`

// TestRoute runs preflight route over a zone file, offline: for each
// policy and recipient, the path, the rule that chose it (file:line and
// key) and the hosts in order, the skipped ones marked.
func TestRoute(t *testing.T) {
	const gws = "off.gw.test:587/skipped high.gw.test:587 normal.gw.test:25 low.gw.test:587"
	// A recipient domain that cannot receive: no gateway either.
	const allSkipped = "off.gw.test:587/skipped high.gw.test:587/skipped normal.gw.test:25/skipped low.gw.test:587/skipped"
	tests := []struct {
		policy string // the lines before relays:
		to     string
		flags  []string
		id     string
		path   string
		rule   string // in the plan's rule
		hosts  string
	}{
		{"policy: never\n", "u@example.test", nil, "route.path", "direct", "relays.yaml:1 (policy: never)",
			"mx1.example.test mx2.example.test mx3.example.test"},
		{"policy: always\n", "u@example.test", nil, "route.path", "relay", "relays.yaml:1 (policy: always)", gws},
		{"policy: on-error\nfallback_on: [connect, smtp]\n", "u@example.test", nil, "route.path", "auto", "relays.yaml:2 (fallback_on: [connect, smtp])",
			"mx1.example.test mx2.example.test mx3.example.test " + gws},
		{"policy: on-error\n", "u@example.test", nil, "route.path", "auto", "relays.yaml:1 (policy: on-error, no fallback_on: every class)",
			"mx1.example.test mx2.example.test mx3.example.test " + gws},
		{"# the ISP's relay for the big provider\npolicy: for-domains\ndomains: [EXAMPLE.test, .other.test]\n", "u@example.test", nil, "route.path", "relay",
			"relays.yaml:2 (policy: for-domains): example.test matches example.test in relays.yaml:3 (domains: [example.test, .other.test])", gws},
		{"policy: for-domains\ndomains: [.example.test]\n", "u@sub.example.test", nil, "route.path", "relay", "sub.example.test matches .example.test in relays.yaml:2", gws},
		{"policy: for-domains\ndomains: [.example.test]\n", "u@example.test", nil, "route.path", "direct", "example.test matches no entry of relays.yaml:2",
			"mx1.example.test mx2.example.test mx3.example.test"},
		{"policy: for-domains\ndomains: [bücher.example, .example.test]\n", "u@xn--bcher-kva.example", nil, "route.path", "relay", "matches xn--bcher-kva.example", gws},
		{"policy: never\n", "u@nomx.example.test", nil, "route.path", "direct", "policy: never", "nomx.example.test"},
		// As send decides: no MX host with an address cannot receive, and
		// an address lookup that fails is a dns error, which falls back
		// only when fallback_on has dns (review of #22, item 3).
		{"policy: never\n", "u@lost.example.test", nil, "route.recipient_cannot_receive", "direct", "policy: never", "nohost.example.test"},
		{"policy: on-error\n", "u@lost.example.test", nil, "route.recipient_cannot_receive", "auto", "every class", "nohost.example.test " + allSkipped},
		{"policy: on-error\nfallback_on: [connect, smtp]\n", "u@outside.example.test", nil, "route.dns_error", "auto", "fallback_on: [connect, smtp]", "mail.elsewhere.invalid " + allSkipped},
		{"policy: on-error\nfallback_on: [dns]\n", "u@outside.example.test", nil, "route.dns_error", "auto", "fallback_on: [dns]", "mail.elsewhere.invalid " + gws},
		{"policy: on-error\nfallback_on: [connect]\n", "u@null.example.test", nil, "route.recipient_cannot_receive", "auto", "fallback_on: [connect]", allSkipped},
		{"policy: on-error\nfallback_on: [dns]\n", "u@gone.example.test", nil, "route.recipient_cannot_receive", "auto", "fallback_on: [dns]", allSkipped},
		// Under every policy, and --path relay, a recipient that cannot
		// receive goes to no gateway (review of #22, item 4).
		{"policy: always\n", "u@gone.example.test", nil, "route.recipient_cannot_receive", "relay", "policy: always", allSkipped},
		{"policy: always\n", "u@lost.example.test", nil, "route.recipient_cannot_receive", "relay", "policy: always", allSkipped},
		{"policy: for-domains\ndomains: [.example.test]\n", "u@null.example.test", nil, "route.recipient_cannot_receive", "relay", "matches .example.test", allSkipped},
		{"policy: never\n", "u@gone.example.test", []string{"--path", "relay"}, "route.recipient_cannot_receive", "relay", "--path relay", allSkipped},
		{"policy: always\n", "u@example.test", []string{"--path", "direct"}, "route.path", "direct", "--path direct",
			"mx1.example.test mx2.example.test mx3.example.test"},
	}
	dir := t.TempDir()
	zone := filepath.Join("testdata", "route") // example.test and gw.test
	for _, tt := range tests {
		file := filepath.Join(dir, "relays.yaml")
		if err := os.WriteFile(file, []byte(tt.policy+routeGateways), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"route", "--relays", file, "--to", tt.to, "--zone", zone, "--offline", "--format", "json"}, tt.flags...)
		_, stdout, stderr := run(t, args...)
		var rep report.Report
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%s: %v (stderr %q)", tt.policy, err, stderr)
		}
		var f report.Finding
		for _, g := range rep.Findings() {
			if strings.HasPrefix(g.ID, "route.") && g.ID != "route.policy_dns_fallback" {
				f = g
			}
		}
		b, _ := json.Marshal(f.Evidence["route"])
		var r delivery.Route
		json.Unmarshal(b, &r)
		var hosts []string
		for _, h := range r.Hosts {
			if h.Skipped != "" {
				h.Host += "/skipped"
			}
			hosts = append(hosts, h.Host)
		}
		rule := strings.ReplaceAll(r.Plan.Rule, file, "relays.yaml")
		name := strings.ReplaceAll(tt.policy, "\n", "; ") + " " + tt.to + " " + strings.Join(tt.flags, " ")
		if f.ID != tt.id || r.Plan.Path != tt.path || !strings.Contains(rule, tt.rule) || strings.Join(hosts, " ") != tt.hosts {
			t.Errorf("%s:\n got %s %s %q %s\nwant %s %s %q %s", name, f.ID, r.Plan.Path, rule, strings.Join(hosts, " "), tt.id, tt.path, tt.rule, tt.hosts)
		}
		if len(tt.flags) > 0 && !strings.Contains(f.Message, "overrides the policy at") {
			t.Errorf("%s: the override is not said: %s", name, f.Message)
		}
	}
}

// TestRouteDNSWarning: a policy that falls back on dns errors is warned
// about, with the lines to write instead; one that does not is not.
func TestRouteDNSWarning(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join("testdata", "route") // example.test and gw.test
	for policy, warn := range map[string]bool{
		"policy: on-error\n":                               true,
		"policy: on-error\nfallback_on: [smtp, dns]\n":     true,
		"policy: on-error\nfallback_on: [connect, smtp]\n": false,
		"policy: for-domains\ndomains: [example.test]\n":   false,
	} {
		file := filepath.Join(dir, "relays.yaml")
		os.WriteFile(file, []byte(policy+routeGateways), 0o644)
		_, stdout, _ := run(t, "route", "--relays", file, "--to", "u@example.test", "--zone", zone, "--offline")
		if got := strings.Contains(stdout, "route.policy_dns_fallback") && strings.Contains(stdout, "fallback_on: [connect, smtp]"); got != warn {
			t.Errorf("%q: warned %v, want %v\n%s", policy, got, warn, stdout)
		}
	}
}

// TestRelayHostErrors: a relay's host is checked when the file is read,
// and the error names file:line and key and quotes the value escaped;
// a name is kept in A-labels (review of #22, item 5).
func TestRelayHostErrors(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join("testdata", "route") // example.test and gw.test
	for host, want := range map[string]string{
		":25":               "no host before the port",
		"127.0.0.1:0":       `the port "0" is not a number from 1 to 65535`,
		"127.0.0.1:-1":      `the port "-1"`,
		"127.0.0.1:25x":     `the port "25x"`,
		"127.0.0.1:99999":   `the port "99999"`,
		"a.test:099999":     `the port "099999"`,
		"a b.test:25":       `"a b.test" is not a host name`,
		"-x.test:25":        `"-x.test" is not a host name`,
		"a..test:25":        `"a..test" is not a host name`,
		"*.test:25":         `"*.test" is not a host name`,
		"999.1.1.1:25":      `"999.1.1.1" is not an IP address`,
		"a\u202e.test:25":   `"a\u202e.test" is not a host name`,
		"Bücher.test:2526":  "",
		"[::1]:25":          "",
		"MX.Example.Test:1": "",
	} {
		file := filepath.Join(dir, "relays.yaml")
		os.WriteFile(file, []byte("policy: always\nrelays:\n  - {host: \""+host+"\"}\n"), 0o644)
		code, stdout, stderr := run(t, "route", "--relays", file, "--to", "u@example.test", "--zone", zone, "--offline")
		switch {
		case want == "" && code != 0:
			t.Errorf("%q: exit %d: %s", host, code, stderr)
		case want != "" && (code != 2 || !strings.Contains(stderr, file+":3: relays.host: relay ") || !strings.Contains(stderr, want)):
			t.Errorf("%q: exit %d, stderr %q, want exit 2 and %q", host, code, stderr, want)
		case strings.ContainsRune(stderr, '\u202e'):
			t.Errorf("%q: the error prints U+202E raw", host)
		}
		if host == "Bücher.test:2526" && !strings.Contains(stdout, "xn--bcher-kva.test:2526") {
			t.Errorf("the IDN relay is not in A-labels: %s", stdout)
		}
	}
	code, _, stderr := run(t, "route", "--path", "relay", "--relay", "127.0.0.1:25x", "--to", "u@example.test", "--zone", zone, "--offline")
	if code != 2 || !strings.Contains(stderr, `--relay "127.0.0.1:25x": the port "25x"`) {
		t.Errorf("--relay 127.0.0.1:25x: exit %d, %s", code, stderr)
	}
}

// TestRelayFlagsAfterTheFile: --relay goes after the file's gateways, and
// cannot enable one the file disables (review of #22, item 6).
func TestRelayFlagsAfterTheFile(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join("testdata", "route") // example.test and gw.test
	file := filepath.Join(dir, "relays.yaml")
	os.WriteFile(file, []byte("policy: always\n"+routeGateways), 0o644)
	_, stdout, stderr := run(t, "route", "--relays", file, "--relay", "flag.gw.test:587", "--relay", "High.GW.test:587", "--to", "u@example.test", "--zone", zone, "--offline")
	want := "1. high.gw.test:587 (gateway, high; TLS starttls; 198.51.100.1); 2. normal.gw.test:25 (gateway, normal; TLS starttls; 198.51.100.2, 2001:db8::25); 3. low.gw.test:587 (gateway, low; TLS starttls; 198.51.100.3); 4. flag.gw.test:587 (gateway, low; TLS starttls; 198.51.100.4)"
	if !strings.Contains(stdout, want) {
		t.Errorf("order: %s\nwant %s (stderr %s)", stdout, want, stderr)
	}
	code, _, stderr := run(t, "route", "--relays", file, "--relay", "off.gw.test:587", "--to", "u@example.test", "--zone", zone, "--offline")
	if code != 2 || !strings.Contains(stderr, `--relay "off.gw.test:587": the relays file (or config) disables this relay`) {
		t.Errorf("--relay of a disabled gateway: exit %d, %s", code, stderr)
	}
}

// TestRelaysFileNotQuoted: keys that are no key names (control
// characters, bidi controls, another kind of file such as a shadow file)
// are not shown, and values are shown escaped (review of #22, item 8).
func TestRelaysFileNotQuoted(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join("testdata", "route") // example.test and gw.test
	for name, content := range map[string]string{
		"esc":    "\"\\e[31mkey\": 1\nrelays:\n  - {host: \"a.test:25\"}\n",
		"rlo":    "\"k\\u202e\\u0007\": 1\nrelays:\n  - {host: \"a.test:25\"}\n",
		"domain": "policy: for-domains\ndomains: [\"a\\u202egmail.com\"]\nrelays:\n  - {host: \"a.test:25\"}\n",
		"shadow": "root:$6$abcdSALT$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
	} {
		file := filepath.Join(dir, name)
		os.WriteFile(file, []byte(content), 0o644)
		code, _, stderr := run(t, "route", "--relays", file, "--to", "u@example.test", "--zone", zone, "--offline")
		if code != 2 || strings.ContainsAny(stderr, "\x1b\x07\u202e") || strings.Contains(stderr, "SECRETHASH") || strings.Contains(stderr, "daemon") {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr)
		}
	}
}

// TestRelaysFileValues: values the review found accepted without a word
// are refused at parse time, naming file:line and key (review of #22,
// minors).
func TestRelaysFileValues(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join("testdata", "route") // example.test and gw.test
	const relays = "relays:\n  - {host: \"a.test:25\"}\n"
	for content, want := range map[string]string{
		"policy: for-domains\ndomains: [com]\n" + relays:                    `:2: domains: "com" is a public suffix or a single label`,
		"policy: for-domains\ndomains: [.co.uk]\n" + relays:                 `:2: domains: ".co.uk" is a public suffix`,
		"policy: for-domains\ndomains: [gmail]\n" + relays:                  `:2: domains: "gmail" is a public suffix or a single label`,
		"policy: for-domains\ndomains: []\n" + relays:                       ":2: domains: policy: for-domains needs the list of recipient domains the gateways are for; for example: domains: [",
		"policy: for-domains\n" + relays:                                    ":1: domains: policy: for-domains needs the list",
		"policy: always\n" + relays + "---\npolicy: never\n":                ":4: a second YAML document",
		"policy: always\nrelays:\n  - {host: \"a.test:25\", priority: 3}\n": `:3: relays.priority: relay a.test:25: priority "3": a name, not a number`,
		"policy: always\n# caf\xe9\n" + relays:                              ":2:6: octet 0xe9 is not UTF-8 (a file saved as Latin-1?)",
	} {
		file := filepath.Join(dir, "relays.yaml")
		os.WriteFile(file, []byte(content), 0o644)
		code, _, stderr := run(t, "route", "--relays", file, "--to", "u@example.test", "--zone", zone, "--offline")
		if code != 2 || !strings.Contains(stderr, file+want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", content, code, stderr, want)
		}
	}
}

// TestRouteOnce: a recipient given twice is planned once, and a gateway
// says its TLS mode (review of #22, minors).
func TestRouteOnce(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join("testdata", "route") // example.test and gw.test
	file := filepath.Join(dir, "relays.yaml")
	os.WriteFile(file, []byte("policy: always\n"+routeGateways), 0o644)
	_, stdout, _ := run(t, "route", "--relays", file, "--to", "u@example.test", "--to", "u@EXAMPLE.test", "--zone", zone, "--offline")
	if !strings.HasPrefix(stdout, "preflight route  route to u@example.test\n") {
		t.Errorf("the headline does not name the recipients:\n%s", stdout)
	}
	if strings.Contains(stdout, "Score") || strings.Contains(stdout, "Delivery") || !strings.Contains(stdout, "Plan      a dry run from DNS only") {
		t.Errorf("route shows a score or a verdict:\n%s", stdout)
	}
	_, gh, _ := run(t, "route", "--relays", file, "--to", "u@example.test", "--zone", zone, "--offline", "--format", "github")
	if !strings.Contains(gh, "::notice title=route.path::u@example.test: Mail to u@example.test goes through the gateways") || strings.Contains(gh, "score") {
		t.Errorf("github format of route:\n%s", gh)
	}
	_, js, _ := run(t, "route", "--relays", file, "--to", "b@example.test", "--to", "a@example.test", "--zone", zone, "--offline", "--format", "json")
	var rep report.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil || strings.Join(rep.Target.RouteTo, " ") != "b@example.test a@example.test" {
		t.Errorf("JSON target %+v (%v), want route_to in --to order", rep.Target, err)
	}
	// Nor in JSON (acceptance pass of #22): a plan has no score, and
	// --min-score, which could not be decided, is refused.
	if rep.Score != nil || rep.Grade != nil {
		t.Errorf("route JSON has score %v, grade %v; want null", *rep.Score, *rep.Grade)
	}
	if code, _, stderr := run(t, "route", "--relays", file, "--to", "a@example.test", "--zone", zone, "--offline", "--min-score", "90"); code != 2 || !strings.Contains(stderr, "--min-score: route is a dry run") {
		t.Errorf("route --min-score: exit %d, %q; want a usage error", code, stderr)
	}
	if n := strings.Count(stdout, "Mail to u@example.test"); n != 1 {
		t.Errorf("planned %d times:\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "1. high.gw.test:587 (gateway, high; TLS starttls; 198.51.100.1)") || !strings.Contains(stdout, "normal.gw.test:25 (gateway, normal; TLS starttls; 198.51.100.2, 2001:db8::25)") {
		t.Errorf("no TLS mode or addresses:\n%s", stdout)
	}
	// A gateway name without an address shows in the plan, as the send
	// would meet it (acceptance pass of #22); a disabled one is not looked up.
	os.WriteFile(file, []byte("policy: always\nrelays:\n  - {host: \"lost.gw.test:587\"}\n  - {host: \"gone.invalid:25\", enabled: false}\n"), 0o644)
	_, stdout, _ = run(t, "route", "--relays", file, "--to", "u@example.test", "--zone", zone, "--offline")
	if !strings.Contains(stdout, "1. lost.gw.test:587 (gateway, normal; TLS starttls; looking up the address of lost.gw.test: ") || strings.Contains(stdout, "address of gone.invalid") {
		t.Errorf("gateway addresses:\n%s", stdout)
	}
}
