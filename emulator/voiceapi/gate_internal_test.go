package voiceapi

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// roundTripFunc records that a request went through.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var _ = Describe("the answer gate", func() {
	It("holds a request made under a gated context until the gate opens", func(ctx SpecContext) {
		passed := make(chan struct{})
		t := gateTransport{next: roundTripFunc(func(*http.Request) (*http.Response, error) {
			close(passed)
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
		})}
		gate := make(chan struct{})
		req, err := http.NewRequestWithContext(withGate(ctx, gate), http.MethodPost, "http://127.0.0.1:1/answer", http.NoBody)
		Expect(err).NotTo(HaveOccurred())
		done := make(chan error, 1)
		go func() {
			_, err := t.RoundTrip(req)
			done <- err
		}()
		Consistently(passed).WithTimeout(50 * time.Millisecond).ShouldNot(BeClosed())
		close(gate)
		Eventually(ctx, done).Should(Receive(BeNil()))
		Expect(passed).To(BeClosed())
	}, SpecTimeout(5*time.Second))

	It("gives up when the request's context ends first, and lets ungated requests through", func(ctx SpecContext) {
		t := gateTransport{next: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody}, nil
		})}
		rctx, cancel := context.WithCancel(withGate(ctx, make(chan struct{})))
		cancel()
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, "http://127.0.0.1:1/", nil)
		Expect(err).NotTo(HaveOccurred())
		_, err = t.RoundTrip(req)
		Expect(err).To(MatchError(context.Canceled))

		req, err = http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
		Expect(err).NotTo(HaveOccurred())
		resp, err := t.RoundTrip(req)
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusNoContent))
	}, SpecTimeout(5*time.Second))
})
