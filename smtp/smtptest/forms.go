package smtptest

import (
	"encoding/base64"
	"strings"
)

// EchoUsers are user names that put a password at each of the three
// base64 alignments inside an AUTH PLAIN response ("\0user\0password"):
// 2+len(user) is 0, 1 and 2 modulo 3.
var EchoUsers = []string{"abcd@attack.test", "us@attack.test", "abc@attack.test"}

// PasswordForms are the forms of pass that an echo of the AUTH exchange
// of user may show, for tests to look for: the password itself, the whole
// SASL PLAIN response in base64, and base64 of the password at each of
// the three alignments it can have inside that, trimmed of the characters
// that also encode the octets around it. pass should be 8 octets or more.
func PasswordForms(user, pass string) []string {
	enc := base64.StdEncoding.EncodeToString
	forms := []string{pass, enc([]byte("\x00" + user + "\x00" + pass))}
	for k, lead := range []int{0, 2, 3} {
		b := enc([]byte(strings.Repeat("x", k) + pass))
		forms = append(forms, b[lead:len(b)-4])
	}
	return forms
}
