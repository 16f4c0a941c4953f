package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/internal/inputfile"
)

// wantArgs checks the number of arguments, from min to max (-1: no
// limit), and words every such error one way: what the command wants,
// and what it got.
//
//	want one DOMAIN argument, got 2: "a.example", "b.example"
//	want one or more IP arguments, got none
//	want no arguments, got 1: "x"
func wantArgs(min, max int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) >= min && (max < 0 || len(args) <= max) {
			return nil
		}
		var want string
		switch {
		case max == 0:
			want = "no arguments"
		case min == max:
			want = numberWord(min) + " " + what + " " + plural(min, "argument")
		case max < 0:
			want = numberWord(min) + " or more " + what + " arguments"
		case min == 0:
			want = "at most " + numberWord(max) + " " + what + " " + plural(max, "argument")
		default:
			want = fmt.Sprintf("%d to %d %s arguments", min, max, what)
		}
		got := "none"
		if len(args) > 0 {
			quoted := make([]string, len(args))
			for i, a := range args {
				quoted[i] = inputfile.Excerpt(a)
			}
			got = fmt.Sprintf("%d: %s", len(args), strings.Join(quoted, ", "))
		}
		return fmt.Errorf("want %s, got %s", want, got)
	}
}

// The commands' argument rules.
var (
	exactDomain = wantArgs(1, 1, "DOMAIN")
	noArgs      = wantArgs(0, 0, "")
)

func numberWord(n int) string {
	if n >= 0 && n < 4 {
		return [...]string{"no", "one", "two", "three"}[n]
	}
	return fmt.Sprint(n)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
