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
	"github.com/preflight-mail/preflight/internal/words"
	"github.com/preflight-mail/preflight/report"
)

// maxTargetLine bounds a line of a targets file.
const maxTargetLine = 64 << 10

// batch checks every target of --targets FILE. The file is read twice:
// once to reject a bad line before any output (a usage error naming
// file:line), once to stream the targets through the workers, so memory
// stays flat however long the file is.
func (o *checkOptions) batch(cmd *cobra.Command, env envOptions) error {
	total := 0
	if err := o.eachTarget(func(line int, ct configTarget) error {
		if _, err := o.target(cmd.Context(), ct, ""); err != nil {
			return fmt.Errorf("%s:%d: %w", o.targetsFile, line, err)
		}
		total++
		return nil
	}); err != nil {
		return err
	}
	return o.runBatch(cmd, total, env, func(yield func(checks.Target) error) error {
		return o.eachTarget(func(_ int, ct configTarget) error {
			t, err := o.target(cmd.Context(), ct, "")
			if err != nil {
				return err
			}
			return yield(t)
		})
	})
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

// eachTarget reads the targets file, skipping blank lines and # comments.
func (o *checkOptions) eachTarget(f func(line int, t configTarget) error) error {
	file, err := os.Open(o.targetsFile)
	if err != nil {
		return fmt.Errorf("--targets: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 4096), maxTargetLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var ct configTarget
		if strings.HasPrefix(line, "{") {
			dec := json.NewDecoder(strings.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ct); err != nil {
				return fmt.Errorf("%s:%d: %v", o.targetsFile, n, err)
			}
		} else if ct, err = parseTargetLine(line); err != nil {
			return fmt.Errorf("%s:%d: %v", o.targetsFile, n, err)
		}
		if err := f(n, ct); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %v", o.targetsFile, n+1, err)
	}
	return nil
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
	err = source(func(t checks.Target) error {
		sem <- struct{}{}
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
	if err != nil {
		return err
	}
	stats.summary(o.streams.Err, time.Since(start))
	return o.exit(report.Outcome{Code: stats.code})
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
