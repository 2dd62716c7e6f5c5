package bxml_test

import (
	"errors"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/internal/apptest"
)

var _ = Describe("BXML fetches in the emulator's records", func() {
	It("are exchanges, judged by the call, not deliveries judged by the 204 rule", func(ctx SpecContext) {
		app := apptest.NewHooks()
		app.Serve("/answer", `<Response><Hangup/></Response>`)
		em := apptest.NewEmulator(nil)
		run, err := (&bxml.Engine{Emulator: em, Pace: emulator.Fast}).Start(ctx, bxml.CallOptions{
			URL: app.URL("/answer"), Call: emulator.CallSpec{DisconnectURL: app.DisconnectURL()},
		})
		Expect(err).NotTo(HaveOccurred())
		Eventually(run.Done()).WithTimeout(5 * time.Second).Should(BeClosed())
		Eventually(em.Deliveries).WithTimeout(5 * time.Second).Should(HaveLen(1))

		Expect(em.Deliveries()[0].Event.EventType).To(Equal("disconnect"))
		exchanges := em.Exchanges()
		Expect(exchanges).To(HaveLen(2))
		Expect(exchanges[0].BXML).To(BeTrue())
		Expect(exchanges[0].Event.EventType).To(Equal(bxml.EventInitiate), "an inbound call asks with initiate")
		Expect(exchanges[0].Status()).To(Equal(http.StatusOK))
		Expect(exchanges[0].Final().Body).To(ContainSubstring("<Hangup/>"))
		Expect(exchanges[1]).To(BeIdenticalTo(em.Deliveries()[0]))
	})

	It("end the call with one error, whichever layer reports it", func() {
		Expect(errors.Is(bxml.ErrCallEnded, emulator.ErrCallEnded)).To(BeTrue())
	})
})
