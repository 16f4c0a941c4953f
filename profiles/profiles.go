// Package profiles holds what the big mailbox providers require of
// senders, as data (rules.yaml, embedded): each provider's rules with
// their source, the SMTP replies the provider gives when one is broken,
// and the finding IDs that establish it. Evaluate judges a report's
// findings by a provider's rules (check --profile); Explain reads a
// bounce or an SMTP reply and names the provider and rule (preflight
// explain, and the test send's rejections).
package profiles

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/preflight-mail/preflight/internal/words"
)

//go:embed rules.yaml
var rulesYAML []byte

// Levels of a rule.
const (
	Required    = "required"
	Recommended = "recommended"
)

// What a rule needs from the run to be judged (Rule.Needs).
const (
	NeedsSend       = "send"        // a test send (--to) on the direct path
	NeedsRelayCheck = "relay_check" // send --relay-check
	NeedsMessage    = "message"     // a sample message
	NeedsHELO       = "helo"        // --helo
)

var needsKinds = []string{NeedsSend, NeedsRelayCheck, NeedsMessage, NeedsHELO}

// Table is the whole rules file: the providers a profile can name, and
// the receivers (blocklists, filters) only the explainer knows.
type Table struct {
	Tests     map[string]Test `yaml:"tests"` // named tests, for the file's anchors
	Providers []Provider      `yaml:"providers"`
	Receivers []Provider      `yaml:"receivers"`
}

// Provider is a mailbox provider (or, in Table.Receivers, a blocklist or
// filter) and its rules.
type Provider struct {
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Who     string `yaml:"who"`
	Major   bool   `yaml:"major"`   // one line in every check's text report
	Extends string `yaml:"extends"` // a provider whose rules (and marks) apply too
	Source  string `yaml:"source"`
	Read    string `yaml:"read"`
	// Marks are words in a reply that show it came from this provider
	// (gsmtp): without one, the explainer names no provider.
	Marks []string `yaml:"marks"`
	// MX are the provider's MX host domains and recipient domains
	// (google.com, gmail.com): a test send counts for the provider's
	// rules only when it went there. Empty: any direct send counts.
	MX    []string `yaml:"mx"`
	Rules []Rule   `yaml:"rules"`
}

// Rule is one requirement of a provider.
type Rule struct {
	ID      string `yaml:"id"`
	Level   string `yaml:"level"`
	Summary string `yaml:"summary"`
	Source  string `yaml:"source"` // the provider's when empty
	Read    string `yaml:"read"`   // the provider's when empty
	// Codes are the provider's replies for this rule: "550 5.7.25".
	Codes     []string `yaml:"codes"`
	Establish *Test    `yaml:"establish"`
	// Applies limits the rule to some senders: "ipv6" (an IPv6 sending IP).
	Applies string `yaml:"applies"`
	// Needs names what the run must include for the rule to be judged.
	Needs string `yaml:"needs"`
	// NotCheckable says why nothing preflight sees can tell.
	NotCheckable string `yaml:"not_checkable"`
	// ReceiverSide marks a reply about the receiver's own setup (a
	// blocklist that refused the receiver's queries): it refuses every
	// sender, so a test send refused with it says nothing of the sender.
	ReceiverSide bool      `yaml:"receiver_side"`
	Command      string    `yaml:"command"` // the command that shows the cause
	Fix          string    `yaml:"fix"`
	Replies      []Matcher `yaml:"replies"`
}

// Required reports whether the rule is required (not recommended).
func (r Rule) Required() bool { return r.Level == Required }

// Test establishes a rule from a run's findings (rules.yaml's header
// says what each field means).
type Test struct {
	Pass     []string `yaml:"pass"`
	Fail     []string `yaml:"fail"`
	PerIP    bool     `yaml:"per_ip"`
	Family   int      `yaml:"family"`
	Path     string   `yaml:"path"`
	PassWins bool     `yaml:"pass_wins"`
	// IPsOnly: only findings about an IP count (a domain on a domain
	// list is not the sending IP on an IP list).
	IPsOnly bool `yaml:"ips_only"`
	// NA are findings that make the rule not applicable when no pass or
	// fail finding is there (no DKIM key: no key size to judge).
	NA []string `yaml:"na"`
	// Doubt are the error findings that leave the test in doubt; empty,
	// any error finding of the checks its IDs name.
	Doubt []string `yaml:"doubt"`
	// When names what the run must include for this part to count
	// (a Needs kind): without it the part is left out of its all/any,
	// so a message's findings can join DNS's where there is a message.
	When string `yaml:"when"`
	All  []Test `yaml:"all"`
	Any  []Test `yaml:"any"`
}

// IDs returns every finding ID the test names, in order, once each.
func (t Test) IDs() []string {
	var out []string
	add := func(ids []string) {
		for _, id := range ids {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	add(baseIDs(t.Pass))
	add(baseIDs(t.Fail))
	add(baseIDs(t.NA))
	add(baseIDs(t.Doubt))
	for _, s := range append(slices.Clone(t.All), t.Any...) {
		add(s.IDs())
	}
	return out
}

// PassIDs returns the finding IDs that show the test holds, in order,
// once each.
func (t Test) PassIDs() []string {
	out := baseIDs(t.Pass)
	for _, s := range append(slices.Clone(t.All), t.Any...) {
		for _, id := range s.PassIDs() {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// Matcher recognises a reply: its enhanced status code (or the basic
// code, for providers that send none) and words it must contain.
type Matcher struct {
	Code  string   `yaml:"code"`
	Words []string `yaml:"words"`
	// Alone: the words name the provider without one of its marks
	// ("[TSS09]", "5.7.515 ... required authentication level").
	Alone bool `yaml:"alone"`
}

var load = sync.OnceValues(func() (*Table, error) { return Parse(rulesYAML) })

// Load returns the embedded table. Its errors are bugs (a test loads it).
func Load() (*Table, error) { return load() }

// MustLoad is Load for callers that cannot go on without the table.
func MustLoad() *Table {
	t, err := Load()
	if err != nil {
		panic(err)
	}
	return t
}

// Parse reads a rules file: unknown keys are errors, and so is a rule
// that cannot be judged or explained as written (Table.Check).
func Parse(b []byte) (*Table, error) {
	var t Table
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Check holds the table to its own rules: unique IDs in the provider's
// namespace, a level, codes and sources; a required rule established by
// findings or saying why it cannot be; an extends that names an earlier
// provider. The finding IDs themselves are checked against the catalogue
// by the package's tests (the catalogue is package checks', above this
// one).
func (t *Table) Check() error {
	var errs []error
	ids := map[string]bool{}
	providers := map[string]bool{}
	for i, p := range slices.Concat(t.Providers, t.Receivers) {
		profile := i < len(t.Providers)
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("profiles: provider %s: "+format, append([]any{p.ID}, args...)...))
		}
		switch {
		case p.ID == "" || strings.ContainsAny(p.ID, ". ,"):
			bad("an ID without dots, commas or spaces is needed")
		case providers[p.ID]:
			bad("declared twice")
		}
		if p.Extends != "" && (!providers[p.Extends] || !profile) {
			bad("extends %q, which is not an earlier provider", p.Extends)
		}
		providers[p.ID] = true
		if p.Name == "" || p.Source == "" || !validDate(p.Read) {
			bad("needs a name, a source and the date it was read (YYYY-MM-DD)")
		}
		if len(p.Rules) == 0 {
			bad("has no rules")
		}
		for _, r := range p.Rules {
			rbad := func(format string, args ...any) { bad("rule %s: "+format, append([]any{r.ID}, args...)...) }
			if !strings.HasPrefix(r.ID, p.ID+".") || ids[r.ID] {
				rbad("IDs are %s.NAME, once each", p.ID)
			}
			ids[r.ID] = true
			if r.Level != Required && r.Level != Recommended {
				rbad("level %q: want required or recommended", r.Level)
			}
			if r.Summary == "" || r.Fix == "" {
				rbad("needs a summary and a fix")
			}
			if r.Read != "" && !validDate(r.Read) {
				rbad("read %q: want YYYY-MM-DD", r.Read)
			}
			if r.Needs != "" && !slices.Contains(needsKinds, r.Needs) {
				rbad("needs %q: want one of %s", r.Needs, strings.Join(needsKinds, ", "))
			}
			if r.Applies != "" && r.Applies != "ipv6" {
				rbad("applies %q: want ipv6", r.Applies)
			}
			switch {
			case r.Establish == nil && r.NotCheckable == "" && r.Required():
				rbad("required, but neither establish nor not_checkable says how it is known")
			case r.Establish != nil && r.NotCheckable != "":
				rbad("both establish and not_checkable")
			case r.Establish != nil:
				if err := r.Establish.check(); err != nil {
					rbad("%v", err)
				}
			}
			for _, m := range r.Replies {
				if !validCode(m.Code) {
					rbad("reply code %q: want a basic code (550) or an enhanced one (5.7.1)", m.Code)
				}
				if m.Alone && len(m.Words) == 0 {
					rbad("a reply matcher alone (without the provider's mark) needs words: a code alone is shared")
				}
			}
			if len(r.Replies) > 0 && len(p.Marks) == 0 && p.Extends == "" && !slices.ContainsFunc(r.Replies, func(m Matcher) bool { return m.Alone }) {
				rbad("reply matchers, but the provider has no marks to recognise its replies by")
			}
		}
	}
	return errors.Join(errs...)
}

func (t Test) check() error {
	leaf := len(t.Pass) > 0 || len(t.Fail) > 0
	switch {
	case leaf && (len(t.All) > 0 || len(t.Any) > 0):
		return errors.New("a test is pass/fail IDs or all/any, not both")
	case !leaf && len(t.All) == 0 && len(t.Any) == 0:
		return errors.New("an empty test")
	case len(t.All) > 0 && len(t.Any) > 0:
		return errors.New("all and any in one test")
	case leaf && len(t.Pass) == 0:
		return errors.New("a test needs pass IDs: fail IDs alone can never show the rule holds")
	case t.Family != 0 && t.Family != 4 && t.Family != 6:
		return fmt.Errorf("family %d: want 4 or 6", t.Family)
	case t.Family != 0 && !t.PerIP:
		return errors.New("family without per_ip")
	case t.When != "" && !slices.Contains(needsKinds, t.When):
		return fmt.Errorf("when %q: want one of %s", t.When, strings.Join(needsKinds, ", "))
	}
	for _, id := range slices.Concat(t.Pass, t.Fail, t.NA, t.Doubt) {
		if _, err := parseQualifier(id); err != nil {
			return err
		}
	}
	for _, s := range append(slices.Clone(t.All), t.Any...) {
		if err := s.check(); err != nil {
			return err
		}
	}
	return nil
}

// baseIDs strips the qualifiers from finding IDs (see qualifier).
func baseIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		b, _, _ := strings.Cut(id, "[")
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// qualifier is a finding ID as a test names it: the ID, and optionally
// a condition on the finding's evidence in brackets: [key] (present and
// not empty), [key=value] (equal, or an element of a list), [key~word]
// (contains the word, in any case, or an element does), [!key] (absent
// or empty); the key subject is the finding's subject. So
// dkim.key_ok[key_type=rsa] is an RSA key only, rbl.listed[zone~spamhaus]
// a listing on one of Spamhaus' lists.
type qualifier struct {
	id, key, op, value string
}

func parseQualifier(s string) (qualifier, error) {
	id, rest, ok := strings.Cut(s, "[")
	q := qualifier{id: id}
	if !ok {
		return q, nil
	}
	cond, ok := strings.CutSuffix(rest, "]")
	if !ok || cond == "" {
		return q, fmt.Errorf("finding %q: want ID[key], ID[key=value] or ID[key~word]", s)
	}
	q.key = cond
	if k, ok := strings.CutPrefix(cond, "!"); ok {
		q.key, q.op = k, "!"
	} else if i := strings.IndexAny(cond, "=~"); i >= 0 {
		q.key, q.op, q.value = cond[:i], cond[i:i+1], cond[i+1:]
	}
	if q.key == "" || (q.op == "=" || q.op == "~") && q.value == "" {
		return q, fmt.Errorf("finding %q: want ID[key], ID[key=value] or ID[key~word]", s)
	}
	return q, nil
}

// qualifiers are the table's finding specs parsed, each once: a batch
// judges every target by the same few hundred.
var qualifiers sync.Map // string → qualifier

// qualifierOf is the parsed spec s, checked when the table was loaded.
func qualifierOf(s string) qualifier {
	if q, ok := qualifiers.Load(s); ok {
		return q.(qualifier)
	}
	q, _ := parseQualifier(s)
	qualifiers.Store(s, q)
	return q
}

// matches reports whether a finding of this ID and evidence is one the
// qualifier names.
func (q qualifier) matches(id, subject string, ev map[string]any) bool {
	if id != q.id {
		return false
	}
	if q.key == "" {
		return true
	}
	var vals []string
	var v any = ev[q.key]
	if q.key == "subject" {
		v = subject
	}
	switch v := v.(type) {
	case string:
		vals = []string{v}
	case []string:
		vals = v
	case []any:
		for _, e := range v {
			vals = append(vals, fmt.Sprint(e))
		}
	case nil:
	default:
		vals = []string{fmt.Sprint(v)}
	}
	if q.op == "!" {
		return !slices.ContainsFunc(vals, func(v string) bool { return v != "" })
	}
	return slices.ContainsFunc(vals, func(v string) bool {
		switch q.op {
		case "=":
			return v == q.value
		case "~":
			return strings.Contains(strings.ToLower(v), strings.ToLower(q.value))
		}
		return v != ""
	})
}

func validDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && strings.Trim(s[:4]+s[5:7]+s[8:], "0123456789") == ""
}

// validCode accepts a basic reply code (550) or an enhanced status code
// (5.7.1, RFC 3463).
func validCode(s string) bool {
	if c, ok := parseBasic(s); ok {
		return c >= 400 && c < 600
	}
	_, ok := parseEnhanced(s)
	return ok
}

// Profile returns the provider a profile names.
func (t *Table) Profile(id string) (Provider, bool) {
	i := slices.IndexFunc(t.Providers, func(p Provider) bool { return p.ID == id })
	if i < 0 {
		return Provider{}, false
	}
	return t.Providers[i], true
}

// ProfileIDs lists the profiles' IDs in table order.
func (t *Table) ProfileIDs() []string {
	var out []string
	for _, p := range t.Providers {
		out = append(out, p.ID)
	}
	return out
}

// Major lists the profiles the text report summarises in one line each.
func (t *Table) Major() []string {
	var out []string
	for _, p := range t.Providers {
		if p.Major {
			out = append(out, p.ID)
		}
	}
	return out
}

// RulesOf returns a provider's rules: those of the provider it extends
// first, then its own.
func (t *Table) RulesOf(p Provider) []Rule {
	var out []Rule
	if p.Extends != "" {
		if base, ok := t.Profile(p.Extends); ok {
			out = append(out, t.RulesOf(base)...)
		}
	}
	return append(out, p.Rules...)
}

// marksOf returns a provider's marks with those of what it extends.
func (t *Table) marksOf(p Provider) []string {
	out := slices.Clone(p.Marks)
	if p.Extends != "" {
		if base, ok := t.Profile(p.Extends); ok {
			out = append(out, t.marksOf(base)...)
		}
	}
	return out
}

// mxOf returns a provider's MX domains with those of what it extends.
func (t *Table) mxOf(p Provider) []string {
	out := slices.Clone(p.MX)
	if p.Extends != "" {
		if base, ok := t.Profile(p.Extends); ok {
			out = append(out, t.mxOf(base)...)
		}
	}
	return out
}

// ParseList reads --profile's value: comma-separated profile IDs, or
// "all". Each is checked; duplicates are dropped.
func (t *Table) ParseList(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, id := range strings.Split(v, ",") {
			id = strings.ToLower(strings.TrimSpace(id))
			switch {
			case id == "all":
				for _, p := range t.ProfileIDs() {
					if !slices.Contains(out, p) {
						out = append(out, p)
					}
				}
				continue
			case id == "":
				return nil, fmt.Errorf("an empty profile name (want %s or all)", strings.Join(t.ProfileIDs(), ", "))
			}
			if _, ok := t.Profile(id); !ok {
				return nil, fmt.Errorf("unknown profile %q (want %s or all)", words.Clip(id, 40), strings.Join(t.ProfileIDs(), ", "))
			}
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}
