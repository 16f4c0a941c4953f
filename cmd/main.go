// Package cmd is preflight's command line: cobra commands that parse
// flags into options, build the Env, run checks, write the report and
// return the exit code. Main returns the code instead of exiting, so
// tests run the whole CLI in-process.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/report"
)

// Streams are the program's outside world: where output goes and the
// environment it reads.
type Streams struct {
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string
	// In is standard input (preflight message -, preflight explain);
	// Main sets os.Stdin, nil reads nothing.
	In io.Reader
}

// Main runs preflight with the process's arguments and returns the exit
// code (report.Exit*).
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, which stops a batch gently (running
	// targets finish within --timeout), a second one ends the targets
	// running at once, and the batch its run with its summary; a third
	// (or a second, outside a batch) ends the process.
	sec := &secondSignal{}
	sec.ctx, sec.cancel = context.WithCancel(context.Background())
	context.AfterFunc(ctx, func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM) // before stop: no signal unseen
		stop()
		go sec.wait(c)
	})
	ctx = context.WithValue(ctx, secondSignalKey{}, sec)
	// A write to a pipe whose reader has gone (`| head`) fails with
	// EPIPE, and the command says the report could not be written
	// (exit 3), instead of SIGPIPE killing the process silently (exit
	// 141, no summary of a batch). See os/signal, "SIGPIPE".
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return Run(ctx, os.Args[1:], Streams{Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv, In: os.Stdin})
}

// secondSignal is how a second SIGINT or SIGTERM reaches a batch.
type secondSignal struct {
	ctx    context.Context // done at the second signal, if taken
	cancel context.CancelFunc
	taken  atomic.Bool // a batch ends at ctx's end
}

type secondSignalKey struct{}

// wait waits for the second signal. A batch that took it ends its
// targets at once and writes its summary (review of #21: the second
// signal killed the process without one); a third ends the process.
// Outside a batch, the second signal does what it would without
// preflight's handler.
func (s *secondSignal) wait(c chan os.Signal) {
	sig := <-c
	signal.Stop(c)
	if s.taken.Load() {
		s.cancel()
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err != nil || p.Signal(sig) != nil {
		os.Exit(report.ExitIncomplete)
	}
}

// takeSecondSignal returns a context that a second signal ends, for a
// batch to end its running targets at once; nil without a signal
// handler (Run in tests).
func takeSecondSignal(ctx context.Context) context.Context {
	s, ok := ctx.Value(secondSignalKey{}).(*secondSignal)
	if !ok {
		return nil
	}
	s.taken.Store(true)
	return s.ctx
}

// Run runs preflight with args and returns the exit code.
func Run(ctx context.Context, args []string, s Streams) int {
	if s.Getenv == nil {
		s.Getenv = func(string) string { return "" }
	}
	root, g := newRootCmd(s)
	defer g.endRun()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee exitError
	var ul *usageLines
	switch {
	case err == nil:
		return report.ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ul):
		// Several bad lines of a file: one line each, file:line first.
		name := commandName(root, args)
		fmt.Fprintf(s.Err, "%s: %s (see %s --help)\n", name, errorText(ul.head), name)
		for _, l := range ul.lines {
			fmt.Fprintln(s.Err, errorLine(l))
		}
		return report.ExitUsage
	}
	// Everything else is a usage error: one line, naming the bad value.
	name := commandName(root, args)
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(s.Err, "%s: %s (see %s --help)\n", name, errorText(msg), name)
	return report.ExitUsage
}

// errorText makes an error's text one line of stderr that is data only.
// Errors quote what the user (or, in CI, a pull request's config) gave:
// file names, paths, values. A CR in a config's zone path ended the line
// for the Actions runner, which splits at CR too, and let the rest start
// a workflow command ("::warning::..."); an escape sequence drove the
// terminal. So line breaks become "; " and the rest goes through
// report.Sanitize.
func errorText(s string) string {
	return report.Sanitize(strings.ReplaceAll(s, "\n", "; "))
}

// errorLine is errorText for a line of its own (a bad line of a targets
// file, which starts with the file's name): a leading "::" has its first
// colon escaped, as the report writers do, so a file named "::error::x"
// does not begin a workflow command.
func errorLine(s string) string {
	s = errorText(s)
	if rest := strings.TrimLeft(s, " \t"); strings.HasPrefix(rest, "::") {
		s = s[:len(s)-len(rest)] + `\x3a` + rest[1:]
	}
	return s
}

// exitError ends a run that has printed its report: the code is all
// that is left to say.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// commandName names the command args run, for usage errors.
func commandName(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != root {
		return c.CommandPath()
	}
	return "preflight"
}
