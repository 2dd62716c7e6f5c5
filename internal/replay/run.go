package replay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// Target is the app a replay runs against, as the command line names it.
type Target struct {
	// WS is the app's WebSocket URL; Events its streamEventUrl;
	// Disconnect the call's disconnectUrl ("" for none).
	WS, Events, Disconnect string
	// The Basic credentials the app requires, which the journal never
	// holds.
	WSUser, WSPassword, EventUser, EventPassword string
	TLSConfig                                    *tls.Config
}

// Result is what a replay came to.
type Result struct {
	// CallID and StreamID are the replay's own: new ids.
	CallID, StreamID string
	Now              Outcome
	// Entries are the replay's journal.
	Entries []emulator.Entry
	// Interrupted is true when ctx ended before the replay did: the calls
	// were then ended within emulator.InterruptGrace, and CutOff webhooks
	// still unanswered were cut off.
	Interrupted bool
	CutOff      int
	// Problem says what went wrong on the emulator's side, when the call
	// did not end within its bounds ("" when it did).
	Problem string
}

// Run replays the plan against t: it starts the recorded stream on a call
// of its own, streams the recorded media at the recorded pace, ends it as
// the recording did and hangs up, then reads what happened from its own
// journal. ctx is the interrupt: when it ends, the live call is hung up
// with its webhooks within emulator.InterruptGrace. The error is a stream
// or call the emulator refuses (bad input), never the app's doing.
func Run(ctx context.Context, p *Plan, t Target) (*Result, error) {
	o := p.Options
	o.TLSConfig = t.TLSConfig
	e := emulator.New(&o)
	defer e.Close()
	callSpec := p.Call
	if p.Disconnect && t.Disconnect != "" {
		callSpec.DisconnectURL, callSpec.Username, callSpec.Password = t.Disconnect, t.EventUser, t.EventPassword
	}
	call, err := e.NewCall(&callSpec)
	if err != nil {
		return nil, err
	}
	spec := p.Spec
	spec.Destination, spec.DestinationUsername, spec.DestinationPassword = t.WS, t.WSUser, t.WSPassword
	if p.Events {
		spec.StreamEventURL, spec.Username, spec.Password = t.Events, t.EventUser, t.EventPassword
	}
	s, err := call.StartStream(ctx, spec)
	if err != nil {
		var rejected *emulator.RejectedError
		if !errors.As(err, &rejected) {
			return nil, err
		}
	}
	r := &Result{CallID: call.ID, StreamID: s.ID}
	drive(ctx, s, p)
	if ctx.Err() == nil {
		bound := e.Options().Timeouts.EndBound()
		endCtx, cancel := context.WithTimeout(ctx, bound)
		_, err = s.Finish(endCtx, emulator.EndHangup)
		cancel()
		if err != nil && ctx.Err() == nil {
			r.Problem = fmt.Sprintf("the call did not end within %s", bound)
		}
	}
	if r.Interrupted = ctx.Err() != nil; r.Interrupted || r.Problem != "" {
		r.CutOff = shutdown(ctx, e)
	}
	r.Entries = e.Journal().Entries()
	r.Now = OutcomeOf(r.Entries, call.ID, s.ID)
	return r, nil
}

// drive streams the recorded media and ends the stream as the recording
// did; an app that ended it itself then gets AppEndWait to do so again.
// Errors here are the stream ending early, which the outcome tells, or
// ctx ending, which Run sees.
func drive(ctx context.Context, s *emulator.Stream, p *Plan) {
	if !p.AwaitApp {
		_, _ = s.EndAt(ctx, p.Media, p.End)
		return
	}
	if s.Media(ctx, p.Media) != nil {
		return
	}
	wait := time.NewTimer(AppEndWait)
	defer wait.Stop()
	select {
	case <-s.Done():
	case <-wait.C:
	case <-ctx.Done():
	}
}

// shutdown ends every live call of e with its webhooks within
// emulator.InterruptGrace and returns how many webhooks it had to cut
// off.
func shutdown(ctx context.Context, e *emulator.Emulator) int {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emulator.InterruptGrace)
	defer cancel()
	_ = e.Shutdown(sctx)
	cut := 0
	for _, d := range e.Deliveries() {
		if d.Interrupted() {
			cut++
		}
	}
	return cut
}
