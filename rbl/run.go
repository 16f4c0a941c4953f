package rbl

import (
	"context"
	"sync"

	"github.com/preflight-mail/preflight/resolver"
)

// Result is what one list says about one target.
type Result struct {
	List   List   `json:"-"`
	Zone   string `json:"zone"`
	Target string `json:"target"`
	// Asked is the name the list was asked about, when not Target: its
	// registered domain, for lists whose policy says so.
	Asked string `json:"asked,omitempty"`
	Answer
	TXT []string `json:"txt,omitempty"`
	// Unusable is set when the list failed its self-test: Reason and
	// Hint say why, and the answer for the target does not count.
	Unusable bool `json:"unusable,omitempty"`
	// Skipped is set when the list does not cover the target (an IPv6
	// address on an IPv4-only list).
	Skipped bool `json:"skipped,omitempty"`
}

// Query asks every list about every target of its kind, all at once:
// the targets' names and each list's test points in parallel, so the
// whole costs about one round trip. Self-tests are asked through the
// run's cache, so a list is tested once per run however many checks use
// it. TXT records are fetched only for listed targets.
func Query(ctx context.Context, r *resolver.Resolver, lists []List, targets []string) []Result {
	results, jobs := plan(lists, targets)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { j.run(ctx, r) })
	}
	wg.Wait()
	out := make([]Result, len(results))
	for i, r := range results {
		out[i] = *r
	}
	return out
}

// job is one target on one list: the name to ask, and the test points
// of the target's family.
type job struct {
	res   *Result
	name  string
	tests TestPoints
}

// plan makes a result for every target on every list of its kind, and a
// job for those that can be asked: not an IPv6 address on an IPv4-only
// list, nor a public suffix on a list of registered domains, nor a name
// too long to ask.
func plan(lists []List, targets []string) ([]*Result, []job) {
	var results []*Result
	var jobs []job
	for _, l := range lists {
		for _, t := range targets {
			fam := family(t)
			if (fam == "domain") != (l.Kind == Domain) {
				continue
			}
			res := &Result{List: l, Zone: l.Shown(), Target: t}
			results = append(results, res)
			if fam == "v6" && !l.IPv6 {
				res.Skipped, res.Status = true, Unknown
				res.Reason = "the list does not cover IPv6"
				continue
			}
			subject, ok := l.Subject(t)
			if !ok {
				res.Skipped, res.Status = true, Unknown
				res.Reason = t + " is a public suffix, not a registered domain: the list lists registered domains only"
				continue
			}
			if subject != t {
				res.Asked = subject
			}
			name, err := QueryName(subject, l.Zone)
			if err != nil {
				res.Status, res.Reason = Unknown, err.Error()
				res.Hint = "no receiver can ask the list about it either; shorten the name if it must be checked"
				continue
			}
			jobs = append(jobs, job{res, name, testPoints(fam)})
		}
	}
	return results, jobs
}

// run asks the target's name and the list's two test points at once;
// the answer counts only when the self-test passes, and a listing's TXT
// record is fetched then.
func (j job) run(ctx context.Context, r *resolver.Resolver) {
	dns := r
	if j.res.List.Server != "" {
		dns = r.ForServer(j.res.List.Server)
	}
	var (
		inner            sync.WaitGroup
		target, pos, neg Answer
	)
	ask := func(t string, into *Answer) {
		name, err := QueryName(t, j.res.List.Zone)
		if err != nil { // a zone so long that even a test point does not fit
			*into = Answer{Status: Unknown, Reason: err.Error(), Hint: "check the zone name"}
			return
		}
		addrs, err := dns.LookupIP(ctx, "ip4", name)
		*into = Decode(j.res.List, addrs, err)
	}
	// The three at once, the target's in this goroutine.
	inner.Go(func() { ask(j.tests.Listed, &pos) })
	inner.Go(func() { ask(j.tests.NotListed, &neg) })
	addrs, err := dns.LookupIP(ctx, "ip4", j.name)
	target = Decode(j.res.List, addrs, err)
	inner.Wait()
	if reason, hint := SelfTest(pos, neg, j.tests); reason != "" {
		j.res.Unusable, j.res.Status = true, Unknown
		j.res.Reason, j.res.Hint = reason, hint
		return
	}
	j.res.Answer = target
	if target.Status == Listed || target.Status == PolicyListed {
		if txt, err := dns.LookupTXT(ctx, j.name); err == nil {
			for _, s := range txt {
				// The list's own words may quote the name asked.
				j.res.TXT = append(j.res.TXT, resolver.Redact(s, []string{j.res.List.Key}))
			}
		}
	}
}
