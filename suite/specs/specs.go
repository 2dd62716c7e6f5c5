// Package specs helps users' own Ginkgo suites drive the emulator: an
// emulator per spec with its cleanup registered, the journal attached to a
// failed spec's report, and the conformance suite as a container to drop
// into any suite in one line.
//
//	var _ = Describe("my transcriber", func() {
//		It("transcribes a call", func(ctx SpecContext) {
//			e := specs.Emulator(nil)
//			call := specs.Call(e, &emulator.CallSpec{DisconnectURL: app + "/disconnect"})
//			s := specs.Stream(ctx, call, emulator.StreamSpec{Destination: ws + "/media", StreamEventURL: app + "/events",
//				Audio: specs.WAV("testdata/hello.wav")})
//			Expect(s.Media(ctx, 2*time.Second)).To(Succeed())
//			Expect(call.Hangup(ctx)).To(Succeed())
//			Expect(s).To(suite.HaveNoAppFault())
//			Expect(s).To(suite.HaveStopped("closed"))
//			Expect(s).To(suite.HaveWebhook("mediaStreamStopped", suite.BeAnsweredWith(204)))
//			Expect(e.Deliveries()).To(suite.HaveWebhook("disconnect", suite.BeAnsweredWith(204)))
//		})
//	})
//
//	var _ = specs.DescribeConformance("my app", func() conformance.Target { return target }, conformance.Options{})
package specs

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/suite"
)

// Eventually defaults that fit streams on loopback: webhooks and closes
// settle in milliseconds, so a few seconds is generous yet fails fast.
const (
	EventuallyTimeout = 5 * time.Second
	PollingInterval   = 10 * time.Millisecond
)

// UseDefaults sets Gomega's Eventually/Consistently defaults for stream
// specs. Call it once, e.g. in the suite's BeforeSuite.
func UseDefaults() {
	SetDefaultEventuallyTimeout(EventuallyTimeout)
	SetDefaultEventuallyPollingInterval(PollingInterval)
	SetDefaultConsistentlyDuration(200 * time.Millisecond)
	SetDefaultConsistentlyPollingInterval(PollingInterval)
}

// Emulator starts an emulator for the current spec; DeferCleanup closes
// it. A failed spec gets the whole journal once, as the "bwemu journal"
// report entry. Nothing goes to GinkgoWriter (set opts.Logger for a debug
// log): Ginkgo prints it with a failure, which would show every event
// again.
func Emulator(opts *emulator.Options) *emulator.Emulator {
	GinkgoHelper()
	e := emulator.New(opts)
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("bwemu journal", suite.JournalExcerpt(e.Journal().Entries(), "", 0), ReportEntryVisibilityFailureOrVerbose)
		}
		e.Close()
	})
	return e
}

// Call starts a call on e, failing the spec if it cannot.
func Call(e *emulator.Emulator, spec *emulator.CallSpec) *emulator.Call {
	GinkgoHelper()
	c, err := e.NewCall(spec)
	Expect(err).NotTo(HaveOccurred(), "starting a call")
	return c
}

// Stream starts a stream on the call and waits until the app accepted the
// WebSocket, failing the spec otherwise.
func Stream(ctx context.Context, call *emulator.Call, spec emulator.StreamSpec) *emulator.Stream {
	GinkgoHelper()
	s, err := call.StartStream(ctx, spec)
	Expect(err).NotTo(HaveOccurred(), "starting stream %q", spec.Name)
	Expect(s.Connected(ctx)).To(Succeed(), "the app did not accept the stream")
	return s
}

// WAV loads a WAV file as the call's audio, failing the spec if it cannot.
func WAV(path string) media.Audio {
	GinkgoHelper()
	a, err := media.LoadWAV(path)
	Expect(err).NotTo(HaveOccurred())
	return a
}

// Tone is a sine tone as the call's audio.
func Tone(hz float64) media.Audio {
	GinkgoHelper()
	a, err := media.Tone(hz)
	Expect(err).NotTo(HaveOccurred())
	return a
}
