package scenarios_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/scenarios"
)

// inlineName is the path every inline scenario file is parsed as.
const inlineName = "inline.yaml"

// quick are the defaults of every inline file: fast pace and timeouts short
// enough that every ending a spec provokes takes well under a second.
const quick = `defaults:
  pace: fast
  timeouts: {handshake: 2s, write: 2s, closeHandshake: 300ms, callback: 2s, deadPeer: 200ms}
`

// parseInline parses src as inline.yaml; it must be valid.
func parseInline(src string) *scenarios.File {
	GinkgoHelper()
	return parseAs(inlineName, src)
}

func parseAs(path, src string) *scenarios.File {
	GinkgoHelper()
	f, err := scenarios.Parse(path, []byte(src))
	Expect(err).NotTo(HaveOccurred(), "the inline file:\n%s", src)
	return f
}

// runFiles runs files and expects the run itself to work.
func runFiles(ctx context.Context, opts scenarios.RunOptions, files ...*scenarios.File) []*scenarios.Result {
	GinkgoHelper()
	results, err := scenarios.Run(ctx, files, opts)
	Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, f := range files {
		for _, sc := range f.Scenarios {
			n++
			if opts.Repeat > 1 && opts.Selected(sc) {
				n += opts.Repeat - 1
			}
		}
	}
	Expect(results).To(HaveLen(n))
	return results
}

// runInline parses src as inline.yaml and runs it.
func runInline(ctx context.Context, src string, opts scenarios.RunOptions) []*scenarios.Result {
	GinkgoHelper()
	return runFiles(ctx, opts, parseInline(src))
}

// runOne runs an inline file of one scenario and returns its result.
func runOne(ctx context.Context, src string, opts scenarios.RunOptions) *scenarios.Result {
	GinkgoHelper()
	rs := runInline(ctx, src, opts)
	Expect(rs).To(HaveLen(1))
	return rs[0]
}

// against points a run at an app: its WebSocket URL, its stream event URL
// and, when given, its disconnect URL.
func against(ws, events string, disconnect ...string) scenarios.RunOptions {
	o := scenarios.RunOptions{WebSocket: ws, Events: events}
	if len(disconnect) > 0 {
		o.Disconnect = disconnect[0]
	}
	return o
}

// lineOf is the 1-based line of src holding needle, which must occur on
// exactly one line.
func lineOf(src, needle string) int {
	GinkgoHelper()
	line := 0
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, needle) {
			Expect(line).To(BeZero(), "%q occurs on more than one line", needle)
			line = i + 1
		}
	}
	Expect(line).NotTo(BeZero(), "%q is not in the file", needle)
	return line
}

// at matches a Pos string on the given line of inline.yaml.
func at(line int) OmegaMatcher {
	return MatchRegexp(`^%s:%d:\d+$`, inlineName, line)
}

// named returns the result of the scenario with that name.
func named(results []*scenarios.Result, name string) *scenarios.Result {
	GinkgoHelper()
	for _, r := range results {
		if r.Name == name {
			return r
		}
	}
	Fail(fmt.Sprintf("no result for scenario %q", name))
	return nil
}

// statuses maps scenario names to their status.
func statuses(results []*scenarios.Result) map[string]scenarios.Status {
	out := map[string]scenarios.Status{}
	for _, r := range results {
		out[r.Name] = r.Status
	}
	return out
}

// passed says why a result did not pass, or matches when it did.
func passed() OmegaMatcher {
	return WithTransform(func(r *scenarios.Result) string {
		if r.Status == scenarios.Passed {
			return string(r.Status)
		}
		return string(r.Status) + "\n" + scenarios.FailureText(r)
	}, Equal(string(scenarios.Passed)))
}

// failure returns the result's one failure of the named expectation.
func failure(r *scenarios.Result, expectation string) scenarios.Failure {
	GinkgoHelper()
	Expect(r.Status).To(Equal(scenarios.Failed), "%s", scenarios.FailureText(r))
	var found []scenarios.Failure
	for _, f := range r.Failures {
		if f.Expectation == expectation {
			found = append(found, f)
		}
	}
	Expect(found).To(HaveLen(1), "failures of %s in:\n%s", expectation, scenarios.FailureText(r))
	return found[0]
}

// expectations lists the names of the result's failed expectations.
func expectations(r *scenarios.Result) []string {
	var out []string
	for _, f := range r.Failures {
		out = append(out, f.Expectation)
	}
	return out
}

// webhooks lists the result's webhook exchanges as event, event(cause) or
// event(cause)#copy for a deliberate duplicate, in order.
func webhooks(r *scenarios.Result) []string {
	var out []string
	for _, d := range r.Webhooks {
		s := d.Event.EventType
		if d.Event.Cause != "" {
			s += "(" + d.Event.Cause + ")"
		}
		if d.Copy > 1 {
			s += fmt.Sprintf("#%d", d.Copy)
		}
		out = append(out, s)
	}
	return out
}

// ending is a stream result reduced to what most specs check.
type ending struct {
	Ending emulator.Ending
	Event  string
	Cause  string
}

// endings lists how each stream of a result ended.
func endings(r *scenarios.Result) []ending {
	var out []ending
	for _, s := range r.Streams {
		if s.Result == nil {
			out = append(out, ending{Ending: "(live)"})
			continue
		}
		out = append(out, ending{s.Result.Ending, s.Result.Event, s.Result.Cause})
	}
	return out
}

// newReference starts the reference consumer: a correct app.
func newReference() *consumer.Server {
	GinkgoHelper()
	return apptest.NewConsumer(nil)
}

// answers200 is a webhook endpoint that answers every webhook 200 with a
// JSON body, not the 204 Bandwidth expects.
func answers200() *apptest.Hooks {
	return apptest.NewHooks(apptest.Reply{Status: http.StatusOK, Body: `{"ok":true}`})
}

// invalidPlayAudio is a playAudio a bidirectional stream must refuse.
const invalidPlayAudio = `{"eventType":"playAudio","media":{"contentType":"audio/mp3","payload":"AAAA"}}`

// validPlayAudio is 4 bytes of µ-law.
const validPlayAudio = `{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"//////8="}}`
