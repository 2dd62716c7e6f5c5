package suite

import (
	"errors"
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
)

// HaveNoAppFault succeeds when the stream did not end by a fault of the app
// (emulator.StreamResult.AppFault, the AppFault column of
// emulator.Terminations). Its failure names the ending, who caused it, the
// webhook's cause and errorMessage and how the connection closed, and says
// how to expect that ending by name when it is what the test wants.
func HaveNoAppFault() types.GomegaMatcher {
	return newMatcher(&check{name: "HaveNoAppFault", want: "have ended with no fault of the app", judgesEnding: true,
		test: func(s *subject) (verdict, error) {
			r := s.result
			if r.Aborted {
				return verdict{ok: true, found: "it was cut by Emulator.Close before it ended"}, nil
			}
			if !r.AppFault {
				return verdict{ok: true, found: fmt.Sprintf("it ended with %s (by %s), not a fault of the app", r.Ending, r.By)}, nil
			}
			return verdict{found: "it " + faultSummary(r), extra: faultDetail(r)}, nil
		}})
}

// faultSummary is the one-line root cause of an app-fault ending:
// "ended with app-close-code, a fault of the app: cause …, errorMessage …".
func faultSummary(r *emulator.StreamResult) string {
	return fmt.Sprintf("ended with %s, a fault of the app: cause %s, %s",
		r.Ending, orNone(r.Cause), describeErrorMessage(r.ErrorMessage))
}

// faultDetail says who caused an app-fault ending, how the connection
// closed, and how to expect that ending by name.
func faultDetail(r *emulator.StreamResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  caused by:  %s\n", describeBy(r.By))
	fmt.Fprintf(&b, "  close:      %s\n", describeClose(r))
	b.WriteString(expectByName(r.Ending))
	return b.String()
}

// expectByName is the advice for an app-fault ending a test means to see.
func expectByName(e emulator.Ending) string {
	return fmt.Sprintf("if this ending is what the test expects, expect it by name (expect.ending: %s in a scenario, suite.HaveEnded(emulator.%s) in Go)",
		e, endingConst(e))
}

// describeBy names who ended a stream.
func describeBy(by emulator.Actor) string {
	switch by {
	case emulator.ByApp:
		return "the app"
	case emulator.ByEmulator:
		return "the emulator"
	case emulator.ByNetwork:
		return "the network"
	}
	return orNone(string(by))
}

// endingConst is the Go name of an ending's constant, for advice.
func endingConst(e emulator.Ending) string {
	if name, ok := endingConsts[e]; ok {
		return name
	}
	return fmt.Sprintf("Ending(%q)", string(e))
}

// endingConsts are the Go names of the endings of the termination table.
var endingConsts = map[emulator.Ending]string{
	emulator.EndStopStream:            "EndStopStream",
	emulator.EndHangup:                "EndHangup",
	emulator.EndConnectRefused:        "EndConnectRefused",
	emulator.EndHandshakeTimeout:      "EndHandshakeTimeout",
	emulator.EndHandshakeStatus:       "EndHandshakeStatus",
	emulator.EndConnectFailed:         "EndConnectFailed",
	emulator.EndAppAbnormalClose:      "EndAppAbnormalClose",
	emulator.EndAppClose:              "EndAppClose",
	emulator.EndAppCloseCode:          "EndAppCloseCode",
	emulator.EndCloseHandshakeTimeout: "EndCloseHandshakeTimeout",
	emulator.EndWriteTimeout:          "EndWriteTimeout",
	emulator.EndReset:                 "EndReset",
	emulator.EndDrop:                  "EndDrop",
	emulator.EndInternalError:         "EndInternalError",
	emulator.EndDuplicate:             "EndDuplicate",
	emulator.EndTrackLimit:            "EndTrackLimit",
}

// faultError is the app-fault rule: a stream that ended by a fault of the
// app fails every stream matcher, To and NotTo alike, unless the matcher
// judges the ending itself (HaveEnded, HaveNoAppFault) or HaveEnded
// accepted that ending for it. Deliveries given on their own carry no
// ending: the rule needs the stream or its result.
func (c *check) faultError(sub *subject) error {
	r := sub.result
	if c.judgesEnding || r == nil || !r.AppFault || r.Aborted || r.Ending == c.accept {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", sub.label, faultSummary(r))
	fmt.Fprintf(&b, "  expected:   to %s, which an ending by a fault of the app fails unless the test expects that ending\n", c.want)
	fmt.Fprintf(&b, "  caused by:  %s\n", describeBy(r.By))
	fmt.Fprintf(&b, "  close:      %s\n", describeClose(r))
	b.WriteString(expectByName(r.Ending))
	fmt.Fprintf(&b, "; suite.HaveEnded(emulator.%s, suite.%s(…)) checks the rest of such a stream", endingConst(r.Ending), c.name)
	sub.describe(&b, c.webhooks)
	return errors.New(b.String())
}

// plainError is an error of a matcher, printed as is: Gomega renders other
// errors from a matcher with their Go type (under Eventually), which means
// nothing to the reader.
type plainError struct{ msg string }

func (e *plainError) Error() string { return e.msg }

// FormattedGomegaError tells Gomega's Eventually to print the message alone.
func (e *plainError) FormattedGomegaError() string { return e.msg }

// plain makes err a plainError.
func plain(err error) error {
	if err == nil {
		return nil
	}
	var p *plainError
	if errors.As(err, &p) && p == err {
		return err
	}
	return &plainError{msg: err.Error()}
}
