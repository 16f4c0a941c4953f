package words

import "testing"

func TestPlural(t *testing.T) {
	if Plural(1, "list", "lists") != "list" || Plural(int64(0), "list", "lists") != "lists" || Plural(2, "a", "b") != "b" {
		t.Error("Plural picks the wrong form")
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two octets: not cut in half
	} {
		if got := Clip(c.s, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
