package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/preflight-mail/preflight/checks"
	"github.com/preflight-mail/preflight/internal/inputfile"
	"github.com/preflight-mail/preflight/internal/words"
	"github.com/preflight-mail/preflight/message"
	"github.com/preflight-mail/preflight/names"
	"github.com/preflight-mail/preflight/report"
	"github.com/preflight-mail/preflight/resolver"
)

type messageOptions struct {
	*globalOptions
	receivedBy string
	ip         string
}

func newCmdMessage(g *globalOptions) *cobra.Command {
	o := &messageOptions{globalOptions: g}
	c := &cobra.Command{
		Use:   "message FILE.eml|- [--received-by HOST] [--ip IP]",
		Short: "What receivers saw in a received message: DKIM, SPF, DMARC, format, unsubscribe, ARC",
		Long: `Read one message as received (for Gmail: open the message, More, "Show
original", "Download original") and judge it as the receiver did:

  dkim         every DKIM-Signature verified (keys through --zone/--resolver),
               d=, s=, algorithm, key size, l=, expiry, From signed, and
               whether one that verifies aligns with From
  spf          the client address and HELO of the hop where the mail entered
               the receiver: the topmost Received field with a from clause
               (--received-by HOST: the topmost by HOST), past the
               receiver's own loopback/private hops; never a lower hop when
               that one cannot be read (--ip IP overrides), evaluated for
               the Return-Path domain (the HELO name for the null sender <>)
  dmarc        the From domain's policy (RFC 9989) and this message's result:
               pass on an aligned SPF pass or DKIM pass, else what a receiver
               does under the policy
  format       RFC 5322: one From with one address, Date, Message-ID, no
               repeated single fields, line lengths, encoded-words
  unsubscribe  RFC 8058 one-click (https URI + List-Unsubscribe-Post, signed
               by an aligned DKIM signature), a mailto: URI, Feedback-ID
  arc          ARC sets present (not validated)
  received     TLS on the trusted hop; that receiver's Authentication-Results
               (its authserv-id, above its hop or right below it) compared
               with preflight's results now

verdict.message is pass or fail (DMARC; several From fields fail), or unknown
(SPF or an aligned key could not be evaluated, an l= signature, no
Return-Path). Exit 1 when a finding is at fail: the message fails DMARC under
quarantine or reject, has several From fields, or SPF fails for the client
(as for every command, --fail-on warn is stricter); exit 3 when something
could not be evaluated (dmarc.message_unknown, a lookup). The message is
untrusted input: at most 64 MiB, a header of 1 MiB and 2,000
fields (more is refused), 10 DKIM signatures verified (those of the From
domain first). FILE "-" reads standard input.` + "\n\n" + messageFindingsHelp(),
		Example: `  preflight message original.eml
  preflight message original.eml --received-by mx.google.com --format json
  cat original.eml | preflight message -

  # Offline, keys and policies from zone files
  preflight message signed.eml --zone dns/ --offline`,
		Args: wantArgs(1, 1, "FILE.eml|-"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := o.target(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rn, err := o.newRunner(cmd.Context(), envOptions{})
			if err != nil {
				return err
			}
			var list []checks.Check
			for _, id := range checks.MessageChecks {
				c, _ := checks.ByID(id)
				list = append(list, c)
			}
			rep := rn.report(cmd.Context(), "message", t, list)
			rep.Verdict.Message = report.MessageVerdict(rep)
			return o.finish(rep, nil, 0)
		},
	}
	c.Flags().StringVar(&o.receivedBy, "received-by", "", "HOST whose Received and Authentication-Results fields to trust (default: the topmost that names a client)")
	c.Flags().StringVar(&o.ip, "ip", "", "the connecting client's IP, instead of the one in the Received fields")
	return c
}

// messageFindingsHelp is findingsHelp for each check of a message,
// under one heading.
func messageFindingsHelp() string {
	const intro = "Finding IDs (a finding at fail makes a required fact false and blocks the\nverdict; README lists the weights):"
	var b strings.Builder
	b.WriteString(intro)
	for _, id := range checks.MessageChecks {
		b.WriteString("\n" + id + ":" + strings.TrimPrefix(findingsHelp(id), intro))
	}
	return b.String()
}

// target reads the message and makes the target its envelope describes.
func (o *messageOptions) target(ctx context.Context, path string) (checks.Target, error) {
	m, err := readMessage(ctx, o.streams, path)
	if err != nil {
		return checks.Target{}, err
	}
	m.ReceivedBy = strings.ToLower(strings.TrimSuffix(o.receivedBy, "."))
	if o.ip != "" {
		if m.ClientIP, err = resolver.ParseIP(o.ip); err != nil {
			return checks.Target{}, fmt.Errorf("--ip: %w", err)
		}
	}
	return messageTarget(m), nil
}

// messageTarget is the target of a message: the From domain, the client
// address and HELO name, and the envelope sender.
func messageTarget(m *checks.Message) checks.Target {
	t := checks.Target{Message: m}
	if _, d, _ := m.FromAddress(); d != "" {
		if n, err := resolver.NormalizeDomain(d); err == nil {
			t.Domain = n
		}
	}
	e := m.Envelope()
	if e.IP.IsValid() {
		t.IPs = append(t.IPs, e.IP)
	}
	if h, err := names.ParseHost(e.HELO); err == nil {
		t.HELO = h
	}
	switch {
	case e.NullSender && t.HELO.Qualified():
		// RFC 7208 §2.4: the null sender's SPF is the HELO name's.
		t.MailFrom, _ = names.ParseSender(t.HELO.Name)
	case e.MailFrom != "":
		if a, err := names.ParseSender(e.MailFrom); err == nil {
			t.MailFrom = a
		}
	}
	return t
}

// readMessage reads a message from path, or standard input for "-",
// within ctx and the message size limit.
func readMessage(ctx context.Context, s Streams, path string) (*checks.Message, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = readStdin(ctx, s)
		path = "standard input"
	} else {
		b, _, err = inputfile.ReadFile(ctx, path, inputfile.Mail)
	}
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	m, err := message.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &checks.Message{Message: m, Name: path}, nil
}

// readStdin reads standard input up to the message limit, giving up
// when ctx ends (a terminal or a pipe nobody writes to).
func readStdin(ctx context.Context, s Streams) ([]byte, error) {
	in := s.In
	if in == nil {
		in = strings.NewReader("")
	}
	max := inputfile.Mail.Max()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	cr := &countingReader{r: io.LimitReader(in, max+1)}
	go func() {
		b, err := io.ReadAll(cr)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		if r.err == nil && int64(len(r.b)) > max {
			r.err = fmt.Errorf("%w: more than %s, the limit for a message", inputfile.ErrTooLarge, inputfile.Size(max))
		}
		return r.b, r.err
	case <-ctx.Done():
		if n := cr.n.Load(); n > 0 {
			// A writer that stalls mid-message: what came is no message.
			return nil, fmt.Errorf("the message did not end within --timeout (%s read, then nothing; standard input stayed open)", words.Plural(n, "1 octet", fmt.Sprintf("%d octets", n)))
		}
		return nil, errors.New("no message arrived within --timeout")
	}
}

// countingReader counts what it has read, for readStdin's error.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
