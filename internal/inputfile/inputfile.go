// Package inputfile reads the files preflight is pointed at: zone files,
// preflight.yaml, relay lists, baselines, keys, certificates, secrets,
// target lists and Public Suffix Lists. In the README's CI workflow a pull request chooses them,
// so each is untrusted: it may be endless (/dev/zero, a pipe), huge, a
// device or a FIFO where a secret was expected, or another kind of file
// altogether (/proc/self/environ). Every file flag reads through Open or
// ReadFile, with the size limit of its Kind (docs/limits.md), and errors
// quote at most an Excerpt of what a file holds.
package inputfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unicode/utf8"

	"github.com/preflight-mail/preflight/report"
)

// Kind is what a file is for; it sets the file's size limit and whether
// it must be a regular file.
type Kind int

// The kinds of input file.
const (
	Secret  Kind = iota // --password-file, --spamhaus-key-file
	Key                 // --dkim-key, a target's dkim_key
	Certs               // --ca-file
	YAML                // --config, --relays
	Report              // --baseline
	Zone                // --zone
	Targets             // --targets
	PSL                 // --psl
	Mail                // preflight message FILE, check --message
	Anchors             // --trust-anchor
)

// limits are each kind's. A secret or a key fits in a few KB (an 8192-bit
// RSA key in PEM is about 6.5 KB); a config, relay list or baseline
// report in 1 MiB (the largest report preflight writes is a fraction of
// that, see report.MaxMessage); a CA bundle too (the system's is about
// 220 KB). A zone file gets 64 MiB, more than any zone anyone
// preflights; the resolver bounds what all zone files of a run hold
// together. A targets file is streamed and spooled, never held: 64 MiB
// is a million targets. The Public Suffix List is about 330 KB, and
// grows by a few KB a year: 4 MiB. A trust anchor file holds at most 64
// DS or DNSKEY records (resolver.MaxTrustAnchors), a few KB: 1 MiB.
var limits = [...]struct {
	what    string
	max     int64
	regular bool // a FIFO, device or socket is refused
}{
	Secret:  {"secret file", 4 << 10, true},
	Key:     {"private key file", 16 << 10, false},
	Certs:   {"certificate file", 1 << 20, false},
	YAML:    {"YAML file", 1 << 20, false},
	Report:  {"JSON report", 1 << 20, false},
	Zone:    {"zone file", 64 << 20, false},
	Targets: {"targets file", 64 << 20, false},
	PSL:     {"Public Suffix List file", 4 << 20, false},
	// A received message: Gmail takes 25 MB of attachments, about 35 MB
	// once encoded; 64 MiB is more than any provider delivers.
	Mail:    {"message file", 64 << 20, false},
	Anchors: {"trust anchor file", 1 << 20, false},
}

// Max is the most octets a file of kind k may hold.
func (k Kind) Max() int64 { return limits[k].max }

func (k Kind) String() string { return limits[k].what }

// Sentinels for errors.Is.
var (
	// ErrTooLarge: the file holds more than its kind's limit.
	ErrTooLarge = errors.New("too large")
	// ErrNotRegular: a kind that must be a regular file is not one.
	ErrNotRegular = errors.New("not a regular file")
)

// File is an input file open for reading. Reads fail once more than
// the kind's limit has been read, and once the context given to Open
// ends (a read blocked on a pipe returns then too).
type File struct {
	f    *os.File
	path string
	kind Kind
	ctx  context.Context
	n    int64 // octets read so far
	stop func() bool
	// Info is the file's (the symbolic link's target's) mode and size.
	Info os.FileInfo
}

// Open opens path to read as kind k. A kind that must be a regular file
// is opened without waiting for a FIFO's writer, and refused when it is
// not one.
func Open(ctx context.Context, path string, k Kind) (*File, error) {
	var f *os.File
	var err error
	if limits[k].regular {
		// Opening a FIFO for reading waits for a writer; with
		// O_NONBLOCK it returns at once and Stat refuses it.
		f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	} else {
		f, err = openWaiting(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case fi.IsDir():
		f.Close()
		return nil, fmt.Errorf("%s is a directory, not a %s", path, k)
	case limits[k].regular && !fi.Mode().IsRegular():
		f.Close()
		return nil, fmt.Errorf("%s: %w but %s; a %s must be one", path, ErrNotRegular, describe(fi.Mode()), k)
	}
	file := &File{f: f, path: path, kind: k, ctx: ctx, Info: fi}
	// Closing the file ends a read blocked on a pipe or terminal.
	file.stop = context.AfterFunc(ctx, func() { f.Close() })
	return file, nil
}

// openWaiting opens path for reading, waiting for a FIFO's writer no
// longer than ctx lasts: the open itself cannot be interrupted, so it
// runs apart, and a late one is closed when it comes. A pipe or FIFO is
// made pollable, so that closing it (when ctx ends) ends a read blocked
// on it, and the run ends within its deadline however long the writer
// keeps the pipe open.
func openWaiting(ctx context.Context, path string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_RDONLY, 0)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, o.err
		}
		return pollable(o.f), nil
	case <-ctx.Done():
		go func() {
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeNamedPipe == 0 {
			// Not a pipe: the run's time was up before the open.
			return nil, fmt.Errorf("%s: the time limit (--timeout) ran out before it was read: %w", path, context.Cause(ctx))
		}
		return nil, fmt.Errorf("%s: nothing to read within the time limit (a named pipe without a writer?): %w", path, context.Cause(ctx))
	}
}

// pollable returns a pipe or FIFO as a file in non-blocking mode, which
// Go's poller waits on (so Close ends a blocked Read); other files as
// they are.
func pollable(f *os.File) *os.File {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return f
	}
	var nf *os.File
	rc, err := f.SyscallConn()
	if err == nil {
		rc.Control(func(fd uintptr) {
			if dup, err := syscall.Dup(int(fd)); err == nil {
				if syscall.SetNonblock(dup, true) == nil {
					nf = os.NewFile(uintptr(dup), f.Name())
				} else {
					syscall.Close(dup)
				}
			}
		})
	}
	if nf == nil {
		return f
	}
	f.Close()
	return nf
}

// describe names a file type that is not a regular file.
func describe(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// Read reads from the file; past the kind's limit it fails with
// ErrTooLarge, and after the context ends with its cause.
func (f *File) Read(p []byte) (int, error) {
	if err := f.ctx.Err(); err != nil {
		return 0, f.stopped()
	}
	limit := limits[f.kind].max
	if f.n > limit {
		return 0, f.tooLarge()
	}
	if room := limit + 1 - f.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := f.f.Read(p)
	f.n += int64(n)
	if f.n > limit {
		return n - int(f.n-limit), f.tooLarge()
	}
	if err != nil && err != io.EOF && f.ctx.Err() != nil {
		return n, f.stopped()
	}
	return n, err
}

func (f *File) tooLarge() error {
	return fmt.Errorf("%s: %w: more than %s, the limit for a %s", f.path, ErrTooLarge, Size(limits[f.kind].max), f.kind)
}

func (f *File) stopped() error {
	return fmt.Errorf("%s: reading stopped after %d octets: %w", f.path, f.n, context.Cause(f.ctx))
}

// Close closes the file.
func (f *File) Close() error {
	f.stop()
	err := f.f.Close()
	if errors.Is(err, os.ErrClosed) {
		return nil // closed when the context ended
	}
	return err
}

// ReadFile reads the whole of path as kind k.
func ReadFile(ctx context.Context, path string, k Kind) ([]byte, os.FileInfo, error) {
	f, err := Open(ctx, path, k)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return b, f.Info, err
}

// OthersCanRead reports whether the file's group or other users may read
// it: a secret in it is not private.
func OthersCanRead(fi os.FileInfo) bool { return fi.Mode().Perm()&0o044 != 0 }

// IsControl reports whether c is a control character no text file
// holds: C0 but tab, LF and CR, and DEL.
func IsControl(c byte) bool { return c < ' ' && c != '\t' && c != '\n' && c != '\r' || c == 0x7f }

// NotText is the error for a control character c at line and col: the
// file is no text file of kind k (a NUL-separated /proc/self/environ, a
// binary), and nothing of it is quoted.
func NotText(path string, line, col int, c byte, k Kind) error {
	return fmt.Errorf("%s:%d:%d: control character 0x%02x: a %s is text", path, line, col, c, k)
}

// CheckText refuses b, read from path as kind k, when it is not text.
func CheckText(path string, b []byte, k Kind) error {
	line, col := 1, 0
	for _, c := range b {
		col++
		switch {
		case c == '\n':
			line, col = line+1, 0
		case IsControl(c):
			return NotText(path, line, col, c, k)
		}
	}
	return nil
}

// LineCol returns the line and column, from 1, of offset in b.
func LineCol(b []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for _, c := range b[:min(max(offset, 0), int64(len(b)))] {
		col++
		if c == '\n' {
			line, col = line+1, 1
		}
	}
	return line, col
}

// maxExcerpt bounds what an error message shows of a file's content;
// maxMessage a message from a parser that may hold some.
const (
	maxExcerpt = 40
	maxMessage = 200
)

// Excerpt is what an error message may show of text read from a file: at
// most 40 octets (cut at a character, "…" when cut), sanitised, quoted.
// Callers show it only once the file has proved to be of the kind asked
// for; before that, a line and column are all an error names.
func Excerpt(s string) string { return `"` + cut(s, maxExcerpt) + `"` }

// Message is a parser's error message about a file's content, which may
// quote it: sanitised, and cut to 200 octets.
func Message(s string) string { return cut(s, maxMessage) }

// cut sanitises s and keeps at most n octets of it (cut at a character,
// "…" when cut).
func cut(s string, n int) string {
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return report.Sanitize(s)
}

// Size writes an octet count for people: "4 KiB", "64 MiB", "1000 octets".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d octets", n)
}
