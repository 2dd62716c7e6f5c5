package suite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/prose"
)

// AcceptMedia is how much audio AcceptNewStream streams before it stops
// the stream.
const AcceptMedia = 200 * time.Millisecond

// AcceptNewStream is a matcher for an *emulator.Emulator: it starts a new
// call with one stream of the given spec, streams AcceptMedia of audio in
// real time (so an app that ends a stream on its own, right after the
// start, has the time to show it), stops the stream, and succeeds when
// the stream connected, completed the close handshake with a normal close
// code (1000, 1001, or none) and its webhooks (if any) were answered 2xx.
// It is how a test asks "does the app still take streams?" after a fault.
// Every Match runs a new stream; the failure message says which step
// failed and shows the stream's journal.
func AcceptNewStream(ctx context.Context, spec emulator.StreamSpec) types.GomegaMatcher {
	a := &acceptance{ctx: ctx, spec: spec}
	return acceptMatcher{gcustom.MakeMatcher(a.match), a}
}

// acceptMatcher renders its own messages, for the reason given at matcher.
type acceptMatcher struct {
	gcustom.CustomGomegaMatcher
	a *acceptance
}

// FailureMessage says which step failed and shows the stream's record.
func (m acceptMatcher) FailureMessage(any) string { return m.a.message(true) }

// NegatedFailureMessage is FailureMessage for NotTo.
func (m acceptMatcher) NegatedFailureMessage(any) string { return m.a.message(false) }

// acceptance runs AcceptNewStream's steps and keeps the outcome of the last
// run for the failure message.
type acceptance struct {
	ctx  context.Context
	spec emulator.StreamSpec

	mu   sync.Mutex
	last acceptOutcome
}

type acceptOutcome struct {
	step   string // the step that failed; "" when the stream was accepted
	reason string
	// interrupted says what an interrupt cut off (the context ended, or
	// Emulator.Shutdown cut a webhook): then there is no verdict.
	interrupted string
	stream      *emulator.Stream
	result      *emulator.StreamResult
}

// The steps, as failure messages name them.
const (
	stepCall      = "start a call"
	stepStart     = "start the stream"
	stepConnect   = "connect"
	stepMedia     = "stream media"
	stepStop      = "stop the stream"
	stepHandshake = "complete the close handshake"
	stepWebhooks  = "answer the webhooks 2xx"
)

func (a *acceptance) match(e *emulator.Emulator) (bool, error) {
	if e == nil {
		return false, errors.New("AcceptNewStream expects an *emulator.Emulator, got nil")
	}
	out := a.run(e)
	a.mu.Lock()
	a.last = out
	a.mu.Unlock()
	if out.interrupted != "" {
		// The app is not to blame, and nothing was shown either way.
		return false, &plainError{msg: a.message(true)}
	}
	return out.step == "", nil
}

func (a *acceptance) run(e *emulator.Emulator) acceptOutcome {
	ctx := a.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	out := a.steps(ctx, e)
	if out.step != "" && ctx.Err() != nil {
		out.interrupted = fmt.Sprintf("step %q was cut off (%s)", out.step, context.Cause(ctx))
	}
	return out
}

func (a *acceptance) steps(ctx context.Context, e *emulator.Emulator) acceptOutcome {
	call, err := e.NewCall(nil)
	if err != nil {
		return acceptOutcome{step: stepCall, reason: err.Error()}
	}
	defer func() { _ = call.Hangup(ctx) }() // tidy: no stream is left live
	spec := a.spec
	spec.Pace, spec.Speed = emulator.Realtime, 1
	s, err := call.StartStream(ctx, spec)
	if err != nil {
		out := acceptOutcome{step: stepStart, reason: err.Error(), stream: s}
		if s != nil {
			out.result = s.Result()
		}
		return out
	}
	out := acceptOutcome{stream: s}
	// ended fills in the result of a stream that ended on its own.
	ended := func(step string, err error) acceptOutcome {
		out.step, out.reason = step, err.Error()
		if r, werr := s.Wait(ctx); werr == nil {
			out.result = r
		}
		return out
	}
	if err := s.Connected(ctx); err != nil {
		return ended(stepConnect, err)
	}
	if err := s.Media(ctx, AcceptMedia); err != nil {
		return ended(stepMedia+" ("+AcceptMedia.String()+")", err)
	}
	r, err := s.Stop(ctx)
	if err != nil {
		out.step, out.reason = stepStop, err.Error()
		return out
	}
	out.result = r
	out.judge(r)
	return out
}

// judge finds the step that failed, if any, from the stopped stream's
// result: the close handshake, the ending, then the webhooks' answers.
func (out *acceptOutcome) judge(r *emulator.StreamResult) {
	switch {
	case r.Ending == emulator.EndCloseHandshakeTimeout || !r.CloseHandshake:
		out.step, out.reason = stepHandshake, describeClose(r)
	case r.Ending != emulator.EndStopStream:
		out.step, out.reason = stepStop, fmt.Sprintf("the stream ended with %s instead of %s", r.Ending, emulator.EndStopStream)
	case !normalClose(r.CloseReceived):
		// An app that closed with an error code as the stop crossed it.
		out.step, out.reason = stepHandshake, fmt.Sprintf("the app answered with code %d%s, not a normal close (1000)", r.CloseReceived, parenthesized(r.CloseReason))
	default:
		out.judgeWebhooks(r.Deliveries)
	}
}

// judgeWebhooks fails the webhooks step on an answer other than 2xx; a
// webhook an interrupt cut off leaves no verdict.
func (out *acceptOutcome) judgeWebhooks(ds []*emulator.Delivery) {
	var bad, cut []string
	for _, d := range ds {
		a := d.Final()
		switch {
		case d.Interrupted():
			cut = append(cut, "the "+d.Name()+" webhook")
		case a.Error != "" || a.Status < 200 || a.Status > 299:
			bad = append(bad, fmt.Sprintf("the %s webhook was %s", d.Name(), describeAttempt(a)))
		}
	}
	switch {
	case len(bad) > 0:
		out.step, out.reason = stepWebhooks, strings.Join(bad, "; ")
	case len(cut) > 0:
		out.step, out.reason = stepWebhooks, strings.Join(cut, ", ")+" cut off by an interrupt before the app answered"
		out.interrupted = out.reason
	}
}

// message renders the failure message (failure) or the negated one from
// the last run.
func (a *acceptance) message(failure bool) string {
	a.mu.Lock()
	out := a.last
	a.mu.Unlock()
	dest := redactURL(a.spec.Destination)
	var b strings.Builder
	switch {
	case out.interrupted != "":
		fmt.Fprintf(&b, "interrupted: whether the app accepts a new stream to %s was not found out: %s (not a fault of the app)", dest, out.interrupted)
		if out.reason != "" && !strings.Contains(out.interrupted, out.reason) {
			fmt.Fprintf(&b, "\nthe step said: %s", out.reason)
		}
	case failure:
		fmt.Fprintf(&b, "Expected the emulator to accept a new stream to %s, but step %q failed: %s", dest, out.step, out.reason)
	default:
		webhooks := "no webhooks were sent"
		if out.result != nil && len(out.result.Deliveries) > 0 {
			webhooks = fmt.Sprintf("its %s answered 2xx", prose.Plural(len(out.result.Deliveries), "webhook was", "webhooks were"))
		}
		fmt.Fprintf(&b, "Expected the emulator not to accept a new stream to %s, but it did: the stream connected, streamed %s, completed the close handshake and %s",
			dest, AcceptMedia, webhooks)
	}
	switch {
	case out.result != nil:
		sub := &subject{stream: out.stream, result: out.result, deliveries: out.result.Deliveries}
		sub.describe(&b, out.step == stepWebhooks)
	case out.stream != nil:
		if x := streamExcerpt(out.stream); x != "" {
			b.WriteString("\n" + x)
		}
	}
	return b.String()
}

// normalClose reports whether a close code ends a connection normally:
// 1000, 1001 (going away) or 1005 (a close frame without a code).
func normalClose(code int) bool { return code == 1000 || code == 1001 || code == 1005 }

func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
