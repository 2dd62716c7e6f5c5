package suite

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/prose"
)

// HaveWebhook succeeds when some delivery of the given event type ("" for
// any) satisfies every matcher given, each matched against the
// *emulator.Delivery: HaveWebhook("mediaStreamStopped", BeAnsweredWith(204)).
// The actual is a stream or result (its deliveries) or []*emulator.Delivery
// (Emulator.Deliveries, which also holds the calls' disconnect webhooks).
func HaveWebhook(eventType string, matchers ...types.GomegaMatcher) types.GomegaMatcher {
	descs := make([]string, 0, len(matchers))
	for i, m := range matchers {
		if m == nil {
			return failed("HaveWebhook", fmt.Errorf("matcher %d is nil", i+1))
		}
		descs = append(descs, describeMatcher(m, i, len(matchers)))
	}
	// hook names the webhooks looked for: "mediaStreamStopped webhook".
	hook := "webhook"
	if eventType != "" {
		hook = eventType + " webhook"
	}
	want := "have a " + hook
	if len(descs) > 0 {
		want += " " + strings.Join(descs, " and ")
	}
	search := webhookSearch{eventType: eventType, hook: hook, matchers: matchers, descs: descs}
	return newMatcher(&check{name: "HaveWebhook", want: want, accepts: takesDeliveries, webhooks: true, test: search.test})
}

// webhookSearch is what HaveWebhook looks for.
type webhookSearch struct {
	eventType string
	hook      string // the webhooks looked for: "mediaStreamStopped webhook"
	matchers  []types.GomegaMatcher
	descs     []string // what each matcher wants, in words
}

func (w webhookSearch) test(s *subject) (verdict, error) {
	var cands []*emulator.Delivery
	for _, d := range s.deliveries {
		if d.Event != nil && (w.eventType == "" || d.Event.EventType == w.eventType) {
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return w.none(s)
	}
	var report []string
	var errs []error
	for _, d := range cands {
		fails, err := w.judge(d)
		if len(fails) == 0 {
			return verdict{ok: true, found: "there was one: " + deliveryLine(d)}, nil
		}
		errs = append(errs, err...)
		report = append(report, deliveryLine(d)+"\n"+prose.Indent(strings.Join(fails, "\n"), "  "))
	}
	if len(errs) > 0 {
		return verdict{}, fmt.Errorf("HaveWebhook: %w", errors.Join(errs...))
	}
	found := fmt.Sprintf("none of the %s satisfied them", prose.Plural(len(cands), w.hook, w.hook+"s"))
	if len(cands) == 1 {
		found = fmt.Sprintf("the only %s did not satisfy them", w.hook)
	}
	return verdict{found: found, extra: "what the matchers said:\n" + prose.Indent(strings.Join(report, "\n"), "  ")}, nil
}

// none is the verdict when no webhook of the event type was delivered.
func (w webhookSearch) none(s *subject) (verdict, error) {
	if len(w.matchers) > 0 {
		// "it had no X webhook answered 500" would hold only because no X
		// webhook was sent.
		return verdict{}, w.noneToJudge(s)
	}
	return verdict{found: fmt.Sprintf("there was no %s among %s", w.hook, deliveryTypes(s.deliveries)), extra: w.disconnectHint(s)}, nil
}

// judge runs every matcher on d: what those that failed said, and the
// errors of those that could not match.
func (w webhookSearch) judge(d *emulator.Delivery) (fails []string, errs []error) {
	for _, m := range w.matchers {
		ok, err := m.Match(d)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("on the %s webhook: %w", d.Name(), err))
			fails = append(fails, "error: "+err.Error())
		case !ok:
			fails = append(fails, nestedFailure(m, d))
		}
	}
	return fails, errs
}

// noneToJudge is the error of HaveWebhook with matchers when no webhook of
// the event type was delivered.
func (w webhookSearch) noneToJudge(s *subject) error {
	var b strings.Builder
	fmt.Fprintf(&b, "no %s was delivered, so none was %s: %s had %s", w.hook, strings.Join(w.descs, " and "), s.label, deliveryTypes(s.deliveries))
	if hint := w.disconnectHint(s); hint != "" {
		b.WriteString("\n" + hint)
	}
	s.describe(&b, true)
	return errors.New(b.String())
}

// disconnectHint says where the disconnect webhook is, when a stream's
// deliveries were searched for it.
func (w webhookSearch) disconnectHint(s *subject) string {
	if w.eventType == protocol.EventDisconnect && s.result != nil {
		return "(disconnect is a call webhook, not a stream's: match Emulator.Deliveries() to find it)"
	}
	return ""
}

// deliveryTypes lists the event types delivered, for "there was none".
func deliveryTypes(ds []*emulator.Delivery) string {
	if len(ds) == 0 {
		return "no deliveries"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name()
	}
	return prose.Plural(len(ds), "delivery", "deliveries") + " (" + strings.Join(names, ", ") + ")"
}

// BeAnsweredWith succeeds when the app answered exactly this HTTP status.
// The actual is a *emulator.Delivery, or deliveries (a []*emulator.Delivery,
// a stream or a result), every one of which must satisfy it; there must be
// at least one. A delivery with no answer fails with its error.
func BeAnsweredWith(status int) types.GomegaMatcher {
	return eachDelivery("BeAnsweredWith", fmt.Sprintf("answered with %d", status), func(d *emulator.Delivery) (bool, string) {
		a := d.Final()
		return a.Error == "" && a.Status == status, "was " + describeAttempt(a)
	})
}

// BeAnswered2xx succeeds when the app answered with any 2xx status; the
// actual is as for BeAnsweredWith.
func BeAnswered2xx() types.GomegaMatcher {
	return eachDelivery("BeAnswered2xx", "answered 2xx", func(d *emulator.Delivery) (bool, string) {
		a := d.Final()
		return a.Error == "" && a.Status >= 200 && a.Status <= 299, "was " + describeAttempt(a)
	})
}

// BeAnsweredWithin succeeds when the app answered (any status) within
// limit; the actual is as for BeAnsweredWith.
func BeAnsweredWithin(limit time.Duration) types.GomegaMatcher {
	return eachDelivery("BeAnsweredWithin", fmt.Sprintf("answered within %s", limit), func(d *emulator.Delivery) (bool, string) {
		a := d.Final()
		return a.Error == "" && a.Latency <= limit, "was " + describeAttempt(a)
	})
}

// eachDelivery builds a matcher that every delivery of the actual must
// satisfy. There must be at least one: over none, the expectation holds
// only because nothing happened, so it is an error (To and NotTo both
// fail). A delivery cut off by an interrupt (Emulator.Shutdown) is not the
// app's doing: it is judged neither way, and when it leaves the verdict
// open the match is an error that says so.
func eachDelivery(name, nested string, pred func(*emulator.Delivery) (bool, string)) types.GomegaMatcher {
	return deliveryCheck(name, "be "+nested, nested, true, pred)
}

// deliveryCheck is eachDelivery; answer says the check is about the app's
// answer, which an interrupt leaves unknown.
func deliveryCheck(name, want, nested string, answer bool, pred func(*emulator.Delivery) (bool, string)) types.GomegaMatcher {
	return newMatcher(&check{name: name, want: want, nested: nested, accepts: takesDeliveries, webhooks: true,
		what: func(s *subject) string {
			switch {
			case s.single:
				return s.label
			case s.result != nil:
				return "every webhook of " + s.label
			}
			return "every one of " + s.label
		},
		test: func(s *subject) (verdict, error) {
			if len(s.deliveries) == 0 {
				return verdict{}, noDeliveries(s, nested)
			}
			var bad, cut []string
			last := ""
			for _, d := range s.deliveries {
				if answer && d.Interrupted() {
					cut = append(cut, "the "+d.Name()+" webhook")
					continue
				}
				ok, what := pred(d)
				last = what
				if !ok {
					bad = append(bad, fmt.Sprintf("the %s webhook %s", d.Name(), what))
				}
			}
			judged := len(s.deliveries) - len(cut)
			notJudged := ""
			if len(cut) > 0 {
				notJudged = fmt.Sprintf(" (not judged: %s, cut off by an interrupt before the app answered)", strings.Join(cut, ", "))
			}
			switch {
			case len(bad) > 0 && s.single:
				return verdict{found: "it " + last}, nil
			case len(bad) > 0:
				return verdict{found: fmt.Sprintf("%d of %d %s not: %s%s", len(bad), judged,
					map[bool]string{true: "was", false: "were"}[len(bad) == 1], strings.Join(bad, "; "), notJudged)}, nil
			case len(cut) > 0:
				return verdict{}, interruptedError(s, cut, judged, nested)
			case s.single:
				return verdict{ok: true, found: "it " + last}, nil
			}
			return verdict{ok: true, found: fmt.Sprintf("all %d were", len(s.deliveries))}, nil
		}})
}

// HaveCause succeeds when the webhook event carried this cause (the
// disconnect's cause, or mediaStreamStopped's): HaveWebhook("disconnect",
// HaveCause("hangup")). The actual is as for BeAnsweredWith: every delivery
// must carry it.
func HaveCause(cause string) types.GomegaMatcher {
	return deliveryCheck("HaveCause", "carry cause "+cause, "with cause "+cause, false, func(d *emulator.Delivery) (bool, string) {
		got := ""
		if d.Event != nil {
			got = d.Event.Cause
		}
		return got == cause, "carried cause " + orNone(got)
	})
}

// noDeliveries is the error of a delivery matcher over no delivery at all.
func noDeliveries(s *subject, nested string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "no webhook was delivered, so none was %s", nested)
	switch {
	case s.stream != nil || s.result != nil:
		fmt.Fprintf(&b, ": %s sent no webhook (it had no streamEventUrl?)", s.label)
	default:
		b.WriteString(": the list of deliveries is empty (no streamEventUrl or disconnect URL was set?)")
	}
	b.WriteString("; an expectation about webhooks needs at least one")
	s.describe(&b, true)
	return errors.New(b.String())
}

// interruptedError is the error of a delivery matcher whose verdict an
// interrupt left open: the app is not to blame.
func interruptedError(s *subject, cut []string, judged int, nested string) error {
	var b strings.Builder
	verb, pron := "was", "it"
	if len(cut) > 1 {
		verb, pron = "were", "they"
	}
	fmt.Fprintf(&b, "interrupted: %s %s cut off by an interrupt before the app answered, so %s cannot be judged %s (not a fault of the app)",
		strings.Join(cut, ", "), verb, pron, nested)
	if judged > 0 {
		fmt.Fprintf(&b, "; the other %s", prose.Plural(judged, "was "+nested, "were "+nested))
	}
	s.describe(&b, true)
	return errors.New(b.String())
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
