package agent_test

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/bwemu/bwemu/examples/agent"
	"github.com/bwemu/bwemu/suite/conformance"
	"github.com/bwemu/bwemu/suite/specs"
)

// Bandwidth's stock checks for any stream consumer, on bidirectional
// streams since the agent plays audio back (6.x checks its playAudio).
var _ = Describe("the voice agent's conformance", func() {
	var target conformance.Target
	BeforeEach(func() {
		a := startAgent(agent.Options{})
		target = conformance.Target{WebSocket: a.ws, Events: a.base + "/events", Disconnect: a.base + "/disconnect", Bidirectional: true}
	})
	specs.ConformanceSpecs(func() conformance.Target { return target }, conformance.Options{})
})
