package resolver

// SetMaxQuestions lowers r's run's question cap, so tests can reach it
// without asking 2,000 questions.
func SetMaxQuestions(r *Resolver, n int64) { r.root().maxQuestions = n }
