package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestManPagesCurrent: the man pages in docs/man are those the command
// tree makes now, so CI fails when a help text changed and they were not
// made again (go generate ./..., which runs preflight man docs/man).
func TestManPagesCurrent(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, "man", dir); code != 0 {
		t.Fatalf("preflight man: exit %d, %s", code, stderr)
	}
	names := func(d string) []string {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	checked := filepath.Join("..", ManDir)
	made, have := names(dir), names(checked)
	if !slices.Equal(made, have) {
		t.Fatalf("%s holds %q, the command tree makes %q: run go generate ./...", ManDir, have, made)
	}
	for _, n := range made {
		want, _ := os.ReadFile(filepath.Join(dir, n))
		got, _ := os.ReadFile(filepath.Join(checked, n))
		if !bytes.Equal(got, want) {
			t.Errorf("%s/%s is not what the help says now: run go generate ./...", ManDir, n)
		}
	}
	if !slices.Contains(made, "preflight-check.1") || len(made) < 10 {
		t.Errorf("man pages made: %q", made)
	}
}
