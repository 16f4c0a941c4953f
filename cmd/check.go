package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/delivery"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/message"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/profiles"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

type checkOptions struct {
	*globalOptions
	listOptions
	ips           []string
	selectors     []string
	treatAsPublic []string
	helo          string
	mailFrom      string
	dkimKey       string
	psl           string
	configPath    string
	noConfigZones bool
	baseline      string
	baselineAny   bool
	maxDrop       int
	targetsFile   string
	jobs          int
	maxInflight   int
	batchTimeout  time.Duration
	shard         string
	skip          []string // --skip: check IDs left out
	profiles      []string // --profile, as given
	failOnProfile []string // --fail-on-profile, as given
	profileIDs    []string // the profiles to judge, checked (applyProfiles)
	send          sendOptions
	messageFile   string // --message: a received message's findings join the check
	cfgRelays     []configRelay
	cfg           *config        // the config file, nil without one
	sendBase      *delivery.Send // the test send from the flags, made once (testSend)
	changed       func(string) bool
}

func newCmdCheck(g *globalOptions) *cobra.Command {
	o := &checkOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "check [DOMAIN --ip IP...] [--helo NAME] [--selector S]... [--mail-from ADDR] [--to ADDR]",
		Short: "Every check at once: the score, the direct-delivery verdict, the fixes",
		Long: `Run every check concurrently over one resolver: ip, rdns, rbl, spf, dkim,
dmarc, mx, dnssec and tls (STARTTLS and certificates on every MX address,
MTA-STS, TLS-RPT, DANE; --skip tls where port 25 is blocked outbound). Print a
score (0-100, README explains the weights; none when something could not be
checked), the verdict for direct delivery (ready only when every sending IP is
public, does not look dynamic, has forward-confirmed reverse DNS, is on no
abuse blocklist and passes SPF, and, with --to on the direct path, the
recipient's MX accepted; the domain's own hard failures block it too: a bogus
DNSSEC zone, an MX without working TLS, an MTA-STS policy or DANE records its
MX hosts break) and the fixes that matter most,
with the exact records to publish. --to ADDR adds a test send (the flags of
preflight send apply: --path, --relay, --deliver...); a test send through
relays gets a verdict of its own.

Settings can come from preflight.yaml (--config, or the file in the working
directory): a flag given on the command line wins over the file, which wins
over the defaults, for every key; --zone files add to the file's zones
(--no-config-zones leaves those out). The report's last line names the file.

--profile gmail-bulk,outlook-bulk (or all; profiles: in the config) judges
the run by those mail providers' published rules: per provider accepts,
rejects or unknown, the rules that fail with the provider's reply codes, and
the rules not checkable from here. Without --profile, one line per major
provider follows the verdict. --fail-on-profile makes the exit code follow a
provider's verdict (rejects: 1, unknown: 3).

For CI: --fail-on and --min-score gate the exit code; --baseline
previous.json gates on regressions only, against a report of check for the
same domain (--baseline-any: any report).

--targets FILE checks many targets (one per line: "domain ip[,ip] [helo]
[selector,...]", or JSON lines) and writes one JSON report per line; the
target flags (--helo, --selector, --mail-from, --ip, --dkim-key) are
defaults for the lines that lack them. --shard I/N checks every N-th target
from the I-th, to split a batch over N jobs (docs/scale.md).`,
		Example: `  preflight check example.com --ip 203.0.113.5 --helo mail.example.com --selector s1
  preflight check --config ci/preflight.yaml --format github

  # CI on a DNS change: check the zone in the pull request, fail only on regressions
  preflight check example.com --ip 203.0.113.5 --zone dns/ --baseline main.json --format json

  # Plus a test send to the recipient's MX (a probe: nothing is delivered)
  preflight check example.com --ip 203.0.113.5 --helo mail.example.com --to someone@example.net

  # A batch through a local caching resolver, 128 targets at once
  preflight check --targets targets.txt --resolver 127.0.0.1 --jobs 128 --max-inflight 512 > reports.ndjson

  # Would Gmail's and Outlook's bulk-sender rules take the mail? Exit 1 if Gmail's would not
  preflight check example.com --ip 203.0.113.5 --selector s1 --profile outlook-bulk --fail-on-profile gmail-bulk

  # The second of four jobs of a large batch
  preflight check --targets targets.txt --format json --shard 1/4 > part1.ndjson

  # The bundled demo, with no network
  preflight check --config testdata/demo/preflight.yaml`,
		Args: wantArgs(0, 1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	g.mergeConfig[c] = o.mergeConfig
	g.runLimit[c] = o.runLimit
	f := c.Flags()
	f.StringArrayVar(&o.ips, "ip", nil, "sending IP (repeatable, or comma-separated)")
	f.StringVar(&o.helo, "helo", "", "the name the server says in HELO/EHLO")
	f.StringArrayVarP(&o.selectors, "selector", "s", nil, "DKIM selector (repeatable; default: try common ones)")
	f.StringVar(&o.mailFrom, "mail-from", "", "envelope sender ADDR or DOMAIN, when it differs from DOMAIN (the test send's sender too)")
	f.StringVar(&o.dkimKey, "dkim-key", "", "private key FILE of the one --selector: checked against the published key, and with --deliver it signs the test message")
	f.StringVar(&o.psl, "psl", "", pslUsage)
	f.StringArrayVar(&o.treatAsPublic, "treat-as-public", nil, "treat addresses in CIDR as public although special-purpose (labs, demos)")
	f.StringVar(&o.configPath, "config", "", "config FILE (default: "+ConfigFile+" in the working directory, if present)")
	f.BoolVar(&o.noConfigZones, "no-config-zones", false, "leave out the config file's zones: only the --zone files answer")
	f.StringVar(&o.baseline, "baseline", "", "earlier JSON report of check for the same domain: gate on regressions only, and print the difference")
	f.BoolVar(&o.baselineAny, "baseline-any", false, "with --baseline: accept a report of another command or domain")
	f.IntVar(&o.maxDrop, "max-drop", 0, "with --baseline: score drop allowed before the gate fails")
	f.StringVar(&o.targetsFile, "targets", "", "FILE of targets to check in batch, - for standard input (NDJSON out)")
	f.IntVar(&o.jobs, "jobs", defaultJobs, fmt.Sprintf("targets checked at once in batch mode (at most %d)", maxJobs))
	f.IntVar(&o.maxInflight, "max-inflight", defaultMaxInflight, "in batch mode, DNS questions on the wire at once, all targets together (docs/scale.md)")
	f.DurationVar(&o.batchTimeout, "batch-timeout", 0, "time limit for the whole batch (default: none; --timeout bounds each target)")
	f.StringVar(&o.shard, "shard", "", "I/N: in batch mode, check every N-th target from the I-th (0 to N-1) only")
	f.StringArrayVar(&o.skip, "skip", nil, "leave out the check ID (repeatable, or comma-separated): e.g. --skip tls where port 25 is blocked")
	f.StringVar(&o.messageFile, "message", "", "a received message FILE (- for standard input): its DKIM, DMARC, format, unsubscribe, ARC and path findings join the check (preflight message)")
	f.StringArrayVar(&o.profiles, "profile", nil, "provider profiles to judge the run by: gmail, gmail-bulk, yahoo, yahoo-bulk, outlook, outlook-bulk, apple, gmx, or all (comma-separated or repeated)")
	f.StringArrayVar(&o.failOnProfile, "fail-on-profile", nil, "provider profiles whose verdict gates the exit code: rejects fails (exit 1), unknown is exit 3 (implies --profile)")
	o.register(f)
	o.send.register(f)
	alias(f, "send-to", "to")
	return c
}

// mergeConfig reads the config file (--config, or preflight.yaml when
// present) into the options the command line did not set. It runs
// before the global options are validated (see globalOptions.prepare).
func (o *checkOptions) mergeConfig(cmd *cobra.Command) error {
	o.changed = func(name string) bool { return changedFlag(cmd, name) }
	cfg, err := o.loadConfig(cmd.Context())
	if err != nil {
		return err
	}
	if cfg == nil {
		if o.noConfigZones {
			return needs("--no-config-zones", "a config file", "no --config was given and there is no "+ConfigFile+" here")
		}
		return nil
	}
	changed := o.changed
	cfg.applyGlobal(o.globalOptions, changed, o.noConfigZones)
	cfg.applyLists(&o.listOptions, changed)
	if !changed("treat-as-public") {
		o.treatAsPublic = cfg.TreatAsPublic
	}
	if !changed("max-drop") && cfg.Thresholds.MaxDrop != nil {
		o.maxDrop = *cfg.Thresholds.MaxDrop
	}
	if !changed("batch-timeout") && cfg.BatchTimeout != "" {
		o.batchTimeout, _ = time.ParseDuration(cfg.BatchTimeout)
	}
	cfg.applySend(&o.send, changed)
	if !changed("profile") {
		o.profiles = cfg.Profiles
	}
	if !changed("fail-on-profile") {
		o.failOnProfile = cfg.Thresholds.FailOnProfile
	}
	o.cfgRelays = cfg.Relays
	o.cfg = cfg
	return nil
}

// isBatch says whether run checks many targets: --targets, or a config
// with several, and no DOMAIN argument.
func (o *checkOptions) isBatch(args []string) bool {
	return len(args) == 0 && (o.targetsFile != "" || o.cfg != nil && len(o.cfg.targets()) > 1)
}

// runLimit is the time limit of the whole run: --timeout, or in batch
// mode --batch-timeout (0: none).
func (o *checkOptions) runLimit(args []string) time.Duration {
	if o.isBatch(args) {
		return max(o.batchTimeout, 0)
	}
	return o.timeout
}

// batchName names what makes a run a batch, for errors.
func (o *checkOptions) batchName() string {
	if o.targetsFile != "" {
		return "--targets"
	}
	return "a config with several targets"
}

// checkUse refuses the flags that conflict or would go unused (issue
// #16): each error names both settings.
func (o *checkOptions) checkUse(args []string) error {
	changed := o.changed
	batch := o.isBatch(args)
	switch {
	case len(args) == 1 && changed("targets"):
		return conflict("DOMAIN", "--targets", "check one DOMAIN, or the targets of the file")
	case o.jobs < 1:
		return fmt.Errorf("--jobs %d: want 1 or more", o.jobs)
	case o.jobs > maxJobs:
		return fmt.Errorf("--jobs %d: at most %d; more targets at once only wait for --max-inflight's questions (for a larger scan, --shard I/N over processes: docs/scale.md)", o.jobs, maxJobs)
	case o.maxInflight < 1:
		return fmt.Errorf("--max-inflight %d: want 1 or more", o.maxInflight)
	case o.maxDrop < 0:
		return fmt.Errorf("--max-drop %d: want 0 or more", o.maxDrop)
	case o.batchTimeout < 0:
		return fmt.Errorf("--batch-timeout %s: want a positive duration such as 10m", o.batchTimeout)
	case o.batchTimeout > 0 && !batch && changed("batch-timeout"):
		// (A config's batch_timeout serves its batch runs; one target
		// checked from the same file leaves it unused.)
		return errors.New("--batch-timeout is for batch mode (--targets FILE, or a config with several targets); --timeout bounds a single run")
	case batch && o.messageFile != "":
		return conflict("--message", o.batchName(), "a message belongs to one target")
	case batch && o.baseline != "":
		return conflict("--baseline", o.batchName(), "a baseline is one earlier report of one target; a batch writes one report per target")
	case changed("max-drop") && o.baseline == "":
		return needs("--max-drop", "--baseline", "it is the score drop a comparison with the baseline allows")
	case changed("baseline-any") && o.baseline == "":
		return needs("--baseline-any", "--baseline", "it says which baselines to accept")
	}
	for _, f := range []string{"jobs", "max-inflight", "shard"} {
		if changed(f) && !batch {
			return needs("--"+f, "batch mode", "give --targets FILE, or a config with several targets")
		}
	}
	if changed("port") && (o.send.port < 1 || o.send.port > 65535) {
		return fmt.Errorf("--port %d: want 1 to 65535", o.send.port)
	}
	if changed("https-port") && (o.send.httpsPort < 1 || o.send.httpsPort > 65535) {
		return fmt.Errorf("--https-port %d: want 1 to 65535", o.send.httpsPort)
	}
	if o.send.to == "" {
		for _, f := range sendFlags {
			if changed(f) {
				return needs("--"+f, "--to ADDR", "it is a setting of the test send, which --to asks for")
			}
		}
		return nil
	}
	return o.send.checkUse(changed, o.send.user != "")
}

// run checks check's own options, then checks what was asked for: the
// command line, a targets file, or the config.
func (o *checkOptions) run(cmd *cobra.Command, args []string) error {
	if err := o.checkUse(args); err != nil {
		return err
	}
	if err := o.checkSkip(); err != nil {
		return err
	}
	if o.changed("trust-anchor") && slices.Contains(o.skip, "dnssec") && slices.Contains(o.skip, "tls") &&
		(slices.Contains(o.skip, "send") || o.send.to == "" && o.cfg == nil) {
		// The checks that validate DNSSEC are all left out.
		return conflict("--skip dnssec,tls", "--trust-anchor", "only the dnssec and tls checks and the test send's DANE validate DNSSEC")
	}
	if err := o.applyProfiles(); err != nil {
		return err
	}
	shard, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	env, err := o.envOptions(cmd.Context())
	if err != nil {
		return err
	}
	var baseline *report.Report
	if o.baseline != "" {
		if baseline, err = readBaseline(cmd.Context(), o.baseline); err != nil {
			return err
		}
	}
	cfg := o.cfg
	switch {
	case len(args) == 1:
		t, err := o.target(cmd.Context(), configTarget{Domain: args[0], IPs: o.ips, HELO: o.helo, Selectors: o.selectors, MailFrom: o.mailFrom, DKIMKey: o.dkimKey})
		if err != nil {
			return err
		}
		return o.single(cmd, t, env, baseline)
	case o.targetsFile != "":
		return o.batch(cmd, env, shard)
	case cfg != nil && len(cfg.targets()) == 1:
		t, err := o.target(cmd.Context(), o.overridden(cfg.targets()[0]))
		if err != nil {
			return cfg.targetError(0, err)
		}
		return o.single(cmd, t, env, baseline)
	case cfg != nil && len(cfg.targets()) > 1:
		return o.batchTargets(cmd, cfg, env, shard)
	}
	return errors.New("give DOMAIN --ip IP, --targets FILE, or a config file with a target")
}

// overridden is a config's target with the target flags the command
// line gave in place of the file's values: flags win.
func (o *checkOptions) overridden(ct configTarget) configTarget {
	if o.changed("ip") {
		ct.IPs = o.ips
	}
	if o.changed("helo") {
		ct.HELO = o.helo
	}
	if o.changed("selector") {
		ct.Selectors = o.selectors
	}
	if o.changed("mail-from") {
		ct.MailFrom = o.mailFrom
	}
	if o.changed("dkim-key") {
		ct.DKIMKey = o.dkimKey
	}
	return ct
}

// withDefaults is a batch target (a line of --targets, a target of a
// config's targets) with the target flags for the fields it lacks: the
// flags are defaults for every line.
func (o *checkOptions) withDefaults(ct configTarget) configTarget {
	if len(ct.IPs) == 0 {
		ct.IPs = o.ips
	}
	if ct.HELO == "" {
		ct.HELO = o.helo
	}
	if len(ct.Selectors) == 0 {
		ct.Selectors = o.selectors
	}
	if ct.MailFrom == "" {
		ct.MailFrom = o.mailFrom
	}
	if ct.DKIMKey == "" {
		ct.DKIMKey = o.dkimKey
	}
	return ct
}

// envOptions reads the blocklist, public-range and dialer options.
func (o *checkOptions) envOptions(ctx context.Context) (envOptions, error) {
	lists, err := o.resolve(ctx, o.streams)
	if err != nil {
		return envOptions{}, err
	}
	public, err := parsePrefixes("--treat-as-public", o.treatAsPublic)
	if err != nil {
		return envOptions{}, err
	}
	dial, err := o.send.dialer(o.streams.Getenv)
	if err != nil {
		return envOptions{}, err
	}
	psl, err := loadPSL(ctx, o.psl)
	if err != nil {
		return envOptions{}, err
	}
	roots, err := o.send.rootCAs(ctx)
	if err != nil {
		return envOptions{}, err
	}
	tls := checks.TLSSettings{Port: o.send.port, HTTPSPort: o.send.httpsPort, Roots: roots}
	return envOptions{lists: lists, public: public, dial: dial, psl: psl, tls: tls}, nil
}

// loadConfig reads --config, or preflight.yaml when it exists.
func (o *checkOptions) loadConfig(ctx context.Context) (*config, error) {
	path := o.configPath
	if path == "" {
		if _, err := os.Stat(ConfigFile); err != nil {
			return nil, nil
		}
		path = ConfigFile
	}
	// The config may set the timeout, so the run's deadline does not
	// exist yet: reading it is bounded by the command line's (or the
	// default) --timeout instead, so a named pipe cannot hang the run.
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return loadConfig(ctx, path)
}

// target checks and normalises one target, with its test send.
func (o *checkOptions) target(ctx context.Context, ct configTarget) (checks.Target, error) {
	t, err := o.baseTarget(ctx, ct)
	if err == nil && o.send.to != "" {
		t.Send, err = o.testSend(ctx, t)
	}
	return t, err
}

// baseTarget is the target without the test send.
func (o *checkOptions) baseTarget(ctx context.Context, ct configTarget) (checks.Target, error) {
	t, err := parseTarget(ct, "the checks are about the IPs that send")
	if err != nil {
		return t, err
	}
	if ct.DKIMKey != "" {
		if len(t.Selectors) != 1 {
			return t, &fieldError{field: "dkim_key", err: needs("--dkim-key", "exactly one --selector", "the one the key belongs to")}
		}
		if t.DKIMKey, err = loadKey(ctx, ct.DKIMKey); err != nil {
			return t, &fieldError{field: "dkim_key", err: err}
		}
	}
	return t, nil
}

// single checks one target, writes the report and gates.
func (o *checkOptions) single(cmd *cobra.Command, t checks.Target, env envOptions, baseline *report.Report) error {
	if baseline != nil && !o.baselineAny {
		if err := sameSubject(o.baseline, *baseline, "check", t.Domain); err != nil {
			return err
		}
	}
	if o.messageFile != "" {
		m, err := readMessage(cmd.Context(), o.streams, o.messageFile)
		if err != nil {
			return fmt.Errorf("--message: %w", err)
		}
		t.Message = m
		if len(t.Selectors) == 0 {
			// The selectors the message was signed with for DOMAIN,
			// rather than guesses.
			sigs := m.Get("DKIM-Signature")
			for _, f := range sigs[:min(len(sigs), message.MaxSignatures)] {
				if s := message.ParseSignature(f.Value); s.Domain == t.Domain {
					if sel, err := names.ParseSelector(s.Selector); err == nil && !slices.Contains(t.Selectors, sel) {
						t.Selectors = append(t.Selectors, sel)
					}
				}
			}
		}
	}
	rn, err := o.newRunner(cmd.Context(), env)
	if err != nil {
		return err
	}
	rep := rn.report(cmd.Context(), "check", t, o.checksFor(t))
	if t.Message != nil {
		rep.Verdict.Message = report.MessageVerdict(rep)
	}
	return o.finish(o.judgeProviders(rep), baseline, o.maxDrop)
}

// checkSkip refuses a --skip value that is no check's ID.
func (o *checkOptions) checkSkip() error {
	var ids []string
	for _, v := range o.skip {
		for _, id := range strings.Split(v, ",") {
			id = strings.TrimSpace(id)
			if _, ok := checks.ByID(id); !ok {
				var known []string
				for _, c := range checks.All {
					known = append(known, c.ID)
				}
				return fmt.Errorf("--skip %q: not a check; the checks are %s", report.Sanitize(id), strings.Join(known, ", "))
			}
			ids = append(ids, id)
		}
	}
	o.skip = ids
	return nil
}

// checksFor is checks.For(t) without the checks of --skip.
func (o *checkOptions) checksFor(t checks.Target) []checks.Check {
	return slices.DeleteFunc(checks.For(t), func(c checks.Check) bool { return slices.Contains(o.skip, c.ID) })
}

// applyProfiles checks --profile and --fail-on-profile (or the config's
// profiles and thresholds.fail_on_profile): a gated profile is judged
// too, and the gate learns which verdicts decide the exit code.
func (o *checkOptions) applyProfiles() error {
	table := profiles.MustLoad()
	ids, err := table.ParseList(o.profiles)
	if err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	gated, err := table.ParseList(o.failOnProfile)
	if err != nil {
		return fmt.Errorf("--fail-on-profile: %w", err)
	}
	for _, id := range gated {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(gated) > 0 && o.baseline != "" {
		if o.changed("fail-on-profile") {
			return conflict("--fail-on-profile", "--baseline", "with a baseline the gate is regressions only; compare the providers' verdicts in the two reports instead")
		}
		// The config's thresholds.fail_on_profile: with --baseline the
		// gate is regressions only; the providers are still judged.
		gated = nil
	}
	o.profileIDs = ids
	o.gate.Profiles = gated
	return nil
}

// judgeProviders adds the providers' verdicts to a report: the profiles
// asked for, or else a one-line summary of the major providers for the
// text report.
func (o *checkOptions) judgeProviders(rep report.Report) report.Report {
	table := profiles.MustLoad()
	if len(o.profileIDs) > 0 {
		rep.Providers = table.Evaluate(o.profileIDs, rep)
	}
	if len(o.profiles) == 0 && o.format == "text" {
		// No --profile, perhaps a --fail-on-profile: the summary under
		// the verdict is still the major providers', the gated ones too.
		// Only the text report shows it (JSON has no summary: a batch,
		// always JSON, would spend a fifth of its CPU on it).
		ids := table.Major()
		for _, id := range o.profileIDs {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		rep.SetProviderSummary(table.Evaluate(ids, rep))
	}
	return rep
}

// readBaseline reads an earlier JSON report of this schema version. Its
// errors name file:line:col, and quote nothing of a file that is not
// JSON. A version 1 report is refused, not converted: version 2 moved
// findings between warn and fail (fail now means "blocks a verdict"), so
// every moved finding would show as a regression or a fix that did not
// happen.
func readBaseline(ctx context.Context, path string) (*report.Report, error) {
	b, _, err := inputfile.ReadFile(ctx, path, inputfile.Report)
	if err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	if err := inputfile.CheckText(path, b, inputfile.Report); err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return nil, fmt.Errorf("--baseline %s: not a preflight JSON report: it does not start with {", path)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		at := ""
		if offset, ok := jsonOffset(err); ok {
			line, col := inputfile.LineCol(b, offset)
			at = fmt.Sprintf(":%d:%d", line, col)
		}
		return nil, fmt.Errorf("--baseline %s%s: not a preflight JSON report: %s", path, at, inputfile.Message(err.Error()))
	}
	switch {
	case r.SchemaVersion == 1:
		return nil, fmt.Errorf("--baseline %s: a schema_version 1 report, from an older preflight; version %d changed which findings fail, so the comparison would show regressions that are not: make the baseline again with this version",
			path, report.SchemaVersion)
	case r.SchemaVersion != report.SchemaVersion:
		return nil, fmt.Errorf("--baseline %s: schema_version %d, want %d", path, r.SchemaVersion, report.SchemaVersion)
	}
	return &r, nil
}

// sameSubject refuses a baseline that is not a report of command for
// domain: the difference between reports of different things would read
// as regressions and fixes that are not (issue #16).
func sameSubject(path string, base report.Report, command, domain string) error {
	if base.Command == command && base.Target.Domain == domain {
		return nil
	}
	what := func(c, d string) string {
		if d == "" {
			return fmt.Sprintf("of %q", c)
		}
		return fmt.Sprintf("of %q for %s", c, d)
	}
	return fmt.Errorf("--baseline %s: a report %s, not %s: the difference would compare different things; make the baseline with the same command and domain, or give --baseline-any",
		path, what(base.Command, report.Sanitize(base.Target.Domain)), what(command, domain))
}

// jsonOffset is where in its input a JSON error is, when it says.
func jsonOffset(err error) (int64, bool) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return se.Offset, true
	case errors.As(err, &te):
		return te.Offset, true
	}
	return 0, false
}

// testSend builds the --send-to test send of a target: from the
// envelope sender, else postmaster@DOMAIN; EHLO with the HELO name.
// What comes from the flags, the password, CA and relays files among
// it, is built once per run (o.sendBase); each target gets a copy with
// its own sender, HELO name and DKIM key.
func (o *checkOptions) testSend(ctx context.Context, t checks.Target) (*delivery.Send, error) {
	from := "postmaster@" + t.Domain
	if !t.MailFrom.IsZero() {
		from = t.MailFrom.Sender().String()
	}
	helo := t.HELO
	if helo.IsZero() {
		var err error
		if helo, err = heloOrHostname(""); err != nil {
			return nil, &fieldError{field: "helo", err: err}
		}
	}
	if o.sendBase == nil {
		base, err := o.send.build(ctx, o.streams, helo, from, o.cfgRelays, nil)
		if err != nil {
			return nil, err
		}
		o.sendBase = base
	}
	s := *o.sendBase
	var err error
	if s.From, err = parseAddress("--mail-from", from); err != nil {
		return nil, &fieldError{field: "mail_from", err: err}
	}
	s.HELO = helo
	if t.DKIMKey != nil && len(t.Selectors) == 1 {
		s.DKIMKey, s.DKIMSelector = t.DKIMKey, string(t.Selectors[0])
	}
	return &s, nil
}

// parseTarget checks and normalises a target's names, IPs and selectors;
// why says why --ip is required. Each error is a *fieldError naming the
// field (a config's key) and worded for the command line.
func parseTarget(ct configTarget, why string) (checks.Target, error) {
	t, err := parseTargetFields(ct)
	if err == nil && len(t.IPs) == 0 {
		err = &fieldError{field: "ips", err: fmt.Errorf("%s: --ip is required: %s", t.Domain, why), missing: why + " (or give --ip)"}
	}
	return t, err
}

// checkTargetFields checks the fields a target of a config has: its IPs
// may come from --ip.
func checkTargetFields(ct configTarget) error {
	_, err := parseTargetFields(ct)
	return err
}

func parseTargetFields(ct configTarget) (checks.Target, error) {
	domain, err := resolver.NormalizeDomain(ct.Domain)
	if err != nil {
		fe := &fieldError{field: "domain", err: err}
		if ct.Domain == "" {
			fe.err = errors.New("no domain: the domain the mail is from, such as example.com")
			fe.missing = "the domain the mail is from"
		}
		return checks.Target{}, fe
	}
	ips, err := parseIPs(ct.IPs)
	if err != nil {
		return checks.Target{}, &fieldError{field: "ips", err: fmt.Errorf("--ip: %w", err)}
	}
	helo, err := parseHELO(ct.HELO)
	if err != nil {
		return checks.Target{}, &fieldError{field: "helo", err: err}
	}
	from, err := parseMailFrom(ct.MailFrom)
	if err != nil {
		return checks.Target{}, &fieldError{field: "mail_from", err: err}
	}
	sels, err := parseSelectors(ct.Selectors)
	if err != nil {
		return checks.Target{}, &fieldError{field: "selectors", err: err}
	}
	return checks.Target{Domain: domain, IPs: ips, HELO: helo, MailFrom: from, Selectors: sels}, nil
}

// fieldError is an error about one field of a target or a relay: the
// command line names it by its flag (the error's own wording), a config
// by its key (field).
type fieldError struct {
	field string
	err   error
	// missing, when the field is not given at all, says why it is
	// needed (a config's error names the key, not a flag).
	missing string
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }
