package smtp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Transcript limits: a stalling or chatty server must not grow it
// without bound.
const (
	MaxTranscriptLines = 300
	maxTranscriptLine  = 300 // octets kept of one line
)

// Line is one line of a transcript.
type Line struct {
	MS   int64  `json:"ms"`  // since the transcript started
	Dir  string `json:"dir"` // "C" client, "S" server, "*" a note
	Text string `json:"text"`
}

func (l Line) String() string { return fmt.Sprintf("%6dms %s: %s", l.MS, l.Dir, l.Text) }

// Transcript records a conversation. Secrets registered with redact are
// replaced wherever they appear, in plain and base64 forms.
type Transcript struct {
	mu      sync.Mutex
	start   time.Time
	lines   []Line
	dropped int
	secrets []string
	watch   func(Line) // see OnLine
}

// NewTranscript starts a transcript now.
func NewTranscript() *Transcript { return &Transcript{start: time.Now()} }

func (t *Transcript) add(dir, text string) {
	t.mu.Lock()
	if len(t.lines) >= MaxTranscriptLines {
		t.dropped++
		t.mu.Unlock()
		return
	}
	if len(text) > maxTranscriptLine {
		text = text[:maxTranscriptLine] + fmt.Sprintf("… (%d octets)", len(text))
	}
	l := Line{MS: time.Since(t.start).Milliseconds(), Dir: dir, Text: text}
	t.lines = append(t.lines, l)
	watch := t.watch
	l.Text = Redact(l.Text, t.secrets...)
	t.mu.Unlock()
	if watch != nil {
		watch(l)
	}
}

// OnLine has f called with each line as it is added (sent, received or
// noted), secrets redacted: the --verbose trace shows a session as it
// happens, not when it ends. The password is registered before AUTH is
// sent, so no line f sees holds it.
func (t *Transcript) OnLine(f func(Line)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.watch = f
}

// note adds a line of our own (TLS established, connection refused...).
func (t *Transcript) note(text string) { t.add("*", text) }

// Note adds a line of the caller's.
func (t *Transcript) Note(text string) { t.note(text) }

// redact registers secrets to hide.
func (t *Transcript) redact(secrets ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			t.secrets = append(t.secrets, s)
		}
	}
}

// Redactor returns a function that hides every registered secret in a
// string, for errors and messages built from server replies.
func (t *Transcript) Redactor() func(string) string {
	t.mu.Lock()
	secrets := append([]string(nil), t.secrets...)
	t.mu.Unlock()
	return func(s string) string { return Redact(s, secrets...) }
}

// Redact replaces each secret, and its base64 form, by "<redacted>".
// A secret shorter than MinSecretLen octets is not redacted: it cannot be
// told apart from ordinary text; CheckSecret refuses such passwords at
// input.
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < MinSecretLen {
			continue
		}
		s = replaceFold(s, sec, "<redacted>") // a server may echo it upper-cased
		for _, f := range secretForms(sec)[1:] {
			s = strings.ReplaceAll(s, f, "<redacted>")
		}
	}
	return s
}

// replaceFold replaces every occurrence of old in s, in any letter case
// (strings.EqualFold over the same number of octets), by repl.
func replaceFold(s, old, repl string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i+len(old) <= len(s); {
		if strings.EqualFold(s[i:i+len(old)], old) {
			b.WriteString(s[done:i])
			b.WriteString(repl)
			i += len(old)
			done = i
			continue
		}
		i++
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// Lines returns the transcript, secrets redacted.
func (t *Transcript) Lines() []Line {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Line, len(t.lines), len(t.lines)+1)
	for i, l := range t.lines {
		l.Text = Redact(l.Text, t.secrets...)
		out[i] = l
	}
	if t.dropped > 0 {
		out = append(out, Line{Dir: "*", Text: fmt.Sprintf("(%d more lines not kept)", t.dropped)})
	}
	return out
}

// Strings returns the transcript as text lines.
func (t *Transcript) Strings() []string {
	var out []string
	for _, l := range t.Lines() {
		out = append(out, l.String())
	}
	return out
}

// MinSecretLen is the length, in octets, of the shortest secret Redact
// hides.
const MinSecretLen = 3

// ErrShortSecret is CheckSecret's error.
var ErrShortSecret = errors.New("smtp: passwords shorter than 3 octets are refused: one or two characters cannot be told apart from ordinary text, so they could not be hidden in transcripts and errors")

// ErrControlSecret is CheckSecret's error for a password with a control
// character.
var ErrControlSecret = errors.New("smtp: a password with a control character (a line break: the file has more than one line; a tab, an escape) is refused: a server that echoes it would split it into lines, and the report escapes it, so the pieces could not be recognised and hidden")

// CheckSecret refuses a password that Redact could not hide: one shorter
// than MinSecretLen octets, the empty password included, and one with a
// control character (C0 or DEL), whose echo in a reply is split at line
// breaks or escaped on output before Redact could match it whole.
// Callers check passwords where they are read (flag, environment, file),
// before any connection is made.
func CheckSecret(password string) error {
	if len(password) < MinSecretLen {
		return fmt.Errorf("%w (this one has %d)", ErrShortSecret, len(password))
	}
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w (0x%02x at octet %d)", ErrControlSecret, c, i+1)
		}
	}
	return nil
}

// secretForms are the secret and the parts of its base64 encoding that
// stand in any longer encoding holding it: at each of the three bit
// alignments (after 0, 1 or 2 other octets), the characters made of the
// secret's bits alone.
func secretForms(sec string) []string {
	forms := []string{sec, base64.StdEncoding.EncodeToString([]byte(sec))}
	for k := range 3 {
		enc := base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("\x00", k) + sec))
		first, end := (8*k+5)/6, 8*(k+len(sec))/6
		if end-first >= 4 {
			forms = append(forms, enc[first:end])
		}
	}
	return forms
}
