package bxml

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// exec executes one verb; leave says the document is left, for o.
func (r *Run) exec(v Verb, base string) (o outcome, leave bool) {
	var err error
	switch v := v.(type) {
	case *StartStream:
		err = r.step(func(ctx context.Context) error { return r.startStream(ctx, v, base) })
	case *StopStream:
		err = r.stopStream(v)
	case *Pause:
		err = r.step(func(ctx context.Context) error { return wait(ctx, v.Duration) })
	case *SpeakSentence:
		d := time.Duration(len(strings.Fields(v.Text))) * r.set.speechRate
		err = r.play(speechTone, d)
	case *PlayAudio:
		err = r.step(func(ctx context.Context) error {
			a, d, why, err := r.loadAudio(ctx, v, base)
			if err != nil {
				return err
			}
			if why != "" {
				r.journalf(v.VerbName(), "%s", why)
			}
			r.Call.PlayOutbound(a, d)
			return wait(ctx, d)
		})
		if err != nil {
			r.Call.PlayOutbound(media.Silence(), 0)
		}
	case *Ring:
		err = r.play(ringTone, v.Duration)
	case *Redirect:
		if v.Tag != "" {
			r.tag = v.Tag
		}
		targets := []target{{url: v.RedirectURL, method: v.RedirectMethod, username: v.Username, password: v.Password, eventType: EventRedirect}}
		if v.FallbackURL != "" {
			targets = append(targets, target{url: v.FallbackURL, method: v.FallbackMethod,
				username: v.FallbackUsername, password: v.FallbackPassword, eventType: EventRedirect})
		}
		for i := range targets {
			u, rerr := weburl.Resolve(base, targets[i].url)
			if rerr != nil {
				return outcome{end: true, cause: protocol.DisconnectInvalidBXML, msg: rerr.Error(),
					err: &SyntaxError{Line: v.Line, Msg: "<Redirect>: " + rerr.Error()}}, true
			}
			targets[i].url = u
		}
		return r.fetchOutcome(base, targets...), true
	case *Hangup:
		return hangupOutcome(), true
	}
	if err != nil {
		return r.failed(err, v, base), true
	}
	return outcome{}, false
}

// failed says what follows a verb that returned an error.
func (r *Run) failed(err error, v Verb, base string) outcome {
	var se *emulator.SpecError
	switch {
	case errors.Is(err, errInterrupted) || r.runCtx.Err() != nil:
		return r.stopped(err, base)
	case errors.As(err, &se):
		syn := &SyntaxError{Line: v.Pos(), Msg: se.Error()}
		return outcome{end: true, cause: protocol.DisconnectInvalidBXML, msg: syn.Error(), err: syn}
	case errors.Is(err, emulator.ErrCallEnded), errors.Is(err, emulator.ErrClosed):
		return outcome{gone: true, err: ErrCallEnded}
	}
	return outcome{end: true, cause: "error", msg: err.Error(), err: err}
}

// startStream starts the stream and goes on at once: StartStream does not
// block BXML. A rejected stream (duplicate name, track limit) is not an
// error of the BXML; the emulator has sent mediaStreamRejected.
func (r *Run) startStream(ctx context.Context, v *StartStream, base string) error {
	if old := r.stopping[v.Name]; old != nil {
		// A stream keeps its name until it has finished closing; BXML
		// that stops a stream and starts one of the same name expects
		// the name free, so wait for the old one (usually milliseconds).
		delete(r.stopping, v.Name)
		select {
		case <-old.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	spec := emulator.StreamSpec{
		Name: v.Name, Mode: v.Mode, Tracks: v.Tracks, Destination: v.Destination,
		DestinationUsername: v.DestinationUsername, DestinationPassword: v.DestinationPassword,
		StreamEventMethod: v.StreamEventMethod, Username: v.Username, Password: v.Password,
		Params: v.Params, Audio: r.set.audio, OutboundAudio: media.Silence(), Pace: r.set.pace,
	}
	if v.StreamEventURL != "" {
		// Resolved here rather than against CallSpec.BaseURL: after a
		// Redirect the BXML comes from another URL.
		u, err := weburl.Resolve(base, v.StreamEventURL)
		if err != nil {
			return &emulator.SpecError{Field: "streamEventUrl", Reason: err.Error()}
		}
		spec.StreamEventURL = u
	}
	_, err := r.Call.StartStream(ctx, spec)
	var rej *emulator.RejectedError
	if errors.As(err, &rej) {
		return nil
	}
	return err
}

// stopStream stops the named stream without waiting for it to finish (a
// later StartStream of the same name waits for it), or with wait blocks
// until the stream ends (the app closes it) or, after
// StopStreamWaitTimeout, stops it. An unknown name does nothing.
func (r *Run) stopStream(v *StopStream) error {
	s := r.Call.Stream(v.Name)
	if s == nil {
		r.journalf(v.VerbName(), "no live stream named %q: nothing to stop", v.Name)
		return nil
	}
	if !v.Wait {
		// Stream.Stop sends the stop command, then waits for the result;
		// with a context already cancelled it returns at once and the
		// stream ends on its own goroutine, as on Bandwidth, where the
		// verb does not wait for the app's webhook answer.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _ = s.Stop(ctx)
		r.stopping[v.Name] = s
		return nil
	}
	return r.step(func(ctx context.Context) error {
		t := time.NewTimer(r.set.stopWait)
		defer t.Stop()
		select {
		case <-s.Done():
			res := s.Result()
			r.journalf(v.VerbName(), "stream %q ended (%s): the wait is over", v.Name, res.Ending)
			return nil
		case <-t.C:
			r.journalf(v.VerbName(), "stream %q still open after the StopStream wait timeout of %s: stopping it", v.Name, r.set.stopWait)
			_, err := s.Stop(ctx)
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// play plays a to the caller for d (heard on outbound tracks) and waits;
// an interruption cuts the audio.
func (r *Run) play(a media.Audio, d time.Duration) error {
	r.Call.PlayOutbound(a, d)
	err := r.step(func(ctx context.Context) error { return wait(ctx, d) })
	if err != nil {
		r.Call.PlayOutbound(media.Silence(), 0)
	}
	return err
}

func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
