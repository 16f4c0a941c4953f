package cmd

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/preflight-mail/preflight/report"
)

// runIn runs preflight with stdin in.
func runIn(t *testing.T, in io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := Run(context.Background(), args, Streams{Out: &out, Err: &errb, Getenv: func(string) string { return "" }, In: in})
	return code, out.String(), errb.String()
}

func explainSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../docs/explain.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("explain.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("explain.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExplainCommand(t *testing.T) {
	gmail := "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n550 5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM. - gsmtp"
	code, out, stderr := runIn(t, nil, "explain", gmail, "550 5.1.1 no such user")
	if code != 0 || !strings.Contains(out, "gmail.auth (required)") || !strings.Contains(out, "not in the table") || !strings.Contains(out, "5.1.1 (RFC 3463)") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 80 {
			t.Errorf("a line of %d octets: %q", len(line), line)
		}
	}

	// Standard input: paragraphs are replies; JSON validates.
	in := "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred\n\n\n550 5.7.515 Access denied, sending domain example.com does not meet the required authentication level.\n"
	code, out, stderr = runIn(t, strings.NewReader(in), "explain", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := explainSchema(t).Validate(v); err != nil {
		t.Errorf("output does not match docs/explain.schema.json: %v\n%s", err, out)
	}
	if !strings.Contains(out, `"rule": "yahoo.complaints"`) || !strings.Contains(out, `"rule": "outlook-bulk.dmarc"`) {
		t.Errorf("stdin replies not both explained:\n%s", out)
	}
}

// TestExplainGitHub: explain takes --format github like every command
// (the GitHub Action adds it): a notice per reply, titled by the rule or
// "not in the table", never an error or a warning (acceptance pass of #17).
func TestExplainGitHub(t *testing.T) {
	gmail := "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n550 5.7.26 Gmail requires all senders to authenticate. - gsmtp"
	code, out, stderr := runIn(t, nil, "explain", "--format", "github", gmail, "550 5.1.1 no such user")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "::notice title=preflight explain%3A gmail.auth::550-5.7.26 This mail") || !strings.Contains(lines[0], "%0AFix: Publish an SPF record") ||
		!strings.HasPrefix(lines[1], "::notice title=preflight explain%3A 550 5.1.1 not in the table::") || !strings.Contains(lines[1], "%0AMeans: ") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestExplainUnquoted: a reply typed without quotes (or split at white
// space by the GitHub Action) is one reply, attributed as when quoted;
// quoted replies of their own codes stay apart (acceptance pass of #17).
func TestExplainUnquoted(t *testing.T) {
	words := strings.Fields("550-5.7.26 This mail has been blocked because the sender is unauthenticated. - gsmtp")
	code, out, stderr := runIn(t, nil, append([]string{"explain", "--format", "json"}, words...)...)
	var doc struct {
		Replies []struct {
			Matches []struct{ Rule string } `json:"matches"`
		} `json:"replies"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || len(doc.Replies) != 1 || len(doc.Replies[0].Matches) == 0 || doc.Replies[0].Matches[0].Rule != "gmail.auth" {
		t.Errorf("unquoted: exit %d, %v: %s%s", code, err, out, stderr)
	}
	code, out, _ = runIn(t, nil, "explain", "--format", "json", "550 5.1.1 no such user", "please check the address", "553 5.7.2 [TSS09] All messages from 203.0.113.5 will be permanently deferred")
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || len(doc.Replies) != 2 || len(doc.Replies[1].Matches) == 0 || doc.Replies[1].Matches[0].Rule != "yahoo.complaints" {
		t.Errorf("quoted replies: exit %d, %v: %s", code, err, out)
	}
}

func TestExplainHostileInput(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		in   io.Reader
		code int
	}{
		"no reply":             {[]string{"explain"}, nil, report.ExitUsage},
		"empty stdin":          {[]string{"explain"}, strings.NewReader("\n\n"), report.ExitUsage},
		"github format":        {[]string{"explain", "--format", "github", "550 5.7.1 \x1b[2Jx\r\n::error::x"}, nil, 0},
		"escape sequences":     {[]string{"explain", "550 5.7.1 \x1b]0;owned\x07\x1b[2J gsmtp\u202e\r\n::error::x"}, nil, 0},
		"invalid UTF-8":        {[]string{"explain", "550 5.7.25 \xff\xfe\x00 - gsmtp"}, nil, 0},
		"huge stdin":           {[]string{"explain"}, strings.NewReader(strings.Repeat("550 5.7.1 x ", 200000)), report.ExitUsage},
		"one huge reply":       {[]string{"explain"}, strings.NewReader(strings.Repeat("x", 500000)), 0},
		"too many replies":     {[]string{"explain"}, strings.NewReader(strings.Repeat("550 5.7.1 x\n\n", 1001)), report.ExitUsage},
		"many code lookalikes": {[]string{"explain", strings.Repeat("5.7.1.", 3000) + " 999 0.0.0 5.999.1"}, nil, 0},
	} {
		code, out, stderr := runIn(t, c.in, c.args...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d (%s)", name, code, c.code, stderr)
		}
		for _, bad := range []string{"\x1b", "\x07", "\x00", "\r", "\u202e"} {
			if strings.Contains(out+stderr, bad) {
				t.Errorf("%s: %q in the output", name, bad)
			}
		}
		if strings.Contains(out, "\n::") {
			t.Errorf("%s: a line starts with ::", name)
		}
		if len(out) > 64<<10 {
			t.Errorf("%s: %d octets of output", name, len(out))
		}
	}
}

// TestExplainStdinNeverClosed: a pipe whose writer never closes it ends
// with --timeout, as a usage error naming standard input.
func TestExplainStdinNeverClosed(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	start := time.Now()
	code, _, stderr := runIn(t, r, "explain", "--timeout", "200ms")
	if code != report.ExitUsage || !strings.Contains(stderr, "standard input") || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v: %s", code, time.Since(start), stderr)
	}
}

// TestExplainSplitsReplies: lines with reply codes of their own are
// replies of their own, even without a blank line between (a log's
// "said:" lines, a pasted pair); the lines of one multi-line reply join;
// an empty argument is no reply (review of #17, item 3).
func TestExplainSplitsReplies(t *testing.T) {
	log := strings.Join([]string{
		"Nov 29 10:00:00 mx postfix/smtp[1]: A1: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, dsn=5.7.25, status=bounced (host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.25 [203.0.113.5] The IP address sending this message does not have a 550-5.7.25 PTR record setup, or the corresponding forward DNS entry does not 550 5.7.25 point to the sending IP. a1si1 - gsmtp (in reply to end of DATA command))",
		"Nov 29 10:00:01 mx postfix/smtp[2]: A2: to=<b@yahoo.com>, relay=mta5.am0.yahoodns.net[67.195.1.1]:25, dsn=5.7.2, status=bounced (host mta5.am0.yahoodns.net[67.195.1.1] said: 553 5.7.2 [TSS09] All messages from 203.0.113.5 will be permanently deferred; Retrying will NOT succeed. (in reply to MAIL FROM command))",
		"Nov 29 10:00:03 mx postfix/smtp[1]: A4: to=<d@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, dsn=5.7.25, status=bounced (host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.25 [203.0.113.5] The IP address sending this message does not have a 550 5.7.25 PTR record setup. - gsmtp (in reply to end of DATA command))",
	}, "\n")
	for _, c := range []struct {
		in   string
		want []string
	}{
		{log, []string{"gmail.ptr", "yahoo.complaints", "gmail.ptr"}},
		// A whole bounce: the paragraphs without a code are not replies,
		// and the "said:" line goes with the reply it introduces.
		{"This is the mail system at host mx.example.org.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<bob@gmail.com>: host gmail-smtp-in.l.google.com[192.0.2.27] said:\n    550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n    550 5.7.26 a1si1 - gsmtp (in reply to end of DATA command)\n\nReporting-MTA: dns; mx.example.org\n", []string{"gmail.auth"}},
		{"550 5.1.1 <x@example.org>: User unknown\n550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n550-5.7.26 To learn more\n550 5.7.26 see the page. - gsmtp\n", []string{"", "gmail.auth"}},
	} {
		code, stdout, stderr := runIn(t, strings.NewReader(c.in), "explain", "--format", "json")
		var got struct {
			Replies []struct {
				Matches []struct{ Rule string }
			}
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 0 {
			t.Fatalf("exit %d: %v\n%s", code, err, stderr)
		}
		var rules []string
		for _, r := range got.Replies {
			rule := ""
			if len(r.Matches) > 0 {
				rule = r.Matches[0].Rule
			}
			rules = append(rules, rule)
		}
		if !slices.Equal(rules, c.want) {
			t.Errorf("%.60q...: replies %q, want %q", c.in, rules, c.want)
		}
	}
	for _, flag := range [][]string{{"--min-score", "90"}, {"--fail-on", "warn"}, {"--zone", "x.zone"}, {"--offline"}} {
		if code, _, stderr := runIn(t, nil, append([]string{"explain", "550 5.7.1 x"}, flag...)...); code != report.ExitUsage || !strings.Contains(stderr, flag[0]) {
			t.Errorf("explain %v: exit %d, %q; want a usage error naming the flag", flag, code, stderr)
		}
	}
	if code, _, _ := runIn(t, nil, "explain", ""); code != report.ExitUsage {
		t.Errorf("explain '': exit %d, want %d", code, report.ExitUsage)
	}
}
