package agent_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/examples/agent"
	"github.com/bwemu/bwemu/scenarios"
)

// The scenario file is what a team without Go runs with `bwemu run`; this
// spec runs it against the agent so the file and the agent stay in step.
var _ = Describe("the voice agent's scenario file", func() {
	It("passes against the agent", func(ctx SpecContext) {
		a := startAgent(agent.Options{})
		f, err := scenarios.Load("scenarios.yaml")
		Expect(err).NotTo(HaveOccurred())
		results, err := scenarios.Run(ctx, []*scenarios.File{f}, scenarios.RunOptions{
			WebSocket: a.ws, Events: a.base + "/events", Disconnect: a.base + "/disconnect",
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(results).NotTo(BeEmpty())
		for _, r := range results {
			Expect(r.Status).To(Equal(scenarios.Passed), "%s: %s %+v", r.Name, r.Error, r.Failures)
		}
	}, SpecTimeout(30*time.Second))
})
