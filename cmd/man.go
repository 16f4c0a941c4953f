package cmd

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is the date the man pages carry: fixed, so they are made the
// same from the same help text (docs/man is checked against them).
var manDate = time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC)

// ManDir is where the repository keeps the man pages (go generate, and
// TestManPagesCurrent).
const ManDir = "docs/man"

func newCmdMan(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "man DIR",
		Short: "Write man pages for preflight and each command into DIR",
		Long: `Write a man page (section 1) for preflight and for each of its commands
into DIR, made from the same text as --help. The repository keeps them in
` + ManDir + ` (go generate ./... writes them there); a package installs them
under /usr/share/man/man1.`,
		Example: `  preflight man /usr/local/share/man/man1
  man preflight-check`,
		Args: wantArgs(1, 1, "DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			if err := writeMan(cmd.Root(), args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(g.streams.Err, "man pages written to %s\n", args[0])
			return err
		},
	}
}

// writeMan writes the man pages of root's tree into dir.
func writeMan(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true // no date of generation: the pages are reproducible
	return doc.GenManTree(root, &doc.GenManHeader{Title: "PREFLIGHT", Section: "1", Date: &manDate, Source: "preflight", Manual: "preflight manual"}, dir)
}
