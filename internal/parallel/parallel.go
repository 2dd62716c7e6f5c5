// Package parallel runs numbered jobs a few at a time, in order of their
// numbers: the loop the scenario runner and the conformance runner share.
// A job that has not started yet is not started once ctx ends or, with
// FailFast, once a job has failed; Run says which ran.
package parallel

import (
	"context"
	"sync"
)

// Options say how jobs run.
type Options struct {
	// Limit is how many jobs run at once (below 1: one at a time).
	Limit int
	// FailFast starts no more jobs once one has reported failure.
	FailFast bool
	// Serial, when set, names the jobs that run alone: such a job waits
	// for every job started before it, and none starts until it ends.
	Serial func(i int) bool
}

// Outcome says whether a job ran, and if not, why.
type Outcome int

const (
	// Ran: the job was started (whatever it reported).
	Ran Outcome = iota
	// Interrupted: ctx ended before the job could start.
	Interrupted
	// FailedFast: an earlier job failed and Options.FailFast was set.
	FailedFast
)

// Run runs job(0) … job(n-1), starting them in that order, at most
// o.Limit at a time, and returns once every started job has returned.
// job reports whether it succeeded. The outcome of job i is outcomes[i].
func Run(ctx context.Context, n int, o Options, job func(i int) (ok bool)) (outcomes []Outcome) {
	l := &loop{ctx: ctx, o: o, slots: make(chan struct{}, max(o.Limit, 1)), job: job}
	outcomes = make([]Outcome, n)
	for i := range n {
		if o.Serial != nil && o.Serial(i) {
			outcomes[i] = l.alone(i)
			continue
		}
		outcomes[i] = l.start(i)
	}
	l.wg.Wait()
	return outcomes
}

// loop is one Run under way.
type loop struct {
	ctx   context.Context
	o     Options
	slots chan struct{} // a token per running job
	job   func(int) bool
	wg    sync.WaitGroup

	mu     sync.Mutex
	failed bool
}

// start waits for a free slot and starts job i in a goroutine of its own.
func (l *loop) start(i int) Outcome {
	acquired := false
	select {
	case l.slots <- struct{}{}:
		acquired = true
	case <-l.ctx.Done():
	}
	if out := l.blocked(); out != Ran {
		if acquired {
			<-l.slots // the slot was taken for a job that will not run
		}
		return out
	}
	l.wg.Go(func() {
		defer func() { <-l.slots }()
		l.record(l.job(i))
	})
	return Ran
}

// alone runs job i on the caller's goroutine once the jobs before it ended.
func (l *loop) alone(i int) Outcome {
	l.wg.Wait()
	if out := l.blocked(); out != Ran {
		return out
	}
	l.record(l.job(i))
	return Ran
}

// blocked says why no further job may start, Ran when one may.
func (l *loop) blocked() Outcome {
	if l.ctx.Err() != nil {
		return Interrupted
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.o.FailFast && l.failed {
		return FailedFast
	}
	return Ran
}

func (l *loop) record(ok bool) {
	if ok {
		return
	}
	l.mu.Lock()
	l.failed = true
	l.mu.Unlock()
}
