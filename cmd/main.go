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
	// In is standard input (preflight explain reads replies from it);
	// nil reads nothing.
	In io.Reader
}

// Main runs preflight with the process's arguments and returns the exit
// code (report.Exit*).
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], Streams{Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv, In: os.Stdin})
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
		fmt.Fprintf(s.Err, "%s: %s (see %s --help)\n", name, ul.head, name)
		for _, l := range ul.lines {
			fmt.Fprintln(s.Err, strings.ReplaceAll(l, "\n", "; "))
		}
		return report.ExitUsage
	}
	// Everything else is a usage error: one line, naming the bad value.
	name := commandName(root, args)
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(s.Err, "%s: %s (see %s --help)\n", name, strings.ReplaceAll(msg, "\n", "; "), name)
	return report.ExitUsage
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
