package specs_test

import (
	"flag"
	"os"

	. "github.com/onsi/ginkgo/v2"

	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite/conformance"
	"github.com/bwemu/bwemu/suite/specs"
)

// The conformance suite runs here against an app given by flags or the
// environment, and against the built-in reference consumer otherwise:
//
//	go test ./suite/specs/ -args -bwemu.ws ws://127.0.0.1:8080/media -bwemu.events http://127.0.0.1:8080/events
//	BWEMU_WS=ws://… BWEMU_EVENTS=http://… go tool ginkgo ./suite/specs/
var (
	wsFlag     = flag.String("bwemu.ws", os.Getenv("BWEMU_WS"), "the app's WebSocket URL (default: the reference consumer)")
	eventsFlag = flag.String("bwemu.events", os.Getenv("BWEMU_EVENTS"), "the app's webhook URL")
	bidiFlag   = flag.Bool("bwemu.bidirectional", os.Getenv("BWEMU_BIDIRECTIONAL") != "", "the app plays audio back")
)

var _ = Describe("consumer conformance", func() {
	var target conformance.Target
	BeforeEach(func() {
		if *wsFlag != "" {
			target = conformance.Target{WebSocket: *wsFlag, Events: *eventsFlag, Bidirectional: *bidiFlag}
			return
		}
		srv, err := consumer.Start("127.0.0.1:0", &consumer.Options{Echo: true, WSUser: "bandwidth", WSPassword: "ws-secret",
			EventUser: "bandwidth", EventPassword: "hook-secret"})
		if err != nil {
			Fail(err.Error())
		}
		DeferCleanup(srv.Close)
		target = conformance.Target{WebSocket: srv.WebSocketURL(), Events: srv.EventsURL(), Bidirectional: true,
			WSUser: "bandwidth", WSPassword: "ws-secret", EventUser: "bandwidth", EventPassword: "hook-secret"}
	})
	specs.ConformanceSpecs(func() conformance.Target { return target }, conformance.Options{})
})
