package cmd

import (
	"strings"

	"github.com/preflight-mail/preflight/checks"
)

// findingsHelp is the "Finding IDs" paragraph of a check command's help,
// written from the catalogue (checks.All), so it cannot drift: the IDs
// that can be at fail (and then block a verdict), the warnings, those
// that cost nothing, and the ones for "could not check".
func findingsHelp(check string) string {
	c, _ := checks.ByID(check)
	var fail, warn, free, unknown []string
	for _, k := range c.Kinds {
		switch {
		case k.Blocks:
			fail = append(fail, k.ID)
		case k.Penalty.Warn > 0:
			warn = append(warn, k.ID)
		default:
			free = append(free, k.ID)
		}
	}
	for _, k := range checks.CommonKinds() {
		unknown = append(unknown, check+"."+k)
	}
	var b strings.Builder
	b.WriteString("Finding IDs (a finding at fail makes a required fact false and blocks the\nverdict; README lists the weights):")
	for _, g := range []struct {
		name string
		ids  []string
	}{{"can fail", fail}, {"warnings", warn}, {"no cost", free}, {"could not check", unknown}} {
		if len(g.ids) > 0 {
			b.WriteString("\n" + wrapList("  "+g.name+": ", "    ", g.ids, 78))
		}
	}
	return b.String()
}

// wrapList joins items with ", " after first, breaking lines before
// width and starting each new line with indent.
func wrapList(first, indent string, items []string, width int) string {
	var b strings.Builder
	line := first
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		if i > 0 && len(line)+1+len(it) > width {
			b.WriteString(line + "\n")
			line = indent + it
			continue
		}
		if i > 0 {
			line += " "
		}
		line += it
	}
	b.WriteString(line)
	return b.String()
}
