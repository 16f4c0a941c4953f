// Package taglist reads the "tag=value; tag=value" syntax DKIM key
// records and DMARC records share.
package taglist

import (
	"fmt"
	"strings"
)

// Parse parses the "tag=value; tag=value" syntax DKIM key records
// (RFC 6376 §3.2) and DMARC records (RFC 7489 §6.4) share: tags in order,
// values trimmed, a repeated tag or a part without "=" a problem.
// lower folds tag names to lower case (DMARC's are case-insensitive).
func Parse(txt string, lower bool) (tags map[string]string, order []string, problems []string) {
	tags = map[string]string{}
	for _, part := range strings.Split(txt, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if lower {
			name = strings.ToLower(name)
		}
		if !ok || name == "" {
			problems = append(problems, fmt.Sprintf("%q is not tag=value", part))
			continue
		}
		if _, dup := tags[name]; dup {
			problems = append(problems, fmt.Sprintf("tag %s= appears twice", name))
			continue
		}
		tags[name] = value
		order = append(order, name)
	}
	return tags, order, problems
}
