// Command preflight checks whether receiving mail servers will trust mail
// from an IP and domain. See README.md.
package main

//go:generate go run . man docs/man

import (
	"os"

	"github.com/preflight-mail/preflight/cmd"
)

func main() { os.Exit(cmd.Main()) }
