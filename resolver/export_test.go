package resolver

// SetMaxQuestions lowers r's run's question cap, so tests can reach it
// without asking 2,000 questions.
func SetMaxQuestions(r *Resolver, n int64) { r.root().maxQuestions = n }

// SetBatchHook makes b call f before each question it puts on the wire.
func SetBatchHook(b *Batch, f func()) {
	b.mu.Lock()
	b.hook = f
	b.mu.Unlock()
}

// BatchWaiters is how many lookups wait on b's unsettled entries.
func BatchWaiters(b *Batch) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.entries {
		n += e.waiters
	}
	return n
}
