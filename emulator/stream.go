package emulator

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Pace says how media frames are timed.
type Pace string

const (
	// Realtime sends a 20 ms frame every 20 ms (divided by Speed), on
	// absolute deadlines, as Bandwidth does on a live call.
	Realtime Pace = "realtime"
	// Fast sends frames as fast as the app reads them, and only the media
	// asked for with Stream.Media: a second of audio in milliseconds.
	Fast Pace = "fast"
)

// Limits on StreamParams, from Bandwidth's StartStream reference.
const (
	MaxStreamParams     = 12
	MaxParamNameLength  = 256
	MaxParamValueLength = 2048
)

// StreamSpec holds the <StartStream> attributes, plus the audio and pacing
// the emulator uses for the call's side of the stream.
type StreamSpec struct {
	Name        string        // default: the stream id
	Mode        protocol.Mode // unidirectional (default) or bidirectional
	Tracks      string        // inbound (default), outbound or both
	Destination string        // ws:// or wss:// URL, may carry a query string

	// DestinationUsername and DestinationPassword go in the handshake as
	// Authorization: Basic.
	DestinationUsername string
	DestinationPassword string

	// StreamEventURL receives mediaStreamStarted/Rejected/Stopped; it may
	// be relative to CallSpec.BaseURL. Empty: no stream webhooks.
	StreamEventURL    string
	StreamEventMethod string // POST (default) or GET
	// Username and Password authenticate the stream webhooks.
	Username string
	Password string

	Params []protocol.StreamParam // up to 12 <StreamParam>

	// Audio is the inbound track's audio (and the outbound's when
	// OutboundAudio is nil). Default: silence.
	Audio         media.Audio
	OutboundAudio media.Audio

	Pace  Pace    // Realtime (default) or Fast
	Speed float64 // realtime speed factor; 0 or 1 is real time

	// StartExtra adds fields to the start message, to check that an app
	// ignores fields it does not know (Bandwidth may add some any day).
	StartExtra map[string]any

	// Record keeps what the caller heard (the app's playback, silence where
	// nothing played) and said, frame by frame, in the result's Recording;
	// Options.RecordDir records every stream and writes WAV files too.
	Record bool
}

// Stream is one media stream of a call. Its connection is owned by one
// goroutine; the methods here talk to it and are safe for concurrent use.
type Stream struct {
	ID   string
	Name string
	Call *Call
	// StartTime is when the StartStream ran (mediaStream.startTime).
	StartTime time.Time

	spec        StreamSpec
	eventURL    string
	tracks      []string
	destination string // for webhooks, as given

	cmds chan command
	// wake holds a token once a command, the reader's ending or an abort
	// is waiting: the pacing loop sleeps on it and its timer alone.
	wake  chan struct{}
	ended chan struct{} // closed when the ending is decided
	done  chan struct{} // closed when the result, webhook included, is final
	// connected is closed when the handshake succeeded.
	connected chan struct{}

	// abortCtx is cancelled by Emulator.Close to cut the stream at once.
	abortCtx context.Context
	cancel   context.CancelFunc

	// result is the final result, set once before done is closed (a
	// pointer: a live stream does not carry a second result's histogram).
	result *StreamResult
	// frame is the media frame index reached, for Progress.
	frame atomic.Int64
}

// framePeriod is the time between two frames: 20 ms, divided by Speed.
func (spec *StreamSpec) framePeriod() time.Duration {
	if spec.Speed > 0 {
		return time.Duration(float64(media.FrameDuration) / spec.Speed)
	}
	return media.FrameDuration
}

// StreamResult says how a stream went and how it ended.
type StreamResult struct {
	Ending Ending `json:"ending"`
	// By is who ended it: ByEmulator, ByApp or ByNetwork.
	By Actor `json:"by"`
	// Event, Cause and ErrorMessage are what the webhook carried (also
	// when no streamEventUrl was set and nothing was sent).
	Event        string `json:"event"`
	Cause        string `json:"cause"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	// AppFault is true when the app caused the ending (Terminations).
	AppFault bool `json:"appFault"`
	// Aborted is true when Emulator.Close cut the stream; no webhook went out.
	Aborted bool `json:"aborted,omitempty"`
	// Original is the live stream a duplicate collided with.
	Original *protocol.MediaStream `json:"originalMediaStream,omitempty"`

	Connected       bool `json:"connected"`
	HandshakeStatus int  `json:"handshakeStatus,omitempty"`
	// CloseSent and CloseReceived are the close codes exchanged (0: none).
	CloseSent     int    `json:"closeSent,omitempty"`
	CloseReceived int    `json:"closeReceived,omitempty"`
	CloseReason   string `json:"closeReason,omitempty"`
	// ClosedBy is who ended the connection: the emulator when it stopped
	// the stream (even if the app, having read stop, sent its close frame
	// first), otherwise whoever sent the first close frame or cut it.
	ClosedBy Actor `json:"closedBy,omitempty"`
	// AppClosedFirst is true when, after the emulator's stop message, the
	// app's close frame came before the emulator's own. It is a correct
	// way to finish and does not count against the app.
	AppClosedFirst bool `json:"appClosedFirst,omitempty"`
	// CloseHandshake is true when both close frames were exchanged;
	// otherwise CloseProblem says what went wrong with the emulator's close
	// (no answer in time, the connection dropped instead).
	CloseHandshake bool   `json:"closeHandshake"`
	CloseProblem   string `json:"closeProblem,omitempty"`

	// Messages is the number of media messages sent; FramesByTrack splits them.
	Messages      int            `json:"messages"`
	FramesByTrack map[string]int `json:"framesByTrack,omitempty"`
	// Skipped counts frames dropped because realtime pacing fell behind.
	Skipped int `json:"skipped,omitempty"`
	// MediaDuration is the media time streamed (mediaStream.duration).
	MediaDuration time.Duration `json:"mediaDurationNs"`
	// Lateness is how late each realtime frame went out after its
	// deadline; LatenessP50 and LatenessP99 summarise it.
	Lateness    Histogram     `json:"-"`
	LatenessP50 time.Duration `json:"latenessP50Ns,omitempty"`
	LatenessP99 time.Duration `json:"latenessP99Ns,omitempty"`

	// What the app sent back.
	PlayAudio      int `json:"playAudio,omitempty"`
	PlayAudioBytes int `json:"playAudioBytes,omitempty"`
	Clears         int `json:"clears,omitempty"`
	Violations     int `json:"violations,omitempty"`
	// Undocumented counts messages whose effect Bandwidth documents
	// nowhere (KindUndocumented); they are not violations.
	Undocumented   int           `json:"undocumented,omitempty"`
	FirstPlayAudio time.Duration `json:"firstPlayAudioNs,omitempty"`
	// Playback is what the app played to the caller (bidirectional).
	Playback PlaybackStats `json:"playback,omitzero"`
	// Turns are what the caller said (Stream.Say) and how the app answered.
	Turns []Turn `json:"turns,omitempty"`
	// Recording is what the caller heard and said, when recorded.
	Recording *Recording `json:"recording,omitempty"`

	Deliveries []*Delivery `json:"deliveries,omitempty"`
	EndTime    time.Time   `json:"endTime"`
}

// Failed reports whether the app is to blame for how the stream went: an
// app-caused ending, a protocol violation, or a webhook not answered 2xx
// (one cut off by an interrupted run does not count).
func (r *StreamResult) Failed() bool {
	if r.AppFault || r.Violations > 0 {
		return true
	}
	for _, d := range r.Deliveries {
		if s := d.Status(); !d.Interrupted() && (s < 200 || s > 299) {
			return true
		}
	}
	return false
}

// RejectedError is returned by StartStream when Bandwidth would reject the
// stream (duplicate name, track limit); mediaStreamRejected has been sent.
type RejectedError struct {
	Stream *Stream
	Result *StreamResult
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("stream %q rejected: %s: %s", e.Stream.Name, e.Result.Cause, e.Result.ErrorMessage)
}

// SpecError is a StartStream spec Bandwidth would refuse as invalid BXML.
type SpecError struct{ Field, Reason string }

func (e *SpecError) Error() string { return fmt.Sprintf("StartStream %s: %s", e.Field, e.Reason) }

// StartStream starts a stream on the call as <StartStream> does: it returns
// at once (StartStream does not block BXML) while the stream connects and
// streams on its own goroutine. A duplicate name or a fifth track returns a
// *RejectedError after mediaStreamRejected was answered; an invalid spec a
// *SpecError.
func (c *Call) StartStream(ctx context.Context, spec StreamSpec) (*Stream, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	eventURL, err := resolveEventURL(spec.StreamEventURL, c.spec.BaseURL)
	if err != nil {
		return nil, &SpecError{Field: "streamEventUrl", Reason: err.Error()}
	}
	s := &Stream{
		ID: protocol.NewStreamID(), Call: c, StartTime: time.Now(),
		spec: spec, eventURL: eventURL, destination: spec.Destination,
		cmds: make(chan command, 4), wake: make(chan struct{}, 1), ended: make(chan struct{}), done: make(chan struct{}),
		connected: make(chan struct{}),
	}
	s.abortCtx, s.cancel = context.WithCancel(context.Background())
	s.Name = spec.Name
	if s.Name == "" {
		s.Name = s.ID
	}
	s.tracks = trackNames(spec.Tracks)
	if s.spec.Audio == nil {
		s.spec.Audio = media.Silence()
	}
	if s.spec.OutboundAudio == nil {
		s.spec.OutboundAudio = s.spec.Audio
	}
	if s.spec.Pace == "" {
		s.spec.Pace = Realtime
	}

	ending, detail, orig, err := c.admit(s)
	if err != nil {
		return nil, err
	}
	if ending != "" {
		res := s.reject(ctx, ending, detail, orig)
		return s, &RejectedError{Stream: s, Result: res}
	}
	c.e.mu.Lock()
	closed := c.e.closed
	if !closed {
		c.e.wg.Add(1)
	}
	c.e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	go func() {
		defer c.e.wg.Done()
		s.run()
	}()
	return s, nil
}

// Validate reports the first attribute Bandwidth would refuse, as a *SpecError.
func (spec *StreamSpec) Validate() error {
	if spec.Destination == "" {
		return &SpecError{"destination", "is required"}
	}
	u, err := url.Parse(spec.Destination)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return &SpecError{"destination", fmt.Sprintf("%q is not a ws:// or wss:// URL", weburl.Redact(spec.Destination))}
	}
	switch spec.Mode {
	case "", protocol.ModeUnidirectional, protocol.ModeBidirectional:
	default:
		return &SpecError{"mode", fmt.Sprintf("%q: want unidirectional or bidirectional", spec.Mode)}
	}
	switch spec.Tracks {
	case "", protocol.TrackInbound, protocol.TrackOutbound, protocol.TracksBoth:
	default:
		return &SpecError{"tracks", fmt.Sprintf("%q: want inbound, outbound or both", spec.Tracks)}
	}
	if err := checkMethod("streamEventMethod", spec.StreamEventMethod); err != nil {
		return err
	}
	switch spec.Pace {
	case "", Realtime, Fast:
	default:
		return &SpecError{"pace", fmt.Sprintf("%q: want realtime or fast", spec.Pace)}
	}
	if spec.Speed < 0 {
		return &SpecError{"speed", "must not be negative"}
	}
	if len(spec.Params) > MaxStreamParams {
		return &SpecError{"StreamParam", fmt.Sprintf("%d parameters: at most %d are allowed", len(spec.Params), MaxStreamParams)}
	}
	seen := map[string]bool{}
	for _, p := range spec.Params {
		switch {
		case p.Name == "":
			return &SpecError{"StreamParam", "a parameter has no name"}
		case len(p.Name) > MaxParamNameLength:
			return &SpecError{"StreamParam", fmt.Sprintf("name %.20q… is longer than %d characters", p.Name, MaxParamNameLength)}
		case len(p.Value) > MaxParamValueLength:
			return &SpecError{"StreamParam", fmt.Sprintf("value of %q is longer than %d characters", p.Name, MaxParamValueLength)}
		case seen[p.Name]:
			return &SpecError{"StreamParam", fmt.Sprintf("name %q is given twice", p.Name)}
		}
		seen[p.Name] = true
	}
	return nil
}

func checkMethod(field, m string) error {
	switch strings.ToUpper(m) {
	case "", "POST", "GET":
		return nil
	}
	return &SpecError{field, fmt.Sprintf("%q: want POST or GET", m)}
}

func trackNames(tracks string) []string {
	switch tracks {
	case protocol.TrackOutbound:
		return []string{protocol.TrackOutbound}
	case protocol.TracksBoth:
		return []string{protocol.TrackInbound, protocol.TrackOutbound}
	}
	return []string{protocol.TrackInbound}
}

// Spec returns the stream's spec, defaults filled in.
func (s *Stream) Spec() StreamSpec { return s.spec }

// Tracks are the stream's track names.
func (s *Stream) Tracks() []string { return append([]string(nil), s.tracks...) }

// Progress is the media time streamed so far.
func (s *Stream) Progress() time.Duration {
	return time.Duration(s.frame.Load()) * media.FrameDuration
}

// Connected blocks until the handshake succeeded (nil) or the stream ended
// without connecting (an error saying how).
func (s *Stream) Connected(ctx context.Context) error {
	select {
	case <-s.connected:
		return nil
	case <-s.ended:
		select {
		case <-s.connected:
			return nil
		default:
		}
		<-s.done
		return fmt.Errorf("stream %q did not connect: %s", s.Name, s.result.ErrorMessage)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Media waits until d more media has been streamed. In Fast pace it is what
// lets the frames go; in Realtime they flow anyway and it waits for them.
// It fails if the stream ends first.
func (s *Stream) Media(ctx context.Context, d time.Duration) error {
	return s.media(ctx, d, false)
}

// Silence is Media with the caller silent: the frames carry µ-law silence
// and the audio source resumes where it paused afterwards.
func (s *Stream) Silence(ctx context.Context, d time.Duration) error {
	return s.media(ctx, d, true)
}

func (s *Stream) media(ctx context.Context, d time.Duration, silent bool) error {
	return s.await(ctx, command{kind: cmdMedia, frames: framesIn(d), silent: silent})
}

func framesIn(d time.Duration) int64 {
	return int64((d + media.FrameDuration - 1) / media.FrameDuration)
}

// EndAt streams until the stream's media reaches at (counted from its
// first frame), then ends it how (EndStopStream, EndHangup, or a Fault)
// before another frame goes out: exactly that much media, also in real
// time, where frames flow between two calls. In Fast pace it lets the
// frames go. It returns the stream's result; the call is not hung up.
func (s *Stream) EndAt(ctx context.Context, at time.Duration, how Ending) (*StreamResult, error) {
	if t, ok := TerminationOf(how); !ok || !(how == EndStopStream || how == EndHangup || t.Injectable) {
		return nil, fmt.Errorf("emulator: %q is not an ending the emulator can bring about (want stop, hangup or a fault)", how)
	}
	s.command(command{kind: cmdEndAt, frames: framesIn(at), ending: how})
	return s.Wait(ctx)
}

// await hands c to the stream's goroutine and waits until it is carried
// out, the stream ends, or ctx does.
func (s *Stream) await(ctx context.Context, c command) error {
	c.reached = make(chan bool, 1)
	if !s.command(c) {
		return s.endedError()
	}
	select {
	case ok := <-c.reached:
		if !ok {
			return s.endedError()
		}
		return nil
	case <-s.done:
		return s.endedError()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send sends a text message of the caller's own to the app on the live
// stream, between two media frames: say an eventType Bandwidth may add one
// day, to check that the app ignores it and keeps streaming. It is
// journaled like every frame the emulator sends, and returns once written.
func (s *Stream) Send(ctx context.Context, message []byte) error {
	return s.await(ctx, command{kind: cmdSend, message: message})
}

func (s *Stream) endedError() error {
	<-s.done
	return fmt.Errorf("stream %q ended (%s): %s", s.Name, s.result.Ending, firstNonEmpty(s.result.ErrorMessage, s.result.Cause))
}

// Stop stops the stream as <StopStream> does and returns its result.
func (s *Stream) Stop(ctx context.Context) (*StreamResult, error) {
	return s.endWith(ctx, EndStopStream)
}

// Inject ends the stream with a fault (FaultReset, FaultDrop, FaultError)
// and returns the result once the webhook has been answered.
func (s *Stream) Inject(ctx context.Context, f Fault) (*StreamResult, error) {
	if t, ok := TerminationOf(Ending(f)); !ok || !t.Injectable {
		return nil, fmt.Errorf("emulator: %q is not a fault the emulator can inject", f)
	}
	return s.endWith(ctx, Ending(f))
}

// Finish ends a live stream the way a call ends it — EndStopStream,
// EndHangup or a Fault — then hangs the call up (its disconnect webhook)
// and returns the stream's result. On a stream that already ended it only
// hangs up.
func (s *Stream) Finish(ctx context.Context, how Ending) (*StreamResult, error) {
	var err error
	switch {
	case how == EndHangup || s.isEnded():
	case how == EndStopStream:
		_, err = s.Stop(ctx)
	default:
		_, err = s.Inject(ctx, Fault(how))
	}
	if err == nil {
		err = s.Call.Hangup(ctx)
	}
	if err != nil {
		return nil, err
	}
	return s.Wait(ctx)
}

func (s *Stream) endWith(ctx context.Context, e Ending) (*StreamResult, error) {
	s.command(command{kind: cmdEnd, ending: e})
	return s.Wait(ctx)
}

// Wait blocks until the stream has ended and its webhook was answered.
func (s *Stream) Wait(ctx context.Context) (*StreamResult, error) {
	select {
	case <-s.done:
		r := *s.result
		return &r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Done is closed when the stream's result is final.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Result returns the final result, or nil while the stream is live.
func (s *Stream) Result() *StreamResult {
	select {
	case <-s.done:
		r := *s.result
		return &r
	default:
		return nil
	}
}

func (s *Stream) isEnded() bool {
	select {
	case <-s.ended:
		return true
	default:
		return false
	}
}

// command hands c to the stream's goroutine; false if the stream has ended.
func (s *Stream) command(c command) bool {
	select {
	case s.cmds <- c:
		s.poke()
		return true
	case <-s.ended:
		return false
	}
}

// poke leaves the pacing loop a token to look at what came in.
func (s *Stream) poke() {
	select {
	case s.wake <- struct{}{}:
	default: // a token is already waiting
	}
}

type cmdKind int

const (
	cmdMedia cmdKind = iota
	cmdEndAt
	cmdEnd
	cmdSend
)

type command struct {
	kind    cmdKind
	ending  Ending
	frames  int64
	silent  bool
	message []byte // cmdSend's
	// say is the caller's speech a cmdMedia streams instead of the spec's
	// audio (Stream.Say), speech where it is loud, in its frames.
	say     media.Audio
	speech  []media.Span
	reached chan bool
}

// mediaStream is the webhook's description of the stream.
func (s *Stream) mediaStream() *protocol.MediaStream {
	return &protocol.MediaStream{Destination: s.destination, ID: s.ID, Name: s.Name,
		StartTime: protocol.NewTime(s.StartTime), Tracks: s.Tracks(), Type: protocol.StreamTypeWebSocket}
}

func (s *Stream) eventCallback() Callback {
	return Callback{URL: s.eventURL, Method: s.spec.StreamEventMethod, Username: s.spec.Username,
		Password: s.spec.Password, Timeout: s.Call.callbackTimeout()}
}

func (s *Stream) ids() entryIDs { return entryIDs{call: s.Call.ID, stream: s.ID, name: s.Name} }

// reject sends mediaStreamRejected for a stream that was never admitted.
func (s *Stream) reject(ctx context.Context, e Ending, detail string, orig *Stream) *StreamResult {
	event, cause, msg := s.Call.e.opts.classify(e, detail)
	ev := s.Call.event(event)
	ev.Cause, ev.ErrorMessage, ev.MediaStream = cause, msg, s.mediaStream()
	r := StreamResult{Ending: e, By: ByEmulator, Event: event, Cause: cause, ErrorMessage: msg, EndTime: time.Now()}
	if orig != nil {
		ev.OriginalStream = orig.mediaStream()
		r.Original = ev.OriginalStream
	}
	s.Call.e.journal.Add(Entry{Kind: KindRejected, By: ByEmulator, CallID: s.Call.ID, StreamID: s.ID, StreamName: s.Name,
		Event: event, Cause: cause, Ending: e, Message: fmt.Sprintf("StartStream %q rejected (%s): %s", s.Name, cause, msg)})
	close(s.ended)
	select {
	case r.Deliveries = <-s.Call.webhooks.send(s.eventCallback(), ev, s.ids()):
	case <-ctx.Done():
	}
	s.result = &r
	close(s.done)
	out := r
	return &out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
