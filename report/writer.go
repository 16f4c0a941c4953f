package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Writer writes a report in one format.
type Writer interface {
	Write(w io.Writer, r Report) error
}

// Options shape the human-readable output.
type Options struct {
	Color   bool // ANSI colors; the caller decides (NO_COLOR, --no-color, not a terminal)
	Verbose bool // evidence under each finding
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

// JSONWriter writes the schema_version 1 JSON document.
type JSONWriter struct{}

func (JSONWriter) Write(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
