package specs_test

import (
	"context"
	"flag"
	"os"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite/conformance"
	"github.com/bwemu/bwemu/suite/specs"
)

// The conformance suite runs here against an app given by flags or the
// environment, and against the built-in reference consumer otherwise:
//
//	go test ./suite/specs/ -args -bwemu.ws ws://127.0.0.1:8080/media -bwemu.events http://127.0.0.1:8080/events -bwemu.disconnect http://127.0.0.1:8080/disconnect
//	BWEMU_WS=ws://… BWEMU_EVENTS=http://… BWEMU_DISCONNECT=http://… go tool ginkgo ./suite/specs/
var (
	wsFlag          = flag.String("bwemu.ws", os.Getenv("BWEMU_WS"), "the app's WebSocket URL (default: the reference consumer)")
	eventsFlag      = flag.String("bwemu.events", os.Getenv("BWEMU_EVENTS"), "the app's stream-event webhook URL")
	disconnectFlag  = flag.String("bwemu.disconnect", os.Getenv("BWEMU_DISCONNECT"), "the app's disconnect webhook URL")
	eventMethodFlag = flag.String("bwemu.event-method", os.Getenv("BWEMU_EVENT_METHOD"), "the app's streamEventMethod: POST (default) or GET")
	bidiFlag        = flag.Bool("bwemu.bidirectional", os.Getenv("BWEMU_BIDIRECTIONAL") != "", "the app plays audio back")
)

var _ = Describe("consumer conformance", func() {
	var target conformance.Target
	BeforeEach(func() {
		if *wsFlag != "" {
			target = conformance.Target{WebSocket: *wsFlag, Events: *eventsFlag, Disconnect: *disconnectFlag,
				EventMethod: *eventMethodFlag, Bidirectional: *bidiFlag}
			return
		}
		srv, err := consumer.Start("127.0.0.1:0", &consumer.Options{Echo: true, WSUser: "bandwidth", WSPassword: "ws-secret",
			EventUser: "bandwidth", EventPassword: "hook-secret"})
		if err != nil {
			Fail(err.Error())
		}
		DeferCleanup(srv.Close)
		target = conformance.Target{WebSocket: srv.WebSocketURL(), Events: srv.EventsURL(), Disconnect: srv.DisconnectURL(), Bidirectional: true,
			WSUser: "bandwidth", WSPassword: "ws-secret", EventUser: "bandwidth", EventPassword: "hook-secret"}
	})
	specs.ConformanceSpecs(func() conformance.Target { return target }, conformance.Options{})
})

// Correct apps differ: one that closes the socket the moment it reads
// stop, refuses GET webhooks it never asked for and takes only its own
// events on each endpoint passes every case all the same.
var _ = Describe("consumer conformance of an app that closes first, takes POST only and keeps its endpoints apart", func() {
	var target conformance.Target
	BeforeEach(func() {
		if *wsFlag != "" {
			Skip("runs against the built-in consumer only")
		}
		srv, err := consumer.Start("127.0.0.1:0", &consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
		if err != nil {
			Fail(err.Error())
		}
		DeferCleanup(srv.Close)
		target = conformance.Target{WebSocket: srv.WebSocketURL(), Events: srv.EventsURL(), Disconnect: srv.DisconnectURL()}
	})
	specs.ConformanceSpecs(func() conformance.Target { return target }, conformance.Options{Skip: regexp.MustCompile(`^6\.`)})
})

var _ = Describe("ConformanceSpecs", func() {
	It("registers only the cases Only selects and Skip does not leave out", func() {
		var ids []string
		for _, c := range conformance.Select(regexp.MustCompile(`^4\.`), regexp.MustCompile(`^4\.[3-6]$`)) {
			ids = append(ids, c.ID)
		}
		Expect(ids).To(Equal([]string{"4.1", "4.2"}))
	})

	It("can check reachability first, with Preflight, in one message", func(ctx SpecContext) {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := conformance.Preflight(pctx, conformance.Target{WebSocket: apptest.RefusedURL()}, conformance.Options{})
		Expect(err).To(HaveOccurred())
		Expect(strings.Count(err.Error(), "\n")).To(BeZero())
		Expect(err.Error()).To(ContainSubstring("nothing listens at"))
	})
})
