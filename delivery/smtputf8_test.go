package delivery

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/smtp/smtptest"
)

// The envelope goes on the wire with the domain in A-labels (parsed once
// by package names), and a UTF-8 local part only with SMTPUTF8 (RFC 6531
// §3.4): without the extension, no MAIL command is sent at all.
func TestMailFromOnTheWire(t *testing.T) {
	offers := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}, SMTPUTF8: true})
	lacks := smtptest.Start(t, smtptest.Options{Local: []string{"example.test"}})
	tests := []struct {
		name, from, to string
		srv            *smtptest.Server
		result         Result
		want           []smtptest.Mail
		line           string // the MAIL command in the transcript
	}{
		{"IDNA domain", "a@bücher.example", "user@example.test", lacks, Accepted,
			[]smtptest.Mail{{From: "a@xn--bcher-kva.example"}}, "MAIL FROM:<a@xn--bcher-kva.example>"},
		{"UTF-8 local part, SMTPUTF8 offered", "jörg@example.com", "user@example.test", offers, Accepted,
			[]smtptest.Mail{{From: "jörg@example.com", SMTPUTF8: true}}, "MAIL FROM:<jörg@example.com> SMTPUTF8"},
		{"UTF-8 recipient, SMTPUTF8 offered", "a@example.com", "jörg@example.test", offers, Accepted,
			[]smtptest.Mail{{From: "a@example.com", SMTPUTF8: true}}, "MAIL FROM:<a@example.com> SMTPUTF8"},
		{"UTF-8 local part, SMTPUTF8 not offered", "jörg@example.com", "user@example.test", lacks, NoSMTPUTF8, nil, ""},
	}
	for _, tt := range tests {
		before := len(tt.srv.Mails())
		s := Send{From: names.MustAddress(tt.from), To: names.MustAddress(tt.to), HELO: names.MustHost("client.example.org"), Path: "direct", Port: port(tt.srv.Addr)}
		atts := Run(context.Background(), recipientDeps(t), &s).Attempts
		a := Decisive(atts)
		if got := tt.srv.Mails()[before:]; a.Result != tt.result || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %s (%s), server got %+v; want %s, %+v", tt.name, a.Result, a.Error, got, tt.result, tt.want)
		}
		i := slices.IndexFunc(transcript(a), func(l string) bool { return strings.HasPrefix(l, "C: MAIL ") })
		switch {
		case tt.line == "" && i >= 0:
			t.Errorf("%s: sent %s", tt.name, transcript(a)[i])
		case tt.line != "" && (i < 0 || transcript(a)[i] != "C: "+tt.line):
			t.Errorf("%s: transcript %q, want C: %s", tt.name, transcript(a), tt.line)
		}
		if tt.result == NoSMTPUTF8 && !strings.Contains(a.Error, "does not offer SMTPUTF8") {
			t.Errorf("%s: error %q does not say why", tt.name, a.Error)
		}
	}
}
