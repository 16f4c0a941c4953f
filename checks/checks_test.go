package checks

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/preflight-mail/preflight/report"
)

func TestRunSharesLookupsAndCountsPerCheck(t *testing.T) {
	env := testEnv(t)
	target := Target{IPs: []netip.Addr{netip.MustParseAddr("203.0.113.5")}}
	ip, _ := ByID("ip")
	rdns, _ := ByID("rdns")
	res := Run(context.Background(), env, target, []Check{ip, rdns})
	if len(res) != 2 || res[0].ID != "ip" || res[1].ID != "rdns" {
		t.Fatalf("results: %+v", res)
	}
	// ip and rdns both need the PTR: asked once in the run.
	if st := env.DNS.Stats(); st.Questions != 2 {
		t.Errorf("run asked %d questions, want 2 (PTR once, A once)", st.Questions)
	}
	if total := res[0].DNSQueries + res[1].DNSQueries; total != 2 {
		t.Errorf("per-check counts %d + %d, want 2 in all", res[0].DNSQueries, res[1].DNSQueries)
	}
}

func TestRunSurvivesPanicAndStuckCheck(t *testing.T) {
	boom := Check{ID: "boom", Run: func(context.Context, Env, Target) []report.Finding { panic("kaboom") }}
	release, returned := make(chan struct{}), make(chan struct{})
	stuck := Check{ID: "stuck", Run: func(context.Context, Env, Target) []report.Finding {
		<-release // ignores its context, as a buggy check would
		close(returned)
		return nil
	}}
	defer func() { close(release); <-returned }()
	fine := Check{ID: "fine", Run: func(context.Context, Env, Target) []report.Finding {
		return []report.Finding{{ID: "fine.ok", Severity: report.Pass}}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := Run(ctx, Env{}, Target{}, []Check{boom, stuck, fine})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Run took %v", elapsed)
	}
	got := []string{res[0].Findings[0].ID, res[1].Findings[0].ID, res[2].Findings[0].ID}
	want := []string{"boom.internal_error", "stuck.unfinished", "fine.ok"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
