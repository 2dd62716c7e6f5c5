package transcriber_test

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/bwemu/bwemu/suite/conformance"
	"github.com/bwemu/bwemu/suite/specs"
)

// Bandwidth's stock checks for any stream consumer, dropped into this suite:
// one spec per case, numbered 1.1 to 7.3.
var _ = Describe("the transcriber's conformance", func() {
	var target conformance.Target
	BeforeEach(func() {
		base, ws := startApp()
		target = conformance.Target{WebSocket: ws + "/media", Events: base + "/events", Disconnect: base + "/disconnect"}
	})
	specs.ConformanceSpecs(func() conformance.Target { return target }, conformance.Options{})
})
