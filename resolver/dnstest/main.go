package dnstest

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/preflight-mail/preflight/resolver"
)

// VerifyTestMain runs a package's tests and fails them if a goroutine
// outlives them, as goleak.VerifyTestMain does, after closing the
// resolver's idle pooled sockets (whose readers would otherwise linger
// for a moment after the last question).
func VerifyTestMain(m *testing.M) { goleak.VerifyTestMain(idleClosing{m}) }

type idleClosing struct{ m *testing.M }

func (c idleClosing) Run() int {
	defer resolver.CloseIdle()
	return c.m.Run()
}
