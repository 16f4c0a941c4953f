// Package taglist reads the "tag=value; tag=value" syntax DKIM key
// records and DMARC records share.
package taglist

import (
	"fmt"
	"maps"
	"slices"
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

// List is a parsed tag list as a model to change: the tags and the order
// they were written in. With, Without and Format make new records from
// it, so a fix changes a record tag by tag instead of editing its text.
type List struct {
	Tags  map[string]string
	Order []string // the tags' names as written, each once
}

// With returns a copy with tag set to value: in its place when the list
// has it, else at the end.
func (l List) With(tag, value string) List {
	l.Tags = maps.Clone(l.Tags)
	if l.Tags == nil {
		l.Tags = map[string]string{}
	}
	if _, ok := l.Tags[tag]; !ok {
		l.Order = append(slices.Clip(l.Order), tag)
	}
	l.Tags[tag] = value
	return l
}

// Without returns a copy without tag.
func (l List) Without(tag string) List {
	l.Tags = maps.Clone(l.Tags)
	delete(l.Tags, tag)
	l.Order = slices.DeleteFunc(slices.Clone(l.Order), func(t string) bool { return t == tag })
	return l
}

// Format writes the list as "tag=value; tag=value": the tags named in
// first (those present) first, in that order, then the others as
// written.
func (l List) Format(first ...string) string {
	var parts []string
	for _, tag := range first {
		if v, ok := l.Tags[tag]; ok {
			parts = append(parts, tag+"="+v)
		}
	}
	for _, tag := range l.Order {
		if !slices.Contains(first, tag) {
			parts = append(parts, tag+"="+l.Tags[tag])
		}
	}
	return strings.Join(parts, "; ")
}
