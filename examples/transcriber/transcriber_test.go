package transcriber_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/examples/transcriber"
	"github.com/bwemu/bwemu/suite"
	"github.com/bwemu/bwemu/suite/specs"
)

// startApp runs the app under test on 127.0.0.1:0 for the current spec.
func startApp() (httpURL, wsURL string) {
	app := transcriber.New()
	srv := httptest.NewServer(app)
	DeferCleanup(func() {
		srv.Close()
		app.Wait()
	})
	return srv.URL, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// transcript polls the app's transcript endpoint for a call.
func transcript(base, callID string) func(Gomega) transcriber.Transcript {
	return func(g Gomega) transcriber.Transcript {
		resp, err := http.Get(base + "/transcript/" + callID)
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		var t transcriber.Transcript
		g.Expect(json.NewDecoder(resp.Body).Decode(&t)).To(Succeed())
		return t
	}
}

var _ = Describe("the transcriber", func() {
	var base, ws string
	BeforeEach(func() { base, ws = startApp() })

	It("transcribes 2 s of a WAV, and answers mediaStreamStopped with 204", func(ctx SpecContext) {
		e := specs.Emulator(nil)
		call := specs.Call(e, &emulator.CallSpec{DisconnectURL: base + "/disconnect"})
		s := specs.Stream(ctx, call, emulator.StreamSpec{
			Name: "transcriber", Destination: ws + "/media", StreamEventURL: base + "/events",
			Audio: specs.WAV("testdata/hello-440hz.wav"), Pace: emulator.Fast,
		})
		Expect(s.Media(ctx, 2*time.Second)).To(Succeed())
		Expect(call.Hangup(ctx)).To(Succeed())

		Expect(s).To(suite.HaveNoAppFault())
		Expect(s).To(suite.HaveStopped("closed"))
		Expect(s).To(suite.HaveCompletedCloseHandshake())
		Expect(s).To(suite.HaveWebhook("mediaStreamStopped", suite.BeAnsweredWith(204)))
		Expect(e.Deliveries()).To(suite.HaveWebhook("disconnect", suite.HaveCause("hangup"), suite.BeAnsweredWith(204)))
		Expect(e.Deliveries()).To(suite.BeAnsweredWithin(time.Second))
		Eventually(transcript(base, call.ID)).Should(And(
			HaveField("Text", "a 440 Hz tone for 2.0 seconds"),
			HaveField("Stopped", true),
		))
	}, SpecTimeout(10*time.Second))

	It("survives a TCP reset and takes the next call", func(ctx SpecContext) {
		e := specs.Emulator(nil)
		call := specs.Call(e, nil)
		spec := emulator.StreamSpec{Destination: ws + "/media", StreamEventURL: base + "/events", Pace: emulator.Fast}
		s := specs.Stream(ctx, call, spec)
		Expect(s.Media(ctx, 500*time.Millisecond)).To(Succeed())
		res, err := s.Inject(ctx, emulator.FaultReset)
		Expect(err).NotTo(HaveOccurred())
		Expect(res).To(suite.HaveStopped("connection-error", "reset"))
		Expect(e).To(suite.AcceptNewStream(ctx, spec))
	}, SpecTimeout(10*time.Second))
})
