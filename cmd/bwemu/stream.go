package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/consumer"
)

const streamSynopsis = "bwemu stream [DESTINATION] [--events URL] [--for 1s] [--end stop|hangup|reset|drop|error] [--pace realtime|fast] [flags]"

// streamFlags are bwemu stream's flags; their names are a public interface.
type streamFlags struct {
	events, eventUser, eventPassword string
	eventMethod                      *choiceFlag
	wsUser, wsPassword               string
	name                             string
	tracks, mode, end, pace          *choiceFlag
	params                           kvFlag
	audio                            string
	forDur                           time.Duration
	speed                            float64
	journal                          string
	timeouts                         emulator.Timeouts
	disconnect                       string
	disconnectMethod                 *choiceFlag
	from, to, tag, accountID         string
	caFile                           string
	duplicate, rejectOnConnect       bool
	appCloseAsError                  bool
}

func (f *streamFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.events, "events", "", "streamEventUrl: where mediaStreamStarted/Rejected/Stopped go (default: the built-in consumer's, when it is the target)")
	f.eventMethod = newChoice("POST", "POST", "GET")
	fs.Var(f.eventMethod, "event-method", "streamEventMethod: POST or GET")
	fs.StringVar(&f.eventUser, "event-user", "", "username: Basic auth user on webhooks")
	fs.StringVar(&f.eventPassword, "event-password", "", "password: Basic auth password on webhooks")
	fs.StringVar(&f.wsUser, "ws-user", "", "destinationUsername: Basic auth user on the WebSocket handshake")
	fs.StringVar(&f.wsPassword, "ws-password", "", "destinationPassword: Basic auth password on the WebSocket handshake")
	fs.StringVar(&f.name, "name", "", "stream name (default: the stream id)")
	f.tracks = newChoice("inbound", "inbound", "outbound", "both")
	fs.Var(f.tracks, "tracks", "tracks: inbound, outbound or both")
	f.mode = newChoice("unidirectional", "unidirectional", "bidirectional")
	fs.Var(f.mode, "mode", "mode: unidirectional or bidirectional")
	fs.Var(&f.params, "param", "a StreamParam as name=value (repeatable, up to 12)")
	fs.StringVar(&f.audio, "audio", "tone:440", "audio: silence, tone:HZ, FILE.wav or FILE.pcmu")
	fs.DurationVar(&f.forDur, "for", time.Second, "media time to stream before the ending")
	f.end = newChoice("hangup", endNames()...)
	fs.Var(f.end, "end", "how the stream ends: stop (StopStream), hangup, reset (TCP RST), drop (silent, half-open), error (1011)")
	f.pace = newChoice("realtime", "realtime", "fast")
	fs.Var(f.pace, "pace", "realtime (20 ms per frame) or fast (as fast as the app reads)")
	fs.Float64Var(&f.speed, "speed", 1, "realtime speed factor (2 = twice real time)")
	fs.StringVar(&f.journal, "journal", "", "write the journal as JSON Lines to FILE")
	fs.DurationVar(&f.timeouts.Handshake, "handshake-timeout", emulator.DefaultHandshakeTimeout, "bound on connect and WebSocket upgrade")
	fs.DurationVar(&f.timeouts.Write, "write-timeout", emulator.DefaultWriteTimeout, "bound on one frame write (an app that stops reading)")
	fs.DurationVar(&f.timeouts.CloseHandshake, "close-timeout", emulator.DefaultCloseHandshakeTimeout, "how long to wait for the app's close frame")
	fs.DurationVar(&f.timeouts.Callback, "callback-timeout", emulator.DefaultCallbackTimeout, "callbackTimeout: bound on each webhook request (1s–25s on Bandwidth)")
	fs.DurationVar(&f.timeouts.DeadPeer, "dead-peer-timeout", emulator.DefaultDeadPeerTimeout, "after --end drop, how long until the stream is declared dead")
	fs.StringVar(&f.disconnect, "disconnect", "", "disconnectUrl: where the call's disconnect webhook goes; none without it (default: the built-in consumer's, when it is the target)")
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
}

// endNames are --end's values: stop and hangup, then every fault the
// emulator can inject, by their names in the termination table.
func endNames() []string {
	names := []string{"stop", "hangup"}
	for _, f := range emulator.Faults() {
		names = append(names, string(f))
	}
	return names
}

// endingOf is the ending an --end value asks for.
func endingOf(name string) emulator.Ending {
	switch name {
	case "stop":
		return emulator.EndStopStream
	case "hangup":
		return emulator.EndHangup
	}
	return emulator.Ending(name) // a fault: its name is its ending
}

func streamCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("stream", streamSynopsis, stderr)
	var f streamFlags
	f.register(fs)
	pos, code, ok := parseFlags(fs, streamSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		return usageError(stderr, streamSynopsis, "one DESTINATION at most, got %d: %s", len(pos), strings.Join(pos, " "))
	}
	if f.forDur < 0 {
		return usageError(stderr, streamSynopsis, "--for must not be negative")
	}
	if f.speed <= 0 {
		return usageError(stderr, streamSynopsis, "--speed must be positive")
	}
	audio, err := media.Parse(f.audio)
	if err != nil {
		return usageError(stderr, streamSynopsis, "--audio: %v", err)
	}
	opts := emulator.Options{AccountID: f.accountID, Timeouts: f.timeouts, DuplicateWebhooks: f.duplicate,
		RejectOnConnectError: f.rejectOnConnect, AppCloseAsError: f.appCloseAsError}
	if f.caFile != "" {
		pool, err := loadCA(f.caFile)
		if err != nil {
			return usageError(stderr, streamSynopsis, "--ca: %v", err)
		}
		opts.TLSConfig = &tls.Config{RootCAs: pool}
	}

	target := "your app"
	dest := ""
	if len(pos) == 1 {
		dest = pos[0]
		if err := checkURL(dest, "ws", "wss"); err != nil {
			return usageError(stderr, streamSynopsis, "DESTINATION: %v", err)
		}
	} else {
		// No destination: the built-in reference consumer is the target.
		srv, err := consumer.Start("127.0.0.1:0", &consumer.Options{WSUser: f.wsUser, WSPassword: f.wsPassword,
			EventUser: f.eventUser, EventPassword: f.eventPassword, Echo: protocol.Mode(f.mode.value) == protocol.ModeBidirectional})
		if err != nil {
			fmt.Fprintf(stderr, "bwemu: cannot start the built-in consumer: %v\n", err)
			return exitUsage
		}
		defer srv.Close()
		dest, target = srv.WebSocketURL(), "the built-in reference consumer"
		if f.events == "" {
			f.events = srv.EventsURL()
		}
		if f.disconnect == "" {
			f.disconnect = srv.DisconnectURL()
		}
	}
	for _, u := range []struct{ flag, v string }{{"--events", f.events}, {"--disconnect", f.disconnect}} {
		if u.v != "" {
			if err := checkURL(u.v, "http", "https"); err != nil {
				return usageError(stderr, streamSynopsis, "%s: %v", u.flag, err)
			}
		}
	}
	spec := emulator.StreamSpec{Name: f.name, Mode: protocol.Mode(f.mode.value), Tracks: f.tracks.value, Destination: dest,
		DestinationUsername: f.wsUser, DestinationPassword: f.wsPassword,
		StreamEventURL: f.events, StreamEventMethod: f.eventMethod.value, Username: f.eventUser, Password: f.eventPassword,
		Audio: audio, Pace: emulator.Pace(f.pace.value), Speed: f.speed}
	for i := range f.params.keys {
		spec.Params = append(spec.Params, protocol.StreamParam{Name: f.params.keys[i], Value: f.params.values[i]})
	}
	if err := spec.Validate(); err != nil {
		return usageError(stderr, streamSynopsis, "%v", err)
	}
	var journal *os.File
	if f.journal != "" {
		// Opened now, so a bad path is a usage error before anything streams.
		if journal, err = os.Create(f.journal); err != nil {
			return usageError(stderr, streamSynopsis, "--journal: %v", err)
		}
		defer journal.Close()
	}

	e := emulator.New(&opts)
	defer e.Close()
	call, err := e.NewCall(&emulator.CallSpec{From: f.from, To: f.to, Tag: f.tag, DisconnectURL: f.disconnect,
		DisconnectMethod: f.disconnectMethod.value, Username: f.eventUser, Password: f.eventPassword})
	if err != nil {
		return usageError(stderr, streamSynopsis, "%v", err)
	}
	r := &report{w: stdout, target: target, call: call, audio: audio, events: f.events,
		disconnect: f.disconnect, disconnectMethod: f.disconnectMethod.value, journal: e.Journal()}
	r.header(spec)
	began := time.Now()
	s, err := call.StartStream(ctx, spec)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: %v\n", err)
		return exitFail
	}
	stopProgress := startProgress(stderr, s, f.forDur)
	mediaErr := s.Media(ctx, f.forDur)
	stopProgress()
	asked := endingOf(f.end.value)
	var res *emulator.StreamResult
	if ctx.Err() == nil {
		res, err = endCall(ctx, call, s, asked, mediaErr == nil)
	}
	interrupted := ctx.Err() != nil
	var interruptedAt time.Time // what ended after it was the interrupt's doing
	if interrupted {
		interruptedAt = time.Now()
	}
	if interrupted || err != nil {
		// Interrupted (or, against every bound, still not over): end the
		// call with its webhooks, each cut off when the grace is over.
		if !interrupted {
			fmt.Fprintf(stderr, "bwemu: %v; ending it within %s\n", err, emulator.InterruptGrace)
		}
		res = shutdown(ctx, e, s, stderr)
	}
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
	code = r.result(res, asked, e.Deliveries(), f.journal, interruptedAt, time.Since(began))
	if interrupted {
		fmt.Fprintln(stderr, "bwemu: interrupted")
		return exitInterrupted
	}
	return code
}

// endCall ends the stream as asked (after the media, when it is still
// live), hangs up and returns the stream's result. Every step is bounded
// by the emulator's own timeouts; ctx (the interrupt) cuts the waiting
// short, and the caller then shuts the emulator down.
func endCall(ctx context.Context, call *emulator.Call, s *emulator.Stream, asked emulator.Ending, live bool) (*emulator.StreamResult, error) {
	t := call.Emulator().Options().Timeouts
	// Three webhooks (Stopped, disconnect, and a Started still in flight),
	// each retried once on a connection failure; one close handshake; a
	// dead peer.
	bound := 6*t.Callback + t.CloseHandshake + t.DeadPeer + t.Write + 5*time.Second
	endCtx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var err error
	switch {
	case !live || asked == emulator.EndHangup:
	case asked == emulator.EndStopStream:
		_, err = s.Stop(endCtx)
	default:
		_, err = s.Inject(endCtx, emulator.Fault(asked))
	}
	if err == nil {
		err = call.Hangup(endCtx)
	}
	var res *emulator.StreamResult
	if err == nil {
		res, err = s.Wait(endCtx)
	}
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("the call did not end within %s", bound)
	}
	return res, err
}

// shutdown ends every live call of e with its webhooks, giving them
// emulator.InterruptGrace in all, says on stderr what it had to cut off,
// and returns s's result (nil if it has none even then).
func shutdown(ctx context.Context, e *emulator.Emulator, s *emulator.Stream, stderr io.Writer) *emulator.StreamResult {
	emulatorShutdown(ctx, e, stderr)
	return s.Result()
}

// emulatorShutdown is e.Shutdown with the grace, for stream and serve.
func emulatorShutdown(ctx context.Context, e *emulator.Emulator, stderr io.Writer) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emulator.InterruptGrace)
	defer cancel()
	err := e.Shutdown(sctx)
	cut := 0
	for _, d := range e.Deliveries() {
		if d.Interrupted() {
			cut++
		}
	}
	switch {
	case cut > 0:
		what := fmt.Sprintf("%d webhooks", cut)
		if cut == 1 {
			what = "1 webhook"
		}
		fmt.Fprintf(stderr, "bwemu: the calls took longer than %s to end: %s still waiting for the app cut off\n",
			emulator.InterruptGrace, what)
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "bwemu: ending the calls: %v\n", err)
	}
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	article := "a"
	if strings.HasPrefix(schemes[0], "http") {
		article = "an" // "an http URL", as it is read aloud
	}
	return fmt.Errorf("%q is not %s %s:// URL", raw, article, strings.Join(schemes, ":// or "))
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}
