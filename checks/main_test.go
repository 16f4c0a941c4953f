package checks

import (
	"testing"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { dnstest.VerifyTestMain(m) }

// sels is a selector list for test tables.
func sels(s ...string) []names.Selector {
	out := make([]names.Selector, len(s))
	for i, v := range s {
		out[i] = names.Selector(v)
	}
	return out
}
