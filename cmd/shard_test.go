package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// reportSet is an io.Writer of NDJSON reports that keeps, for each
// report, a hash of it without what differs between two runs of the
// same target (when it ran, how long it took), and counts them.
type reportSet struct {
	mu      sync.Mutex
	partial []byte
	counts  map[[32]byte]int
	n       int
	err     error
}

func (s *reportSet) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		s.add(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
}

func (s *reportSet) add(line []byte) {
	var r map[string]any
	if err := json.Unmarshal(line, &r); err != nil {
		s.err = fmt.Errorf("a line that is no JSON report: %v", err)
		return
	}
	delete(r, "generated_at")
	delete(r, "duration_ms")
	checks, _ := r["checks"].([]any)
	for _, c := range checks {
		delete(c.(map[string]any), "duration_ms")
	}
	b, _ := json.Marshal(r) // map keys sorted
	if s.counts == nil {
		s.counts = map[[32]byte]int{}
	}
	s.counts[sha256.Sum256(b)]++
	s.n++
}

// TestShardsMakeTheWhole: a batch of 10,000 targets, each different,
// checked in one run and split with --shard 0/4 ... 3/4, gives exactly the
// same reports: every target in one shard, none twice (issue #16). The
// targets are checked against zone files, offline.
func TestShardsMakeTheWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("checks 10,000 targets twice")
	}
	const n, shards = 10000, 4
	dir := t.TempDir()
	var zoneArgs []string
	for i, z := range benchZones(250) {
		p := filepath.Join(dir, fmt.Sprintf("z%d.zone", i))
		if err := os.WriteFile(p, []byte(z), 0o644); err != nil {
			t.Fatal(err)
		}
		zoneArgs = append(zoneArgs, "--zone", p)
	}
	file := filepath.Join(dir, "targets.txt")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		// Each line its own target: the second selector names it.
		host := i%250 + 1
		fmt.Fprintf(w, "bench.test 203.0.113.%d h%d.bench.test s1,t%d\n", host, host, i)
	}
	w.Flush()
	f.Close()
	args := append([]string{"check", "--targets", file, "--offline", "--list", "bl.test",
		"--treat-as-public", "203.0.113.0/24", "--jobs", "16", "--timeout", "1m"}, zoneArgs...)
	batch := func(out *reportSet, extra ...string) string {
		var stderr bytes.Buffer
		start := time.Now()
		code := Run(context.Background(), append(args, extra...), Streams{Out: out, Err: &stderr, Getenv: func(string) string { return "" }})
		if code == 2 || out.err != nil {
			t.Fatalf("%q: exit %d, %v: %s", extra, code, out.err, stderr.String())
		}
		t.Logf("%q: %v, %s", extra, time.Since(start).Round(time.Millisecond), bytes.TrimSpace(stderr.Bytes()))
		return stderr.String()
	}
	whole := &reportSet{}
	batch(whole)
	if whole.n != n || len(whole.counts) != n {
		t.Fatalf("one run: %d reports, %d different; want %d of each", whole.n, len(whole.counts), n)
	}
	parts := &reportSet{}
	for i := range shards {
		before := parts.n
		stderr := batch(parts, "--shard", fmt.Sprintf("%d/%d", i, shards))
		if got := parts.n - before; got != n/shards {
			t.Errorf("shard %d/%d: %d reports, want %d (%s)", i, shards, got, n/shards, stderr)
		}
	}
	if !maps.Equal(whole.counts, parts.counts) {
		missing, extra := 0, 0
		for k, c := range whole.counts {
			missing += max(c-parts.counts[k], 0)
		}
		for k, c := range parts.counts {
			extra += max(c-whole.counts[k], 0)
		}
		t.Errorf("the shards' reports are not the one run's: %d missing, %d not in the one run", missing, extra)
	}
}
