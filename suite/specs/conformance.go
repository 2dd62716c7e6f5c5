package specs

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"

	"github.com/bwemu/bwemu/suite/conformance"
)

// DescribeConformance is the consumer conformance suite as a Ginkgo
// container: one It per case, named by its number, to drop into any suite
// in one line. target is called when each case runs, so it can return a
// target set up in a BeforeEach or BeforeSuite.
//
//	var _ = specs.DescribeConformance("my app", func() conformance.Target {
//		return conformance.Target{WebSocket: "ws://127.0.0.1:8080/media", Events: "http://127.0.0.1:8080/events",
//			Disconnect: "http://127.0.0.1:8080/disconnect"}
//	}, conformance.Options{})
//
// Each case runs on its own (conformance.RunCase), without the reachability
// check conformance.Run makes first; call conformance.Preflight in a
// BeforeSuite to fail fast, with one message, on an app that is down.
func DescribeConformance(text string, target func() conformance.Target, o conformance.Options) bool {
	return Describe(text, Label("conformance"), func() { ConformanceSpecs(target, o) })
}

// ConformanceSpecs registers the conformance cases in the current
// container (those o.Only selects and o.Skip does not leave out). A failed
// case fails its spec with the reason and the journal; non-strict fails too
// unless o.Lenient; informational verdicts become report entries; cases
// that do not apply are skipped.
func ConformanceSpecs(target func() conformance.Target, o conformance.Options) {
	for _, c := range conformance.Select(o.Only, o.Skip) {
		decorators := []any{Label("conformance", c.Group)}
		if c.Serial {
			decorators = append(decorators, Serial)
		}
		It(c.ID+" "+c.Title, append(decorators, func(ctx SpecContext) {
			r, err := conformance.RunCase(ctx, target(), c, o)
			if err != nil {
				Fail(fmt.Sprintf("conformance %s: %v", c.ID, err))
			}
			verdict(r, o.Lenient)
		})...)
	}
}

// verdict turns a result into the spec's outcome. r.Reason starts with
// the case ID already, so it is not repeated ("5.3 failed: 5.3: …").
func verdict(r conformance.Result, lenient bool) {
	GinkgoHelper()
	switch r.Status {
	case conformance.Pass:
	case conformance.Skip:
		Skip(r.Reason)
	case conformance.Info:
		AddReportEntry(r.ID+" (informational)", r.Reason)
	case conformance.NonStrict:
		if lenient {
			AddReportEntry(r.ID+" (non-strict)", r.Reason)
			return
		}
		Fail(fmt.Sprintf("non-strict: %s\n\njournal:\n%s", r.Reason, r.Journal))
	default:
		Fail(fmt.Sprintf("failed: %s\n\njournal:\n%s", r.Reason, r.Journal))
	}
}
