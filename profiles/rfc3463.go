package profiles

import (
	"fmt"
	"strconv"
	"strings"
)

// The meaning of enhanced status codes, class.subject.detail: RFC 3463
// §3 (subjects and details), with the codes RFC 3886, RFC 4954 §6, RFC
// 5248's registry, RFC 6531 and RFC 7372 added, in our words.
var (
	classes = map[byte]string{
		'2': "success",
		'4': "a temporary failure: the sender should try again later",
		'5': "a permanent failure: sending the same message again will fail the same way",
	}
	subjects = map[string]string{
		"0": "other or undefined status",
		"1": "addressing",
		"2": "the recipient's mailbox",
		"3": "the receiving mail system",
		"4": "network and routing",
		"5": "the mail delivery protocol",
		"6": "message content or media",
		"7": "security or policy",
	}
	details = map[string]string{
		"0.0": "other or undefined status; the text says more",
		"1.0": "other address status", "1.1": "the recipient's mailbox does not exist",
		"1.2": "the recipient's domain does not exist or does not receive mail",
		"1.3": "the recipient's address is not valid syntax", "1.4": "the recipient's address is ambiguous",
		"1.5": "the recipient's address is valid", "1.6": "the mailbox has moved",
		"1.7": "the sender's address is not valid syntax", "1.8": "the sender's domain does not exist or is not valid",
		"1.10": "the recipient's domain has a null MX",
		"2.0":  "other or undefined mailbox status", "2.1": "the mailbox is disabled and takes no mail",
		"2.2": "the mailbox is full", "2.3": "the message is larger than the mailbox takes",
		"2.4": "a mailing list expansion problem",
		"3.0": "other or undefined mail system status", "3.1": "the mail system is full",
		"3.2": "the system is not accepting network messages", "3.3": "the system cannot handle a feature of the message",
		"3.4": "the message is too big for the system", "3.5": "the system is incorrectly configured",
		"3.6": "the requested priority was changed",
		"4.0": "other or undefined network or routing status", "4.1": "no answer from the host",
		"4.2": "the connection was dropped", "4.3": "a directory server (DNS) failure",
		"4.4": "unable to route", "4.5": "the mail system is congested", "4.6": "a routing loop was detected",
		"4.7": "the delivery time expired", "4.8": "a null MX routes mail nowhere",
		"5.0": "other or undefined protocol status", "5.1": "an invalid command", "5.2": "a syntax error",
		"5.3": "too many recipients", "5.4": "invalid command arguments", "5.5": "the wrong protocol version",
		"5.6": "an authentication exchange line was too long",
		"6.0": "other or undefined media error", "6.1": "the media type is not supported",
		"6.2": "conversion is required and prohibited", "6.3": "conversion is required but not supported",
		"6.4": "the message was converted with loss", "6.5": "the conversion failed",
		"6.6": "the message content is not available", "6.7": "non-ASCII addresses are not permitted",
		"6.8": "a UTF-8 string was downgraded", "6.9": "UTF-8 headers cannot be transferred without SMTPUTF8",
		"6.10": "UTF-8 headers cannot be transferred without SMTPUTF8",
		"7.0":  "other or undefined security status: a policy of the receiver refused the mail",
		"7.1":  "delivery is not authorized, the message was refused: a policy of the receiver (a blocklist, reputation, authentication)",
		"7.2":  "mailing list expansion is prohibited", "7.3": "security conversion is required but not possible",
		"7.4": "security features are not supported", "7.5": "a cryptographic failure", "7.6": "the cryptographic algorithm is not supported",
		"7.7": "the message integrity check failed", "7.8": "authentication credentials are invalid",
		"7.9": "the authentication mechanism is too weak", "7.10": "encryption is needed",
		"7.11": "encryption is required for the mechanism", "7.12": "a password transition is needed",
		"7.13": "the user account is disabled", "7.14": "a trust relationship is required",
		"7.15": "the priority level is too low", "7.16": "the message is too big for its priority",
		"7.17": "the mailbox owner has changed", "7.18": "the domain owner has changed",
		"7.19": "RRVS test cannot be completed", "7.20": "no passing DKIM signature was found",
		"7.21": "no acceptable DKIM signature was found", "7.22": "no valid author-matched DKIM signature was found",
		"7.23": "SPF validation failed", "7.24": "SPF validation error (a temporary or permanent error evaluating SPF)",
		"7.25": "reverse DNS validation failed (no PTR, or it does not resolve back)",
		"7.26": "multiple authentication checks failed", "7.27": "the sender address has a null MX",
		"7.28": "the mail was flooding: too many messages of its kind", "7.29": "ARC validation failed",
		"7.30": "REQUIRETLS support is required",
	}
	// definedIn names the RFC that defines a detail code RFC 3463 does
	// not; one not here and not RFC 3463's is labelled by its registry.
	definedIn = map[string]string{
		"1.10": "RFC 7505", "4.8": "RFC 7505", "7.27": "RFC 7505",
		"5.6": "RFC 4954", "7.8": "RFC 4954", "7.9": "RFC 4954", "7.11": "RFC 4954", "7.12": "RFC 4954",
		"6.6":  "RFC 4468",
		"7.20": "RFC 7372", "7.21": "RFC 7372", "7.22": "RFC 7372", "7.23": "RFC 7372", "7.24": "RFC 7372", "7.25": "RFC 7372", "7.26": "RFC 7372",
		"7.29": "RFC 8617", "7.30": "RFC 8689",
	}
	basics = map[byte]string{
		'2': "the command succeeded",
		'4': "a temporary refusal (RFC 5321 §4.2.1): the sender should try again later",
		'5': "a permanent refusal (RFC 5321 §4.2.1): trying again will not help",
	}
)

// Generic is the meaning of a reply's codes by the RFCs alone: its
// enhanced status code (RFC 3463), or when there is none, its basic code's
// class (RFC 5321).
func Generic(r Reply) string {
	if r.Enhanced != "" {
		class, rest, _ := strings.Cut(r.Enhanced, ".")
		subject, _, _ := strings.Cut(rest, ".")
		meaning, source := details[rest], rfc3463Source(rest)
		switch {
		case meaning == "" && subjects[subject] != "":
			meaning, source = "a code RFC 3463 and its registry do not define, about "+subjects[subject], "RFC 3463"
		case meaning == "":
			meaning, source = "a code RFC 3463 and its registry do not define (no such subject)", "RFC 3463"
		}
		return fmt.Sprintf("%s (%s): %s; %s.", r.Enhanced, source, meaning, classes[class[0]])
	}
	if r.Basic != 0 {
		none := "the reply has no enhanced status code"
		if r.otherClass != "" {
			none = fmt.Sprintf("its enhanced status code %s is of another class than %d, so it is not this reply's (RFC 3463 §2)", r.otherClass, r.Basic)
		}
		return fmt.Sprintf("%d (RFC 5321): %s; %s.", r.Basic, basics[byte('0'+r.Basic/100)], none)
	}
	return "No SMTP reply code found: paste the server's reply line, such as \"550 5.7.1 ...\"."
}

// rfc3463Source names where a detail code ("7.26") is defined: RFC 3463
// for its own, the later RFC for one registered since, else the IANA
// registry (RFC 5248).
func rfc3463Source(detail string) string {
	if rfc, ok := definedIn[detail]; ok {
		return rfc
	}
	subject, d, _ := strings.Cut(detail, ".")
	last, ok := map[string]int{"0": 0, "1": 8, "2": 4, "3": 5, "4": 7, "5": 5, "6": 5, "7": 7}[subject] // RFC 3463 §3's last detail per subject
	if n, err := strconv.Atoi(d); ok && err == nil && n <= last {
		return "RFC 3463"
	}
	return "RFC 5248 registry"
}
