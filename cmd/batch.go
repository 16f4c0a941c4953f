package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/internal/words"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

// maxTargetLine bounds a line of a targets file.
const maxTargetLine = 64 << 10

// Batch concurrency (issue #21, docs/scale.md has the arithmetic). A
// target is a few dependent round trips, so targets are latency-bound:
// 64 at once keep a batch of 20 to 64 domains in one wave, and the
// questions of all of them on the wire at once are bounded apart, so a
// large batch cannot flood the resolver.
//
// maxJobs bounds --jobs: more targets at once only wait on
// --max-inflight's questions while holding their memory (--jobs 1000000
// took 1.28 GB, and a target's --timeout ran out while it waited); a
// larger scan is sharded (--shard).
const (
	defaultJobs        = 64
	defaultMaxInflight = 256
	maxJobs            = 1024
)

// maxBadLines bounds the bad lines of a targets file (or targets of a
// config) one error lists; the rest are counted.
const maxBadLines = 20

// batch checks every target of --targets FILE (of its shard). The file
// is read once, so it may be a pipe: each line is checked, the bad ones
// being one usage error listing them (file:line) before any output, and
// the good ones of the shard are spooled to a temporary file that then
// streams them through the workers, so memory stays flat however long
// the file is.
func (o *checkOptions) batch(cmd *cobra.Command, env envOptions, sh shard) error {
	spool, n, err := o.spoolTargets(cmd.Context(), sh)
	if err != nil && cmd.Context().Err() != nil {
		// A signal or --batch-timeout while the file (a pipe) was
		// still being read: no usage error (exit 2 tells CI the
		// arguments were wrong), but a stopped batch, exit 3.
		fmt.Fprintf(o.streams.Err, "stopped: %s while %s was read; nothing was checked\n", o.stopReason(cmd.Context()), errorText(o.targetsName()))
		return exitError{report.ExitIncomplete}
	}
	if err != nil {
		return err
	}
	defer spool.Close()
	if n.total == 0 {
		return fmt.Errorf("no targets in %s", o.targetsName())
	}
	return o.runBatch(cmd, n, sh, env, func(yield func(checks.Target) error) error {
		return eachTarget(spool, o.targetsName(), func(_ int, ct configTarget, err error) error {
			if err != nil {
				return err
			}
			// The spool keeps no DKIM key path (json:"-"): the
			// defaults give back --dkim-key's.
			t, err := o.target(cmd.Context(), o.withDefaults(ct))
			if err != nil {
				return err
			}
			return yield(t)
		})
	})
}

// targetsName names --targets in messages: the file, or standard input
// for "-".
func (o *checkOptions) targetsName() string {
	if o.targetsFile == "-" {
		return "standard input"
	}
	return o.targetsFile
}

// openTargets opens --targets FILE, or standard input for "-" (as
// `--targets /dev/stdin` would be: within the targets file's limits, and
// a signal ends a read that waits on it).
func (o *checkOptions) openTargets(ctx context.Context) (io.ReadCloser, error) {
	if o.targetsFile != "-" {
		return inputfile.Open(ctx, o.targetsFile, inputfile.Targets)
	}
	switch in := o.streams.In.(type) {
	case *os.File:
		return inputfile.Open(ctx, fmt.Sprintf("/dev/fd/%d", in.Fd()), inputfile.Targets)
	case nil:
		return io.NopCloser(strings.NewReader("")), nil
	default:
		return io.NopCloser(in), nil // a test's reader
	}
}

// batchCount counts a batch's targets: all of them, and those of the
// shard this run checks.
type batchCount struct{ total, inShard int }

// spoolTargets reads the targets file, checks every target (the target
// flags filling in what a line lacks), and writes the good ones of the
// shard, as JSON, to a temporary file, removed at once (it lives until
// closed). It returns the spool, at its start, and the counts. Every bad
// line is in the error.
func (o *checkOptions) spoolTargets(ctx context.Context, sh shard) (*os.File, batchCount, error) {
	var n batchCount
	in, err := o.openTargets(ctx)
	if err != nil {
		return nil, n, fmt.Errorf("--targets: %w", err)
	}
	defer in.Close()
	spool, err := os.CreateTemp("", "preflight-targets-")
	if err != nil {
		return nil, n, fmt.Errorf("--targets: a file to spool the targets to: %w", err)
	}
	os.Remove(spool.Name())
	w := bufio.NewWriter(spool)
	bad := &badLines{file: o.targetsName()}
	err = eachTarget(in, o.targetsName(), func(line int, ct configTarget, lerr error) error {
		if lerr == nil {
			ct = o.withDefaults(ct)
			lerr = o.checkBatchTarget(ctx, ct)
		}
		if lerr != nil {
			return bad.add(fmt.Sprintf("%s:%d", o.targetsName(), line), lerr)
		}
		k := n.total
		n.total++
		if !sh.has(k) {
			return nil
		}
		n.inShard++
		return json.NewEncoder(w).Encode(ct)
	})
	if err == nil {
		err = bad.err()
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		_, err = spool.Seek(0, io.SeekStart)
	}
	if err != nil {
		spool.Close()
		return nil, n, err
	}
	return spool, n, nil
}

// checkBatchTarget checks a target of a batch as target does. An error
// that is not about the target (a password or CA file of the test send)
// is the batch's, not a line's: it is wrapped so badLines stops at it.
func (o *checkOptions) checkBatchTarget(ctx context.Context, ct configTarget) error {
	_, err := o.target(ctx, ct)
	var fe *fieldError
	if err != nil && !errors.As(err, &fe) {
		return batchError{err}
	}
	return err
}

// batchError is an error that ends the reading of a batch's targets.
type batchError struct{ error }

func (e batchError) Unwrap() error { return e.error }

// badLines collects the bad targets of a batch, to report them all at
// once (issue #16: a file with 4 bad lines took 5 runs).
type badLines struct {
	file  string
	lines []string
	n     int
}

// add records the error of the target at where; an error that is not
// about the target (batchError) is returned, ending the batch.
func (b *badLines) add(where string, err error) error {
	var be batchError
	if errors.As(err, &be) {
		return be.error
	}
	b.n++
	msg := err.Error()
	var fe *fieldError
	if errors.As(err, &fe) {
		msg = fe.field + ": " + flagless(msg) // the line's field, not a flag
	}
	if len(b.lines) < maxBadLines {
		b.lines = append(b.lines, where+": "+inputfile.Message(msg))
	}
	return nil
}

// err is the usage error listing the bad targets, nil without any.
func (b *badLines) err() error {
	if b.n == 0 {
		return nil
	}
	if b.n == 1 {
		return errors.New(b.lines[0])
	}
	lines := slices.Clone(b.lines)
	if more := b.n - len(b.lines); more > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more bad %s", more, words.Plural(more, "target", "targets")))
	}
	return &usageLines{head: fmt.Sprintf("%s: %d bad targets, nothing was checked", b.file, b.n), lines: lines}
}

// usageLines is a usage error of several lines: a head, then one line
// each (file:line: what), so editors and CI logs can jump to each.
type usageLines struct {
	head  string
	lines []string
}

func (e *usageLines) Error() string { return e.head + ": " + strings.Join(e.lines, "; ") }

// batchTargets checks the targets of a config file (of the shard), all
// read and checked before the first is run; the target flags fill in
// what a target lacks.
func (o *checkOptions) batchTargets(cmd *cobra.Command, cfg *config, env envOptions, sh shard) error {
	var list []checks.Target
	bad := &badLines{file: cfg.file}
	all := cfg.targets()
	for i, ct := range all {
		t, err := o.target(cmd.Context(), o.withDefaults(ct))
		var fe *fieldError
		switch {
		case err != nil && !errors.As(err, &fe):
			return err
		case err != nil:
			bad.n++
			if len(bad.lines) < maxBadLines {
				bad.lines = append(bad.lines, cfg.targetError(i, err).Error())
			}
		case sh.has(i):
			list = append(list, t)
		}
	}
	if err := bad.err(); err != nil {
		return err
	}
	return o.runBatch(cmd, batchCount{len(all), len(list)}, sh, env, func(yield func(checks.Target) error) error {
		for _, t := range list {
			if err := yield(t); err != nil {
				return err
			}
		}
		return nil
	})
}

// shard is the part of a batch this run checks (--shard I/N): the
// targets whose index, from 0 in the order of the file, is I modulo N.
type shard struct{ i, n int }

// parseShard reads --shard I/N; "" is the whole batch.
func parseShard(s string) (shard, error) {
	if s == "" {
		return shard{0, 1}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return shard{}, fmt.Errorf("--shard %s: want I/N with 0 <= I < N, such as 0/4 (the first of four jobs)", inputfile.Excerpt(s))
	}
	return shard{i, n}, nil
}

func (s shard) has(k int) bool { return s.n <= 1 || k%s.n == s.i }

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.i, s.n) }

// eachTarget reads a targets file from r, skipping blank lines and #
// comments; name names it in errors. Each line goes to f with its target
// or the error that makes it no target; f's error ends the reading. A
// line with control characters (a file of another kind) or one too long
// ends it too, without quoting the line.
func eachTarget(r io.Reader, name string, f func(line int, t configTarget, err error) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxTargetLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexFunc(line, func(r rune) bool { return r < 0x80 && inputfile.IsControl(byte(r)) }); i >= 0 {
			return inputfile.NotText(name, n, i+1, line[i], inputfile.Targets)
		}
		if i := strings.IndexByte(line, '\r'); i >= 0 {
			// CR alone ends no line here: a file with old Mac line
			// endings is one long line ("too many fields" said nothing).
			return fmt.Errorf("%s:%d:%d: a carriage return inside the line: end lines with LF or CRLF", name, n, i+1)
		}
		var ct configTarget
		var err error
		if !targetShaped(line) {
			err = errors.New(`not a target: want "domain ip[,ip] [helo] [selector,...]" or a JSON object`)
		} else {
			ct, err = readTargetLine(line)
		}
		if err := f(n, ct, err); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return fmt.Errorf("%s:%d: a line longer than %s", name, n+1, inputfile.Size(maxTargetLine))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	return nil
}

// readTargetLine reads a line of a targets file: a JSON object with the
// keys of a config target, or "domain ip[,ip] [helo] [selector,...]".
func readTargetLine(line string) (configTarget, error) {
	if !strings.HasPrefix(line, "{") {
		return parseTargetLine(line)
	}
	var ct configTarget
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	err := dec.Decode(&ct)
	return ct, err
}

// targetShaped reports whether a line looks like a target: a JSON
// object, or a first field of the characters of domain names and a
// second of those of IP addresses. An error may quote what it says of
// such a line; of any other (KEY=secret), nothing.
func targetShaped(line string) bool {
	if strings.HasPrefix(line, "{") {
		return true
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return len(f) == 1 && strings.IndexFunc(f[0], notDomainChar) < 0
	}
	return strings.IndexFunc(f[0], notDomainChar) < 0 &&
		strings.Trim(f[1], "0123456789abcdefABCDEF.:,") == ""
}

func notDomainChar(r rune) bool {
	return r < 0x80 && r != '-' && r != '.' && r != '_' &&
		(r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
}

// runBatch runs up to --jobs targets at once and writes each report as
// one JSON line as soon as it is done (each line names its target):
// in input order, one slow target (a DNS retry) would hold back all
// the others.
func (o *checkOptions) runBatch(cmd *cobra.Command, n batchCount, sh shard, env envOptions, source func(yield func(checks.Target) error) error) error {
	if o.changed("format") && o.format != "json" {
		why := "batch mode writes one JSON report per line: --format must be json"
		if o.format == "github" {
			// The GitHub Action always adds --format github.
			why += " (the GitHub Action adds --format github: run a batch in a step of its own, docs/scale.md)"
		}
		return conflict("--format "+o.format, o.batchName(), why)
	}
	// The reports are JSON whatever the default: judgeProviders must not
	// make each target's text-only provider summary (a fifth of a
	// batch's CPU when the flag was left out).
	o.format = "json"
	total := n.inShard
	// The zone files load within --timeout, as in a single run.
	loadCtx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	rn, err := o.newRunner(loadCtx, env)
	cancel()
	if err != nil {
		return err
	}
	// One cache of answers for all the targets, and one bound on their
	// questions in flight (resolver.Batch).
	rn.cfg.Batch = resolver.NewBatch(o.maxInflight)
	defer rn.cfg.Batch.Close() // after the workers: questions of runs that gave up
	reports := make(chan report.Report, min(o.jobs, total))
	start := time.Now()

	// A signal (SIGINT, SIGTERM) cancels cmd.Context(), and so ctx: no
	// target starts after it, and those running end within their own
	// --timeout, not at once (their reports are whole). --batch-timeout's
	// deadline still bounds them. A report that cannot be written
	// (a full disk, a closed pipe) cancels ctx and runCtx: the others
	// could not be written either.
	ctx, stop := context.WithCancel(cmd.Context())
	defer stop()
	runCtx := context.WithoutCancel(cmd.Context())
	if d, ok := cmd.Context().Deadline(); ok {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(runCtx, d)
		defer cancel()
	}
	runCtx, stopRun := context.WithCancel(runCtx)
	defer stopRun()
	if second := takeSecondSignal(cmd.Context()); second != nil {
		// A second signal cuts the running targets short: their
		// reports and the summary are still written.
		defer context.AfterFunc(second, stopRun)()
	}

	var stats batchStats // of the reports written
	var writeErr error
	bar := o.progress(total)
	var writer sync.WaitGroup
	writer.Go(func() {
		enc := json.NewEncoder(o.streams.Out)
		enc.SetEscapeHTML(false)
		for rep := range reports {
			if writeErr != nil {
				continue // the workers' last reports, not written
			}
			bar.beforeOut()
			if writeErr = enc.Encode(rep); writeErr != nil {
				stop()
				stopRun()
				continue
			}
			stats.add(rep, o.gate)
			bar.draw(stats.n)
		}
		bar.clear()
	})
	// --jobs workers, each checking one target after another.
	targets := make(chan checks.Target)
	var workers sync.WaitGroup
	var late atomic.Bool // a target handed over when none could start
	for range min(o.jobs, total) {
		workers.Go(func() {
			for t := range targets {
				if !o.canStart(ctx) {
					late.Store(true)
					continue
				}
				tctx, cancel := context.WithTimeout(runCtx, o.timeout)
				reports <- o.judgeProviders(rn.report(tctx, "check", t, o.checksFor(t)))
				cancel()
			}
		})
	}
	stopped := false // by --batch-timeout, a signal or a write error
	err = source(func(t checks.Target) error {
		if o.canStart(ctx) {
			select {
			case targets <- t:
				return nil
			case <-ctx.Done():
			}
		}
		stopped = true
		return errBatchStopped
	})
	close(targets)
	workers.Wait()
	close(reports)
	writer.Wait()
	stopped = stopped || late.Load() || writeErr != nil
	if err != nil && !stopped {
		return err
	}
	stats.summary(o.streams.Err, time.Since(start), n, sh)
	if stopped {
		// The targets in flight ran to their end (a signal) or to
		// --batch-timeout's; the others were never started.
		why, notDone := o.stopReason(cmd.Context()), "not checked"
		interrupted := errors.Is(cmd.Context().Err(), context.Canceled)
		if writeErr != nil {
			// Exit 3 like a single check's unwritten report: the
			// gate's outcome is in no report anyone can read.
			why, notDone = "the reports could not be written: "+writeErr.Error(), "not written"
			interrupted = true
		}
		fmt.Fprintf(o.streams.Err, "stopped: %s; %d of %d %s %s\n", why, total-stats.n, total, words.Plural(total, "target", "targets"), notDone)
		// An interrupted batch exits 3 whatever its finished targets
		// gave, so a script tells it from a whole run that failed a
		// gate (issue #21); --batch-timeout's cut keeps a failed gate.
		if interrupted || stats.code == report.ExitOK {
			stats.code = report.ExitIncomplete
		}
	}
	return o.exit(report.Outcome{Code: stats.code})
}

// stopReason says why a batch stopped, once ctx (the run's) is done: a
// signal, or --batch-timeout.
func (o *checkOptions) stopReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return "interrupted"
	}
	return "--batch-timeout " + o.batchTimeout.String() + " passed"
}

// errBatchStopped ends the targets' source when no more may start.
var errBatchStopped = errors.New("batch stopped")

// canStart says whether a target may still start: the batch was not
// interrupted, and at least a tenth of --timeout (at most a second) is
// left before --batch-timeout. With less, a target could only report
// every check unfinished.
func (o *checkOptions) canStart(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	d, ok := ctx.Deadline()
	return !ok || time.Until(d) >= min(o.timeout/10, time.Second)
}

// batchStats counts outcomes for the summary line.
type batchStats struct {
	n, ready, notReady, unknown, failed, incomplete int
	code                                            int
}

func (b *batchStats) add(r report.Report, g report.Gate) {
	b.n++
	switch r.Verdict.DirectDelivery {
	case report.Ready:
		b.ready++
	case report.NotReady:
		b.notReady++
	default:
		b.unknown++
	}
	switch g.Apply(r).Code {
	case report.ExitGateFailed:
		b.failed++
		b.code = report.ExitGateFailed
	case report.ExitIncomplete:
		b.incomplete++
		if b.code == report.ExitOK {
			b.code = report.ExitIncomplete
		}
	}
}

// summary is the batch's last line on stderr; a shard says which, and of
// how many targets.
func (b *batchStats) summary(w io.Writer, took time.Duration, n batchCount, sh shard) {
	rate := float64(b.n) / max(took.Seconds(), 0.001)
	part := ""
	if sh.n > 1 {
		part = fmt.Sprintf(" (shard %s of %d)", sh, n.total)
	}
	fmt.Fprintf(w, "checked %d %s%s in %s (%.0f/s): %d ready, %d not ready, %d unknown; gate failed for %d, incomplete for %d\n",
		b.n, words.Plural(b.n, "target", "targets"), part, took.Round(time.Millisecond), rate, b.ready, b.notReady, b.unknown, b.failed, b.incomplete)
}

// progressBar draws the batch's progress on stderr when stderr is a
// terminal (and nothing otherwise). When stdout is a terminal too, the
// two share it: the bar's line is cleared before each report is written
// to stdout, so no JSON line starts with the bar (issue #16).
type progressBar struct {
	f      *os.File // nil: no bar
	total  int
	last   time.Time
	shown  bool
	shared bool // stdout is a terminal as well
}

// progress returns the batch's progress bar.
func (o *checkOptions) progress(total int) *progressBar {
	f, ok := o.streams.Err.(*os.File)
	if !ok || !isTerminal(f) || total == 0 {
		return &progressBar{}
	}
	out, ok := o.streams.Out.(*os.File)
	return &progressBar{f: f, total: total, shared: ok && isTerminal(out)}
}

// draw shows done of total, at most ten times a second.
func (p *progressBar) draw(done int) {
	if p.f == nil || done < p.total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width * done / p.total
	fmt.Fprintf(p.f, "\r[%s%s] %d/%d", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, p.total)
	p.shown = true
}

// beforeOut clears the bar's line before a write to stdout when the two
// share the terminal; draw puts it back.
func (p *progressBar) beforeOut() {
	if p.shared {
		p.clear()
	}
}

// clear erases the bar's line.
func (p *progressBar) clear() {
	if p.f != nil && p.shown {
		fmt.Fprint(p.f, "\r\033[K")
		p.shown = false
	}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
