package smtp

import (
	"context"
	"net"
	"testing"
	"time"
)

// FuzzReadReply: whatever a server sends, reading a reply ends without
// panic, within the limits, and a reply it returns is consistent.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"220 hi\r\n", "250-a\r\n250-b\r\n250 c\r\n", "550 5.7.1 no\r\n", "2x0 x\r\n", "250-a\r\n251 b\r\n", "220", "\r\n", "421-\r\n421 \r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		go func() {
			server.Write(data)
			server.Close()
		}()
		c := New(context.Background(), client, Timeouts{Greeting: time.Second, Command: time.Second, Data: time.Second}, nil)
		defer c.Close()
		r, err := c.readReply()
		if err != nil {
			return
		}
		if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 || len(r.Lines) > MaxReplyLines {
			t.Fatalf("reply %+v from %q", r, data)
		}
	})
}
