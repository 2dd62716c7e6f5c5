package suite

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// HaveWebhook succeeds when some delivery of the given event type ("" for
// any) satisfies every matcher given, each matched against the
// *emulator.Delivery: HaveWebhook("mediaStreamStopped", BeAnsweredWith(204)).
// The actual is a stream or result (its deliveries) or []*emulator.Delivery
// (Emulator.Deliveries, which also holds the calls' disconnect webhooks).
func HaveWebhook(eventType string, matchers ...types.GomegaMatcher) types.GomegaMatcher {
	descs := make([]string, 0, len(matchers))
	for i, m := range matchers {
		switch mm := m.(type) {
		case nil:
			return failed("HaveWebhook", fmt.Errorf("matcher %d is nil", i+1))
		case matcher:
			descs = append(descs, firstNonEmpty(mm.c.nested, mm.c.want))
		default:
			descs = append(descs, fmt.Sprintf("satisfying %T", m))
		}
	}
	kind := eventType
	if kind == "" {
		kind = "any"
	}
	want := "have a " + kind + " webhook"
	if len(descs) > 0 {
		want += " " + strings.Join(descs, " and ")
	}
	return newMatcher(&check{name: "HaveWebhook", want: want, accepts: takesDeliveries, webhooks: true,
		test: func(s *subject) (verdict, error) {
			var cands []*emulator.Delivery
			for _, d := range s.deliveries {
				if d.Event != nil && (eventType == "" || d.Event.EventType == eventType) {
					cands = append(cands, d)
				}
			}
			if len(cands) == 0 {
				v := verdict{found: fmt.Sprintf("there was no %s webhook among %s", kind, deliveryTypes(s.deliveries))}
				if eventType == protocol.EventDisconnect && s.result != nil {
					v.extra = "(disconnect is a call webhook, not a stream's: match Emulator.Deliveries() to find it)"
				}
				return v, nil
			}
			var report []string
			var errs []error
			for _, d := range cands {
				var fails []string
				for _, m := range matchers {
					ok, err := m.Match(d)
					switch {
					case err != nil:
						errs = append(errs, fmt.Errorf("on the %s webhook: %w", deliveryName(d), err))
						fails = append(fails, "error: "+err.Error())
					case !ok:
						fails = append(fails, nestedFailure(m, d))
					}
				}
				if len(fails) == 0 {
					return verdict{ok: true, found: "there was one: " + deliveryLine(d)}, nil
				}
				report = append(report, deliveryLine(d)+"\n"+indent(strings.Join(fails, "\n"), "  "))
			}
			if len(errs) > 0 {
				return verdict{}, fmt.Errorf("HaveWebhook: %w", errors.Join(errs...))
			}
			found := fmt.Sprintf("none of the %d %s webhooks satisfied them", len(cands), kind)
			if len(cands) == 1 {
				found = fmt.Sprintf("the only %s webhook did not satisfy them", kind)
			}
			return verdict{
				found: found,
				extra: "what the matchers said:\n" + indent(strings.Join(report, "\n"), "  "),
			}, nil
		}})
}

// nestedFailure is one matcher's complaint about one delivery.
func nestedFailure(m types.GomegaMatcher, d *emulator.Delivery) string {
	if mm, ok := m.(matcher); ok {
		return mm.c.summary(d)
	}
	return m.FailureMessage(d)
}

// deliveryTypes lists the event types delivered, for "there was none".
func deliveryTypes(ds []*emulator.Delivery) string {
	if len(ds) == 0 {
		return "no deliveries"
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = deliveryName(d)
	}
	return plural(len(ds), "delivery", "deliveries") + " (" + strings.Join(names, ", ") + ")"
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

// eachDelivery builds a matcher that every delivery of the actual must satisfy.
func eachDelivery(name, nested string, pred func(*emulator.Delivery) (bool, string)) types.GomegaMatcher {
	return newMatcher(&check{name: name, want: "be " + nested, nested: nested, accepts: takesDeliveries, webhooks: true,
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
				return verdict{found: "there were no webhook deliveries at all (was a streamEventUrl set?)"}, nil
			}
			var bad []string
			last := ""
			for _, d := range s.deliveries {
				ok, what := pred(d)
				last = what
				if !ok {
					bad = append(bad, fmt.Sprintf("the %s webhook %s", deliveryName(d), what))
				}
			}
			switch {
			case s.single:
				return verdict{ok: len(bad) == 0, found: "it " + last}, nil
			case len(bad) == 0:
				return verdict{ok: true, found: fmt.Sprintf("all %d were", len(s.deliveries))}, nil
			}
			return verdict{found: fmt.Sprintf("%d of %d %s not: %s", len(bad), len(s.deliveries),
				map[bool]string{true: "was", false: "were"}[len(bad) == 1], strings.Join(bad, "; "))}, nil
		}})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
