package scenarios

import (
	"fmt"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// Pos is a place in a scenario file, for error messages and reports.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// File is one loaded, validated scenario file.
type File struct {
	Path      string
	Target    Target
	Defaults  Settings
	Scenarios []*Scenario
}

// Target is the app under test. Empty WebSocket means the built-in
// reference consumer; when the target names no webhook URL either (neither
// Events nor Disconnect), the consumer's /events and /disconnect take the
// webhooks.
type Target struct {
	WebSocket   string // websocket: ws:// or wss:// URL of the app's stream endpoint
	Events      string // events: http(s) URL of the app's webhook endpoint (streamEventUrl)
	EventMethod string // eventMethod: POST (default) or GET
	// Disconnect (disconnect:) is the call's disconnectUrl, where the
	// disconnect webhook goes; none is sent when it is unset. It never
	// defaults to Events: on Bandwidth the streamEventUrl receives only
	// stream events.
	Disconnect string
	// DisconnectMethod (disconnectMethod:) is the call's disconnectMethod,
	// POST (default) or GET: a call-level setting of its own, independent
	// of EventMethod.
	DisconnectMethod string
	WSUser           string // wsUser: destinationUsername
	WSPassword       string // wsPassword: destinationPassword
	EventUser        string // eventUser: webhook Basic user
	EventPassword    string // eventPassword: webhook Basic password
	// CA (ca:) is a PEM file to trust for wss:// streams, https://
	// webhooks and https:// BXML fetches, resolved against the file's
	// directory.
	CA string
	// API (api:) is a host:port such as 127.0.0.1:8090. When set, the run
	// serves the mock Voice API there for the whole file: the app under
	// test, configured with http://API/api/v2 as its Voice API base URL,
	// can update, redirect and hang up the calls of the file's bxml:
	// scenarios. The file then runs its bxml: scenarios on one emulator,
	// one BXML engine and one Voice API server, each scenario's call
	// told apart by its call id (webhooks, journal and api: checks are
	// the call's own); that shared emulator takes its timeouts and
	// options from defaults:, so such scenarios may not set their own.
	// The scenarios without bxml: keep an emulator each.
	API             string
	APIUsername     string // apiUsername: the Voice API's Basic user
	APIPassword     string // apiPassword:
	APIClientID     string // apiClientId: the OAuth client that gets tokens
	APIClientSecret string // apiClientSecret:
}

// Settings are what `defaults:` and each scenario may set. A scenario's own
// settings win over the file's defaults, field by field: Parse merges them.
type Settings struct {
	Call   Call   // call:
	Stream Stream // stream: the scenario's first stream
	Pace   string // pace: realtime or fast ("" = the runner's choice)
	// PacePos is where pace: is, for messages.
	PacePos  Pos
	Speed    float64  // speed: realtime speed factor
	Timeouts Timeouts // timeouts:
	Options  Options  // duplicateWebhooks, rejectOnConnectError, appCloseAsError
	Expect   Expect   // expect: (in defaults: applies to every scenario)
	Extra    []Stream // streams: further streams started with the first
	// BXML (bxml:) makes the call run the app's own BXML instead of
	// starting streams itself; it excludes stream: and streams:.
	BXML *BXML
	// Record (record:) is a directory, as written (relative to the file's
	// directory), where every stream of the scenario is recorded: what its
	// caller heard and said, as WAV files in a directory of the scenario's
	// own, named in the reports.
	Record string
}

// BXML is where a call gets its first BXML. With it the runner starts the
// call through the BXML engine: the app's <StartStream> verbs start the
// streams, and steps and expectations name them by their BXML name (a step
// naming a stream the BXML has not started yet waits for it, up to the
// handshake timeout). The call's identity comes from call:, its disconnect
// webhook goes to target.disconnect (none when it is unset).
type BXML struct {
	Pos Pos
	// URL (url:) serves the first BXML: the app's call-initiated URL, or
	// for event answer its answerUrl.
	URL    string
	Method string // method: POST (default) or GET
	// Event (event:) is initiate (an inbound call to the app; the default,
	// or answer when call.direction is outbound) or answer. With
	// target.api only initiate: the Voice API places the call inbound.
	Event string
	// Username and Password (username:, password:) authenticate the BXML
	// fetches; with target.api also the call's other webhooks, as a voice
	// application's callback credentials do.
	Username string
	Password string
}

// The BXML fetch events a scenario may start a call with.
const (
	BXMLInitiate = "initiate"
	BXMLAnswer   = "answer"
)

// Options are the emulator's switches a file may turn on.
type Options struct {
	DuplicateWebhooks    *bool // duplicateWebhooks: deliver every webhook twice
	RejectOnConnectError *bool // rejectOnConnectError: report failed connects as Rejected
	AppCloseAsError      *bool // appCloseAsError: the app's 1000/1001 close is connection-error
}

// Call is the call's identity.
type Call struct {
	From      string // from:
	To        string // to:
	Direction string // direction: inbound or outbound
	Tag       string // tag:
}

// Stream holds the <StartStream> attributes of one stream.
type Stream struct {
	Pos    Pos
	Name   string                 // name:
	Mode   protocol.Mode          // mode: unidirectional or bidirectional
	Tracks string                 // tracks: inbound, outbound or both
	Params []protocol.StreamParam // params: a map, order kept, up to 12
	// Destination (destination:) replaces the target's websocket URL; Query
	// (query:) adds parameters to it, e.g. a per-call token.
	Destination string
	Query       []protocol.StreamParam
	// Audio (audio:) is silence, tone:HZ, or a .wav/.pcmu path relative to the
	// file; AudioSource is what it was resolved to.
	Audio       string
	AudioSource media.Audio
}

// Timeouts are the emulator's named timeouts; zero keeps the default.
type Timeouts struct {
	Handshake      time.Duration // handshake:
	Write          time.Duration // write:
	CloseHandshake time.Duration // closeHandshake:
	Callback       time.Duration // callback: callbackTimeout
	DeadPeer       time.Duration // deadPeer:
}

// Scenario is one named call flow.
type Scenario struct {
	Pos  Pos
	Name string // name:
	Settings
	Steps []Step // steps:
}

// StepKind names what a step does.
type StepKind string

// The step kinds. In YAML a step is either a bare word (hangup) or a
// one-key map (media: 2s).
const (
	StepMedia             StepKind = "media"             // media: 2s — stream that much audio
	StepSilence           StepKind = "silence"           // silence: 1s — stream that much silence
	StepStopStream        StepKind = "stopStream"        // stopStream | stopStream: NAME | stopStream: {name, wait, timeout}
	StepHangup            StepKind = "hangup"            // hangup — the caller hangs up
	StepAbort             StepKind = "abort"             // abort: reset | drop — a network fault
	StepError             StepKind = "error"             // error — an injected internal error (close 1011)
	StepStart             StepKind = "start"             // start: {name, tracks, …} — another stream on the call
	StepDuplicateWebhooks StepKind = "duplicateWebhooks" // duplicateWebhooks: true — deliver webhooks twice from here on
	StepWait              StepKind = "wait"              // wait: 500ms — let the call's BXML run for that long
	StepWaitForEnd        StepKind = "waitForEnd"        // waitForEnd: 5s — wait for the call to end by itself
	StepSay               StepKind = "say"               // say: hello.wav | say: {file, stream} — the caller speaks a clip
)

// Step is one thing done in a scenario.
type Step struct {
	Pos  Pos
	Kind StepKind
	// Stream is the stream a step acts on (stream: or the stopStream
	// name); empty means the scenario's first stream.
	Stream   string
	Duration time.Duration // media, silence, wait, waitForEnd
	Fault    string        // abort: reset or drop
	Start    *Stream       // start
	// Wait makes stopStream wait, as <StopStream wait="true">, for the app
	// to close the stream, up to Timeout; then it is stopped.
	Wait    bool
	Timeout time.Duration
	On      bool // duplicateWebhooks
	// Audio (say:) is the clip the caller speaks, a .wav/.pcmu path as
	// written (relative to the file); AudioSource is the clip loaded.
	Audio       string
	AudioSource media.Audio
}

// Expect holds a scenario's expectations; nil parts are not checked,
// except Webhooks, Violations and Ending, which always are: every webhook
// answered exactly 204 (when any could be sent), no protocol violation,
// and no stream ended by a fault of the app (an ending whose AppFault is
// set in emulator.Terminations) unless Ending names that very ending.
type Expect struct {
	Started *bool // started: mediaStreamStarted sent for the first stream (true) or not (false)
	// StartedPos is where started: is, for messages.
	StartedPos       Pos
	Ending           *EndingIs         // ending: how a stream must end
	Stopped          *EndingExpect     // stopped: mediaStreamStopped with cause / errorMessage
	Rejected         *EndingExpect     // rejected: mediaStreamRejected with cause
	Disconnect       *DisconnectExpect // disconnect:
	Webhooks         *WebhooksExpect   // webhooks: status policy and response time
	Close            *CloseExpect      // close: how the socket closed
	PlayAudio        *PlayAudioExpect  // playAudio: what the app sent back
	Violations       *int              // violations: protocol violations allowed (0)
	AcceptsNewStream *bool             // acceptsNewStream: a new stream works afterwards
	// API (api:) lists Voice API operations (getCallState, updateCall,
	// updateCallBxml, alias replaceBxml) the app must have made on the
	// scenario's call, each at least once; needs target.api.
	API *APIExpect
	// BXMLWarnings (bxmlWarnings:) is how many BXML warnings the call's
	// documents may carry at most; nil is not checked.
	BXMLWarnings *int
	// Reply, BargeIn and Heard judge a voice agent: how it answered what
	// the caller said (say: steps), and what the caller heard.
	Reply   *ReplyExpect   // reply: {stream, within, min}
	BargeIn *BargeInExpect // bargeIn: {stream, within}
	Heard   *HeardExpect   // heard: {stream, tone, atLeast}
}

// EndingIs names the way a stream must end (expect.ending): a row of
// emulator.Terminations, such as connect-refused or app-close-code. It is
// how a scenario expects an ending that is a fault of the app; every other
// stream expectation then judges the rest of that stream.
type EndingIs struct {
	Pos    Pos
	Stream string          // stream: which stream (default: the first)
	Is     emulator.Ending // is: (the short form's value)
}

// APIExpect checks the Voice API requests the app made on the call.
type APIExpect struct {
	Pos        Pos
	Operations []string
}

// EndingExpect checks the webhook that ended a stream.
type EndingExpect struct {
	Pos          Pos
	Stream       string // stream: which stream (default: the first, or for rejected the one rejected)
	Cause        string // cause:
	ErrorMessage string // errorMessage: a substring of it
}

// DisconnectExpect checks the disconnect webhook.
type DisconnectExpect struct {
	Pos   Pos
	Cause string // cause:
}

// WebhooksExpect is the policy every webhook answer is held to.
type WebhooksExpect struct {
	Pos    Pos
	Status string        // status: "204" (default) or "2xx"
	Within time.Duration // within: the slowest acceptable answer (default: the callback timeout)
}

// CloseExpect checks how a stream's socket closed.
type CloseExpect struct {
	Pos       Pos
	Stream    string         // stream:
	By        emulator.Actor // by: emulator, app or network
	Code      int            // code: the close code received (or sent, when by emulator)
	Handshake *bool          // handshake: both close frames exchanged
}

// PlayAudioExpect checks what the app sent back on a bidirectional stream.
type PlayAudioExpect struct {
	Pos    Pos
	Stream string        // stream:
	Min    int           // min: at least this many valid playAudio messages (default 1)
	Within time.Duration // within: the first one this soon after the start
}

// ReplyExpect checks that the app answered every turn of the caller (each
// say: step) on a bidirectional stream: its audio started within Within of
// the end of the caller's speech and lasted at least Min.
type ReplyExpect struct {
	Pos    Pos
	Stream string        // stream:
	Within time.Duration // within: the slowest acceptable response latency (required)
	Min    time.Duration // min: the least audio a reply holds (0: any)
}

// BargeInExpect checks that, each time the caller spoke while the app was
// playing, the app fell silent (a clear, or no more audio) within Within.
type BargeInExpect struct {
	Pos    Pos
	Stream string        // stream:
	Within time.Duration // within: (required)
}

// HeardExpect checks what the caller heard of the app's playback on a
// recorded stream: at least AtLeast of a Tone of that many Hz, or with no
// tone, at least AtLeast of sound (not silence).
type HeardExpect struct {
	Pos     Pos
	Stream  string        // stream:
	Tone    float64       // tone: HZ (0: any sound)
	AtLeast time.Duration // atLeast: (0: the matcher's default)
}
