// Command preflight checks whether receiving mail servers will trust mail
// from an IP and domain. See README.md.
package main

import (
	"os"

	"github.com/preflight-mail/preflight/cmd"
)

func main() { os.Exit(cmd.Main()) }
