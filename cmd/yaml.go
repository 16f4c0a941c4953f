package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/preflight-mail/preflight/internal/inputfile"
)

// decodeYAML reads b, the YAML file at path (preflight.yaml, --relays),
// into v, a struct: unknown keys are errors, so a typo does not drop a
// setting silently. Errors name path:line and what was wanted. The file
// may be anything (in CI a pull request picks it), so they quote a value
// only once it has shown to be a YAML mapping, and then as an excerpt.
func decodeYAML(path string, b []byte, v any) error {
	if err := inputfile.CheckText(path, b, inputfile.YAML); err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return yamlError(path, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty: nothing set
	}
	if top := doc.Content[0]; top.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d:%d: want keys with values (key: value) at the top, not %s", path, top.Line, top.Column, nodeKind(top))
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return yamlError(path, err)
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

var (
	yamlUnknownKey = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)
	yamlWrongType  = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
	yamlAtLine     = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// yamlError rewrites the YAML library's errors as "path:line: what",
// with an excerpt of a value of the wrong type, at most the library's 7
// octets of it.
func yamlError(path string, err error) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	msgs := make([]string, 0, len(lines))
	for _, l := range lines[:min(len(lines), 3)] {
		msgs = append(msgs, yamlLine(path, l))
	}
	if len(lines) > len(msgs) {
		msgs = append(msgs, fmt.Sprintf("and %d more", len(lines)-len(msgs)))
	}
	return errors.New(strings.Join(msgs, "; "))
}

// yamlLine rewrites one of the library's messages.
func yamlLine(path, l string) string {
	if m := yamlUnknownKey.FindStringSubmatch(l); m != nil {
		return fmt.Sprintf("%s:%s: unknown key %s", path, m[1], inputfile.Excerpt(m[2]))
	}
	if m := yamlWrongType.FindStringSubmatch(l); m != nil {
		got := strings.TrimPrefix(m[2], "!!")
		if m[3] != "" {
			got += " " + inputfile.Excerpt(m[3])
		}
		return fmt.Sprintf("%s:%s: want %s, not %s", path, m[1], goTypeWords(m[4]), got)
	}
	if m := yamlAtLine.FindStringSubmatch(l); m != nil {
		return fmt.Sprintf("%s:%s: %s", path, m[1], inputfile.Message(m[2]))
	}
	return path + ": " + inputfile.Message(l)
}

// goTypeWords says what a Go type of the config wants, for people.
func goTypeWords(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "cmd."), strings.HasPrefix(t, "map["):
		return "keys with values"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	}
	return t
}
