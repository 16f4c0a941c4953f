package delivery

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/preflight-mail/preflight/dkim"
)

// testMessage builds the message Deliver sends: RFC 5322 headers, a
// Subject with a unique token, a MIME text body; DKIM-signed when s has
// a key.
func testMessage(s *Send, now time.Time) ([]byte, error) {
	token := make([]byte, 8)
	rand.Read(token)
	tok := hex.EncodeToString(token)
	domain := s.From.Domain
	msg := []byte("From: <" + s.From.String() + ">\r\n" +
		"To: <" + s.To.String() + ">\r\n" +
		"Subject: preflight test " + tok + "\r\n" +
		"Date: " + now.Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n" +
		"Message-ID: <preflight-" + tok + "@" + domain + ">\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 7bit\r\n" +
		"\r\n" +
		"This is a test message sent by preflight at " + now.UTC().Format(time.RFC3339) + ".\r\n" +
		"Token: " + tok + "\r\n")
	if s.DKIMKey == nil {
		return msg, nil
	}
	return dkim.Sign(msg, domain, s.DKIMSelector, s.DKIMKey)
}
