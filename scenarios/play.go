package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
)

// play is one scenario being played.
type play struct {
	ctx context.Context
	e   *emulator.Emulator
	// guard hangs up the call when the run is interrupted.
	guard *interruptGuard
	// For bxml: the engine that runs the call's BXML and the call's run;
	// api and shared when the file serves the Voice API (the emulator is
	// then the file's, shared with its other bxml: scenarios).
	engine  *bxml.Engine
	bxmlRun *bxml.Run
	api     *voiceapi.Server
	shared  bool
	f       *File
	t       Target
	sc      *Scenario
	pace    emulator.Pace
	call    *emulator.Call
	streams map[string]*StreamRun // by name
	order   []*StreamRun
	first   string
}

// newPlay sets a job up to be played: a bxml: scenario of a file with
// target.api on the file's shared emulator, every other scenario on an
// emulator of its own.
func newPlay(ctx context.Context, j *job, opts RunOptions) (*play, error) {
	sc := j.sc
	p := &play{ctx: ctx, f: j.f, t: j.t, sc: sc, pace: scenarioPace(opts.Pace, sc), streams: map[string]*StreamRun{}}
	if sc.BXML != nil && j.api != nil {
		p.e, p.engine, p.api, p.shared, p.guard = j.api.e, j.api.engine, j.api.api, true, j.api.guard
		return p, nil
	}
	e, tlsConf, err := newEmulator(j.f, j.t, sc.Settings, j.recordDir, opts.Meter)
	if err != nil {
		return nil, err
	}
	p.e = e
	if sc.BXML != nil {
		p.engine = newEngine(e, p.pace, tlsConf)
	}
	// An interrupt hangs up the scenario's live calls at once, with
	// their webhooks, within emulator.InterruptGrace.
	p.guard = watchInterrupt(ctx, e)
	return p, nil
}

// close closes the scenario's own emulator; a shared one is the file's.
func (p *play) close() {
	if !p.shared {
		p.e.Close()
	}
}

// interrupted reports, once the play is over, whether an interrupt cut
// it short (after the interrupt's hangups are done).
func (p *play) interrupted() bool {
	if p.shared {
		return p.guard.wait(p.ctx)
	}
	return p.guard.finish()
}

func (p *play) run() (runErr error) {
	sc := p.sc
	if sc.BXML != nil {
		return p.runBXML()
	}
	spec := p.callSpec()
	call, err := p.e.NewCall(&spec)
	if err != nil {
		return err
	}
	p.call = call
	// However the scenario ends (a stream that cannot start, a failed step,
	// an interrupt), the call is hung up, as when BXML runs out, so the app
	// sees a proper end and its webhooks. The hangup takes as long as the
	// app's answers do: the emulator's own timeouts (the close handshake,
	// each webhook's callbackTimeout) bound it, however many webhooks the
	// call still owes, and an interrupt cuts it short through Shutdown.
	defer func() {
		// On an interrupt the emulator's Shutdown hangs up (watchInterrupt).
		if !call.Ended() && p.ctx.Err() == nil {
			if err := call.Hangup(context.WithoutCancel(p.ctx)); err != nil && !errors.Is(err, emulator.ErrCallEnded) && runErr == nil {
				runErr = fmt.Errorf("hanging up at the end: %w", err)
			}
		}
	}()
	for _, s := range append([]Stream{sc.Stream}, sc.Extra...) {
		if err := p.start(s); err != nil {
			return err
		}
	}
	return p.steps()
}

// steps carries out the scenario's steps in order.
func (p *play) steps() error {
	for i, st := range p.sc.Steps {
		if err := p.step(st); err != nil {
			return fmt.Errorf("%s: steps[%d] %s: %w", st.Pos, i, st.Kind, err)
		}
	}
	return nil
}

// callSpec is the scenario's call, as run() and runBXML() start it.
func (p *play) callSpec() emulator.CallSpec {
	c := p.sc.Call
	return emulator.CallSpec{From: c.From, To: c.To, Direction: c.Direction, Tag: c.Tag,
		DisconnectURL: p.disconnectURL(), DisconnectMethod: p.t.DisconnectMethod, Username: p.t.EventUser, Password: p.t.EventPassword,
		CallbackTimeout: p.sc.Timeouts.Callback}
}

// disconnectURL is where the disconnect webhook goes: the target's
// disconnect URL only (none when unset), never its events URL.
func (p *play) disconnectURL() string {
	return p.t.Disconnect
}

// start starts a stream from the scenario's attributes.
func (p *play) start(s Stream) error {
	spec, err := p.spec(s)
	if err != nil {
		return err
	}
	spec.Record = p.heard(s.Name)
	st, err := p.call.StartStream(p.ctx, spec)
	var rej *emulator.RejectedError
	switch {
	case errors.As(err, &rej):
		st = rej.Stream
	case err != nil:
		return err
	}
	run := &StreamRun{Name: st.Name, ID: st.ID, stream: st}
	p.order = append(p.order, run)
	// A rejected duplicate does not replace the live stream of its name.
	if _, known := p.streams[st.Name]; !known || rej == nil {
		p.streams[st.Name] = run
	}
	if p.first == "" {
		p.first = st.Name
	}
	return nil
}

// spec turns scenario attributes into a StartStream spec for the target.
func (p *play) spec(s Stream) (emulator.StreamSpec, error) {
	dest := p.t.WebSocket
	if s.Destination != "" {
		dest = s.Destination
	}
	if len(s.Query) > 0 {
		u, err := url.Parse(dest)
		if err != nil {
			return emulator.StreamSpec{}, fmt.Errorf("destination %q: %w", dest, err)
		}
		q := u.Query()
		for _, kv := range s.Query {
			q.Add(kv.Name, kv.Value)
		}
		u.RawQuery = q.Encode()
		dest = u.String()
	}
	return emulator.StreamSpec{
		Name: s.Name, Mode: s.Mode, Tracks: s.Tracks, Destination: dest,
		DestinationUsername: p.t.WSUser, DestinationPassword: p.t.WSPassword,
		StreamEventURL: p.t.Events, StreamEventMethod: p.t.EventMethod, Username: p.t.EventUser, Password: p.t.EventPassword,
		Params: s.Params, Audio: s.AudioSource, Pace: p.pace, Speed: p.sc.Speed,
	}, nil
}

// heard says whether expect.heard judges the stream of that name, about
// to start: it must then be recorded. Before the first stream has started
// the stream is the first, which heard: names by default.
func (p *play) heard(name string) bool {
	h := p.sc.Expect.Heard
	if h == nil {
		return false
	}
	if h.Stream == "" {
		return p.first == ""
	}
	return h.Stream == name
}

// stream returns the stream a step or expectation names ("" = the first).
func (p *play) stream(name string) *StreamRun {
	if name == "" {
		name = p.first
	}
	return p.streams[name]
}

// step carries out one step: on the call, or on one of its streams.
func (p *play) step(st Step) error {
	switch st.Kind {
	case StepStart:
		return p.start(*st.Start)
	case StepHangup:
		return p.hangup()
	case StepWait:
		_, err := within(p.ctx, st.Duration, nil)
		return err
	case StepWaitForEnd:
		return p.waitForEnd(st.Duration)
	case StepDuplicateWebhooks:
		p.e.SetDuplicateWebhooks(st.On)
		return nil
	}
	sr, err := p.stepStream(st.Stream)
	if err != nil {
		return err
	}
	return p.streamStep(sr.stream, st)
}

// hangup is the caller hanging up (through the BXML run, with bxml:).
func (p *play) hangup() error {
	if p.call.Ended() {
		return nil
	}
	if p.bxmlRun == nil {
		return p.call.Hangup(p.ctx)
	}
	if err := p.bxmlRun.Hangup(p.ctx); err != nil && !errors.Is(err, emulator.ErrCallEnded) {
		return err
	}
	return nil
}

// streamStep carries out a step on stream s. A step on a stream that has
// already ended, or that ends under it, does nothing: the expectations
// judge how it ended.
func (p *play) streamStep(s *emulator.Stream, st Step) error {
	if s.Result() != nil {
		return nil
	}
	var err error
	switch st.Kind {
	case StepMedia:
		err = s.Media(p.ctx, st.Duration)
	case StepSilence:
		err = s.Silence(p.ctx, st.Duration)
	case StepSay:
		err = s.Say(p.ctx, st.AudioSource)
	case StepStopStream:
		err = p.stop(s, st)
	case StepAbort:
		var fault emulator.Fault
		if fault, err = emulator.ParseFault(st.Fault); err == nil {
			_, err = s.Inject(p.ctx, fault)
		}
	case StepError:
		_, err = s.Inject(p.ctx, emulator.FaultError)
	default:
		return fmt.Errorf("unknown step kind %q", st.Kind)
	}
	if err != nil && s.Result() != nil && p.ctx.Err() == nil {
		return nil // the stream ended under the step: that is for the expectations
	}
	return err
}

// defaultStopWait bounds <StopStream wait="true"> when the file gives no
// timeout (Bandwidth documents none).
const defaultStopWait = 10 * time.Second

// stop is stopStream; with wait, as <StopStream wait="true">, it waits
// for the app to close the stream, then stops it if the app has not.
func (p *play) stop(s *emulator.Stream, st Step) error {
	if st.Wait {
		timeout := st.Timeout
		if timeout <= 0 {
			timeout = defaultStopWait
		}
		if closed, err := within(p.ctx, timeout, s.Done()); closed || err != nil {
			return err
		}
	}
	_, err := s.Stop(p.ctx)
	return err
}

// within waits up to d for done to close, less when ctx ends first (then
// err is ctx's); closed says done closed. A nil done waits out d.
func within(ctx context.Context, d time.Duration, done <-chan struct{}) (closed bool, err error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true, nil
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// results records the final result of every stream (and, with bxml:, the
// streams the BXML started).
func (p *play) results() {
	if p.bxmlRun != nil {
		p.collect()
	}
	for _, sr := range p.order {
		sr.Result = sr.stream.Result()
	}
}

// bxmlFault reports whether the call's BXML ended on the app's fault:
// its answer endpoint answered with an error instead of BXML, or the
// document was not BXML. A fetch that got no answer at all is not
// counted: the app may not be running, or the URL may be wrong.
func (p *play) bxmlFault() bool {
	if p.bxmlRun == nil {
		return false
	}
	var syntax *bxml.SyntaxError
	var fetch *bxml.FetchError
	berr := p.bxmlRun.Err()
	return errors.As(berr, &syntax) || errors.As(berr, &fetch) && fetch.Status != 0
}

// rootCause puts what broke the call's BXML, when it did, before the
// error of the step that found the call over.
func (p *play) rootCause(err error) string {
	if p.bxmlRun != nil {
		if berr := p.bxmlRun.Err(); berr != nil && !errors.Is(berr, emulator.ErrCallEnded) && !errors.Is(err, berr) {
			return fmt.Sprintf("the call's BXML failed: %v; then %v", berr, err)
		}
	}
	return err.Error()
}
