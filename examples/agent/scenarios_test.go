package agent_test

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/examples/agent"
	"github.com/bwemu/bwemu/scenarios"
)

// The scenario file is what a team without Go runs with `bwemu run`; this
// spec runs it against the agent so the file and the agent stay in step.
var _ = Describe("the voice agent's scenario file", func() {
	// run runs the file's scenarios whose names match focus against an
	// agent with opts.
	run := func(ctx SpecContext, opts agent.Options, focus string) []*scenarios.Result {
		a := startAgent(opts)
		f, err := scenarios.Load("scenarios.yaml")
		Expect(err).NotTo(HaveOccurred())
		results, err := scenarios.Run(ctx, []*scenarios.File{f}, scenarios.RunOptions{
			WebSocket: a.ws, Events: a.base + "/events", Disconnect: a.base + "/disconnect",
			Focus: regexp.MustCompile(focus),
		})
		Expect(err).NotTo(HaveOccurred())
		var ran []*scenarios.Result
		for _, r := range results {
			if r.Status != scenarios.Skipped {
				ran = append(ran, r)
			}
		}
		return ran
	}
	// failures are the expectations a result failed, with their messages.
	failures := func(r *scenarios.Result) string {
		var b strings.Builder
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "%s: %s\n", f.Expectation, f.Message)
		}
		return b.String()
	}

	It("passes against the agent", func(ctx SpecContext) {
		results := run(ctx, agent.Options{}, ".")
		Expect(results).To(HaveLen(7))
		for _, r := range results {
			Expect(r.Status).To(Equal(scenarios.Passed), "%s: %s %+v", r.Name, r.Error, r.Failures)
		}
	}, SpecTimeout(60*time.Second))

	It("fails a slow agent on its response latency, saying how late it was", func(ctx SpecContext) {
		results := run(ctx, agent.Options{ReplyDelay: time.Second}, "^the agent answers the caller$")
		Expect(results).To(HaveLen(1))
		Expect(results[0].Status).To(Equal(scenarios.Failed))
		Expect(failures(results[0])).To(MatchRegexp(`expect\.reply: .*turn 1 was answered after 1\.\d+s`))
	}, SpecTimeout(30*time.Second))

	It("fails an agent that talks over the caller on barge-in", func(ctx SpecContext) {
		results := run(ctx, agent.Options{IgnoreBargeIn: true}, "^the caller talks over the agent$")
		Expect(results).To(HaveLen(1))
		Expect(results[0].Status).To(Equal(scenarios.Failed))
		Expect(failures(results[0])).To(ContainSubstring("expect.bargeIn"))
	}, SpecTimeout(30*time.Second))
})
