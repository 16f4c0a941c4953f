package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with
// -ldflags "-X github.com/preflight-mail/preflight/cmd.version=v1.2.3";
// otherwise it comes from the module's build info.
var version = ""

// devVersion is the version of a build that knows none: go run, go
// build in a checkout.
const devVersion = "v0.1.0-dev"

// Version returns the program's version: the one set at build time, else
// the module version go install recorded (v1.2.3, or a pseudo-version).
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return devVersion
}

// versionText is what version and --version print: the version, the
// module it was built from and the VCS revision the build info holds
// (go build in a checkout records it; go install module@version records
// the module version instead), and the Go release.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "preflight %s\n", Version())
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintf(&b, "built with %s for %s/%s (no build information)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return b.String()
	}
	if bi.Main.Path != "" {
		fmt.Fprintf(&b, "module %s %s\n", bi.Main.Path, orDash(bi.Main.Version))
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		line := "revision " + rev
		if at := settings["vcs.time"]; at != "" {
			line += " " + at
		}
		if settings["vcs.modified"] == "true" {
			line += " (modified)"
		}
		b.WriteString(line + "\n")
	} else {
		b.WriteString("revision unknown (built without VCS information)\n")
	}
	fmt.Fprintf(&b, "built with %s for %s/%s\n", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newCmdVersion(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print preflight's version, module, VCS revision and Go release",
		Long: `Print preflight's version (set at build time, or the module version go
install recorded), the module, the VCS revision and time of the build (when
built in a checkout; "(modified)" when it had uncommitted changes), and the
Go release. preflight --version prints the same.`,
		Example: "  preflight version",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(g.streams.Out, versionText())
			return err
		},
	}
}
