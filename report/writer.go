package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Writer writes a report in one format.
type Writer interface {
	Write(w io.Writer, r Report) error
}

// Options shape the human-readable output.
type Options struct {
	Color   bool // ANSI colors; the caller decides (NO_COLOR, --no-color, not a terminal)
	Verbose bool // evidence under each finding
	// Width is the terminal's width, to wrap the text report at; 0 wraps
	// nothing (not a terminal: logs and files keep a line per finding).
	Width int
}

// Formats lists the names NewWriter accepts.
var Formats = []string{"text", "json", "github"}

// NewWriter returns the writer for format. An unknown format is an
// error, never a silent fallback.
func NewWriter(format string, opts Options) (Writer, error) {
	switch format {
	case "text":
		return TextWriter{Options: opts}, nil
	case "json":
		return JSONWriter{}, nil
	case "github":
		return GitHubWriter{}, nil
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// JSONWriter writes the JSON document (SchemaVersion, docs/schema.json).
type JSONWriter struct{}

func (j JSONWriter) Write(w io.Writer, r Report) error { return j.WriteValue(w, r) }

// WriteValue writes any JSON document as reports are written: indented,
// HTML left alone, and what a terminal or the Actions runner would act on
// escaped (jsonSafe).
func (JSONWriter) WriteValue(w io.Writer, r any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := w.Write(jsonSafe(buf.Bytes()))
	return err
}

// jsonSafe escapes what encoding/json leaves raw and a terminal or the
// Actions runner acts on when a report is printed (sanitize.go): DEL, the
// C1 controls (U+0080 to U+009F), the bidirectional controls (bidi)
// and the "[" of "##[". All three occur
// only inside strings, and encoding/json writes valid UTF-8, where 0xC2
// 0x80..0x9F is exactly U+0080..U+009F. The decoded strings are unchanged.
func jsonSafe(b []byte) []byte {
	if !bytes.ContainsRune(b, 0x7f) && !bytes.Contains(b, []byte{0xc2}) && !bytes.Contains(b, []byte("##[")) && !bytes.Contains(b, []byte{0xe2}) && !bytes.Contains(b, []byte{0xd8}) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == 0x7f:
			out = append(out, `\u007f`...)
		case b[i] == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f:
			out = fmt.Appendf(out, `\u%04x`, b[i+1])
			i++
		case b[i] == '[' && bytes.HasSuffix(out, []byte("##")):
			out = append(out, `\u005b`...)
		case (b[i] == 0xe2 || b[i] == 0xd8) && i+1 < len(b):
			// Bidirectional controls, escaped as Sanitize does.
			r, size := utf8.DecodeRune(b[i:])
			if !bidi(r) {
				out = append(out, b[i])
				continue
			}
			out = fmt.Appendf(out, `\u%04x`, r)
			i += size - 1
		default:
			out = append(out, b[i])
		}
	}
	return out
}
