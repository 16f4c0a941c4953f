package delivery

import (
	"testing"

	"github.com/preflight-mail/preflight/resolver/dnstest"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { dnstest.VerifyTestMain(m) }
