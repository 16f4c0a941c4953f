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
)

// ConfigFile is the config file check looks for in the working
// directory when --config is not given.
const ConfigFile = "preflight.yaml"

// config is preflight.yaml: everything a CI job would otherwise put in
// flags. Flags given on the command line win. Paths are relative to the
// file's directory.
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

	dir string // the file's directory
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
}

// configSend is the test send of check (see preflight send).
type configSend struct {
	To           string `yaml:"to"`
	Path         string `yaml:"path"`
	TLS          string `yaml:"tls"`
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

// loadConfig reads a config file. Unknown keys are errors naming the
// key and line: a typo must not silently drop a setting.
func loadConfig(ctx context.Context, path string) (*config, error) {
	b, _, err := inputfile.ReadFile(ctx, path, inputfile.YAML)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var c config
	if err := decodeYAML(path, b, &c); err != nil {
		return nil, err
	}
	if c.Target != nil && len(c.Targets) > 0 {
		return nil, fmt.Errorf("%s: give either target or targets, not both", path)
	}
	if s := c.Send; s != nil && (s.PasswordEnv != "" || s.PasswordFile != "") {
		// In CI the config comes from the pull request, which also picks
		// the relays and the CA: a config that names a secret could send
		// any of the job's secrets (GITHUB_TOKEN) to a server of its own.
		return nil, fmt.Errorf("%s: send.password_env and send.password_file are not read from a config file, which (in CI) a pull request can change along with the relays: give --password-env VAR or --password-file FILE on the command line", path)
	}
	for key, v := range map[string]string{"timeout": c.Timeout, "batch_timeout": c.BatchTimeout} {
		if _, err := time.ParseDuration(v); v != "" && err != nil {
			return nil, fmt.Errorf("%s: %s %s: want a duration such as 30s", path, key, inputfile.Excerpt(v))
		}
	}
	c.dir = filepath.Dir(path)
	return &c, nil
}

// path resolves a path from the file relative to the file's directory.
func (c *config) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// targets returns the file's targets.
func (c *config) targets() []configTarget {
	if c.Target != nil {
		return []configTarget{*c.Target}
	}
	return c.Targets
}

// applyGlobal sets the global options the command line did not set.
func (c *config) applyGlobal(g *globalOptions, changed func(string) bool) {
	if !changed("resolver") && len(c.Resolvers) > 0 {
		g.resolvers = c.Resolvers
	}
	if !changed("zone") && len(c.Zones) > 0 {
		for _, z := range c.Zones {
			g.zones = append(g.zones, c.path(z))
		}
	}
	if !changed("offline") && c.Offline != nil {
		g.offline = *c.Offline
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
}

// applyLists sets the blocklist options the command line did not set.
func (c *config) applyLists(o *listOptions, changed func(string) bool) {
	if !changed("list") && len(c.Lists) > 0 {
		o.lists = c.Lists
	}
	if !changed("lists") && c.ListSet != "" {
		o.set = c.ListSet
	}
	if !changed("spamhaus-key-file") && c.SpamhausKeyFile != "" {
		o.keyFile = c.path(c.SpamhausKeyFile)
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
	set("send-to", &o.to, s.To)
	set("path", &o.path, s.Path)
	set("tls", &o.tls, s.TLS)
	set("ca-file", &o.caFile, c.path(s.CAFile))
	set("auth-user", &o.user, s.AuthUser)
	set("password-env", &o.passwordEnv, s.PasswordEnv)
	set("password-file", &o.passwordFile, c.path(s.PasswordFile))
	if !changed("port") && s.Port != 0 {
		o.port = s.Port
	}
	if !changed("deliver") && s.Deliver {
		o.deliver = true
	}
}
