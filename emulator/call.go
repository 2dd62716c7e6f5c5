package emulator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// Default call identity, when CallSpec leaves it empty.
const (
	DefaultFrom = "+15551112222"
	DefaultTo   = "+15553334444"
)

// MaxTracks is Bandwidth's limit of concurrent track streams per call;
// tracks="both" counts as two.
const MaxTracks = 4

// CallSpec describes a call. The zero value is an inbound call between the
// default numbers with no disconnect webhook.
type CallSpec struct {
	From      string
	To        string
	Direction string // inbound (default) or outbound
	Tag       string // absent from webhooks when empty

	// DisconnectURL receives the disconnect webhook when the call ends.
	DisconnectURL    string
	DisconnectMethod string // POST (default) or GET
	// Username and Password authenticate the disconnect webhook.
	Username string
	Password string
	// CallbackTimeout bounds each webhook request (Bandwidth: 1–25 s).
	// Zero takes Options.Timeouts.Callback.
	CallbackTimeout time.Duration

	// BaseURL is the URL that served the call's BXML; relative
	// streamEventUrls resolve against it.
	BaseURL string

	// ApplicationID overrides Options.ApplicationID for this call (as the
	// Voice API's create call names one).
	ApplicationID string
}

// Call is one emulated phone call that streams are started on.
type Call struct {
	ID            string
	AccountID     string
	ApplicationID string
	From, To      string
	Direction     string
	Tag           string
	StartTime     time.Time
	AnswerTime    time.Time

	e        *Emulator
	spec     CallSpec
	webhooks *webhookSender

	mu      sync.Mutex
	streams []*Stream
	ended   bool
	endTime time.Time
	// release is closed when the call ends, freeing connections held
	// half-open by a silent drop.
	release chan struct{}
	// finished is closed once the call's end has run to completion: its
	// streams stopped and every webhook, disconnect last, delivered.
	finished chan struct{}
	// outbound is what the call plays to the caller now (SpeakSentence,
	// PlayAudio), heard on every stream's outbound track.
	outbound atomic.Pointer[playback]
}

// playback is audio played to the caller between two instants.
type playback struct {
	audio media.Audio
	from  time.Time
	until time.Time
}

// PlayOutbound plays audio to the caller for d, as <SpeakSentence> and
// <PlayAudio> do: meanwhile the outbound track of every stream on the call
// carries it instead of the stream's own outbound audio. It returns at once.
func (c *Call) PlayOutbound(a media.Audio, d time.Duration) {
	now := time.Now()
	c.outbound.Store(&playback{audio: a, from: now, until: now.Add(d)})
}

// playing returns the audio played to the caller at t and its frame index.
func (c *Call) playing(t time.Time) (media.Audio, int, bool) {
	pb := c.outbound.Load()
	if pb == nil || !t.Before(pb.until) {
		return nil, 0, false
	}
	return pb.audio, int(t.Sub(pb.from) / media.FrameDuration), true
}

// ErrCallEnded is returned when a stream is started on a call that ended.
var ErrCallEnded = errors.New("emulator: the call has ended")

// ErrNoStream is returned by StopStream for a name with no live stream.
// (In BXML an unknown name does nothing; callers there may ignore it.)
var ErrNoStream = errors.New("emulator: no live stream with that name")

// NewCall starts an answered call with Bandwidth-shaped identity.
func (e *Emulator) NewCall(spec *CallSpec) (*Call, error) {
	var s CallSpec
	if spec != nil {
		s = *spec
	}
	if s.From == "" {
		s.From = DefaultFrom
	}
	if s.To == "" {
		s.To = DefaultTo
	}
	switch s.Direction {
	case "":
		s.Direction = protocol.DirectionInbound
	case protocol.DirectionInbound, protocol.DirectionOutbound:
	default:
		return nil, fmt.Errorf("call direction %q: want inbound or outbound", s.Direction)
	}
	if err := checkMethod("disconnect method", s.DisconnectMethod); err != nil {
		return nil, err
	}
	now := time.Now()
	c := &Call{
		ID: protocol.NewCallID(), AccountID: e.opts.AccountID, ApplicationID: firstNonEmpty(s.ApplicationID, e.opts.ApplicationID),
		From: s.From, To: s.To, Direction: s.Direction, Tag: s.Tag,
		StartTime: now, AnswerTime: now,
		e: e, spec: s, release: make(chan struct{}), finished: make(chan struct{}),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	c.webhooks = newWebhookSender(e)
	e.calls = append(e.calls, c)
	e.journal.Add(Entry{Kind: KindCall, By: ByEmulator, CallID: c.ID,
		Message: fmt.Sprintf("call %s from %s to %s (%s) answered", c.ID, c.From, c.To, c.Direction)})
	return c, nil
}

// Emulator is the emulator the call belongs to.
func (c *Call) Emulator() *Emulator { return c.e }

// URL is the call's callUrl.
func (c *Call) URL() string { return protocol.CallURL(c.AccountID, c.ID) }

// Streams returns every stream started on the call, live or ended.
func (c *Call) Streams() []*Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Stream(nil), c.streams...)
}

// Stream returns the live stream with the given name, or nil.
func (c *Call) Stream(name string) *Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.liveLocked(name)
}

func (c *Call) liveLocked(name string) *Stream {
	for _, s := range c.streams {
		if s.Name == name && !s.isEnded() {
			return s
		}
	}
	return nil
}

// Done is closed once the call has ended and its streams have stopped
// (webhooks may still be on their way).
func (c *Call) Done() <-chan struct{} { return c.release }

// Ended reports whether the call has ended.
func (c *Call) Ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// StopStream stops the named stream as <StopStream> does and returns how it
// ended once its mediaStreamStopped webhook has been answered.
func (c *Call) StopStream(ctx context.Context, name string) (*StreamResult, error) {
	s := c.Stream(name)
	if s == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoStream, name)
	}
	return s.Stop(ctx)
}

// Hangup ends the call: every live stream stops (stop, close, Stopped with
// cause closed), then the disconnect webhook goes out with cause hangup.
// It returns when those webhooks have been answered.
func (c *Call) Hangup(ctx context.Context) error {
	return c.end(ctx, protocol.DisconnectHangup, "")
}

// End ends the call like Hangup, with another disconnect cause (such as
// invalid-bxml) and an optional errorMessage.
func (c *Call) End(ctx context.Context, cause, errorMessage string) error {
	return c.end(ctx, cause, errorMessage)
}

func (c *Call) end(ctx context.Context, cause, errorMessage string) error {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return ErrCallEnded
	}
	c.ended = true
	streams := append([]*Stream(nil), c.streams...)
	c.mu.Unlock()

	// The end runs to completion on its own goroutine even if ctx ends
	// first: a call is never left half ended (streams stopped, no
	// disconnect). ctx only bounds how long the caller waits for it.
	done := make(chan struct{})
	c.e.spawn(func() {
		defer close(done)
		c.finish(streams, cause, errorMessage)
	})
	if err := ctx.Err(); err != nil {
		// A caller that had stopped waiting before it asked gets its
		// context's error whatever the race with done (select would pick
		// either at random).
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish stops the streams, marks the call ended and delivers disconnect.
func (c *Call) finish(streams []*Stream, cause, errorMessage string) {
	for _, s := range streams {
		s.command(command{kind: cmdEnd, ending: EndHangup})
	}
	for _, s := range streams {
		<-s.done // each stream's ending is bounded by its timeouts
	}
	c.mu.Lock()
	c.endTime = time.Now()
	c.mu.Unlock()
	close(c.release)
	c.e.journal.Add(Entry{Kind: KindCall, By: ByEmulator, CallID: c.ID, Cause: cause, Message: "call ended: " + cause})

	ev := c.event(protocol.EventDisconnect)
	ev.Cause, ev.ErrorMessage = cause, errorMessage
	ev.EndTime = protocol.TimePtr(c.endTime)
	<-c.webhooks.send(c.disconnectCallback(), ev, entryIDs{call: c.ID})
	close(c.finished)
}

// abort ends the call at once without webhooks, for Emulator.Close.
func (c *Call) abort() {
	c.mu.Lock()
	wasEnded := c.ended
	c.ended = true
	streams := append([]*Stream(nil), c.streams...)
	c.mu.Unlock()
	for _, s := range streams {
		s.cancel()
	}
	if !wasEnded { // otherwise finish, running, closes both
		close(c.release)
		close(c.finished)
	}
}

func (c *Call) disconnectCallback() Callback {
	return Callback{URL: c.spec.DisconnectURL, Method: c.spec.DisconnectMethod,
		Username: c.spec.Username, Password: c.spec.Password, Timeout: c.callbackTimeout()}
}

func (c *Call) callbackTimeout() time.Duration {
	if c.spec.CallbackTimeout > 0 {
		return c.spec.CallbackTimeout
	}
	return c.e.opts.Timeouts.Callback
}

// event returns a webhook payload with the call's common fields.
func (c *Call) event(eventType string) *protocol.Event {
	return &protocol.Event{
		AccountID: c.AccountID, AnswerTime: protocol.TimePtr(c.AnswerTime), ApplicationID: c.ApplicationID,
		CallID: c.ID, CallURL: c.URL(), Direction: c.Direction, EventTime: protocol.NewTime(time.Now()),
		EventType: eventType, From: c.From, StartTime: protocol.NewTime(c.StartTime), Tag: c.Tag, To: c.To,
	}
}

// admit registers a new stream, or says why Bandwidth would reject it.
func (c *Call) admit(s *Stream) (Ending, string, *Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return "", "", nil, ErrCallEnded
	}
	if orig := c.liveLocked(s.Name); orig != nil {
		return EndDuplicate, s.Name, orig, nil
	}
	live := 0
	for _, o := range c.streams {
		if !o.isEnded() {
			live += len(o.tracks)
		}
	}
	if live+len(s.tracks) > MaxTracks {
		return EndTrackLimit, fmt.Sprint(live + len(s.tracks)), nil, nil
	}
	c.streams = append(c.streams, s)
	return "", "", nil, nil
}
