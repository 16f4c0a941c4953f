package report

import (
	"slices"
	"testing"
)

// TestFindingsAbout: a provider rule's "because" says which IP, list or
// key its findings are about, not the ID alone (review of #17).
func TestFindingsAbout(t *testing.T) {
	fs := []Finding{
		{ID: "rbl.listed", Subject: "192.0.2.10", Evidence: map[string]any{"zone": "zen.spamhaus.org"}},
		{ID: "dkim.key_ok", Subject: "ed", Evidence: map[string]any{"key_type": "ed25519"}},
		{ID: "rbl.clean", Subject: "192.0.2.11"},
	}
	got := findingsAbout([]string{"rbl.listed", "dkim.key_ok", "dkim.missing"}, fs)
	want := []string{"rbl.listed (192.0.2.10 on zen.spamhaus.org)", "dkim.key_ok (ed, k=ed25519)", "dkim.missing"}
	if !slices.Equal(got, want) {
		t.Errorf("findingsAbout = %q, want %q", got, want)
	}
}
