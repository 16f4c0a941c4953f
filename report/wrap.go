package report

import (
	"strings"
	"unicode/utf8"
)

// The text writer wraps at the terminal's width (Options.Width), each
// line's continuation under the line's own indent, so the hanging
// indents of findings and fixes survive an 80-column terminal (issue
// #16: 27 of the demo's 43 lines were wider). Width 0 wraps nothing: a
// report in a log or a file keeps one line per finding, for grep.
//
// Widths are counted in octets, not characters: a character takes at
// most as many columns as it has octets in UTF-8 (✓ and █ three octets,
// one column), so a line within the width in octets is within it in
// columns too, and within it for tools that count octets (mawk's
// length, Debian's awk).

// minWrapText is the least room wrapping leaves for text after an
// indent; narrower terminals get lines wider than they are rather than
// a word per line.
const minWrapText = 20

// wrapper writes lines into b, wrapped at width (0: not at all).
type wrapper struct {
	b     *strings.Builder
	width int
}

// line writes text after first, its continuation lines after rest. The
// prefixes and text may hold ANSI colors, which take no room. Words
// joined by keep (a no-break space) stay on one line when they fit on
// one. Where an indent leaves less than minWrapText, the text moves left:
// the first line's prefix stands alone, continuations start at the width
// less minWrapText.
func (w wrapper) line(first, rest, text string) {
	if w.width > 0 {
		rest = fitPrefix(rest, w.width)
		if first = fitPrefix(first, w.width); w.width-visibleLen(first) < minWrapText {
			w.b.WriteString(strings.TrimRight(first, " ") + "\n")
			first = rest
		}
	}
	for i, l := range wrapText(text, w.width-visibleLen(first), w.width-visibleLen(rest), w.width > 0) {
		if i == 0 {
			w.b.WriteString(first)
		} else {
			w.b.WriteString(rest)
		}
		w.b.WriteString(strings.ReplaceAll(l, keep, " "))
		w.b.WriteByte('\n')
	}
}

// Wrap is the text writer's wrapping for the text of other commands
// (explain): text after first, its continuation lines after rest, at
// width (0: not at all), each line ending in a newline.
func Wrap(first, rest, text string, width int) string {
	var b strings.Builder
	wrapper{b: &b, width: width}.line(first, rest, text)
	return b.String()
}

// fitPrefix takes spaces off the front of prefix p until it leaves
// minWrapText of width for text, or has none left.
func fitPrefix(p string, width int) string {
	over := visibleLen(p) - (width - minWrapText)
	if over <= 0 {
		return p
	}
	trimmed := strings.TrimLeft(p, " ")
	return strings.Repeat(" ", max(len(p)-len(trimmed)-over, 0)) + trimmed
}

// keep joins words wrapping must not part ("helo mail.example.com").
const keep = "\u00a0"

// unbroken joins the words of s with keep.
func unbroken(s string) string { return strings.ReplaceAll(s, " ", keep) }

// wrapText breaks text at spaces into lines of at most firstRoom
// visible characters, then restRoom; a word longer than a line is cut,
// the line it starts on filled first. Runs of spaces inside a line are
// kept. Words joined by keep are parted when they do not fit on a line.
func wrapText(text string, firstRoom, restRoom int, wrap bool) []string {
	if !wrap {
		return []string{text}
	}
	room := max(firstRoom, minWrapText)
	var words []string
	for _, w := range strings.Split(text, " ") {
		if strings.Contains(w, keep) && visibleLen(w) > max(restRoom, minWrapText) {
			words = append(words, strings.Split(w, keep)...)
			continue
		}
		words = append(words, w)
	}
	var lines []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		lines = append(lines, strings.TrimRight(cur.String(), " "))
		cur.Reset()
		curLen = 0
		room = max(restRoom, minWrapText)
	}
	for i, word := range words {
		n := visibleLen(word)
		cuttable := !strings.Contains(word, "\x1b")
		if i > 0 {
			switch {
			case curLen > 0 && curLen+1+n > room && (!cuttable || n <= max(restRoom, minWrapText) || room-curLen-1 < minWrapText/2):
				flush() // the word goes on the next line
			case curLen > 0 || len(lines) == 0:
				cur.WriteByte(' ')
				curLen++
			}
		}
		for cuttable && curLen+n > room {
			// A word wider than a line: cut it where the line ends.
			head, tail := cutVisible(word, room-curLen)
			cur.WriteString(head)
			flush()
			word, n = tail, visibleLen(tail)
		}
		cur.WriteString(word)
		curLen += n
	}
	if cur.Len() > 0 || len(lines) == 0 {
		lines = append(lines, strings.TrimRight(cur.String(), " "))
	}
	return lines
}

// cutVisible splits s (no ANSI codes) after at most n octets, at a
// character (at least one).
func cutVisible(s string, n int) (string, string) {
	i := 0
	for i < len(s) {
		_, size := utf8.DecodeRuneInString(s[i:])
		if i > 0 && i+size > n {
			break
		}
		i += size
	}
	return s[:i], s[i:]
}

// visibleLen is the room s takes on a line: its octets, ANSI color
// sequences (ESC [ ... m) not counted.
func visibleLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j + 1
			continue
		}
		i++
		n++
	}
	return n
}
