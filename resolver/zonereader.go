package resolver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/preflight-mail/preflight/internal/inputfile"
)

// zoneReader feeds a master file to dns.ZoneParser one octet at a time
// (the parser reads through io.ByteReader when it can), and checks as it
// goes what the parser does not:
//
//   - the text is text: a control character other than tab, CR and LF
//     means this is not a zone file (/proc/self/environ has NULs), and
//     the file is refused before the parser quotes any of it;
//   - no quoted string is over 255 octets (RFC 1035 §3.3: a
//     character-string's length is one octet). The parser would split it
//     silently; BIND and nsd refuse the zone, so a change with one would
//     not deploy;
//   - the run's budget of octets, and its deadline.
//
// It also finds the first $ORIGIN, which gives a file without SOA its
// apex; the parser does not expose it.
type zoneReader struct {
	ctx    context.Context
	br     *bufio.Reader
	file   string
	budget *zoneBudget

	line, col int // of the last octet read, from 1

	comment bool // in a comment, to the end of the line
	quoted  bool // in a quoted string
	escaped bool // after a backslash in a quoted string
	skip    int  // octets left of a \DDD escape
	qlen    int  // octets in the quoted string so far
	qcol    int  // its opening quote's column

	head   []byte // the current line's first octets, while origin is unknown
	origin string // the first $ORIGIN's argument

	read int64 // octets read
	err  error
}

const (
	// zoneHead is how much of a file is looked at for a $ORIGIN that
	// comes before the records it is the origin of.
	zoneHead = 64 << 10
	// maxDirective bounds the part of a line kept to find $ORIGIN.
	maxDirective = 512
)

func newZoneReader(ctx context.Context, r io.Reader, file string, b *zoneBudget) *zoneReader {
	return &zoneReader{ctx: ctx, br: bufio.NewReaderSize(r, zoneHead), file: file, budget: b, line: 1}
}

// initialOrigin is the first $ORIGIN in the file's first 64 KiB, or the
// root: relative names before the first $ORIGIN take it, as when the
// whole file was searched for it. A $ORIGIN further in only applies from
// where it is, as in any master file.
func (z *zoneReader) initialOrigin() string {
	head, _ := z.br.Peek(zoneHead)
	if len(head) == zoneHead {
		// The last line may be cut; only whole lines count.
		if i := strings.LastIndexByte(string(head), '\n'); i >= 0 {
			head = head[:i+1]
		}
	}
	for line := range strings.Lines(string(head)) {
		if o, ok := originDirective(line); ok {
			return o
		}
	}
	return "."
}

// originDirective reads a "$ORIGIN name" line.
func originDirective(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) >= 2 && strings.EqualFold(f[0], "$ORIGIN") {
		return fqdn(f[1]), true
	}
	return "", false
}

// Read is for io.Reader; the parser uses ReadByte.
func (z *zoneReader) Read(p []byte) (int, error) {
	for i := range p {
		c, err := z.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = c
	}
	return len(p), nil
}

// ReadByte returns the next octet, or the first thing wrong with the
// file so far.
func (z *zoneReader) ReadByte() (byte, error) {
	if z.err != nil {
		return 0, z.err
	}
	c, err := z.br.ReadByte()
	if err != nil {
		z.endLine()
		z.err = err
		return 0, err
	}
	z.read++
	if z.read&0xffff == 0 && z.ctx.Err() != nil {
		return 0, z.fail(z.stopped())
	}
	if z.budget.bytes--; z.budget.bytes < 0 {
		return 0, z.fail(fmt.Errorf("%s:%d: the zone files hold more than %d MiB together, the limit for one run", z.file, z.line, MaxZoneBytes>>20))
	}
	if c == '\n' {
		z.endLine()
		return c, nil
	}
	z.col++
	if inputfile.IsControl(c) {
		return 0, z.fail(inputfile.NotText(z.file, z.line, z.col, c, inputfile.Zone))
	}
	if z.origin == "" && len(z.head) < maxDirective {
		z.head = append(z.head, c)
	}
	if err := z.quote(c); err != nil {
		return 0, z.fail(err)
	}
	return c, nil
}

// quote follows comments and quoted strings, and refuses a quoted string
// over 255 octets when it ends.
func (z *zoneReader) quote(c byte) error {
	switch {
	case z.comment:
	case z.escaped:
		z.escaped = false
		if isDigit(c) {
			z.skip = 2 // \DDD is one octet
		}
	case z.skip > 0:
		z.skip--
	case !z.quoted && c == ';':
		z.comment = true
	case c == '"':
		if z.quoted && z.qlen > 255 {
			return fmt.Errorf("%s:%d:%d: a quoted string of %d octets; the limit is 255 (RFC 1035 §3.3): split it into several quoted strings", z.file, z.line, z.qcol, z.qlen)
		}
		z.quoted, z.qcol, z.qlen = !z.quoted, z.col, 0
	case z.quoted && c == '\\':
		z.escaped = true
		z.qlen++
	case z.quoted:
		z.qlen++
	}
	return nil
}

// endLine notes a $ORIGIN and starts the next line: comments and quoted
// strings end with their line.
func (z *zoneReader) endLine() {
	if z.origin == "" {
		if o, ok := originDirective(string(z.head)); ok {
			z.origin = o
		}
		z.head = z.head[:0]
	}
	z.line++
	z.col = 0
	z.comment, z.quoted, z.escaped, z.skip = false, false, false, 0
}

func (z *zoneReader) fail(err error) error {
	z.err = err
	return err
}

func (z *zoneReader) stopped() error {
	return fmt.Errorf("%s:%d: loading stopped: %w", z.file, z.line, context.Cause(z.ctx))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
