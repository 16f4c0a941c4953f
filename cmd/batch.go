package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/internal/words"
	"github.com/preflight-mail/preflight/report"
)

// maxTargetLine bounds a line of a targets file.
const maxTargetLine = 64 << 10

// batch checks every target of --targets FILE. The file is read once,
// so it may be a pipe: each line is checked, a bad one being a usage
// error (file:line) before any output, and the good ones are spooled to
// a temporary file that then streams them through the workers, so
// memory stays flat however long the file is.
func (o *checkOptions) batch(cmd *cobra.Command, env envOptions) error {
	spool, total, err := o.spoolTargets(cmd.Context())
	if err != nil {
		return err
	}
	defer spool.Close()
	if total == 0 {
		return fmt.Errorf("no targets in %s", o.targetsFile)
	}
	return o.runBatch(cmd, total, env, func(yield func(checks.Target) error) error {
		return eachTarget(spool, o.targetsFile, func(_ int, ct configTarget) error {
			t, err := o.target(cmd.Context(), ct, "")
			if err != nil {
				return err
			}
			return yield(t)
		})
	})
}

// spoolTargets reads the targets file, checks every target, and writes
// the lines of the good ones to a temporary file, removed at once (it
// lives until closed). It returns the spool, at its start, and the
// number of targets.
func (o *checkOptions) spoolTargets(ctx context.Context) (*os.File, int, error) {
	in, err := inputfile.Open(ctx, o.targetsFile, inputfile.Targets)
	if err != nil {
		return nil, 0, fmt.Errorf("--targets: %w", err)
	}
	defer in.Close()
	spool, err := os.CreateTemp("", "preflight-targets-")
	if err != nil {
		return nil, 0, fmt.Errorf("--targets: a file to spool the targets to: %w", err)
	}
	os.Remove(spool.Name())
	w := bufio.NewWriter(spool)
	total := 0
	err = eachTarget(in, o.targetsFile, func(line int, ct configTarget) error {
		if _, err := o.target(ctx, ct, ""); err != nil {
			return fmt.Errorf("%s:%d: %s", o.targetsFile, line, inputfile.Message(err.Error()))
		}
		total++
		return json.NewEncoder(w).Encode(ct)
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		_, err = spool.Seek(0, io.SeekStart)
	}
	if err != nil {
		spool.Close()
		return nil, 0, err
	}
	return spool, total, nil
}

// batchTargets checks the targets of a config file, all read before
// the first is checked.
func (o *checkOptions) batchTargets(cmd *cobra.Command, targets []configTarget, dir string, env envOptions) error {
	list := make([]checks.Target, len(targets))
	for i, ct := range targets {
		t, err := o.target(cmd.Context(), ct, dir)
		if err != nil {
			return fmt.Errorf("%s: target %d: %w", o.configName(), i+1, err)
		}
		list[i] = t
	}
	return o.runBatch(cmd, len(list), env, func(yield func(checks.Target) error) error {
		for _, t := range list {
			if err := yield(t); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachTarget reads a targets file from r, skipping blank lines and #
// comments; name names it in errors. A line that does not look like a
// target (a file of another kind) is refused without quoting it.
func eachTarget(r io.Reader, name string, f func(line int, t configTarget) error) error {
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
		if !targetShaped(line) {
			return fmt.Errorf(`%s:%d: not a target: want "domain ip[,ip] [helo] [selector,...]" or a JSON object`, name, n)
		}
		ct, err := readTargetLine(line)
		if err != nil {
			return fmt.Errorf("%s:%d: %s", name, n, inputfile.Message(err.Error()))
		}
		if err := f(n, ct); err != nil {
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
func (o *checkOptions) runBatch(cmd *cobra.Command, total int, env envOptions, source func(yield func(checks.Target) error) error) error {
	if f := cmd.Flag("format"); f != nil && f.Changed && o.format != "json" {
		return errors.New("batch mode writes one JSON report per line: --format must be json")
	}
	// The zone files load within --timeout, as in a single run.
	loadCtx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	rn, err := o.newRunner(loadCtx, env)
	cancel()
	if err != nil {
		return err
	}
	reports := make(chan report.Report, o.jobs)
	sem := make(chan struct{}, o.jobs)
	start := time.Now()

	var stats batchStats
	progress := o.progress(total)
	var writer sync.WaitGroup
	writer.Go(func() {
		enc := json.NewEncoder(o.streams.Out)
		enc.SetEscapeHTML(false)
		for rep := range reports {
			enc.Encode(rep)
			stats.add(rep, o.gate)
			progress(stats.n)
		}
	})
	var workers sync.WaitGroup
	stopped := false // by --batch-timeout or a signal
	err = source(func(t checks.Target) error {
		started := false
		if o.canStart(cmd.Context()) {
			select {
			case sem <- struct{}{}:
				started = true
			case <-cmd.Context().Done():
			}
		}
		if !started || !o.canStart(cmd.Context()) {
			if started {
				<-sem
			}
			stopped = true
			return errBatchStopped
		}
		workers.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			reports <- rn.report(ctx, "check", t, checks.For(t))
		})
		return nil
	})
	workers.Wait()
	close(reports)
	writer.Wait()
	if err != nil && !stopped {
		return err
	}
	stats.summary(o.streams.Err, time.Since(start))
	if stopped {
		// The targets in flight ended with the run, unfinished; the
		// others were never started.
		why := "--batch-timeout " + o.batchTimeout.String() + " passed"
		if errors.Is(cmd.Context().Err(), context.Canceled) {
			why = "interrupted"
		}
		fmt.Fprintf(o.streams.Err, "stopped: %s; %d of %d %s not checked\n", why, total-stats.n, total, words.Plural(total, "target", "targets"))
		if stats.code == report.ExitOK {
			stats.code = report.ExitIncomplete
		}
	}
	return o.exit(report.Outcome{Code: stats.code})
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

func (b *batchStats) summary(w io.Writer, took time.Duration) {
	rate := float64(b.n) / max(took.Seconds(), 0.001)
	fmt.Fprintf(w, "checked %d %s in %s (%.0f/s): %d ready, %d not ready, %d unknown; gate failed for %d, incomplete for %d\n",
		b.n, words.Plural(b.n, "target", "targets"), took.Round(time.Millisecond), rate, b.ready, b.notReady, b.unknown, b.failed, b.incomplete)
}

// progress returns a function drawing a progress bar on stderr when it
// is a terminal, and doing nothing otherwise.
func (o *checkOptions) progress(total int) func(done int) {
	f, ok := o.streams.Err.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) || total == 0 {
		return func(int) {}
	}
	last := time.Time{}
	return func(done int) {
		if done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		filled := width * done / total
		fmt.Fprintf(f, "\r[%s%s] %d/%d", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total)
		if done == total {
			fmt.Fprint(f, "\r\033[K")
		}
	}
}
