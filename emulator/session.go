package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// session is the goroutine that owns one stream's connection: it dials,
// sends start, paces media, carries out commands and endings, and writes
// the result. Only this goroutine writes data frames (gorilla/websocket
// allows one writer); the reader goroutine only reads.
type session struct {
	s    *Stream
	e    *Emulator
	conn *websocket.Conn
	res  StreamResult

	abort context.Context // cancelled by Emulator.Close

	readDone   chan readResult // the reader's ending, at most one
	readerExit chan struct{}   // closed when the reader returns
	teardown   chan struct{}   // closed before the connection is closed
	dropped    atomic.Bool
	closeSent  atomic.Bool // the emulator's close frame has gone out

	// Frame state, reused for every frame so the hot path does not allocate.
	pcm       [media.FrameSize]byte
	b64       [media.EncodedFrameSize]byte
	msg       []byte
	writes    writeTimer // the write under way, for writeWatch
	seq       int64
	n         int64         // index of the next frame
	late      time.Duration // how late the frame being sent is (realtime)
	audioPos  int64         // frame of the audio source to play next; paused by silence
	silentTo  int64         // frames before this index are silence
	allowance int64         // frames Fast pace may send
	waiters   []waiter
	sent      [2]int // media frames sent per track, in the order of Stream.tracks

	// play is the app's audio on a bidirectional stream, as the caller
	// hears it; played is the frame it plays this period.
	play   appPlayback
	played [media.FrameSize]byte

	// The caller's speech under way (Stream.Say): frames [sayFrom, sayTo)
	// of the inbound track carry say.
	say            media.Audio
	sayFrom, sayTo int64
	// talk follows who spoke when (bidirectional); rec keeps the audio.
	talk conversation
	rec  recorder
	said [media.FrameSize]byte
	// endThen ends the stream once frame endAt is due (Stream.EndAt).
	endAt   int64
	endThen Ending

	// Counters the reader updates.
	playAudio, playBytes, clears, violations, undocumented atomic.Int64
	firstPlay                                              atomic.Int64
}

type waiter struct {
	target  int64
	reached chan bool
}

type readResult struct {
	closeFrame bool // the app sent a close frame
	// first is true when the app's close frame came before the emulator
	// had sent its own close frame.
	first  bool
	code   int
	reason string
	err    error
}

func (s *Stream) run() {
	defer s.cancel()
	ss := &session{s: s, e: s.Call.e, abort: s.abortCtx, readDone: make(chan readResult, 1),
		readerExit: make(chan struct{}), teardown: make(chan struct{}),
		msg: make([]byte, 0, 512)}
	ss.rec.on = s.spec.Record || ss.e.opts.RecordDir != ""
	ss.play.limit = ss.e.opts.PlaybackBuffer
	defer writeWatch.remove(&ss.writes)
	ending, detail := ss.connectAndStream()
	if ending == EndDrop {
		ss.finish(ending, detail)
		ss.hold()
		return
	}
	ss.closeConn()
	ss.finish(ending, detail)
}

// connectAndStream runs the stream until it ends and says how.
func (ss *session) connectAndStream() (Ending, string) {
	if ending, detail := ss.dial(); ending != "" || ss.conn == nil {
		return ending, detail // no ending and no connection: aborted
	}
	close(ss.s.connected)
	ss.res.Connected = true
	started := ss.s.Call.event(protocol.EventMediaStreamStarted)
	started.MediaStream = ss.s.mediaStream()
	startedDone := ss.s.Call.webhooks.send(ss.s.eventCallback(), started, ss.s.ids())
	defer func() { ss.res.Deliveries = append(<-startedDone, ss.res.Deliveries...) }()

	ss.e.spawn(ss.read)
	var start any = protocol.StartMessage{EventType: protocol.EventStart, Metadata: ss.metadata(), StreamParams: ss.s.spec.Params}
	if len(ss.s.spec.StartExtra) > 0 {
		start = withExtra(start, ss.s.spec.StartExtra)
	}
	if err := ss.writeJSON(start); err != nil {
		return ss.writeFailed(err)
	}
	return ss.stream()
}

// withExtra returns msg as a JSON object with extra top-level fields.
func withExtra(msg any, extra map[string]any) map[string]any {
	raw, _ := json.Marshal(msg) // messages have only marshalable fields
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for k, v := range extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return m
}

func (ss *session) metadata() protocol.Metadata {
	m := protocol.Metadata{AccountID: ss.s.Call.AccountID, CallID: ss.s.Call.ID, StreamID: ss.s.ID, StreamName: ss.s.Name}
	for _, t := range ss.s.tracks {
		m.Tracks = append(m.Tracks, protocol.TrackInfo{Name: t, MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: media.SampleRate}})
	}
	return m
}

// A stream writes a ~300-byte frame every 20 ms and reads little, so
// connections share their write buffers (gorilla/websocket takes one from
// the pool for each message) and keep a small read buffer: a thousand
// streams then hold kilobytes, not a thousand 8 KiB pairs.
var writeBuffers = &sync.Pool{}

const readBufferSize = 1024

// dialer is the stream's WebSocket dialer. gorilla/websocket turns the
// context into a deadline only, so an abort (Close, an interrupted run)
// would wait out a handshake the app never answers: the dialer closes the
// connection on abort instead, until *unwatch is called.
func (ss *session) dialer(unwatch *func() bool) *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: ss.e.opts.Timeouts.Handshake, TLSClientConfig: ss.e.opts.TLSConfig,
		ReadBufferSize: readBufferSize, WriteBufferPool: writeBuffers,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				*unwatch = context.AfterFunc(ss.abort, func() { _ = c.Close() })
				if tc, ok := c.(*net.TCPConn); ok && ss.e.opts.SendBuffer > 0 {
					_ = tc.SetWriteBuffer(ss.e.opts.SendBuffer)
				}
			}
			return c, err
		}}
}

// dial opens the WebSocket; a failure comes back as its ending and detail.
func (ss *session) dial() (Ending, string) {
	t := ss.e.opts.Timeouts
	var unwatch func() bool
	d := ss.dialer(&unwatch)
	h := http.Header{}
	spec := ss.s.spec
	auth := ""
	if spec.DestinationUsername != "" || spec.DestinationPassword != "" {
		h.Set("Authorization", "Basic "+base64Std.EncodeToString([]byte(spec.DestinationUsername+":"+spec.DestinationPassword)))
		auth = " with Authorization: Basic " + weburl.Redacted
	}
	ctx, cancel := context.WithTimeout(ss.abort, t.Handshake)
	defer cancel()
	began := time.Now()
	conn, resp, err := d.DialContext(ctx, spec.Destination, h)
	lat := time.Since(began)
	if m := ss.e.opts.Meter; m != nil {
		m.Handshake(lat)
	}
	if unwatch != nil {
		unwatch()
	}
	if ss.abort.Err() != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return "", "" // aborted: not the app's doing
	}
	dest := weburl.Redact(spec.Destination)
	if err != nil {
		ending, detail := classifyDial(err, resp, t.Handshake)
		if resp != nil {
			ss.res.HandshakeStatus = resp.StatusCode
		}
		// The entry's error is the one the webhook will carry.
		_, _, why := ss.e.opts.classify(ending, detail)
		ss.journal(Entry{Kind: KindHandshake, By: ByApp, Code: ss.res.HandshakeStatus, Latency: lat, Error: why, Ending: ending, Setup: ss.s.setup(),
			Message: fmt.Sprintf("GET %s%s failed: %s", dest, auth, detail)})
		return ending, detail
	}
	ss.conn = conn
	writeWatch.add(&ss.writes, conn.NetConn(), ss.e.opts.Timeouts.Write)
	ss.res.HandshakeStatus = resp.StatusCode
	ss.journal(Entry{Kind: KindHandshake, By: ByApp, Code: resp.StatusCode, Latency: lat, Setup: ss.s.setup(),
		Message: fmt.Sprintf("GET %s%s → %d %s", dest, auth, resp.StatusCode, http.StatusText(resp.StatusCode))})
	return "", ""
}

func classifyDial(err error, resp *http.Response, timeout time.Duration) (Ending, string) {
	switch {
	case resp != nil && errors.Is(err, websocket.ErrBadHandshake):
		detail := fmt.Sprintf("the destination answered HTTP %d %s instead of 101 Switching Protocols", resp.StatusCode, http.StatusText(resp.StatusCode))
		return EndHandshakeStatus, detail
	case errors.Is(err, syscall.ECONNREFUSED):
		var op *net.OpError
		if errors.As(err, &op) && op.Addr != nil {
			return EndConnectRefused, "nothing listens at " + op.Addr.String()
		}
		return EndConnectRefused, "nothing listens there"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return EndHandshakeTimeout, timeout.String()
	}
	return EndConnectFailed, err.Error()
}

// stream sends media until something ends the stream.
func (ss *session) stream() (Ending, string) {
	var sched *schedule
	if ss.s.spec.Pace == Realtime {
		period := ss.s.spec.framePeriod()
		sched = &schedule{t0: time.Now().Add(ss.e.phase(period)), period: period}
		defer sched.stop()
	}
	defer context.AfterFunc(ss.abort, ss.s.poke)()
	for {
		if ss.endThen != "" && ss.n >= ss.endAt {
			return ss.end(ss.endThen)
		}
		var frameDue <-chan time.Time
		switch {
		case sched != nil:
			due, ending, detail, stop := ss.paceStep(sched)
			if stop {
				return ending, detail
			}
			if due == nil {
				continue
			}
			frameDue = due
		case ss.n < ss.allowance:
			if ending, detail, stop := ss.sendNext(); stop {
				return ending, detail
			}
			continue
		}
		if ending, detail, stop := ss.wait(frameDue); stop {
			return ending, detail
		}
		if sched != nil {
			sched.unpolled = false
		}
	}
}

// schedule is a realtime stream's clock: frame n is due at t0 + n×period.
type schedule struct {
	t0     time.Time
	period time.Duration
	// timer is for the waits a plain sleep does not cover (see wait);
	// most streams never need one.
	timer *time.Timer
	// unpolled is true when a frame went out and nothing has looked at
	// commands and the reader since: frames sent back to back (catching
	// up) take those in between, as waking does otherwise.
	unpolled bool
}

func (sc *schedule) stop() {
	if sc.timer != nil {
		sc.timer.Stop()
	}
}

// paceStep takes one step of realtime pacing: sleep to the next frame's
// deadline, send it, or skip what is too late. It returns a channel to
// wait on with wait when the next frame is further off than a plain
// sleep covers; stop is true when the stream ended.
func (ss *session) paceStep(sc *schedule) (frameDue <-chan time.Time, ending Ending, detail string, stop bool) {
	late := time.Since(sc.t0.Add(time.Duration(ss.n) * sc.period))
	switch {
	case late < 0 && -late <= plainSleepMax:
		// A plain sleep is the cheapest wake-up the runtime has (no
		// channel, no select), and this loop wakes fifty times a second
		// per stream. What came in meanwhile is taken in on waking,
		// before the frame goes out: a command, the app's ending or an
		// abort waits at most plainSleepMax, and never lets a frame out
		// that it would have stopped.
		time.Sleep(-late)
		sc.unpolled = false
		ending, detail, stop = ss.takeIn()
	case late < 0:
		if sc.timer == nil {
			sc.timer = time.NewTimer(-late)
		} else {
			sc.timer.Reset(-late)
		}
		frameDue = sc.timer.C
	case sc.unpolled:
		sc.unpolled = false
		ending, detail, stop = ss.takeIn()
	case late > maxLagFrames*sc.period:
		// Behind by more than maxLagFrames: skip to the present, as a
		// live source drops audio, and count it.
		ss.skip(int64(late / sc.period))
	default:
		ss.res.Lateness.Observe(late)
		ss.late = late
		ending, detail = ss.sendFrame()
		stop = ending != ""
		sc.unpolled = true
	}
	return frameDue, ending, detail, stop
}

// wait blocks until the frame timer fires or a command, the reader's
// ending or an abort comes in; stop is true when that ended the stream.
// It is for the waits a plain sleep does not cover: fast streams held back
// by their allowance, and frame periods longer than plainSleepMax.
func (ss *session) wait(frameDue <-chan time.Time) (ending Ending, detail string, stop bool) {
	select {
	case <-frameDue:
		return "", "", false
	case <-ss.s.wake:
		return ss.drain()
	}
}

// drain takes in every command, the reader's ending and an abort that
// have come in; stop is true when one ended the stream.
func (ss *session) drain() (ending Ending, detail string, stop bool) {
	for {
		select {
		case c := <-ss.s.cmds:
			if ending, detail, stop := ss.handle(c); stop {
				return ending, detail, true
			}
		case rr := <-ss.readDone:
			ending, detail = ss.appEnded(rr)
			return ending, detail, true
		case <-ss.abort.Done():
			return "", "", true
		default:
			return "", "", false
		}
	}
}

// sendNext sends the next frame, then takes in what arrived meanwhile;
// stop is true when either ended the stream.
func (ss *session) sendNext() (ending Ending, detail string, stop bool) {
	if ending, detail := ss.sendFrame(); ending != "" {
		return ending, detail, true
	}
	return ss.takeIn()
}

// takeIn drains what came in when a token says something did: between
// frames sent back to back it looks at one channel, not three.
func (ss *session) takeIn() (ending Ending, detail string, stop bool) {
	select {
	case <-ss.s.wake:
		return ss.drain()
	default:
		return "", "", false
	}
}

// plainSleepMax is the longest the pacing loop sleeps without listening for
// commands: one frame period at normal speed. Longer waits (a stream slowed
// down by Speed) listen, so that an abort is never kept waiting.
const plainSleepMax = media.FrameDuration

// maxLagFrames is how many frame periods realtime pacing may fall behind
// before it skips frames instead of sending a burst.
const maxLagFrames = 3

func (ss *session) handle(c command) (Ending, string, bool) {
	switch c.kind {
	case cmdMedia:
		target := ss.n + c.frames
		if c.silent {
			ss.silentTo = target
		}
		if c.say != nil {
			ss.say, ss.sayFrom, ss.sayTo = c.say, ss.n, target
			for _, u := range c.speech {
				ss.talk.caller = append(ss.talk.caller, media.Span{Start: int(ss.n) + u.Start, End: int(ss.n) + u.End})
			}
		}
		if ss.allowance < ss.n {
			ss.allowance = ss.n
		}
		ss.allowance += c.frames
		ss.waiters = append(ss.waiters, waiter{target: target, reached: c.reached})
		ss.releaseWaiters()
		return "", "", false
	case cmdEndAt:
		ss.endAt, ss.endThen = c.frames, c.ending
		ss.allowance = max(ss.allowance, c.frames)
		return "", "", false
	case cmdEnd:
		e, d := ss.end(c.ending)
		return e, d, true
	case cmdSend:
		if _, err := ss.write(c.message); err != nil {
			c.reached <- false
			e, d := ss.writeFailed(err)
			return e, d, true
		}
		ss.journal(Entry{Kind: KindFrameOut, By: ByEmulator, Message: "a message of the test's own", Data: quoteFrame(c.message)})
		c.reached <- true
	}
	return "", "", false
}

func (ss *session) releaseWaiters() {
	kept := ss.waiters[:0]
	for _, w := range ss.waiters {
		if ss.n >= w.target {
			w.reached <- true
		} else {
			kept = append(kept, w)
		}
	}
	ss.waiters = kept
}

func (ss *session) skip(frames int64) {
	// The call goes on while the frames are not sent: the app's playback
	// plays and the conversation's clock runs, as on a live media server;
	// the turns leave the skipped time out of what they hold against the app.
	ss.talk.skipped(int(ss.n), int(frames))
	for range frames {
		ss.period()
		ss.n++
	}
	ss.res.Skipped += int(frames)
	if m := ss.e.opts.Meter; m != nil {
		m.Skipped(int(frames))
	}
	ss.s.frame.Store(ss.n)
	ss.journal(Entry{Kind: KindPacing, By: ByEmulator, Count: int(frames),
		Message: fmt.Sprintf("realtime pacing fell behind: skipped %d frames", frames)})
	ss.releaseWaiters()
}

// finish records how the stream ended, sends its webhook and publishes the result.
func (ss *session) finish(e Ending, detail string) {
	s := ss.s
	r := &ss.res
	r.MediaDuration = time.Duration(ss.n) * media.FrameDuration
	r.LatenessP50, r.LatenessP99 = r.Lateness.Quantile(0.5), r.Lateness.Quantile(0.99)
	r.PlayAudio, r.PlayAudioBytes = int(ss.playAudio.Load()), int(ss.playBytes.Load())
	r.Clears, r.Violations, r.Undocumented = int(ss.clears.Load()), int(ss.violations.Load()), int(ss.undocumented.Load())
	r.FirstPlayAudio = time.Duration(ss.firstPlay.Load())
	r.Playback = ss.play.result()
	if s.spec.Mode == protocol.ModeBidirectional || len(ss.talk.caller) > 0 {
		r.Turns = ss.talk.turns(ss.n)
	}
	r.Recording = ss.rec.result(ss.e.opts.RecordDir, s.Name, s.ID)
	if r.Recording != nil && r.Recording.Error != "" {
		ss.journal(Entry{Kind: KindEnding, By: ByEmulator, Error: r.Recording.Error, Message: "the recording was not written: " + r.Recording.Error})
	}
	r.EndTime = time.Now()
	r.FramesByTrack = map[string]int{}
	for i, track := range s.tracks {
		n := ss.sent[i]
		if n == 0 {
			continue
		}
		r.FramesByTrack[track] = n
		ss.journal(Entry{Kind: KindMedia, By: ByEmulator, Track: track, Count: n,
			Message: fmt.Sprintf("%d media frames sent on %s (%s)", n, track, time.Duration(n)*media.FrameDuration)})
	}
	if e == "" { // Emulator.Close cut the stream: no webhook
		r.Aborted = true
		ss.journal(Entry{Kind: KindEnding, By: ByEmulator, Message: "stream aborted: the emulator closed"})
		close(s.ended)
		s.result = kept(r)
		close(s.done)
		return
	}
	t := row(e)
	r.Ending, r.By, r.AppFault = e, t.By, t.AppFault
	r.Event, r.Cause, r.ErrorMessage = ss.e.opts.classify(e, detail)
	ss.journal(Entry{Kind: KindEnding, By: t.By, Event: r.Event, Cause: r.Cause, Code: r.CloseReceived, Ending: e, Error: r.ErrorMessage,
		Message: fmt.Sprintf("stream ended (%s): %s, cause %s%s", e, t.Wire, r.Cause, prefixed(": ", r.ErrorMessage))})
	close(s.ended)
	for _, w := range ss.waiters {
		w.reached <- false
	}
	ev := s.Call.event(r.Event)
	ev.Cause, ev.ErrorMessage, ev.MediaStream = r.Cause, r.ErrorMessage, s.mediaStream()
	if r.Event == protocol.EventMediaStreamStopped {
		ev.MediaStream.Duration = protocol.DurationPtr(r.MediaDuration)
	}
	r.Deliveries = append(r.Deliveries, <-s.Call.webhooks.send(s.eventCallback(), ev, s.ids())...)
	s.result = kept(r)
	close(s.done)
}

// kept is the copy of the result the stream keeps, so that the session it
// was built in can be collected.
func kept(r *StreamResult) *StreamResult {
	out := *r
	return &out
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func (ss *session) journal(e Entry) {
	e.CallID, e.StreamID, e.StreamName = ss.s.Call.ID, ss.s.ID, ss.s.Name
	ss.e.journal.Add(e)
}
