package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/internal/weburl"
)

const streamSynopsis = "bwemu stream [DESTINATION] [--events URL] [--for 1s] [--end stop|hangup|reset|drop|error] [--pace realtime|fast] [flags]"

// streamFlags are bwemu stream's flags; their names are a public interface.
type streamFlags struct {
	app                        app
	eventMethod                *choiceFlag
	name                       string
	tracks, mode, end, pace    *choiceFlag
	params                     kvFlag
	audio                      string
	forDur                     time.Duration
	speed                      float64
	journal                    string
	timeouts                   emulator.Timeouts
	disconnectMethod           *choiceFlag
	from, to, tag, accountID   string
	caFile                     string
	duplicate, rejectOnConnect bool
	appCloseAsError            bool
	record, say, json          string
	lenient                    bool
	playbackBuffer             time.Duration
}

func (f *streamFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.app.events, "events", "", "streamEventUrl: where mediaStreamStarted/Rejected/Stopped go (default: the built-in consumer's, when it is the target)")
	f.eventMethod = newChoice("POST", "POST", "GET")
	fs.Var(f.eventMethod, "event-method", "streamEventMethod: POST or GET")
	f.app.registerCredentials(fs)
	fs.StringVar(&f.name, "name", "", "stream name (default: the stream id)")
	f.tracks = newChoice("inbound", "inbound", "outbound", "both")
	fs.Var(f.tracks, "tracks", "tracks: inbound, outbound or both")
	f.mode = newChoice("unidirectional", "unidirectional", "bidirectional")
	fs.Var(f.mode, "mode", "mode: unidirectional or bidirectional")
	fs.Var(&f.params, "param", "a StreamParam as name=value (repeatable, up to 12)")
	fs.StringVar(&f.audio, "audio", "tone:440", "audio: silence, tone:HZ, FILE.wav or FILE.pcmu")
	fs.DurationVar(&f.forDur, "for", time.Second, "media time to stream before the ending")
	f.end = newChoice("hangup", emulator.ChoosableEndings()...)
	fs.Var(f.end, "end", "how the stream ends: stop (StopStream), hangup, reset (TCP RST), drop (silent, half-open), error (1011)")
	f.pace = newChoice("realtime", "realtime", "fast")
	fs.Var(f.pace, "pace", "realtime (20 ms per frame) or fast (as fast as the app reads)")
	fs.Float64Var(&f.speed, "speed", 1, "realtime speed factor (2 = twice real time)")
	fs.StringVar(&f.journal, "journal", "", "write the journal as JSON Lines to FILE")
	fs.BoolVar(&f.lenient, "lenient", false, "pass webhooks answered 2xx but not 204 (non-strict: Bandwidth asks for 204), as conform --lenient does")
	fs.StringVar(&f.json, "json", "", "write the verdict, the stream's result and every webhook exchange as JSON to FILE")
	timeoutFlags(fs, &f.timeouts, emulator.DefaultTimeouts(), "callbackTimeout: bound on each webhook request (1s–25s on Bandwidth)")
	fs.StringVar(&f.app.disconnect, "disconnect", "", "disconnectUrl: where the call's disconnect webhook goes; none without it (default: the built-in consumer's, when it is the target)")
	f.disconnectMethod = newChoice("POST", "POST", "GET")
	fs.Var(f.disconnectMethod, "disconnect-method", "disconnectMethod: POST or GET")
	fs.StringVar(&f.from, "from", emulator.DefaultFrom, "caller number")
	fs.StringVar(&f.to, "to", emulator.DefaultTo, "called number")
	fs.StringVar(&f.tag, "tag", "", "call tag (absent from webhooks when empty)")
	fs.StringVar(&f.accountID, "account-id", emulator.DefaultAccountID, "account id")
	fs.StringVar(&f.caFile, "ca", "", "PEM file of a CA to trust for wss:// destinations and https:// webhooks")
	fs.BoolVar(&f.duplicate, "duplicate-webhooks", false, "deliver every webhook twice (idempotency test)")
	fs.BoolVar(&f.rejectOnConnect, "reject-on-connect-error", false, "report a failed connection as mediaStreamRejected instead of mediaStreamStopped")
	fs.BoolVar(&f.appCloseAsError, "app-close-as-error", false, "report the app's own close with 1000/1001 as connection-error")
	fs.StringVar(&f.record, "record", "", "write what the caller heard (the app's playback) and said as WAV files in DIR")
	fs.StringVar(&f.say, "say", "", "the caller says FILE (.wav or .pcmu) first, then listens (silence) for --for: the app's reply is timed")
	fs.DurationVar(&f.playbackBuffer, "playback-buffer", 0, "most of the app's audio queued for playback; more is dropped (Bandwidth documents no limit; 0: none)")
}

// config checks the flags and DESTINATION, in the order a user fixes them.
func (f *streamFlags) config(pos []string) (*streamConfig, error) {
	switch {
	case len(pos) > 1:
		return nil, usagef("one DESTINATION at most, got %d: %s", len(pos), strings.Join(pos, " "))
	case f.forDur < 0:
		return nil, usagef("--for must not be negative")
	case f.speed <= 0:
		return nil, usagef("--speed must be positive")
	case f.playbackBuffer < 0:
		return nil, usagef("--playback-buffer must not be negative")
	}
	if err := checkTimeouts(f.timeouts, false); err != nil {
		return nil, err
	}
	var say media.Audio
	if f.say != "" {
		var err error
		if say, err = media.Parse(f.say); err != nil || say.Duration() == 0 {
			return nil, usagef("--say: want a .wav or .pcmu file the caller says (%v)", cmpErr(err, "not a file"))
		}
		if !media.HoldsSpeech(say) {
			return nil, usagef("--say: %s holds no speech: its level never reaches %g dBFS", f.say, media.SpeechOnLevel)
		}
		if f.pace.value == string(emulator.Fast) {
			return nil, usagef("--say needs --pace realtime: a reply is timed in real time")
		}
	}
	audio, err := media.Parse(f.audio)
	if err != nil {
		return nil, usagef("--audio: %v", err)
	}
	tlsConfig, err := trustCA(f.caFile)
	if err != nil {
		return nil, err
	}
	if len(pos) == 1 {
		f.app.ws = pos[0]
	}
	if err := f.app.check("DESTINATION"); err != nil {
		return nil, err
	}
	c := &streamConfig{app: f.app, forDur: f.forDur, end: emulator.EndingNamed(f.end.value), journal: f.journal, say: say, json: f.json, lenient: f.lenient,
		emulator: emulator.Options{AccountID: f.accountID, Timeouts: f.timeouts, DuplicateWebhooks: f.duplicate,
			RejectOnConnectError: f.rejectOnConnect, AppCloseAsError: f.appCloseAsError, TLSConfig: tlsConfig,
			RecordDir: f.record, PlaybackBuffer: f.playbackBuffer},
		stream: emulator.StreamSpec{Name: f.name, Mode: protocol.Mode(f.mode.value), Tracks: f.tracks.value,
			StreamEventMethod: f.eventMethod.value, Audio: audio, Pace: emulator.Pace(f.pace.value), Speed: f.speed},
		call: emulator.CallSpec{From: f.from, To: f.to, Tag: f.tag, DisconnectMethod: f.disconnectMethod.value}}
	for i := range f.params.keys {
		c.stream.Params = append(c.stream.Params, protocol.StreamParam{Name: f.params.keys[i], Value: f.params.values[i]})
	}
	return c, nil
}

// streamConfig is what bwemu stream was asked to do.
type streamConfig struct {
	// app is the app under test; without a WebSocket URL, the built-in
	// reference consumer.
	app      app
	emulator emulator.Options
	// stream and call are the stream and its call, but for what comes
	// from app (withApp).
	stream  emulator.StreamSpec
	call    emulator.CallSpec
	forDur  time.Duration
	end     emulator.Ending
	journal string // the --journal file, "" for none
	json    string // the --json file, "" for none
	lenient bool   // --lenient
	// say is what the caller says first (--say), nil for nothing.
	say media.Audio
}

// withApp returns the stream and the call aimed at a.
func (c *streamConfig) withApp(a app) (emulator.StreamSpec, emulator.CallSpec) {
	s, call := c.stream, c.call
	s.Destination, s.DestinationUsername, s.DestinationPassword = a.ws, a.wsUser, a.wsPassword
	s.StreamEventURL, s.Username, s.Password = a.events, a.eventUser, a.eventPassword
	call.DisconnectURL, call.Username, call.Password = a.disconnect, a.eventUser, a.eventPassword
	return s, call
}

func parseStream(args []string) (*streamConfig, error) {
	return parseCommand("stream", &streamFlags{}, args)
}

// runStream streams once to the app, ends the stream as asked and prints
// the account of it: what the app did, and the verdict.
func runStream(ctx context.Context, c *streamConfig, stdout, stderr io.Writer) int {
	a, target := c.app, "your app"
	if a.ws == "" {
		var srv *consumer.Server
		var err error
		if a, srv, err = startBuiltin(a, c.stream.Mode == protocol.ModeBidirectional); err != nil {
			fmt.Fprintf(stderr, "bwemu: %v\n", err)
			return exitUsage
		}
		defer srv.Close()
		target = "the built-in reference consumer"
	}
	spec, callSpec := c.withApp(a)
	if err := spec.Validate(); err != nil {
		return usageError(stderr, streamSynopsis, "%v", err)
	}
	reports, code, ok := createReportFiles(stderr, streamSynopsis, reportFile{flag: "--journal", path: c.journal}, reportFile{flag: "--json", path: c.json})
	if !ok {
		return code
	}
	defer reports.close()
	// The emulator's webhooks go through a transport that knows which one
	// waits for the app's answer, for the progress line. Deferred before
	// e.Close, its idle connections are released after the emulator's.
	transport := weburl.NewTransport()
	transport.TLSClientConfig = c.emulator.TLSConfig.Clone()
	defer transport.CloseIdleConnections()
	watch := &webhookWatch{next: transport, waiting: map[*http.Request]waitingWebhook{}}
	opts := c.emulator
	opts.HTTPClient = &http.Client{Transport: watch}
	e := emulator.New(&opts)
	defer e.Close()
	call, err := e.NewCall(&callSpec)
	if err != nil {
		return usageError(stderr, streamSynopsis, "%v", err)
	}
	r := &report{w: stdout, target: target, call: call, audio: spec.Audio, events: a.events,
		disconnect: a.disconnect, disconnectMethod: callSpec.DisconnectMethod, journal: e.Journal(), jsonFile: reports.file("--json"), lenient: c.lenient}
	r.header(spec)
	return c.play(ctx, call, spec, r, reports.file("--journal"), watch, stderr)
}

// play streams, ends the stream, writes the journal and reports.
func (c *streamConfig) play(ctx context.Context, call *emulator.Call, spec emulator.StreamSpec, r *report, journal *os.File,
	watch *webhookWatch, stderr io.Writer) int {
	e := call.Emulator()
	began := time.Now()
	s, err := call.StartStream(ctx, spec)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
		return exitFail
	}
	r.streamID = s.ID
	total := c.forDur
	if c.say != nil {
		total += c.say.Duration()
	}
	progress := startProgress(stderr, s, total, watch)
	// Without --say the stream ends right after the last frame asked for:
	// exactly --for of media, also in real time. With --say the caller
	// speaks first, then listens in silence, and the reply is timed.
	var mediaErr error
	if c.say != nil {
		if mediaErr = s.Say(ctx, c.say); mediaErr == nil {
			mediaErr = s.Silence(ctx, c.forDur)
		}
	} else {
		_, mediaErr = s.EndAt(ctx, c.forDur, c.end)
	}
	progress.mediaOver()
	res, interrupted := finish(ctx, call, s, c.end, mediaErr == nil, stderr)
	progress.stop()
	if journal != nil {
		if err := e.Journal().WriteJSONLines(journal); err != nil {
			fmt.Fprintf(stderr, "bwemu: --journal: %v\n", err)
			return exitFail
		}
	}
	if res == nil {
		fmt.Fprintf(stderr, "bwemu: the stream had still not ended %s after the emulator was told to end every call\n", emulator.InterruptGrace)
		if interrupted {
			return exitInterrupted
		}
		return exitFail
	}
	code := r.result(res, c.end, e.Deliveries(), c.journal, interrupted, time.Since(began))
	if err := r.writeJSON(res, e.Deliveries(), code); err != nil {
		fmt.Fprintf(stderr, "bwemu: --json: %v\n", err)
		return exitFail
	}
	if interrupted {
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitInterrupted
	}
	return code
}

// finish ends the stream as asked and returns its result. Interrupted (or,
// against every bound, still not over), it ends the call with its webhooks
// instead, each cut off when emulator.InterruptGrace is over, and returns
// what the stream has then.
func finish(ctx context.Context, call *emulator.Call, s *emulator.Stream, asked emulator.Ending, live bool, stderr io.Writer) (res *emulator.StreamResult, interrupted bool) {
	var err error
	if ctx.Err() == nil {
		res, err = endCall(ctx, call, s, asked, live)
	}
	interrupted = ctx.Err() != nil
	if interrupted || err != nil {
		if !interrupted {
			fmt.Fprintf(stderr, "bwemu: %v; ending it within %s\n", err, emulator.InterruptGrace)
		}
		emulatorShutdown(ctx, call.Emulator(), stderr)
		res = s.Result()
	}
	return res, interrupted
}

// endCall ends the stream as asked (after the media, when it is still
// live), hangs up and returns the stream's result. Every step is bounded
// by the emulator's own timeouts; ctx (the interrupt) cuts the waiting
// short, and the caller then shuts the emulator down.
func endCall(ctx context.Context, call *emulator.Call, s *emulator.Stream, asked emulator.Ending, live bool) (*emulator.StreamResult, error) {
	bound := call.Emulator().Options().Timeouts.EndBound()
	endCtx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	if !live {
		asked = emulator.EndHangup
	}
	res, err := s.Finish(endCtx, asked)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("the call did not end within %s", bound)
	}
	return res, err
}

// cmpErr is err's text, or def when err is nil.
func cmpErr(err error, def string) string {
	if err != nil {
		return err.Error()
	}
	return def
}

// Progress cadence: a terminal's line is rewritten every progressTick;
// elsewhere a wait gets a plain line once it has lasted plainAfter, and
// again every plainEvery, so a CI log shows what a quiet run waits for.
const (
	progressTick = 250 * time.Millisecond
	plainAfter   = time.Second
	plainEvery   = 5 * time.Second
)

// streamProgress shows on stderr what bwemu stream is doing until its account
// is ready: the media streamed so far (on a terminal, for 2 s of media or
// more), then what the end waits for — the app's answer to a webhook, or
// the stream's end (its close handshake, a dead peer). On a terminal it is
// one line rewritten in place; elsewhere, plain lines for waits only.
type streamProgress struct {
	w        io.Writer
	terminal bool
	s        *emulator.Stream
	total    time.Duration
	webhooks *webhookWatch
	// endingSince is when the media was over (Unix nanoseconds), 0 before:
	// when play said so, or when the progress first saw all of it sent,
	// whichever came first (the stream's end may be awaited within play's
	// media step).
	endingSince atomic.Int64
	done        chan struct{}
	finished    chan struct{}

	// The wait a plain line last reported, and how long it had lasted.
	shownWait  string
	shownAfter time.Duration
}

// startProgress starts showing the progress of s, which streams total.
func startProgress(stderr io.Writer, s *emulator.Stream, total time.Duration, webhooks *webhookWatch) *streamProgress {
	f, ok := stderr.(*os.File)
	p := &streamProgress{w: stderr, terminal: ok && isTerminal(f), s: s, total: total, webhooks: webhooks,
		done: make(chan struct{}), finished: make(chan struct{})}
	go p.run()
	return p
}

// mediaOver says the media is over: from now on the stream's end is awaited.
func (p *streamProgress) mediaOver() { p.endingSince.CompareAndSwap(0, time.Now().UnixNano()) }

// stop stops showing progress, clearing a terminal's line.
func (p *streamProgress) stop() {
	close(p.done)
	<-p.finished
}

func (p *streamProgress) run() {
	defer close(p.finished)
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			if p.terminal {
				fmt.Fprint(p.w, "\r\033[K")
			}
			return
		case now := <-t.C:
			p.show(now)
		}
	}
}

// show prints the progress at now.
func (p *streamProgress) show(now time.Time) {
	line, wait, waited := p.describe(now)
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", prefixed("  ", line))
		return
	}
	if wait == "" || waited < plainAfter || (wait == p.shownWait && waited-p.shownAfter < plainEvery) {
		return
	}
	p.shownWait, p.shownAfter = wait, waited
	fmt.Fprintf(p.w, "  %s\n", line)
}

// describe says what the run is doing at now; for a wait, it names the
// wait (the same name for as long as it lasts) and says how long it has
// lasted.
func (p *streamProgress) describe(now time.Time) (line, wait string, waited time.Duration) {
	if w, ok := p.webhooks.oldest(); ok {
		waited = now.Sub(w.since)
		line = fmt.Sprintf("waiting for the app's answer to %s (%s", w.event, waitTime(waited))
		if w.bound > 0 {
			line += " of " + w.bound.Round(100*time.Millisecond).String()
		}
		return line + ")", fmt.Sprintf("%s@%d", w.event, w.since.UnixNano()), waited
	}
	if p.s.Progress() >= p.total {
		p.endingSince.CompareAndSwap(0, now.UnixNano())
	}
	if since := p.endingSince.Load(); since != 0 {
		if p.s.Result() != nil {
			return "", "", 0 // between the stream's end and the disconnect webhook
		}
		waited = now.Sub(time.Unix(0, since))
		return fmt.Sprintf("waiting for the stream to end (%s)", waitTime(waited)), "end", waited
	}
	if p.total < 2*time.Second {
		return "", "", 0
	}
	return fmt.Sprintf("streaming %s / %s", p.s.Progress().Round(100*time.Millisecond), p.total), "", 0
}

// waitTime is how long a wait has lasted, in whole seconds from 1 s on.
func waitTime(d time.Duration) string {
	if d >= time.Second {
		return d.Truncate(time.Second).String()
	}
	return d.Truncate(100 * time.Millisecond).String()
}

// webhookWatch is the transport of the emulator's requests to the app,
// watched: it knows which of them wait for the app's answer, and since
// when, for the progress line.
type webhookWatch struct {
	next    http.RoundTripper
	mu      sync.Mutex
	waiting map[*http.Request]waitingWebhook
}

// waitingWebhook is a request waiting for the app's answer.
type waitingWebhook struct {
	event string
	since time.Time
	// bound is how long it may wait (the callback timeout), 0 when unbounded.
	bound time.Duration
}

func (w *webhookWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	ww := waitingWebhook{event: eventTypeOf(req), since: time.Now()}
	if deadline, ok := req.Context().Deadline(); ok {
		ww.bound = deadline.Sub(ww.since)
	}
	w.mu.Lock()
	w.waiting[req] = ww
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.waiting, req)
		w.mu.Unlock()
	}()
	return w.next.RoundTrip(req)
}

// oldest is the request that has waited longest, if any does.
func (w *webhookWatch) oldest() (waitingWebhook, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first waitingWebhook
	for _, ww := range w.waiting {
		if first.since.IsZero() || ww.since.Before(first.since) {
			first = ww
		}
	}
	return first, !first.since.IsZero()
}

// eventTypeOf is the eventType a webhook carries: in its query when it is
// a GET, else in its JSON body, read from a copy.
func eventTypeOf(req *http.Request) string {
	if t := req.URL.Query().Get("eventType"); t != "" {
		return t
	}
	if req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			defer body.Close()
			var ev struct {
				EventType string `json:"eventType"`
			}
			if json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&ev) == nil && ev.EventType != "" {
				return ev.EventType
			}
		}
	}
	return "a webhook"
}
