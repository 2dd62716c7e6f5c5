package parallel_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/parallel"
)

func TestParallel(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Parallel Suite")
}

var _ = apptest.LeakCheck()

// gauge counts the jobs running at once and the most seen.
type gauge struct{ now, most atomic.Int32 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

var _ = Describe("Run", func() {
	It("runs every job, in order of start, at most Limit at once", func(ctx SpecContext) {
		var g gauge
		var mu sync.Mutex
		var started []int
		release := make(chan struct{})
		done := make(chan []parallel.Outcome)
		go func() {
			done <- parallel.Run(ctx, 6, parallel.Options{Limit: 2}, func(i int) bool {
				g.enter()
				defer g.leave()
				mu.Lock()
				started = append(started, i)
				mu.Unlock()
				<-release
				return true
			})
		}()
		Eventually(g.now.Load).Should(BeEquivalentTo(2))
		Consistently(g.now.Load).Should(BeEquivalentTo(2), "a third waits for a slot")
		close(release)
		Eventually(done).Should(Receive(Equal(make([]parallel.Outcome, 6))))
		Expect(g.most.Load()).To(BeEquivalentTo(2))
		Expect(started).To(HaveLen(6))
		Expect(started[:2]).To(ConsistOf(0, 1))
	})

	It("runs one at a time when Limit is below 1", func(ctx SpecContext) {
		var g gauge
		parallel.Run(ctx, 4, parallel.Options{}, func(int) bool {
			g.enter()
			defer g.leave()
			return true
		})
		Expect(g.most.Load()).To(BeEquivalentTo(1))
	})

	It("with FailFast, starts no job once one failed", func(ctx SpecContext) {
		var ran []int
		out := parallel.Run(ctx, 4, parallel.Options{Limit: 1, FailFast: true}, func(i int) bool {
			ran = append(ran, i)
			return i != 1
		})
		Expect(ran).To(Equal([]int{0, 1}))
		Expect(out).To(Equal([]parallel.Outcome{parallel.Ran, parallel.Ran, parallel.FailedFast, parallel.FailedFast}))
	})

	It("without FailFast, runs every job whatever they report", func(ctx SpecContext) {
		out := parallel.Run(ctx, 3, parallel.Options{Limit: 1}, func(int) bool { return false })
		Expect(out).To(Equal([]parallel.Outcome{parallel.Ran, parallel.Ran, parallel.Ran}))
	})

	It("starts no job once ctx ended, also one waiting for a slot", func(ctx SpecContext) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		out := parallel.Run(cctx, 3, parallel.Options{Limit: 1}, func(i int) bool {
			if i == 0 {
				cancel()
				<-cctx.Done()
			}
			return true
		})
		Expect(out).To(Equal([]parallel.Outcome{parallel.Ran, parallel.Interrupted, parallel.Interrupted}))

		out = parallel.Run(cctx, 2, parallel.Options{Limit: 2, Serial: func(i int) bool { return i == 1 }}, func(int) bool { return true })
		Expect(out).To(Equal([]parallel.Outcome{parallel.Interrupted, parallel.Interrupted}))
	})

	It("runs a Serial job alone, after the jobs started before it", func(ctx SpecContext) {
		var g gauge
		var alone atomic.Int32
		out := parallel.Run(ctx, 5, parallel.Options{Limit: 4, Serial: func(i int) bool { return i == 2 }}, func(i int) bool {
			g.enter()
			defer g.leave()
			if i == 2 {
				alone.Store(g.now.Load())
			}
			return true
		})
		Expect(out).To(HaveEach(parallel.Ran))
		Expect(alone.Load()).To(BeEquivalentTo(1), "nothing else ran with the serial job")
	})
})
