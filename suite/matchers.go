package suite

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/prose"
)

// ExcerptEntries is how many journal entries of a stream a failure message
// shows.
const ExcerptEntries = 10

// accepts says which actual values a matcher takes.
type accepts int

const (
	// takesResults: *emulator.Stream, *emulator.StreamResult.
	takesResults accepts = iota
	// takesDeliveries: those, plus *emulator.Delivery and []*emulator.Delivery.
	takesDeliveries
)

// subject is what a matcher looks at, whatever form the actual came in.
type subject struct {
	actual     any                    // as given to the matcher
	stream     *emulator.Stream       // set when the actual was a stream
	result     *emulator.StreamResult // nil when the actual was deliveries
	deliveries []*emulator.Delivery
	single     bool   // the actual was one *emulator.Delivery
	label      string // `stream "agent" (s-…)`, `the stream result`, …
}

// resolve turns an actual into a subject, or says why it cannot be matched.
// A live stream is an error (not a mismatch), so that To and NotTo both fail
// on it and Eventually keeps polling.
func resolve(name string, actual any, acc accepts) (*subject, error) {
	sub, err := resolveActual(name, actual, acc)
	if sub != nil {
		sub.actual = actual
	}
	return sub, err
}

func resolveActual(name string, actual any, acc accepts) (*subject, error) {
	want := "a *emulator.Stream or *emulator.StreamResult"
	if acc == takesDeliveries {
		want = "a *emulator.Stream, *emulator.StreamResult, *emulator.Delivery or []*emulator.Delivery"
	}
	wrong := func() (*subject, error) {
		if actual == nil {
			return nil, fmt.Errorf("%s expects %s, got nil", name, want)
		}
		return nil, fmt.Errorf("%s expects %s, got %T", name, want, actual)
	}
	switch v := actual.(type) {
	case *emulator.Stream:
		if v == nil {
			return wrong()
		}
		r := v.Result()
		if r == nil {
			msg := fmt.Sprintf("%s is still live: %s reads its final result (wait with Eventually(stream).Should(…), or end it first)", streamLabel(v), name)
			if x := streamExcerpt(v); x != "" {
				msg += "\n" + x
			}
			return nil, errors.New(msg)
		}
		return &subject{stream: v, result: r, deliveries: r.Deliveries, label: streamLabel(v)}, nil
	case *emulator.StreamResult:
		if v == nil {
			return wrong()
		}
		return &subject{result: v, deliveries: v.Deliveries, label: "the stream result"}, nil
	case emulator.StreamResult:
		return &subject{result: &v, deliveries: v.Deliveries, label: "the stream result"}, nil
	case *emulator.Delivery:
		if acc != takesDeliveries || v == nil {
			return wrong()
		}
		return &subject{deliveries: []*emulator.Delivery{v}, single: true, label: "the " + v.Name() + " webhook"}, nil
	case []*emulator.Delivery:
		if acc != takesDeliveries {
			return wrong()
		}
		if slices.Contains(v, nil) {
			return nil, fmt.Errorf("%s: the []*emulator.Delivery holds a nil delivery", name)
		}
		return &subject{deliveries: v, label: "the " + prose.Plural(len(v), "webhook delivery", "webhook deliveries")}, nil
	}
	return wrong()
}

// verdict is what a check found.
type verdict struct {
	ok bool
	// found says what was seen; it completes "…, but <found>".
	found string
	// extra is more detail, ready to print (lines indented by the check).
	extra string
}

// check is one matcher's logic; message renders its failure messages from
// the actual, evaluating it again.
type check struct {
	name    string // the constructor, for errors: "HaveEnded"
	want    string // completes "Expected X to …": "have ended with hangup"
	accepts accepts
	// what names the subject in the first line; nil: the subject's label.
	what func(*subject) string
	test func(*subject) (verdict, error)
	// nested describes the matcher inside HaveWebhook: "answered with 204".
	nested string
	// webhooks shows every delivery in full (event, answer, JSON body).
	webhooks bool
	// broken is why the constructor's arguments cannot be used; every
	// match fails with it.
	broken error
	// judgesEnding marks the matchers about the ending itself (HaveEnded,
	// HaveNoAppFault): the app-fault rule does not apply to them.
	judgesEnding bool
	// accept is the app-fault ending the matcher accepts: HaveEnded sets it
	// on the matchers it runs once the ending matched.
	accept emulator.Ending
}

// evaluate resolves the actual and runs the check on it. An app-fault
// ending the matcher was not told to accept is an error (see faultError),
// so that To and NotTo both fail on it.
func (c *check) evaluate(actual any) (*subject, verdict, error) {
	if c.broken != nil {
		return nil, verdict{}, c.broken
	}
	sub, err := resolve(c.name, actual, c.accepts)
	if err != nil {
		return nil, verdict{}, err
	}
	if err := c.faultError(sub); err != nil {
		return sub, verdict{}, err
	}
	v, err := c.test(sub)
	return sub, v, err
}

func (c *check) match(actual any) (bool, error) {
	_, v, err := c.evaluate(actual)
	if err != nil {
		return false, plain(err)
	}
	return v.ok, nil
}

// message renders the failure message (failure) or the negated one.
func (c *check) message(actual any, failure bool) string {
	sub, v, err := c.evaluate(actual)
	if err != nil {
		return err.Error()
	}
	what := sub.label
	if c.what != nil {
		what = c.what(sub)
	}
	to := "to"
	if !failure {
		to = "not to"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Expected %s %s %s, but %s", what, to, c.want, v.found)
	if v.extra != "" {
		b.WriteString("\n" + strings.TrimRight(v.extra, "\n"))
	}
	sub.describe(&b, c.webhooks)
	return b.String()
}

// summary is the first line of the failure message without its subject:
// how a nested matcher reports inside HaveWebhook and HaveEnded. Negated,
// it is the line NotTo would print.
func (c *check) summary(actual any, negated bool) string {
	_, v, err := c.evaluate(actual)
	if err != nil {
		return err.Error()
	}
	var line string
	switch {
	case negated:
		line = fmt.Sprintf("want not to %s, but %s", c.want, v.found)
	case c.nested != "":
		line = fmt.Sprintf("not %s: %s", c.nested, v.found)
	default:
		line = fmt.Sprintf("want to %s, but %s", c.want, v.found)
	}
	if v.extra != "" {
		line += "\n" + prose.Indent(v.extra, "  ")
	}
	return line
}

// matcher is a gcustom matcher with its own failure messages and an
// answer for Eventually. gcustom's template rendering is bypassed because
// it formats the actual with format.Object first, whether the template uses
// it or not: for a *emulator.Stream that walks the emulator's live
// internals (racy, and pages long).
type matcher struct {
	gcustom.CustomGomegaMatcher
	c *check
}

// FailureMessage says what was expected, what was seen, and shows the record.
func (m matcher) FailureMessage(actual any) string { return m.c.message(actual, true) }

// NegatedFailureMessage is FailureMessage for NotTo.
func (m matcher) NegatedFailureMessage(actual any) string { return m.c.message(actual, false) }

// MatchMayChangeInTheFuture tells Eventually to give up at once on a
// final value: only a stream that is still live can change.
func (m matcher) MatchMayChangeInTheFuture(actual any) bool {
	if s, ok := actual.(*emulator.Stream); ok && s != nil {
		return s.Result() == nil
	}
	return false
}

func newMatcher(c *check) types.GomegaMatcher {
	return matcher{gcustom.MakeMatcher(c.match), c}
}

// failed builds a matcher that fails every match with err: a constructor
// given arguments it cannot use.
func failed(name string, err error) types.GomegaMatcher {
	return newMatcher(&check{name: name, broken: fmt.Errorf("%s: %w", name, err)})
}

// HaveStopped succeeds when the stream's webhook event was
// mediaStreamStopped with the given cause. An optional errorMessage
// expectation follows: a string (a substring; with more arguments, a format
// string) or a Gomega matcher for the whole errorMessage.
func HaveStopped(cause string, errorMessage ...any) types.GomegaMatcher {
	return eventMatcher("HaveStopped", protocol.EventMediaStreamStopped, "have stopped",
		[]string{protocol.CauseClosed, protocol.CauseConnectionError, protocol.CauseError}, cause, errorMessage)
}

// HaveBeenRejected is HaveStopped for mediaStreamRejected.
func HaveBeenRejected(cause string, errorMessage ...any) types.GomegaMatcher {
	return eventMatcher("HaveBeenRejected", protocol.EventMediaStreamRejected, "have been rejected",
		[]string{protocol.CauseConnectionError, protocol.CauseDuplicate, protocol.CauseError, protocol.CauseTrackLimit}, cause, errorMessage)
}

func eventMatcher(name, event, verb string, causes []string, cause string, errorMessage []any) types.GomegaMatcher {
	if !slices.Contains(causes, cause) {
		return failed(name, fmt.Errorf("%q is not a %s cause (%s)", cause, event, strings.Join(causes, ", ")))
	}
	msg, msgWant, err := messageMatcher(errorMessage)
	if err != nil {
		return failed(name, err)
	}
	want := fmt.Sprintf("%s with cause %s", verb, cause)
	if msgWant != "" {
		want += " and an errorMessage " + msgWant
	}
	return newMatcher(&check{name: name, want: want,
		test: func(s *subject) (verdict, error) {
			r := s.result
			found := fmt.Sprintf("it ended as %s with cause %s and %s", orNone(r.Event), orNone(r.Cause), describeErrorMessage(r.ErrorMessage))
			if r.Aborted {
				found = "it was cut by Emulator.Close: no webhook event"
			}
			v := verdict{ok: r.Event == event && r.Cause == cause, found: found}
			if msg != nil {
				ok, err := msg.Match(r.ErrorMessage)
				if err != nil {
					return v, fmt.Errorf("%s: the errorMessage matcher: %w", name, err)
				}
				if !ok {
					v.ok = false
					v.extra = "the errorMessage matcher said:\n" + prose.Indent(foreignMessage(msg.FailureMessage(r.ErrorMessage), r.ErrorMessage), "  ")
				}
			}
			return v, nil
		}})
}

// messageMatcher reads an optional errorMessage expectation.
func messageMatcher(args []any) (types.GomegaMatcher, string, error) {
	if len(args) == 0 {
		return nil, "", nil
	}
	switch v := args[0].(type) {
	case string:
		s := v
		if len(args) > 1 {
			s = fmt.Sprintf(v, args[1:]...)
		}
		return gomega.ContainSubstring(s), fmt.Sprintf("containing %q", s), nil
	case types.GomegaMatcher:
		if len(args) > 1 {
			return nil, "", fmt.Errorf("an errorMessage matcher takes no further arguments, got %d", len(args)-1)
		}
		return v, "satisfying the given matcher", nil
	}
	return nil, "", fmt.Errorf("the errorMessage expectation must be a string or a Gomega matcher, got %T", args[0])
}

// HaveClosed succeeds when the connection was closed by the given party
// (emulator.ByEmulator, ByApp, ByNetwork; "" for anyone) and, when code is
// not 0, with that close code: the code the emulator received when the app
// closed, the code it sent when it closed itself. A network close carries
// no code.
func HaveClosed(by emulator.Actor, code int) types.GomegaMatcher {
	switch by {
	case "", emulator.ByEmulator, emulator.ByApp:
	case emulator.ByNetwork:
		if code != 0 {
			return failed("HaveClosed", fmt.Errorf("a network close (reset, drop) carries no close code: pass 0, not %d", code))
		}
	default:
		return failed("HaveClosed", fmt.Errorf("%q is not emulator.ByEmulator, ByApp or ByNetwork", by))
	}
	want := "have been closed"
	if by != "" {
		want += " by " + string(by)
	}
	if code != 0 {
		want += fmt.Sprintf(" with code %d", code)
	}
	return newMatcher(&check{name: "HaveClosed", want: want,
		test: func(s *subject) (verdict, error) {
			r := s.result
			v := verdict{found: describeClose(r)}
			if r.ClosedBy == "" {
				return v, nil
			}
			v.ok = (by == "" || r.ClosedBy == by) && (code == 0 || closeCode(r) == code)
			return v, nil
		}})
}

// closeCode is the close code of whoever closed: received from the app,
// sent by the emulator.
func closeCode(r *emulator.StreamResult) int {
	switch r.ClosedBy {
	case emulator.ByApp:
		return r.CloseReceived
	case emulator.ByEmulator:
		return r.CloseSent
	}
	return 0
}

// HaveCompletedCloseHandshake succeeds when both close frames were exchanged.
func HaveCompletedCloseHandshake() types.GomegaMatcher {
	return newMatcher(&check{name: "HaveCompletedCloseHandshake", want: "have completed the close handshake",
		test: func(s *subject) (verdict, error) {
			return verdict{ok: s.result.CloseHandshake, found: describeClose(s.result)}, nil
		}})
}

// HaveSentPlayAudio succeeds when the app sent at least min valid playAudio
// messages and, when within is not 0, the first of them within that time of
// the stream's start (StartStream). min is at least 1: an expectation of
// "at least 0" would hold for an app that sent nothing; to expect none, use
// Not(HaveSentPlayAudio(1, 0)).
func HaveSentPlayAudio(min int, within time.Duration) types.GomegaMatcher {
	if min < 0 || within < 0 {
		return failed("HaveSentPlayAudio", fmt.Errorf("min (%d) and within (%s) must not be negative", min, within))
	}
	if min == 0 {
		return failed("HaveSentPlayAudio", errors.New("min 0 expects nothing (an app that sent no playAudio at all would pass): ask for at least 1, or to expect none use Not(HaveSentPlayAudio(1, 0))"))
	}
	want := fmt.Sprintf("have received at least %s from the app", prose.Plural(min, "valid playAudio message", "valid playAudio messages"))
	if within > 0 {
		want += fmt.Sprintf(", the first within %s of the stream's start", within)
	}
	return newMatcher(&check{name: "HaveSentPlayAudio", want: want,
		test: func(s *subject) (verdict, error) {
			r := s.result
			found := "the app sent " + prose.Plural(r.PlayAudio, "valid playAudio message", "valid playAudio messages")
			if r.PlayAudio > 0 {
				found += fmt.Sprintf(", the first %s after the stream's start", r.FirstPlayAudio.Round(time.Microsecond))
			}
			if r.Violations > 0 {
				found += " (and " + prose.Plural(r.Violations, "protocol violation", "protocol violations") + ")"
			}
			ok := r.PlayAudio >= min && (within == 0 || r.FirstPlayAudio <= within)
			return verdict{ok: ok, found: found}, nil
		}})
}

// HaveNoViolations succeeds when the app sent nothing that breaks the
// protocol; the failure lists the violations from the journal. On a stream
// that never connected the app could break nothing, so there it is an error
// (To and NotTo both fail) rather than a pass.
func HaveNoViolations() types.GomegaMatcher {
	return violations("HaveNoViolations", "have no protocol violations from the app", 0)
}

// HaveAtMostViolations is HaveNoViolations allowing up to max violations.
func HaveAtMostViolations(max int) types.GomegaMatcher {
	if max < 0 {
		return failed("HaveAtMostViolations", fmt.Errorf("max (%d) must not be negative", max))
	}
	return violations("HaveAtMostViolations", "have at most "+prose.Plural(max, "protocol violation", "protocol violations")+" from the app", max)
}

func violations(name, want string, max int) types.GomegaMatcher {
	return newMatcher(&check{name: name, want: want,
		test: func(s *subject) (verdict, error) {
			r := s.result
			if !r.Connected {
				var b strings.Builder
				fmt.Fprintf(&b, "%s never connected (it ended with %s), so the app had no chance to break the protocol: there is nothing to check for violations", s.label, r.Ending)
				s.describe(&b, false)
				return verdict{}, errors.New(b.String())
			}
			v := verdict{ok: r.Violations <= max, found: "the app committed " + prose.Plural(r.Violations, "protocol violation", "protocol violations")}
			if r.Violations == 0 {
				return v, nil
			}
			if s.stream == nil {
				v.extra = "(match the stream rather than its result to see them from the journal)"
				return v, nil
			}
			entries := s.stream.Call.Emulator().Journal().Entries()
			var list []emulator.Entry
			for _, e := range entries {
				if e.StreamID == s.stream.ID && e.Kind == emulator.KindViolation {
					list = append(list, e)
				}
			}
			v.extra = "violations:\n" + prose.Indent(formatEntries(list, streamStart(entries, s.stream.ID)), "  ")
			return v, nil
		}})
}

// streamLabel names a stream in messages.
func streamLabel(s *emulator.Stream) string {
	if s.Name == "" || s.Name == s.ID {
		return "stream " + s.ID
	}
	return fmt.Sprintf("stream %q (%s)", s.Name, s.ID)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func describeErrorMessage(m string) string {
	if m == "" {
		return "no errorMessage"
	}
	return fmt.Sprintf("errorMessage %q", m)
}
