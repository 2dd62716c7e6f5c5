package suite

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/onsi/gomega/format"
	"github.com/onsi/gomega/matchers"
	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/prose"
)

// HaveEnded succeeds when the stream ended the given way (a row of
// emulator.Terminations) and the optional matchers, run on the same
// actual, all succeed.
//
// Naming the ending is how a test expects an ending that is a fault of the
// app: every other stream matcher fails on such an ending (see
// HaveNoAppFault), but those given here accept it, so they check the rest
// of the stream:
//
//	Expect(s).To(suite.HaveEnded(emulator.EndAppCloseCode,
//		suite.HaveStopped("connection-error", "4001"),
//		suite.HaveClosed(emulator.ByApp, 4001)))
//
// The suite's matchers accept the ending also inside gomega.Not, And, Or,
// SatisfyAll and SatisfyAny; other matchers are given the actual as it is.
// The matchers run only when the ending matched.
func HaveEnded(ending emulator.Ending, inner ...types.GomegaMatcher) types.GomegaMatcher {
	if _, ok := emulator.TerminationOf(ending); !ok {
		return failed("HaveEnded", fmt.Errorf("%q is not an ending of the termination table", ending))
	}
	want := "have ended with " + string(ending)
	ms := make([]types.GomegaMatcher, len(inner))
	descs := make([]string, 0, len(inner))
	for i, m := range inner {
		if m == nil {
			return failed("HaveEnded", fmt.Errorf("matcher %d is nil", i+1))
		}
		ms[i] = accepting(m, ending)
		descs = append(descs, describeMatcher(m, i, len(inner)))
	}
	if len(descs) > 0 {
		want += ", then " + strings.Join(descs, " and ")
	}
	return newMatcher(&check{name: "HaveEnded", want: want, judgesEnding: true,
		test: func(s *subject) (verdict, error) {
			r := s.result
			if r.Aborted {
				return verdict{found: "it was cut by Emulator.Close before it ended"}, nil
			}
			if r.Ending != ending {
				found := fmt.Sprintf("it ended with %s (by %s)", r.Ending, r.By)
				v := verdict{found: found}
				if r.AppFault {
					v.found = "it " + faultSummary(r)
					v.extra = faultDetail(r)
				}
				return v, nil
			}
			var fails []string
			for _, m := range ms {
				ok, err := m.Match(s.actual)
				if err != nil {
					return verdict{}, fmt.Errorf("HaveEnded(%s): %w", ending, err)
				}
				if !ok {
					fails = append(fails, nestedFailure(m, s.actual))
				}
			}
			found := fmt.Sprintf("it ended with %s (by %s)", r.Ending, r.By)
			if len(ms) == 0 {
				return verdict{ok: true, found: found}, nil
			}
			if len(fails) == 0 {
				return verdict{ok: true, found: found + " and every matcher given held"}, nil
			}
			return verdict{
				found: fmt.Sprintf("%s as expected, and then %d of %d matchers did not hold", found, len(fails), len(ms)),
				extra: "what the matchers said:\n" + prose.Indent(strings.Join(fails, "\n"), "  "),
			}, nil
		}})
}

// accepting returns m made to accept the app-fault ending: a copy of each of
// the suite's matchers in it with accept set, reached through Gomega's Not,
// And and Or. Other matchers are returned as they are.
func accepting(m types.GomegaMatcher, ending emulator.Ending) types.GomegaMatcher {
	each := func(ms []types.GomegaMatcher) []types.GomegaMatcher {
		out := make([]types.GomegaMatcher, len(ms))
		for i, m := range ms {
			out[i] = accepting(m, ending)
		}
		return out
	}
	switch mm := m.(type) {
	case matcher:
		c := *mm.c
		c.accept = ending
		return newMatcher(&c)
	case *matchers.NotMatcher:
		return &matchers.NotMatcher{Matcher: accepting(mm.Matcher, ending)}
	case *matchers.AndMatcher:
		return &matchers.AndMatcher{Matchers: each(mm.Matchers)}
	case *matchers.OrMatcher:
		return &matchers.OrMatcher{Matchers: each(mm.Matchers)}
	}
	return m
}

// describeMatcher says in words what a matcher given to HaveWebhook or
// HaveEnded wants: the suite's own say it, Gomega's Not, And and Or are
// spelled out, and any other is "satisfying the given matcher" (i of n).
func describeMatcher(m types.GomegaMatcher, i, n int) string {
	switch mm := m.(type) {
	case matcher:
		return firstNonEmpty(mm.c.nested, mm.c.want)
	case *matchers.NotMatcher:
		return "not " + describeMatcher(mm.Matcher, i, n)
	case *matchers.AndMatcher:
		return joinMatchers(mm.Matchers, " and ")
	case *matchers.OrMatcher:
		return joinMatchers(mm.Matchers, " or ")
	}
	if n == 1 {
		return "satisfying the given matcher"
	}
	return fmt.Sprintf("satisfying matcher %d", i+1)
}

func joinMatchers(ms []types.GomegaMatcher, sep string) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = describeMatcher(m, i, len(ms))
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// nestedFailure is one matcher's complaint about an actual, for HaveWebhook
// and HaveEnded: the suite's matchers give their one-line summary, also
// inside Gomega's Not, And and Or; other matchers give their own message,
// with Gomega's type annotations taken out and a delivery shown as one
// line rather than as a Go value. The record (result, webhooks, journal)
// is the outer matcher's to show, once.
func nestedFailure(m types.GomegaMatcher, actual any) string {
	switch mm := m.(type) {
	case matcher:
		return mm.c.summary(actual, false)
	case *matchers.NotMatcher:
		if inner, ok := mm.Matcher.(matcher); ok {
			return inner.c.summary(actual, true)
		}
	case *matchers.AndMatcher:
		// And fails on the first of its matchers that fails.
		for _, inner := range mm.Matchers {
			if ok, err := inner.Match(actual); err != nil || !ok {
				return nestedOutcome(inner, actual, err)
			}
		}
	case *matchers.OrMatcher:
		// Or fails when every one of its matchers fails.
		said := make([]string, len(mm.Matchers))
		for i, inner := range mm.Matchers {
			_, err := inner.Match(actual)
			said[i] = nestedOutcome(inner, actual, err)
		}
		return "none of these held:\n" + prose.Indent(strings.Join(said, "\n"), "  ")
	}
	return foreignMessage(m.FailureMessage(actual), actual)
}

// nestedOutcome is nestedFailure, or the error the match returned.
func nestedOutcome(m types.GomegaMatcher, actual any, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return nestedFailure(m, actual)
}

// gomegaType matches the type annotations Gomega's format puts before a
// value: "<int>: ", "<*emulator.Delivery | 0xc000123456>: ",
// "<[]string | len:2, cap:2>: ".
var gomegaType = regexp.MustCompile(`<(?:\*|\[\]|map\[[\w.*]+\])*[\w.]+(?:\[[^\]>]*\])?(?: \| [^>\n]*)?>: ?`)

// foreignMessage cleans up the failure message of a matcher that is not
// one of the suite's: a delivery Gomega dumped as a Go value becomes its
// one-line description, and the type annotations go.
func foreignMessage(msg string, actual any) string {
	if d, ok := actual.(*emulator.Delivery); ok && d != nil {
		msg = strings.ReplaceAll(msg, format.Object(d, 1), format.Indent+"the "+deliveryLine(d))
	}
	return gomegaType.ReplaceAllString(msg, "")
}
