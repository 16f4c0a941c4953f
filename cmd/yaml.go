package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/preflight-mail/preflight/internal/inputfile"
)

// The YAML files preflight reads (preflight.yaml, --relays) are decoded
// key by key against the struct they fill, so every error can say
// "file:line: key: what is wrong", in words, with an example of the key
// written right (issue #16: errors named flags, or Go types such as
// "cannot unmarshal !!str into []string").

// yamlDoc is a decoded YAML file: where each key is, for errors about
// the values read from it.
type yamlDoc struct {
	path  string
	lines map[string]int // key path ("target.ips", "targets.1.ips") → line
	errs  []string
}

// maxYAMLErrors bounds the errors one file reports at once.
const maxYAMLErrors = 3

// decodeYAML reads b, the YAML file at path, into v, a pointer to a
// struct (or to a slice of structs), and returns where each key is:
// unknown keys are errors, so a typo does not drop a setting silently.
// The file may be anything (in CI a pull request picks it): errors quote
// a value only as an excerpt, and only once the file has shown to be
// YAML of the expected shape.
func decodeYAML(path string, b []byte, v any) (*yamlDoc, error) {
	d := &yamlDoc{path: path, lines: map[string]int{}}
	if err := inputfile.CheckText(path, b, inputfile.YAML); err != nil {
		return d, err
	}
	if i := invalidUTF8(b); i >= 0 {
		// The YAML parser says "invalid leading UTF-8 octet" with no
		// line: a file saved as Latin-1 is found here, at its place.
		line, col := inputfile.LineCol(b, int64(i))
		return d, fmt.Errorf("%s:%d:%d: octet 0x%02x is not UTF-8 (a file saved as Latin-1?): YAML files are UTF-8", path, line, col, b[i])
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return d, d.syntaxError(err)
	}
	if line := secondDocument(b); line > 0 {
		return d, fmt.Errorf("%s:%d: a second YAML document (after ---): a file holds one, and the rest would be ignored", path, line)
	}
	if len(doc.Content) == 0 {
		return d, nil // empty: nothing set
	}
	top := resolveAlias(doc.Content[0])
	rv := reflect.ValueOf(v).Elem()
	if rv.Kind() == reflect.Struct && top.Kind != yaml.MappingNode {
		return d, fmt.Errorf("%s:%d:%d: want keys with values (key: value) at the top, not %s", path, top.Line, top.Column, nodeKind(top))
	}
	d.decode(top, rv, "")
	return d, d.err()
}

// invalidUTF8 is the offset of the first octet of b that is not UTF-8,
// -1 when all of it is.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// secondDocument is the line of a second YAML document in b, 0 when
// there is none.
func secondDocument(b []byte) int {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var first, second yaml.Node
	if dec.Decode(&first) != nil {
		return 0
	}
	if err := dec.Decode(&second); err != nil {
		if errors.Is(err, io.EOF) {
			return 0
		}
		return 1 // a broken second document is one too
	}
	return max(second.Line, 1)
}

// yamlTopIsList reports whether b is a YAML list at the top.
func yamlTopIsList(b []byte) bool {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return false
	}
	return resolveAlias(doc.Content[0]).Kind == yaml.SequenceNode
}

// err joins the errors found, at most maxYAMLErrors of them.
func (d *yamlDoc) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	msgs := d.errs[:min(len(d.errs), maxYAMLErrors)]
	if n := len(d.errs) - len(msgs); n > 0 {
		msgs = append(slices.Clip(msgs), fmt.Sprintf("and %d more", n))
	}
	return errors.New(strings.Join(msgs, "; "))
}

// decode fills v from n; path is n's key path.
func (d *yamlDoc) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if v.Kind() == reflect.Pointer {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return // "key:" or "key: null": not set
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch {
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.typeError(n, path, "keys with values")
			return
		}
		d.decodeMapping(n, v, path)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		if n.Kind != yaml.SequenceNode {
			d.typeError(n, path, "a list")
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			d.decode(item, v.Index(i), joinKey(path, strconv.Itoa(i)))
		}
	default:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.typeError(n, path, typeWords(v.Type()))
		}
	}
}

// decodeMapping fills struct v from mapping n, key by key.
func (d *yamlDoc) decodeMapping(n *yaml.Node, v reflect.Value, path string) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			d.decode(val, v.Addr(), path) // a merge key: the keys of its mapping
			continue
		}
		key := joinKey(path, k.Value)
		if line, ok := seen[k.Value]; ok {
			d.errorf(k.Line, key, "given twice (also at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		field, ok := fieldByTag(v, k.Value)
		if !ok {
			d.unknownKey(k, v, key)
			continue
		}
		d.lines[key] = k.Line
		d.decode(val, field, key)
	}
}

// fieldByTag is v's field whose yaml tag is name.
func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		// An empty key ("&a:") must not match a field without a tag:
		// those are the program's own, unexported.
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag == name && tag != "" && tag != "-" && t.Field(i).IsExported() {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// yamlKeys are the keys of struct type t, in declaration order.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// unknownKey reports a key the struct does not have, with the one it
// most likely meant.
func (d *yamlDoc) unknownKey(k *yaml.Node, v reflect.Value, key string) {
	keys := yamlKeys(v.Type())
	if !keyName(k.Value) {
		// Not a key name at all: a file of another kind (a shadow file's
		// "root:$6$...:" reads as a YAML key), or control characters.
		// Its text is not shown.
		d.errs = append(d.errs, fmt.Sprintf("%s:%d: a key that is no key name (not shown); the keys here are %s: is %s the file meant?", d.path, k.Line, strings.Join(keys, ", "), d.path))
		return
	}
	msg := "unknown key"
	if slices.Contains([]string{"policy", "fallback_on", "domains"}, k.Value) {
		// A relays file's keys, written in preflight.yaml.
		d.errs = append(d.errs, fmt.Sprintf("%s:%d: %s: unknown key here: the gateway policy is in a relays file, given with --relays FILE (README, Gateway policy)", d.path, k.Line, shownKey(key)))
		return
	}
	if near := nearest(k.Value, keys); near != "" {
		msg += "; did you mean " + near + "?"
		if ex := yamlExample(joinKey(parentKey(key), near)); ex != "" {
			msg += " For example: " + ex
		}
	} else {
		msg += "; the keys here are " + strings.Join(keys, ", ")
	}
	d.errs = append(d.errs, fmt.Sprintf("%s:%d: %s: %s", d.path, k.Line, shownKey(key), msg))
}

// keyName reports whether s is written like a key of preflight's files:
// letters, digits, "_" and "-", at most 40 of them.
func keyName(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// typeError reports a value of the wrong kind, quoting a scalar.
func (d *yamlDoc) typeError(n *yaml.Node, key, want string) {
	got := nodeKind(n)
	if n.Kind == yaml.ScalarNode {
		got += " " + inputfile.Excerpt(n.Value)
	}
	d.errorf(n.Line, key, "want %s, not %s", want, got)
}

// errorf records an error about key at line, with an example of the key.
func (d *yamlDoc) errorf(line int, key, format string, args ...any) {
	d.errs = append(d.errs, d.message(line, key, fmt.Sprintf(format, args...)))
}

// message is "file:line: key: what; for example: ...".
func (d *yamlDoc) message(line int, key, what string) string {
	msg := fmt.Sprintf("%s:%d: %s: %s", d.path, line, shownKey(key), what)
	if ex := yamlExample(key); ex != "" {
		msg += "; for example: " + ex
	}
	return msg
}

// keyError is an error about the value of key, which was read: at the
// key's line, with an example. what is the error's own wording, without
// the flag name a command line would have been given (see flagless).
func (d *yamlDoc) keyError(key string, err error) error {
	return errors.New(d.message(d.lines[key], key, flagless(err.Error())))
}

// flagless drops a leading flag name from an error shared with the
// command line ("--ip: ..." becomes "..."): in a file the key is named.
func flagless(msg string) string {
	if strings.HasPrefix(msg, "--") {
		if i := strings.IndexAny(msg, " :"); i > 0 {
			return strings.TrimLeft(msg[i:], ": ")
		}
	}
	return msg
}

// syntaxError rewrites the YAML parser's error as "path:line: what".
func (d *yamlDoc) syntaxError(err error) error {
	l := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(l, "line "); ok {
		if num, what, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(num); err == nil {
				return fmt.Errorf("%s:%s: %s", d.path, num, inputfile.Message(what))
			}
		}
	}
	return fmt.Errorf("%s: %s", d.path, inputfile.Message(l))
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "keys with values"
	case yaml.ScalarNode:
		return "the single value"
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

// typeWords says what a Go type of a YAML file wants, for people.
func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	}
	return "keys with values"
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func parentKey(key string) string {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return ""
	}
	return key[:i]
}

// shownKey is a key path as errors show it: without list indexes (the
// line says which item), "targets.1.ips" as "targets.ips".
func shownKey(key string) string {
	parts := strings.Split(key, ".")
	out := parts[:0]
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// yamlExamples show each key written right, for errors.
var yamlExamples = map[string]string{
	"target":                     "target: {domain: example.com, ips: [203.0.113.5]}",
	"targets":                    "targets: [{domain: example.com, ips: [203.0.113.5]}, {domain: example.org, ips: [203.0.113.6]}]",
	"target.domain":              "domain: example.com",
	"target.ips":                 `ips: [203.0.113.5, "2001:db8::5"]`,
	"target.helo":                "helo: mail.example.com",
	"target.selectors":           "selectors: [s1, s2]",
	"target.mail_from":           "mail_from: bounces@example.com",
	"target.dkim_key":            "dkim_key: keys/s1.pem",
	"resolvers":                  `resolvers: [127.0.0.1, "[::1]:53"]`,
	"zones":                      "zones: [dns/, reverse.zone]",
	"offline":                    "offline: true",
	"timeout":                    "timeout: 30s",
	"batch_timeout":              "batch_timeout: 10m",
	"lists":                      `lists: [zen.spamhaus.org, "dbl.spamhaus.org:domain"]`,
	"list_set":                   "list_set: extended",
	"spamhaus_key_file":          "spamhaus_key_file: /run/secrets/dqs",
	"treat_as_public":            `treat_as_public: [203.0.113.0/24, "2001:db8::/32"]`,
	"thresholds":                 "thresholds: {fail_on: warn, min_score: 80, max_drop: 5}",
	"thresholds.fail_on":         "fail_on: warn",
	"thresholds.min_score":       "min_score: 80",
	"thresholds.max_drop":        "max_drop: 5",
	"send":                       "send: {to: postmaster@example.net, path: auto}",
	"send.to":                    "to: postmaster@example.net",
	"send.path":                  "path: auto",
	"send.tls":                   "tls: required",
	"send.relay_tls":             "relay_tls: implicit",
	"send.port":                  "port: 2525",
	"send.ca_file":               "ca_file: ca.pem",
	"send.auth_user":             "auth_user: me@example.com",
	"send.deliver":               "deliver: true",
	"relays":                     `relays: [{host: "smtp.example.net:587", priority: high}]`,
	"relays.host":                `host: "smtp.example.net:587"`,
	"relays.priority":            "priority: high",
	"relays.enabled":             "enabled: false",
	"relays.tls":                 "tls: implicit",
	"policy":                     "policy: on-error",
	"fallback_on":                "fallback_on: [connect, smtp]",
	"domains":                    "domains: [gmail.com, .outlook.com]",
	"profiles":                   "profiles: [gmail-bulk, outlook-bulk]",
	"thresholds.fail_on_profile": "fail_on_profile: [gmail-bulk]",
}

// yamlExample is the example of key (a path, list indexes allowed), ""
// when there is none. The items of targets share target's.
func yamlExample(key string) string {
	k := shownKey(key)
	if rest, ok := strings.CutPrefix(k, "targets."); ok {
		k = "target." + rest
	}
	if ex, ok := yamlExamples[k]; ok {
		return ex
	}
	// A relays file that is a list: its keys are a relay's.
	return yamlExamples["relays."+k]
}

// nearest is the key of keys closest to s by edit distance, when close
// enough to be a typo.
func nearest(s string, keys []string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if d := editDistance(strings.ToLower(s), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
