package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"v=spf1 -all", "v=spf1 -all"},
		{`back\slash`, `back\slash`},
		{"ünïcødé → ok", "ünïcødé → ok"},
		{"2001:db8::5", "2001:db8::5"},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"\x00\x07\x1b\x7f", `\x00\x07\x1b\x7f`},
		{"\x1b]0;title\x07", `\x1b]0;title\x07`},
		{"\x1b[2J", `\x1b[2J`},
		{"\u009b2J \u0085", `\u009b2J \u0085`},
		{"\x9b2J", `\x9b2J`}, // a lone octet, not UTF-8
		{"\xff\xfeok\xc3", `\xff\xfeok\xc3`},
		{"\ufffd is a character", "\ufffd is a character"},
		{"a\u202egmail.com \u2066x\u2069 \u200f", `a\u202egmail.com \u2066x\u2069 \u200f`}, // bidi controls (review of #22, item 8)
		{"##[stop-commands]t", `##\x5bstop-commands]t`},
		{"#[ok] ##x [##]", "#[ok] ##x [##]"},
		{"\n::error::x", `\n::error::x`},
	} {
		if got := Sanitize(tc.in); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGuardLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"::error::x", `\x3a:error::x`},
		{"     ::add-mask::x", `     \x3a:add-mask::x`},
		{"\u00a0\u3000::warning::x", "\u00a0\u3000" + `\x3a:warning::x`},
		{"  fix: ::error::x", "  fix: ::error::x"},
		{":notice", ":notice"},
		{"", ""},
	} {
		if got := guardLine(tc.in); got != tc.want {
			t.Errorf("guardLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestJSONSafe(t *testing.T) {
	in := "del\x7f c1\u0080\u009b é\u00a0 ##[x] end"
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	safe := jsonSafe(b)
	if want := `"del\u007f c1\u0080\u009b é` + "\u00a0" + ` ##\u005bx] end"`; string(safe) != want {
		t.Errorf("jsonSafe = %s, want %s", safe, want)
	}
	var out string
	if err := json.Unmarshal(safe, &out); err != nil || out != in {
		t.Errorf("round trip = %q, %v; want %q", out, err, in)
	}
}

// hostile is what a stranger's DNS record or SMTP reply may hold: line
// breaks that start workflow commands, a bare CR, terminal escapes (OSC
// title, clear screen, 8-bit CSI raw and as UTF-8), invalid UTF-8 and the
// runner's legacy command form.
const hostile = "x\n::error::x\r\x1b]0;title\x07\x1b[2J\x9b\u009b\xff\xfe ##[stop-commands]tok\n  ::add-mask::y\n\u00a0::warning::z"

func hostileReport() Report {
	ev := map[string]any{
		"record":  hostile,
		"records": []string{hostile, "::error::second"},
		"reply":   map[string]any{"text": hostile},
		hostile:   "key from data",
	}
	f := func(id string, sev Severity) Finding {
		return Finding{ID: id, Severity: sev, Subject: hostile, Message: hostile,
			Fix: "Publish\n" + hostile + "\nexample.com. TXT \"v=spf1 -all\"", Evidence: ev,
			FixRecords: []FixRecord{{Action: FixReplace, Name: hostile, Type: "TXT", Old: hostile, Value: "v=spf1 -all"}}}
	}
	return Build(Report{
		Tool:        Tool{Name: "preflight", Version: "v0.1.0-test"},
		Command:     "check",
		Target:      Target{Domain: hostile, IPs: []string{hostile}, HELO: hostile, MailFrom: hostile, Selectors: []string{hostile}, SendTo: hostile},
		GeneratedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		Resolver:    &Resolver{Servers: []string{hostile}, Zones: []string{hostile}},
	}, []CheckResult{{ID: "spf", Findings: []Finding{
		f("spf.fail", Fail), f("spf.warn", Warn), f("spf.error", Error), f("spf.info", Info), f("spf.pass", Pass),
	}}}, testCatalog)
}

// sgr matches the color library's Select Graphic Rendition sequences.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// assertInert fails when out holds a byte a terminal or the Actions
// runner acts on, other than the writer's own line breaks: a control
// character, DEL, a C1 control, invalid UTF-8, a line that starts (after
// white space) with "::" unless own says the writer wrote it, or "##[".
func assertInert(t *testing.T, name, out string, color bool, own func(line string) bool) {
	t.Helper()
	if color {
		out = sgr.ReplaceAllString(out, "")
	}
	if !utf8.ValidString(out) {
		t.Errorf("%s: invalid UTF-8 in the output", name)
	}
	for i, r := range out {
		if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f {
			t.Errorf("%s: raw control %U at offset %d: %q", name, r, i, out[max(0, i-20):min(len(out), i+20)])
			break
		}
	}
	if strings.Contains(out, "##[") {
		t.Errorf("%s: the output holds ##[", name)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeftFunc(l, unicode.IsSpace), "::") && (own == nil || !own(l)) {
			t.Errorf("%s: a line from data starts with \"::\": %q", name, l)
		}
	}
}

func TestHostileDataStaysData(t *testing.T) {
	r := hostileReport()
	for _, tc := range []struct {
		name   string
		format string
		opts   Options
	}{
		{"text", "text", Options{}},
		{"text-color", "text", Options{Color: true}},
		{"text-verbose", "text", Options{Verbose: true}},
		{"text-verbose-color", "text", Options{Verbose: true, Color: true}},
		{"github", "github", Options{}},
		{"json", "json", Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWriter(tc.format, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := w.Write(&buf, r); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			var own func(string) bool
			switch tc.format {
			case "github":
				own = func(l string) bool {
					for _, p := range []string{"::error title=spf.", "::warning title=spf.", "::notice title=preflight check::"} {
						if strings.HasPrefix(l, p) {
							return true
						}
					}
					return false
				}
				// Three annotations (fail, warn, error) and the notice.
				if n := strings.Count(out, "\n"); n != 4 {
					t.Errorf("github: %d lines, want 4:\n%s", n, out)
				}
			case "json":
				var back Report
				if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
					t.Fatalf("json: %v", err)
				}
				if want := strings.ToValidUTF8(hostile, ""); strings.ReplaceAll(back.Checks[0].Findings[0].Message, "\ufffd", "") != want {
					t.Errorf("json: the message did not survive: %q", back.Checks[0].Findings[0].Message)
				}
			}
			assertInert(t, tc.name, out, tc.opts.Color, own)
			if tc.format == "text" && !strings.Contains(out, `\x1b]0;title\x07`) {
				t.Errorf("%s: the data is not shown escaped:\n%s", tc.name, out)
			}
			if tc.opts.Verbose && !strings.Contains(sgr.ReplaceAllString(out, ""), "record: x"+`\n::error::x\r`) {
				t.Errorf("%s: evidence not shown on one line:\n%s", tc.name, out)
			}
		})
	}
	t.Run("diff", func(t *testing.T) {
		for name, d := range map[string]Diff{
			"new":      Compare(Report{}, r, Warn),
			"resolved": Compare(r, Report{}, Warn),
		} {
			if len(d.New)+len(d.Resolved) == 0 {
				t.Fatalf("%s: no difference", name)
			}
			var buf bytes.Buffer
			d.Write(&buf)
			assertInert(t, "diff "+name, buf.String(), false, nil)
		}
	})
}

// A fix keeps the project's own line breaks as indented lines; a data
// line inside it cannot start a workflow command.
func TestFixLinesIndented(t *testing.T) {
	r := hostileReport()
	var buf bytes.Buffer
	if err := (TextWriter{}).Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"     → Publish\n", "       x\n", "       \\x3a:error::x\\r\\x1b]0;title", "         \\x3a:add-mask::y\n"} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("fix layout: no line %q in\n%s", line, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "       example.com. TXT \"v=spf1 -all\"\n") {
		t.Errorf("the fix's own record line is not indented:\n%s", buf.String())
	}
}

// Bidirectional controls reorder what a reader sees: escaped in text
// and in JSON alike.
func TestSanitizeBidi(t *testing.T) {
	in := "d=ex\u202eelpmaxe.org \u2066x\u2069 \u200f"
	if got, want := Sanitize(in), `d=ex\u202eelpmaxe.org \u2066x\u2069 \u200f`; got != want {
		t.Errorf("Sanitize: %q, want %q", got, want)
	}
	if got, want := string(jsonSafe([]byte(`"`+in+` é ‘’"`))), `"d=ex\u202eelpmaxe.org \u2066x\u2069 \u200f é ‘’"`; got != want {
		t.Errorf("jsonSafe: %q, want %q", got, want)
	}
}
