package words

import "testing"

func TestPlural(t *testing.T) {
	if Plural(1, "list", "lists") != "list" || Plural(int64(0), "list", "lists") != "lists" || Plural(2, "a", "b") != "b" {
		t.Error("Plural picks the wrong form")
	}
}
