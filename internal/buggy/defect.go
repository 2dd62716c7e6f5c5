package buggy

// Defect names one bug the consumer is built with. Each models a mistake
// seen in real stream consumers; its doc comment says which conformance
// case (suite/conformance) is meant to catch it.
type Defect string

// None is no defect: the buggy consumer's own correct baseline. It must
// pass the conformance suite, which proves that each defect alone is what
// makes a run fail.
const None Defect = ""

// The defects.
const (
	// Status200 answers every webhook 200 OK with a small JSON body, the
	// default of most web frameworks. Bandwidth's event pages ask for 204;
	// 200 is tolerated. Caught as non-strict by the 5.x webhook cases
	// (fails them unless Options.Lenient).
	Status200 Defect = "status-200"

	// Status500OnConnectionError answers 500 to mediaStreamStopped with cause
	// connection-error: the handler treats the event's errorMessage as an
	// exception and lets it escape. Caught by 5.3 (the stopped webhook of
	// an abnormal ending must be answered 204).
	Status500OnConnectionError Defect = "status-500-on-connection-error"

	// SlowWebhooks answers every webhook only after Options.WebhookDelay (3 s
	// by default): the handler transcribes, stores or calls out before
	// answering instead of acknowledging first. Bandwidth takes an answer
	// inside the callbackTimeout, so the 5.x latency check is non-strict.
	SlowWebhooks Defect = "slow-webhooks"

	// HungWebhooks answers every webhook only after LateWebhookDelay, past
	// Bandwidth's default callbackTimeout of 15 s: a handler stuck on a
	// dead database or a lock. Caught by every 5.x case at the callbackTimeout,
	// and the whole suite must fail within a few callbackTimeouts rather
	// than wait out each webhook.
	HungWebhooks Defect = "hung-webhooks"

	// StartedAfterStream answers mediaStreamStarted only once the stream's
	// socket has closed: the handler processes the whole stream before it
	// returns. Short streams hide it; on a real call the answer comes
	// minutes late. Caught by 5.12 (Started answered while the stream is
	// live); a delivery queued behind the held one (5.5, 5.6) waits too.
	StartedAfterStream Defect = "started-after-stream"

	// CrashOnErrorCause answers 500 to mediaStreamStopped with cause error:
	// the handler's switch over causes knows closed and connection-error
	// and panics on anything else (net/http turns the panic into a
	// dropped connection; this consumer answers 500 as a recovering
	// middleware would). Caught by 5.4.
	CrashOnErrorCause Defect = "crash-on-error-cause"

	// CloseOnOutboundTrack closes the socket with 1003 (unsupported data)
	// when a media frame's track is outbound: the app was written for
	// tracks="inbound" only. Caught by 2.4/2.5 (outbound and both tracks).
	CloseOnOutboundTrack Defect = "close-on-outbound-track"

	// CloseOnStreamParams closes the socket with 1008 (policy violation)
	// when start carries streamParams: the app decodes start into a struct
	// without that field, strictly, or validates start against a schema
	// that forbids it. Caught by 2.2 (and 2.6, whose start carries one).
	CloseOnStreamParams Defect = "close-on-stream-params"

	// CloseErrorOnStart closes every stream with 1011 (internal error) as
	// soon as its start arrives: the handler cannot set up its session (a
	// dead backend) and gives up. In Fast pace its close crosses the
	// media and the stop already written, so a case that does not give
	// the app a moment passes it by luck. Caught, every run, by 4.3–4.6:
	// their stream before the fault, and the health probe after it.
	CloseErrorOnStart Defect = "close-error-on-start"

	// RejectUnknownFields closes the socket with 1007 (invalid payload)
	// when start carries a field the app does not know
	// (json.Decoder.DisallowUnknownFields): the app breaks on Bandwidth's
	// next additive release. Caught as non-strict by 2.6 (Bandwidth does
	// not document that it adds fields, but robust consumers take them).
	RejectUnknownFields Defect = "reject-unknown-fields"

	// DropOnUnknownEvent drops the connection (no close frame) when a
	// message's eventType is not start, media or stop: a switch whose
	// default case treats the message as an attack. Bandwidth may add
	// events; a robust consumer ignores them. Caught as non-strict by 3.3.
	DropOnUnknownEvent Defect = "drop-on-unknown-event"

	// NumericSequenceNumber decodes media into a struct whose
	// sequenceNumber is an int. Bandwidth sends a string, so every media
	// frame fails to decode and the app closes with 1007. Caught by the
	// 3.x media cases.
	NumericSequenceNumber Defect = "numeric-sequence-number"

	// NeverReads stops reading the socket after start: the handler hands
	// the connection to a pipeline that never drains it (or blocks on a
	// full channel). Caught by 3.2 (the burst is never read through) and
	// 3.1 (the close behind the media is never answered).
	NeverReads Defect = "never-reads"

	// NoCloseHandshake never answers the emulator's close frame and keeps
	// the TCP connection open until the peer drops it: a custom close
	// handler that returns without replying. Caught by 4.1, 4.2 and 4.5
	// (and the other 4.x, whose probe stream ends with a close handshake).
	NoCloseHandshake Defect = "no-close-handshake"

	// DropOnStop closes the TCP connection as soon as stop arrives, without
	// a close frame ("stop means we are done"). The emulator's close
	// handshake then fails. Caught by 4.1 and 4.2 (and the other 4.x,
	// whose probe stream ends the same way).
	DropOnStop Defect = "drop-on-stop"

	// RefuseAfterAbort marks itself unhealthy when a stream's socket ends
	// without a close frame (a TCP reset, or a silent drop once the socket
	// finally dies) and answers 503 to every later upgrade: the error path
	// leaks the "active stream" slot. Caught by 4.3 (a new stream after a
	// reset). 4.4 rightly passes it: after a silent drop the socket is
	// still half-open when the new stream comes, so the app cannot know.
	RefuseAfterAbort Defect = "refuse-after-abort"

	// RefuseAfterError treats a close 1011 from Bandwidth as fatal for the
	// whole media backend and answers 503 to every later upgrade. Caught
	// by 4.5 (answers an internal-error close and still accepts a new
	// stream).
	RefuseAfterError Defect = "refuse-after-error"

	// ListenerDiesOnBrokenHandshake reads each connection's handshake inside
	// the listener's Accept (to route plain HTTP and WebSocket apart, or to
	// parse a PROXY header) and returns the read error from Accept.
	// http.Server.Serve takes an error from Accept as fatal: an idle
	// connection stalls every later handshake, and half an upgrade followed
	// by a reset stops the server for good. Caught by 4.6 (broken
	// handshakes, then a new stream).
	ListenerDiesOnBrokenHandshake Defect = "listener-dies-on-broken-handshake"

	// NoWSAuth accepts the upgrade without checking the destination
	// credentials it was configured with: anyone who finds the URL can
	// inject a call. Caught by 1.2 (when credentials are configured).
	NoWSAuth Defect = "no-ws-auth"

	// AuthAfterUpgrade checks the destination credentials only after the
	// upgrade and closes the socket with 1008 when they are wrong, instead
	// of answering 401 on the handshake: Bandwidth reports that as a
	// connected stream that died, not a refused one. Caught by 1.2.
	AuthAfterUpgrade Defect = "auth-after-upgrade"

	// NoEventAuth does not check the webhook credentials it was configured
	// with. Caught by 5.10.
	NoEventAuth Defect = "no-event-auth"

	// NonIdempotent answers 409 Conflict to a second delivery of the same
	// event (a unique constraint on insert). Bandwidth retries once on a
	// connection failure, so duplicates are normal. Caught by 5.9.
	NonIdempotent Defect = "non-idempotent"

	// NoGET routes only POST to the webhook handler and answers 405 to a
	// GET, although the app's StartStream says streamEventMethod="GET" (the
	// target is run with EventMethod GET). Caught by 5.11, and every other
	// 5.x case, whose events come as GET too. Without EventMethod GET it is
	// a correct app: one that never asks for GET may refuse it.
	NoGET Defect = "no-get"

	// InvalidPlayAudioBase64 (bidirectional) sends its audio back with
	// base64.RawStdEncoding (no padding), which standard decoders refuse.
	// Caught by 6.1/6.2.
	InvalidPlayAudioBase64 Defect = "invalid-play-audio-base64"

	// InvalidPlayAudioContentType (bidirectional) labels its µ-law audio
	// "audio/x-mulaw" (the name other platforms use) instead of
	// "audio/pcmu". Caught by 6.1/6.2.
	InvalidPlayAudioContentType Defect = "invalid-play-audio-content-type"

	// PlayAudioOnUnidirectional sends playAudio on every stream, also
	// unidirectional ones (the echo is switched on globally, the BXML says
	// mode="unidirectional"). Caught as non-strict (what Bandwidth does
	// with it is undocumented; the advice is to run with --bidirectional)
	// by every case whose unidirectional stream carries inbound media and
	// ends cleanly (1.3, 2.x, 3.1, 7.x).
	PlayAudioOnUnidirectional Defect = "play-audio-on-unidirectional"

	// FaultSpreads ties every socket to one shared context (an errgroup
	// for the whole server, say): when one connection fails without a close
	// frame, the others are closed too, with 1011. Caught by 7.3 (a reset
	// of one call's stream leaves another call's stream intact).
	FaultSpreads Defect = "fault-spreads"

	// OneStreamAtATime serves one socket at a time (a single global
	// pipeline) and answers 503 to an upgrade while another stream is live
	// or being accepted. Caught by 7.1, 7.2, 7.3 and 4.4 (the dropped
	// socket is still live when the new stream comes).
	OneStreamAtATime Defect = "one-stream-at-a-time"

	// LeakOnAbort holds a backend session per stream (Options.Backend, a
	// loopback TCP connection, as a voice agent holds one to its AI
	// service) and closes it only on Bandwidth's stop message: a stream
	// ended by a TCP reset, a silent drop or a close 1011 leaves its session
	// open for good. Nothing on the wire shows it. Caught by 8.1 (the
	// process's sockets, with a PID of its own: StartProcess) and 8.2 (the
	// gauge buggy_backend_sessions on /metrics).
	LeakOnAbort Defect = "leak-on-abort"
)

// Defects lists every defect (not None), in the order above.
func Defects() []Defect {
	return []Defect{
		Status200, Status500OnConnectionError, SlowWebhooks, HungWebhooks, StartedAfterStream, CrashOnErrorCause,
		CloseOnOutboundTrack, CloseOnStreamParams, CloseErrorOnStart, RejectUnknownFields, DropOnUnknownEvent, NumericSequenceNumber,
		NeverReads, NoCloseHandshake, DropOnStop, RefuseAfterAbort, RefuseAfterError,
		ListenerDiesOnBrokenHandshake, NoWSAuth, AuthAfterUpgrade, NoEventAuth, NonIdempotent, NoGET,
		InvalidPlayAudioBase64, InvalidPlayAudioContentType, PlayAudioOnUnidirectional,
		FaultSpreads, OneStreamAtATime, LeakOnAbort,
	}
}
