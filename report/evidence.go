package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Evidence in the text report (--verbose) is readable lines, never JSON
// (issue #16: a -v report embedded 3 KB JSON blobs with \u003c escapes):
// a value on the key's line, a list of values joined, and anything with
// parts as indented "key: value" lines in the order the check gave them;
// an SMTP transcript as its C:/S: lines with their times.

// evidenceLine is one line of a finding's evidence: its depth below the
// finding and its text (not yet sanitised).
type evidenceLine struct {
	depth int
	text  string
	hang  int // how much deeper its wrapped continuation goes
}

// evidenceLines renders the evidence value v of key.
func evidenceLines(key string, v any) []evidenceLine {
	b, err := json.Marshal(v)
	if err != nil {
		return []evidenceLine{{0, key + ": " + fmt.Sprint(v), 2}}
	}
	n, err := parseOrdered(b)
	if err != nil {
		return []evidenceLine{{0, key + ": " + fmt.Sprint(v), 2}}
	}
	var out []evidenceLine
	n.lines(key+":", 0, &out)
	return out
}

// jnode is a JSON value with its object keys in their order.
type jnode struct {
	scalar string   // a string, number, true, false or "null"
	keys   []string // an object's keys, in order
	vals   []*jnode // an object's values
	items  []*jnode // an array's items
	obj    bool
	arr    bool
}

// parseOrdered reads JSON keeping the order of object keys (the order of
// a struct's fields).
func parseOrdered(b []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return readNode(dec)
}

func readNode(dec *json.Decoder) (*jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &jnode{obj: t == '{', arr: t == '['}
		for dec.More() {
			if n.obj {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := readNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys, n.vals = append(n.keys, k), append(n.vals, v)
				continue
			}
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
		}
		if _, err := dec.Token(); err != nil && err != io.EOF { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &jnode{scalar: t}, nil
	case nil:
		return &jnode{scalar: "null"}, nil
	}
	return &jnode{scalar: fmt.Sprint(tok)}, nil
}

func (n *jnode) isScalar() bool { return !n.obj && !n.arr }

// flat is the node on one line when it has no parts: a scalar, or a list
// of scalars joined with ", ".
func (n *jnode) flat() (string, bool) {
	switch {
	case n.isScalar():
		return n.scalar, true
	case n.arr:
		parts := make([]string, 0, len(n.items))
		for _, it := range n.items {
			if !it.isScalar() {
				return "", false
			}
			parts = append(parts, it.scalar)
		}
		return strings.Join(parts, ", "), true
	}
	return "", false
}

// firstFlat is the value of an object's first key, when it fits on the
// line of the item's "-".
func (n *jnode) firstFlat() (string, bool) {
	if !n.obj || len(n.keys) == 0 {
		return "", false
	}
	return n.vals[0].flat()
}

// transcriptLine is an SMTP transcript's line ({ms, dir, text}) as the
// text shows it: "   12 ms  C: EHLO mail.example.com".
func (n *jnode) transcriptLine() (string, bool) {
	if !n.obj || len(n.keys) != 3 || n.keys[0] != "ms" || n.keys[1] != "dir" || n.keys[2] != "text" {
		return "", false
	}
	ms, dir, text := n.vals[0].scalar, n.vals[1].scalar, n.vals[2].scalar
	if dir == "*" {
		return fmt.Sprintf("%6s ms  -- %s", ms, text), true
	}
	return fmt.Sprintf("%6s ms  %s: %s", ms, dir, text), true
}

// transcriptHang puts a transcript line's continuation under its text,
// past "%6s ms  C: ".
const transcriptHang = 13

// lines renders n after head ("key:" or "-") at depth.
func (n *jnode) lines(head string, depth int, out *[]evidenceLine) {
	if s, ok := n.flat(); ok {
		if s == "" {
			s = "(none)"
		}
		*out = append(*out, evidenceLine{depth, head + " " + s, 2})
		return
	}
	if n.obj && len(n.keys) == 0 {
		*out = append(*out, evidenceLine{depth, head + " (none)", 2})
		return
	}
	*out = append(*out, evidenceLine{depth, head, 2})
	if n.obj {
		for i, k := range n.keys {
			n.vals[i].lines(k+":", depth+1, out)
		}
		return
	}
	for _, it := range n.items {
		if s, ok := it.transcriptLine(); ok {
			*out = append(*out, evidenceLine{depth + 1, s, transcriptHang})
			continue
		}
		if first, ok := it.firstFlat(); ok {
			// "- key: value", the item's other keys under it
			*out = append(*out, evidenceLine{depth + 1, "- " + it.keys[0] + ": " + first, 4})
			for i := 1; i < len(it.keys); i++ {
				it.vals[i].lines(it.keys[i]+":", depth+2, out)
			}
			continue
		}
		it.lines("-", depth+1, out)
	}
}
