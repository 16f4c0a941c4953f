package cmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/profiles"
	"github.com/preflight-mail/preflight/rbl"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// ConfigFile is the config file check looks for in the working
// directory when --config is not given.
const ConfigFile = "preflight.yaml"

// config is preflight.yaml: everything a CI job would otherwise put in
// flags. Precedence, for every key: a flag given on the command line,
// then the file, then the default. Paths are relative to the file's
// directory. Values are checked when the file is read, and errors name
// file:line and the key (yaml.go).
type config struct {
	Target          *configTarget   `yaml:"target"`
	Targets         []configTarget  `yaml:"targets"`
	Resolvers       []string        `yaml:"resolvers"`
	Zones           []string        `yaml:"zones"`
	Offline         *bool           `yaml:"offline"`
	Timeout         string          `yaml:"timeout"`
	BatchTimeout    string          `yaml:"batch_timeout"`
	Lists           []string        `yaml:"lists"`
	ListSet         string          `yaml:"list_set"`
	SpamhausKeyFile string          `yaml:"spamhaus_key_file"`
	TreatAsPublic   []string        `yaml:"treat_as_public"`
	Thresholds      configThreshold `yaml:"thresholds"`
	Send            *configSend     `yaml:"send"`
	Relays          []configRelay   `yaml:"relays"`
	Profiles        []string        `yaml:"profiles"`

	file string   // the file's path, as given
	dir  string   // the file's directory
	doc  *yamlDoc // where each key is
}

type configTarget struct {
	Domain    string   `yaml:"domain" json:"domain"`
	IPs       []string `yaml:"ips" json:"ips"`
	HELO      string   `yaml:"helo" json:"helo"`
	Selectors []string `yaml:"selectors" json:"selectors"`
	MailFrom  string   `yaml:"mail_from" json:"mail_from"`
	DKIMKey   string   `yaml:"dkim_key" json:"-"`
}

type configThreshold struct {
	FailOn   string `yaml:"fail_on"`
	MinScore *int   `yaml:"min_score"`
	MaxDrop  *int   `yaml:"max_drop"`
	// FailOnProfile: providers whose verdict gates the exit code.
	FailOnProfile []string `yaml:"fail_on_profile"`
}

// configSend is the test send of check (see preflight send).
type configSend struct {
	To           string `yaml:"to"`
	Path         string `yaml:"path"`
	TLS          string `yaml:"tls"`
	RelayTLS     string `yaml:"relay_tls"`
	Port         int    `yaml:"port"`
	CAFile       string `yaml:"ca_file"`
	AuthUser     string `yaml:"auth_user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	Deliver      bool   `yaml:"deliver"`
}

// configRelay is one relay, as in a --relays file.
type configRelay struct {
	Host     string `yaml:"host"`
	Priority string `yaml:"priority"`
	Enabled  *bool  `yaml:"enabled"`
	TLS      string `yaml:"tls"`
}

// loadConfig reads a config file and checks every value in it. Unknown
// keys are errors naming the key and line: a typo must not silently drop
// a setting.
func loadConfig(ctx context.Context, path string) (*config, error) {
	b, _, err := inputfile.ReadFile(ctx, path, inputfile.YAML)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	c := &config{file: path, dir: filepath.Dir(path)}
	if c.doc, err = decodeYAML(path, b, c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// validate checks the file's values, in the file's terms: each error
// names file:line and the key, says what is wrong, and shows the key
// written right.
func (c *config) validate() error {
	d := c.doc
	at := func(key string) int { return d.lines[key] }
	fail := func(key, format string, args ...any) error {
		return errors.New(d.message(at(key), key, fmt.Sprintf(format, args...)))
	}
	if c.Target != nil && len(c.Targets) > 0 {
		return fail("targets", "the file has target (line %d) too: give either target, for one, or targets", at("target"))
	}
	if s := c.Send; s != nil && (s.PasswordEnv != "" || s.PasswordFile != "") {
		// In CI the config comes from the pull request, which also picks
		// the relays and the CA: a config that names a secret could send
		// any of the job's secrets (GITHUB_TOKEN) to a server of its own.
		key := "send.password_env"
		if s.PasswordEnv == "" {
			key = "send.password_file"
		}
		return fmt.Errorf("%s:%d: %s: passwords are not read from a config file, which (in CI) a pull request can change along with the relays: give --password-env VAR or --password-file FILE on the command line", c.file, at(key), key)
	}
	if c.Offline != nil && *c.Offline && len(c.Resolvers) > 0 {
		return fail("offline", "true, and resolvers (line %d) name servers: offline sends no DNS packet to any server; keep one of them", at("resolvers"))
	}
	if len(c.Lists) > 0 && c.ListSet != "" {
		return fail("list_set", "and lists (line %d) both choose the blocklists: lists replaces the built-in sets; keep one of them", at("lists"))
	}
	for key, v := range map[string]string{"timeout": c.Timeout, "batch_timeout": c.BatchTimeout} {
		if dur, err := time.ParseDuration(v); v != "" && (err != nil || dur <= 0) {
			return fail(key, "%s is not a positive duration", inputfile.Excerpt(v))
		}
	}
	t := c.Thresholds
	if _, err := report.ParseFailOn(t.FailOn); t.FailOn != "" && err != nil {
		return fail("thresholds.fail_on", "%s: want warn or fail", inputfile.Excerpt(t.FailOn))
	}
	if t.MinScore != nil && (*t.MinScore < 0 || *t.MinScore > 100) {
		return fail("thresholds.min_score", "%d: want 0 to 100", *t.MinScore)
	}
	if t.MaxDrop != nil && *t.MaxDrop < 0 {
		return fail("thresholds.max_drop", "%d: want 0 or more", *t.MaxDrop)
	}
	if _, err := profiles.MustLoad().ParseList(c.Profiles); err != nil {
		return d.keyError("profiles", err)
	}
	if _, err := profiles.MustLoad().ParseList(t.FailOnProfile); err != nil {
		return d.keyError("thresholds.fail_on_profile", err)
	}
	for _, s := range c.Resolvers {
		if _, err := resolver.ParseServer(s); err != nil {
			return d.keyError("resolvers", err)
		}
	}
	for _, s := range c.Lists {
		if _, err := parseList(s); err != nil {
			return d.keyError("lists", err)
		}
	}
	if _, err := rbl.Set(c.ListSet); c.ListSet != "" && err != nil {
		return d.keyError("list_set", err)
	}
	if _, err := parsePrefixes("--treat-as-public", c.TreatAsPublic); err != nil {
		return d.keyError("treat_as_public", err)
	}
	if err := c.validateSend(); err != nil {
		return err
	}
	for i, r := range c.Relays {
		if _, err := relayFrom(r, 0); err != nil {
			return c.relayError(fmt.Sprintf("relays.%d", i), err)
		}
	}
	for i, ct := range c.targets() {
		if err := checkTargetFields(ct); err != nil {
			return c.targetError(i, err)
		}
	}
	return nil
}

// validateSend checks the send: keys.
func (c *config) validateSend() error {
	s := c.Send
	if s == nil {
		return nil
	}
	d := c.doc
	if _, err := parseAddress("--to", s.To); s.To != "" && err != nil {
		return d.keyError("send.to", err)
	}
	if err := checkPath(s.Path); s.Path != "" && err != nil {
		return d.keyError("send.path", err)
	}
	if _, err := parseDirectTLS(s.TLS); err != nil {
		return d.keyError("send.tls", err)
	}
	if _, err := parseRelayTLS(s.RelayTLS); err != nil {
		return d.keyError("send.relay_tls", err)
	}
	if s.Port < 0 || s.Port > 65535 {
		return errors.New(d.message(d.lines["send.port"], "send.port", fmt.Sprintf("%d: want 1 to 65535", s.Port)))
	}
	return nil
}

// relayError names the key of a relay's error (relayFrom's fieldError).
func (c *config) relayError(prefix string, err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return c.doc.keyError(prefix+"."+fe.field, fe.err)
	}
	return c.doc.keyError(prefix, err)
}

// targetError is an error about the i-th target of the file, at the key
// it is about.
func (c *config) targetError(i int, err error) error {
	prefix := "target"
	if c.Target == nil {
		prefix = "targets." + strconv.Itoa(i)
	}
	var fe *fieldError
	if !errors.As(err, &fe) {
		if key := c.flagKey(err); key != "" {
			return c.doc.keyError(key, err)
		}
		return c.doc.keyError(prefix, err)
	}
	key := prefix + "." + fe.field
	line, given := c.doc.lines[key]
	if !given {
		line = c.doc.lines[prefix] // a key not there: at its target
	}
	msg := flagless(fe.err.Error())
	if fe.missing != "" {
		msg = "missing: " + fe.missing
	}
	return errors.New(c.doc.message(line, key, msg))
}

// configKeys are the file's keys for the flags whose errors can come
// from the file's value rather than the target's.
var configKeys = map[string]string{
	"--auth-user":         "send.auth_user",
	"--ca-file":           "send.ca_file",
	"--spamhaus-key-file": "spamhaus_key_file",
	"--to":                "send.to",
	"--path":              "send.path",
}

// flagKey is the key of the file an error about a flag is about, when
// the error starts with the flag's name and the file gave that key: an
// error of "send: auth_user: me@example.com" without a password was
// shown at "target" on line 1 with a target's example.
func (c *config) flagKey(err error) string {
	msg := err.Error()
	i := strings.IndexAny(msg, " :")
	if i < 0 {
		return ""
	}
	key, ok := configKeys[msg[:i]]
	if _, given := c.doc.lines[key]; !ok || !given {
		return ""
	}
	return key
}

// path resolves a path from the file relative to the file's directory.
func (c *config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// targets returns the file's targets, their paths resolved.
func (c *config) targets() []configTarget {
	list := c.Targets
	if c.Target != nil {
		list = []configTarget{*c.Target}
	}
	out := make([]configTarget, len(list))
	for i, ct := range list {
		ct.DKIMKey = c.path(ct.DKIMKey)
		out[i] = ct
	}
	return out
}

// applyGlobal sets the global options the command line did not set. A
// flag also wins over the file's settings it excludes: --resolver over
// offline: true, --offline over resolvers. The file's zones come before
// the --zone files, which add to them (noConfigZones: replace them); a
// --zone file holding a zone the file's zones hold too replaces it
// (runner.newRunner).
func (c *config) applyGlobal(g *globalOptions, changed func(string) bool, noConfigZones bool) {
	if !changed("resolver") && !changed("offline") && len(c.Resolvers) > 0 {
		g.resolvers = c.Resolvers
	}
	if !changed("offline") && !changed("resolver") && c.Offline != nil {
		g.offline = *c.Offline
	}
	if !noConfigZones {
		for _, z := range c.Zones {
			g.configZones = append(g.configZones, c.path(z))
		}
	}
	if !changed("timeout") && c.Timeout != "" {
		g.timeout, _ = time.ParseDuration(c.Timeout)
	}
	if !changed("fail-on") && c.Thresholds.FailOn != "" {
		g.failOn = c.Thresholds.FailOn
	}
	if !changed("min-score") && c.Thresholds.MinScore != nil {
		g.minScore = *c.Thresholds.MinScore
	}
	g.configFile = c.file
}

// applyLists sets the blocklist options the command line did not set:
// --list wins over list_set, --lists over lists.
func (c *config) applyLists(o *listOptions, changed func(string) bool) {
	if !changed("list") && !changed("lists") && len(c.Lists) > 0 {
		o.lists = c.Lists
	}
	if !changed("lists") && !changed("list") && c.ListSet != "" {
		o.set = c.ListSet
	}
	if !changed("spamhaus-key-file") && c.SpamhausKeyFile != "" {
		o.keyFile = c.path(c.SpamhausKeyFile)
	}
}

// applySend sets the test-send options the command line did not set.
func (c *config) applySend(o *sendOptions, changed func(string) bool) {
	s := c.Send
	if s == nil {
		return
	}
	set := func(flag string, dst *string, v string) {
		if !changed(flag) && v != "" {
			*dst = v
		}
	}
	set("to", &o.to, s.To)
	set("path", &o.path, s.Path)
	if !changed("path") && s.Path != "" {
		o.pathSet, o.pathFrom = true, "send.path in the config"
	}
	set("tls", &o.tls, s.TLS)
	set("relay-tls", &o.relayTLS, s.RelayTLS)
	set("ca-file", &o.caFile, c.path(s.CAFile))
	set("auth-user", &o.user, s.AuthUser)
	if !changed("port") && s.Port != 0 {
		o.port = s.Port
	}
	if !changed("deliver") && !changed("probe") && s.Deliver {
		o.deliver = true
	}
}

// parseTargetLine reads a --targets line: "domain ip[,ip] [helo]
// [selector,...]", or a JSON object with the keys of a config target.
func parseTargetLine(line string) (configTarget, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return configTarget{}, errors.New(`want "domain ip[,ip] [helo] [selector,...]"`)
	}
	t := configTarget{Domain: f[0], IPs: strings.Split(f[1], ",")}
	if len(f) > 2 {
		t.HELO = f[2]
	}
	if len(f) > 3 {
		t.Selectors = strings.Split(f[3], ",")
	}
	if len(f) > 4 {
		return configTarget{}, errors.New("too many fields (" + strconv.Itoa(len(f)) + ")")
	}
	return t, nil
}
