package scenarios_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/scenarios"
)

// schemaVerdict says what the JSON Schema must make of a broken file.
type schemaVerdict int

const (
	schemaRejects schemaVerdict = iota // the schema can see the problem
	schemaAccepts                      // only the loader can (names, files, cross references)
	schemaSkips                        // not JSON at all (syntax errors, several documents)
)

// broken is one invalid file and the one error it must produce.
type broken struct {
	name   string
	src    string
	want   string // FILE:LINE:COL: message
	schema schemaVerdict
}

// parseErrors parses src as t.yaml and returns its errors.
func parseErrors(src string) scenarios.Errors {
	GinkgoHelper()
	f, err := scenarios.Parse("t.yaml", []byte(src))
	Expect(err).To(HaveOccurred(), "the file should not load")
	Expect(f).To(BeNil())
	var es scenarios.Errors
	Expect(errors.As(err, &es)).To(BeTrue(), "Parse returns Errors, got %T", err)
	return es
}

// headline is an error's first line: FILE:LINE:COL: message.
func headline(e *scenarios.Error) string { return e.Pos.String() + ": " + e.Msg }

// expectShown checks that an error shows its source line and a caret
// under its column.
func expectShown(e *scenarios.Error, src string) {
	GinkgoHelper()
	lines := strings.Split(src, "\n")
	Expect(e.Pos.Line).To(BeNumerically(">=", 1))
	Expect(e.Pos.Line).To(BeNumerically("<=", len(lines)))
	Expect(e.Line).To(Equal(lines[e.Pos.Line-1]))
	Expect(e.Error()).To(Equal(fmt.Sprintf("%s\n    %s\n    %s^", headline(e), e.Line, strings.Repeat(" ", e.Pos.Col-1))))
}

// ok is the valid tail many broken files share.
const okScenario = `scenarios:
  - name: a
    steps: [hangup]
`

var brokenFiles = []broken{
	{"an unknown key", `scenarios:
  - name: a
    stream: {name: agent, colour: red}
    steps: [hangup]
`, `t.yaml:3:27: unknown key "colour" in stream (want one of name, mode, tracks, params, destination, query, audio)`, schemaRejects},

	{"a typo'd key, with a suggestion", `scenarios:
  - name: a
    stream:
      trakcs: both
    steps: [hangup]
`, `t.yaml:4:7: unknown key "trakcs" in stream (did you mean "tracks"?)`, schemaRejects},

	{"a key at the wrong level", `scenarios:
  - name: a
    tracks: both
    steps: [hangup]
`, `t.yaml:3:5: unknown key "tracks" in scenario ("tracks" belongs in stream)`, schemaRejects},

	{"an unknown top-level key", `target: {}
scenaros:
  - name: a
    steps: [hangup]
`, `t.yaml:2:1: unknown key "scenaros" in the file (did you mean "scenarios"?)`, schemaRejects},

	{"a mapping where a string is expected", `scenarios:
  - name: a
    stream: {name: {first: agent}}
    steps: [hangup]
`, `t.yaml:3:20: name: want a string, got a mapping`, schemaRejects},

	{"a string where a mapping is expected", `scenarios:
  - name: a
    stream: agent
    steps: [hangup]
`, `t.yaml:3:13: stream: want a mapping, got the string "agent"`, schemaRejects},

	{"a number where a string is expected", `scenarios:
  - name: a
    stream: {name: 42}
    steps: [hangup]
`, `t.yaml:3:20: name: want a string, got the number 42 (quote it if you mean the text: "42")`, schemaRejects},

	{"a list where a mapping is expected", `target: [ws://127.0.0.1:8080/media]
` + okScenario, `t.yaml:1:9: target: want a mapping, got a list`, schemaRejects},

	{"a bad duration", `scenarios:
  - name: a
    steps:
      - media: 2 seconds
`, `t.yaml:4:16: media: "2 seconds" is not a duration (want a number with a unit: 2s, 1.5s, 500ms, 1m)`, schemaRejects},

	{"a duration without a unit", `scenarios:
  - name: a
    steps:
      - silence: {for: 2}
`, `t.yaml:4:24: for: want a duration with a unit, such as 2s or 500ms, got the number 2`, schemaRejects},

	{"a negative duration", `defaults:
  timeouts: {handshake: -5s}
` + okScenario, `t.yaml:2:25: handshake: "-5s" is negative (want a duration above 0, such as 2s)`, schemaRejects},

	{"a zero duration", `scenarios:
  - name: a
    steps: [media: 0s]
`, `t.yaml:3:20: media: "0s" is zero (want a duration above 0, such as 2s)`, schemaRejects},

	{"an unknown step", `scenarios:
  - name: a
    steps:
      - media: 1s
      - hangUp
`, `t.yaml:5:9: steps[1]: unknown step "hangUp" (want one of media, silence, say, stopStream, hangup, abort, error, start, duplicateWebhooks, wait, waitForEnd); did you mean "hangup"?`, schemaRejects},

	{"an unknown step as a mapping", `scenarios:
  - name: a
    steps:
      - pause: 2s
`, `t.yaml:4:9: steps[0]: unknown step "pause" (want one of media, silence, say, stopStream, hangup, abort, error, start, duplicateWebhooks, wait, waitForEnd)`, schemaRejects},

	{"a step with two keys", `scenarios:
  - name: a
    stream: {name: agent}
    steps:
      - media: 2s
        stream: agent
`, `t.yaml:6:9: steps[0]: a step has exactly one key, got 2 (media, stream); options go inside the step, e.g. media: {for: 2s, stream: NAME}`, schemaRejects},

	{"two steps in one item", `scenarios:
  - name: a
    steps:
      - {hangup: , start: {name: b}}
`, `t.yaml:4:20: steps[0]: a step has exactly one key, got 2 (hangup, start); put each step in its own list item`, schemaRejects},

	{"a step that needs a value written bare", `scenarios:
  - name: a
    steps: [media]
`, `t.yaml:3:13: steps[0]: media needs a value, e.g. media: 2s`, schemaRejects},

	{"a bad tracks value", `scenarios:
  - name: a
    stream: {tracks: all}
    steps: [hangup]
`, `t.yaml:3:22: tracks: "all" is not one of inbound, outbound, both`, schemaRejects},

	{"a bad mode", `defaults:
  stream: {mode: duplex}
` + okScenario, `t.yaml:2:18: mode: "duplex" is not one of unidirectional, bidirectional`, schemaRejects},

	{"a bad pace", `defaults:
  pace: slow
` + okScenario, `t.yaml:2:9: pace: "slow" is not one of realtime, fast`, schemaRejects},

	{"a bad stopped cause", `scenarios:
  - name: a
    steps: [hangup]
    expect:
      stopped: {cause: hangup}
`, `t.yaml:5:24: cause: "hangup" is not one of closed, connection-error, error`, schemaRejects},

	{"a bad rejected cause, with a suggestion", `scenarios:
  - name: a
    steps: [hangup]
    expect:
      rejected: {cause: tracklimit}
`, `t.yaml:5:25: cause: "tracklimit" is not one of connection-error, duplicate, error, track-limit (did you mean "track-limit"?)`, schemaRejects},

	{"a bad disconnect cause", `scenarios:
  - name: a
    steps: [hangup]
    expect:
      disconnect: {cause: hung-up}
`, `t.yaml:5:27: cause: "hung-up" is not one of hangup, busy, timeout, cancel, rejected, callback-error, invalid-bxml, application-error, account-limit, node-capacity-exceeded, error, unknown (did you mean "hangup"?)`, schemaRejects},

	{"a bad close by", `scenarios:
  - name: a
    steps: [hangup]
    expect:
      close: {by: server}
`, `t.yaml:5:19: by: "server" is not one of emulator, app, network`, schemaRejects},

	{"a bad eventMethod", `target:
  eventMethod: post
` + okScenario, `t.yaml:2:16: eventMethod: "post" is not one of POST, GET (did you mean "POST"?)`, schemaRejects},

	{"a bad abort fault", `scenarios:
  - name: a
    steps:
      - abort: kill
`, `t.yaml:4:16: abort: "kill" is not one of reset, drop`, schemaRejects},

	{"a bad abort fault in the long form", `scenarios:
  - name: a
    steps:
      - abort: {fault: rest}
`, `t.yaml:4:24: fault: "rest" is not one of reset, drop (did you mean "reset"?)`, schemaRejects},

	{"13 StreamParams", `scenarios:
  - name: a
    stream:
      params: {p1: a, p2: b, p3: c, p4: d, p5: e, p6: f, p7: g, p8: h, p9: i, p10: j, p11: k, p12: l, p13: m}
    steps: [hangup]
`, `t.yaml:4:103: params: 13 parameters, but Bandwidth allows at most 12 <StreamParam>s`, schemaRejects},

	{"a StreamParam name over 256 characters", `scenarios:
  - name: a
    stream:
      params:
        ` + strings.Repeat("n", 257) + `: x
    steps: [hangup]
`, `t.yaml:5:9: params: the name "nnnnnnnnnnnnnnnnnnnn"… is 257 characters long (at most 256)`, schemaRejects},

	{"a StreamParam value over 2048 characters", `scenarios:
  - name: a
    stream:
      params:
        long: ` + strings.Repeat("v", 2049) + `
    steps: [hangup]
`, `t.yaml:5:15: params.long: the value is 2049 characters long (at most 2048)`, schemaRejects},

	{"a duplicate StreamParam", `scenarios:
  - name: a
    stream:
      params: {tenant: a, tenant: b}
    steps: [hangup]
`, `t.yaml:4:27: duplicate key "tenant" (first set at line 4)`, schemaSkips},

	{"duplicate scenario names", `scenarios:
  - name: same
    steps: [hangup]
  - name: same
    steps: [hangup]
`, `t.yaml:4:11: name: "same" is already the name of the scenario at line 2 (names must be unique in a file)`, schemaAccepts},

	{"a scenario without a name", `scenarios:
  - steps: [hangup]
`, `t.yaml:2:5: scenarios[0]: missing key "name" (every scenario needs a unique name)`, schemaRejects},

	{"a scenario without steps", `scenarios:
  - name: a
`, `t.yaml:2:5: scenarios[0]: missing key "steps" (want a list such as [media: 2s, hangup])`, schemaRejects},

	{"no scenarios key", `target:
  websocket: ws://127.0.0.1:8080/media
`, `t.yaml:1:1: missing key "scenarios": a file needs at least one scenario`, schemaRejects},

	{"an empty scenarios list", `scenarios: []
`, `t.yaml:1:12: scenarios: want at least one scenario, got none`, schemaRejects},

	{"an empty file", `# nothing here
`, `t.yaml:1:1: the file is empty: want scenarios: with at least one scenario (and optionally target: and defaults:)`, schemaSkips},

	{"empty steps", `scenarios:
  - name: a
    steps: []
`, `t.yaml:3:12: steps: want at least one step, got none`, schemaRejects},

	{"a step on an undefined stream", `scenarios:
  - name: a
    stream: {name: agent}
    steps:
      - stopStream: other
`, `t.yaml:5:21: stopStream: stream "other" is not defined before this step (defined: agent)`, schemaAccepts},

	{"a step on a stream started only later", `scenarios:
  - name: a
    steps:
      - media: {for: 1s, stream: second}
      - start: {name: second}
`, `t.yaml:4:34: stream: stream "second" is not defined before this step (no stream has a name yet: name the first with stream: {name: NAME})`, schemaAccepts},

	{"an expectation on an undefined stream", `scenarios:
  - name: a
    stream: {name: agent}
    steps: [hangup]
    expect:
      close: {stream: ghost, by: emulator}
`, `t.yaml:6:23: stream: stream "ghost" is not defined in scenario "a" (defined: agent)`, schemaAccepts},

	{"playAudio on a unidirectional stream", `scenarios:
  - name: a
    steps: [hangup]
    expect:
      playAudio: {min: 1}
`, `t.yaml:5:18: playAudio: the first stream of scenario "a" is unidirectional: only a bidirectional stream carries the app's audio back (set mode: bidirectional)`, schemaAccepts},

	{"a bad ws URL", `target:
  websocket: "ws//127.0.0.1:8080/media"
` + okScenario, `t.yaml:2:14: websocket: "ws//127.0.0.1:8080/media" is not a ws:// or wss:// URL with a host (the app's WebSocket endpoint)`, schemaRejects},

	{"an http websocket", `target:
  websocket: http://127.0.0.1:8080/media
` + okScenario, `t.yaml:2:14: websocket: "http://127.0.0.1:8080/media" has scheme http: want ws:// or wss:// (the app's WebSocket endpoint)`, schemaRejects},

	{"a ws events URL", `target:
  websocket: ws://127.0.0.1:8080/media
  events: ws://127.0.0.1:8080/events
` + okScenario, `t.yaml:3:11: events: "ws://127.0.0.1:8080/events" has scheme ws: want http:// or https:// (the app's webhook endpoint)`, schemaRejects},

	{"a bad stream destination", `scenarios:
  - name: a
    stream: {destination: "127.0.0.1:8080"}
    steps: [hangup]
`, `t.yaml:3:27: destination: "127.0.0.1:8080" is not a ws:// or wss:// URL with a host (the app's WebSocket endpoint)`, schemaRejects},

	{"a missing audio file", `scenarios:
  - name: a
    stream: {audio: testdata/missing.wav}
    steps: [hangup]
`, `t.yaml:3:21: audio: file "testdata/missing.wav" not found (looked for testdata/missing.wav)`, schemaAccepts},

	{"an unreadable WAV file", `defaults:
  stream:
    audio: testdata/audio/not-audio.wav
` + okScenario, `t.yaml:3:12: audio: testdata/audio/not-audio.wav: not a WAV file (no RIFF/WAVE header): bwemu reads integer PCM WAV (8/16/24/32-bit), IEEE float WAV (32/64-bit) or µ-law/A-law WAV`, schemaAccepts},

	{"an unsupported audio format", `scenarios:
  - name: a
    stream: {audio: song.mp3}
    steps: [hangup]
`, `t.yaml:3:21: audio: "song.mp3" is not silence, tone:HZ (e.g. tone:440), or a .wav, .pcmu, .ulaw or .raw file`, schemaRejects},

	{"tone:abc", `scenarios:
  - name: a
    stream: {audio: "tone:abc"}
    steps: [hangup]
`, `t.yaml:3:21: audio: "tone:abc": "abc" is not a frequency in Hz: use tone:HZ, e.g. tone:440`, schemaRejects},

	{"speed 0", `defaults:
  speed: 0
` + okScenario, `t.yaml:2:10: speed: 0 is not above 0 (want a factor such as 2 for twice real time, 0.5 for half)`, schemaRejects},

	{"callback 30s", `defaults:
  timeouts:
    callback: 30s
` + okScenario, `t.yaml:3:15: callback: 30s is out of range (Bandwidth's callbackTimeout is 1s to 25s)`, schemaRejects},

	{"webhooks status 200", `defaults:
  expect:
    webhooks: {status: 200}
` + okScenario, `t.yaml:3:24: status: 200 is not one of 204, 2xx (204: exactly 204, as Bandwidth asks; 2xx: any success)`, schemaRejects},

	{"a close code out of range", `scenarios:
  - name: a
    steps: [hangup]
    expect:
      close: {code: 999}
`, `t.yaml:5:21: code: 999 is not a WebSocket close code (want 1000 to 4999, e.g. 1000)`, schemaRejects},

	{"negative violations", `scenarios:
  - name: a
    steps: [hangup]
    expect: {violations: -1}
`, `t.yaml:4:26: violations: -1 is negative (want how many protocol violations are allowed, usually 0)`, schemaRejects},

	{"yes for a boolean", `scenarios:
  - name: a
    steps: [hangup]
    expect: {started: yes}
`, `t.yaml:4:23: started: want true or false, got the string "yes"`, schemaRejects},

	{"a stopStream timeout without wait", `scenarios:
  - name: a
    steps:
      - stopStream: {timeout: 5s}
`, `t.yaml:4:22: timeout: only applies with wait: true (how long to wait for the app to close the stream)`, schemaAccepts},

	{"hangup with a value", `scenarios:
  - name: a
    steps:
      - hangup: now
`, `t.yaml:4:17: hangup: takes no value, got the string "now" (write - hangup)`, schemaRejects},

	{"a CA file that does not exist", `target:
  websocket: wss://127.0.0.1:8443/media
  ca: testdata/certs/missing.pem
` + okScenario, `t.yaml:3:7: ca: file "testdata/certs/missing.pem" not found (looked for testdata/certs/missing.pem)`, schemaAccepts},

	{"a duplicate key", `scenarios:
  - name: a
    name: b
    steps: [hangup]
`, `t.yaml:3:5: duplicate key "name" (first set at line 2)`, schemaSkips},

	{"two YAML documents", okScenario + `---
` + okScenario, `t.yaml:4:1: a scenario file holds one YAML document; put every scenario under the first document's scenarios:`, schemaSkips},

	{"a YAML syntax error", `scenarios:
  - name: a
    stream: {name: agent
    steps: [hangup]
`, `t.yaml:4:5: YAML syntax error: ',' or '}' must be specified`, schemaSkips},

	{"a bxml: url that is not http(s)", `scenarios:
  - name: a
    bxml: {url: ws://app.test/bxml}
    steps: [wait: 1s]
`, `t.yaml:3:17: url: "ws://app.test/bxml" has scheme ws: want http:// or https:// (the app's URL that serves the call's first BXML)`, schemaRejects},

	{"a bxml: event that is not answer or initiate", `scenarios:
  - name: a
    bxml: {url: http://app.test/bxml, event: redirect}
    steps: [wait: 1s]
`, `t.yaml:3:46: event: "redirect" is not one of initiate, answer`, schemaRejects},

	{"bxml: with stream: in one scenario", `scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    stream: {name: agent}
    steps: [wait: 1s]
`, `t.yaml:3:11: bxml: (at 3:11) and stream:/streams: (at 4:13) exclude each other: with bxml: the app's <StartStream> verbs start the streams`, schemaRejects},

	{"bxml: in a scenario, streams: in the defaults", `defaults:
  streams: [{name: agent}]
scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    steps: [wait: 1s]
`, `t.yaml:5:11: bxml: (at 5:11) and stream:/streams: (at 2:13) exclude each other: with bxml: the app's <StartStream> verbs start the streams`, schemaAccepts},

	{"wait without a duration", `scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    steps:
      - wait
`, `t.yaml:5:9: steps[0]: wait needs a value, e.g. wait: 500ms`, schemaRejects},

	{"waitForEnd with a word for a duration", `scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    steps:
      - waitForEnd: soon
`, `t.yaml:5:21: waitForEnd: "soon" is not a duration (want a number with a unit: 2s, 1.5s, 500ms, 1m)`, schemaRejects},

	{"waitForEnd on a call without BXML", `scenarios:
  - name: a
    stream: {name: agent}
    steps: [waitForEnd: 1s]
`, `t.yaml:4:13: waitForEnd: only a call that runs the app's BXML (bxml:) ends by itself; use wait: or hangup`, schemaAccepts},

	{"a target.api without a port", `target: {api: localhost}
scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    steps: [wait: 1s]
`, `t.yaml:1:15: api: "localhost" is not a host:port to serve the Voice API on (e.g. 127.0.0.1:8090)`, schemaRejects},

	{"expect.api without target.api", `scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    steps: [wait: 1s]
    expect: {api: [updateCall]}
`, `t.yaml:5:19: api: scenario "a" expects Voice API requests, but the file serves no Voice API: set target.api (e.g. 127.0.0.1:8090)`, schemaAccepts},

	{"an unknown Voice API operation", `target: {api: "127.0.0.1:8090"}
scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    steps: [wait: 1s]
    expect: {api: [hangupCall]}
`, `t.yaml:6:20: api[0]: "hangupCall" is not one of getCallState, updateCall, updateCallBxml`, schemaRejects},

	{"a say: file that does not exist", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps:
      - say: audio/missing.wav
`, `t.yaml:5:14: say: file "audio/missing.wav" not found (looked for audio/missing.wav)`, schemaAccepts},

	{"a say: file that is not audio", `scenarios:
  - name: a
    steps:
      - say: {file: testdata/audio/hello.mp3}
`, `t.yaml:4:21: say: "testdata/audio/hello.mp3" is not a .wav, .pcmu, .ulaw or .raw file (the caller's speech)`, schemaRejects},

	{"say: without a file in the long form", `scenarios:
  - name: a
    stream: {name: agent}
    steps:
      - say: {stream: agent}
`, `t.yaml:5:14: say: missing key "file" (the caller's speech, e.g. say: {file: hello.wav, stream: NAME})`, schemaRejects},

	{"say: at pace fast", `scenarios:
  - name: a
    pace: fast
    steps:
      - say: testdata/audio/hello.wav
`, `t.yaml:3:11: pace: fast does not suit scenario "a": say/reply/bargeIn need pace: realtime: turn timing is media time in real time (its say: at 5:9)`, schemaAccepts},

	{"reply: under the defaults' pace fast, reported once for every scenario", `defaults:
  pace: fast
  stream: {mode: bidirectional}
scenarios:
  - name: a
    steps: [hangup]
    expect: {reply: {within: 1s}}
  - name: b
    steps: [{say: testdata/audio/hello.wav}]
`, `t.yaml:2:9: pace: fast does not suit scenarios "a", "b": say/reply/bargeIn need pace: realtime: turn timing is media time in real time`, schemaAccepts},

	{"reply: without within", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps: [hangup]
    expect:
      reply: {min: 500ms}
`, `t.yaml:6:14: reply: missing key "within" (how soon the app must start answering each turn, e.g. reply: {within: 1s})`, schemaRejects},

	{"bargeIn: without within", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps: [hangup]
    expect:
      bargeIn: {}
`, `t.yaml:6:16: bargeIn: missing key "within" (how soon the app must fall silent once the caller interrupts it, e.g. bargeIn: {within: 500ms})`, schemaRejects},

	{"a negative reply latency", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps: [hangup]
    expect:
      reply: {within: -1s}
`, `t.yaml:6:23: within: "-1s" is negative (want a duration above 0, such as 2s)`, schemaRejects},

	{"a negative reply min", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps: [hangup]
    expect:
      reply: {within: 1s, min: -200ms}
`, `t.yaml:6:32: min: "-200ms" is negative (want a duration above 0, such as 2s)`, schemaRejects},

	{"a negative bargeIn within", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps: [hangup]
    expect:
      bargeIn: {within: -500ms}
`, `t.yaml:6:25: within: "-500ms" is negative (want a duration above 0, such as 2s)`, schemaRejects},

	{"a negative heard atLeast", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps: [hangup]
    expect:
      heard: {atLeast: -1s}
`, `t.yaml:6:24: atLeast: "-1s" is negative (want a duration above 0, such as 2s)`, schemaRejects},

	{"a heard tone past the Nyquist frequency", `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps: [hangup]
    expect:
      heard: {tone: 4000}
`, `t.yaml:6:21: tone: 4000 Hz is out of range (want a frequency above 0 and below 4000 Hz, half the 8 kHz sample rate, e.g. 440)`, schemaRejects},

	{"reply: on a unidirectional stream", `scenarios:
  - name: a
    steps:
      - say: testdata/audio/hello.wav
    expect:
      reply: {within: 1s}
`, `t.yaml:6:14: reply: the first stream of scenario "a" is unidirectional: only a bidirectional stream carries the app's audio back (set mode: bidirectional)`, schemaAccepts},

	{"heard: on a unidirectional stream named", `scenarios:
  - name: a
    stream: {name: agent, mode: bidirectional}
    streams: [{name: side}]
    steps: [hangup]
    expect:
      heard: {stream: side}
`, `t.yaml:7:14: heard: stream "side" of scenario "a" is unidirectional: only a bidirectional stream carries the app's audio back (set mode: bidirectional)`, schemaAccepts},

	{"bargeIn: on a stream that is not defined", `scenarios:
  - name: a
    stream: {name: agent, mode: bidirectional}
    steps: [hangup]
    expect:
      bargeIn: {stream: ghost, within: 1s}
`, `t.yaml:6:25: stream: stream "ghost" is not defined in scenario "a" (defined: agent)`, schemaAccepts},

	{"heard: on a bxml: call that is not recorded", `scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    steps: [wait: 1s]
    expect:
      heard: {stream: agent}
`, `t.yaml:6:14: heard: scenario "a" has bxml:: its streams are the app's BXML's, started unrecorded; set record: DIR to record them`, schemaAccepts},

	{"a Basic auth user with a colon, which no client could send", `target: {websocket: "ws://127.0.0.1:1/media", wsUser: "a:b"}
scenarios:
  - name: a
    steps: [hangup]
`, `t.yaml:1:55: wsUser: a Basic auth user cannot contain ':' (RFC 7617), got "a:b"`, schemaAccepts},

	{"record: naming a file", `scenarios:
  - name: a
    record: testdata/full.yaml
    steps: [hangup]
`, `t.yaml:3:13: record: "testdata/full.yaml" is a file, not a directory (the recordings go into a directory of each scenario's own in it)`, schemaAccepts},

	{"a bxml: scenario recording on the shared emulator by itself", `target: {api: "127.0.0.1:8090"}
scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    record: rec
    steps: [wait: 1s]
`, `t.yaml:5:5: record: scenarios with bxml: share the file's emulator when target.api is set (at 1:15): set record in defaults:`, schemaAccepts},

	{"a bxml: scenario setting the shared emulator's options", `target: {api: "127.0.0.1:8090"}
scenarios:
  - name: a
    bxml: {url: http://app.test/bxml}
    timeouts: {handshake: 2s}
    steps: [wait: 1s]
`, `t.yaml:5:5: timeouts: scenarios with bxml: share the file's emulator when target.api is set (at 1:15): set timeouts in defaults:`, schemaAccepts},
}

var _ = Describe("broken files", func() {
	entries := make([]TableEntry, len(brokenFiles))
	for i, b := range brokenFiles {
		entries[i] = Entry(b.name, b)
	}
	DescribeTable("report one error at the offending node, with the source line and a caret",
		func(b broken) {
			es := parseErrors(b.src)
			Expect(es).To(HaveLen(1), "all errors: %v", es)
			Expect(headline(es[0])).To(Equal(b.want))
			expectShown(es[0], b.src)
		},
		entries,
	)

	It("refuses a say: clip that holds no speech, at the clip's place", func() {
		quiet := filepath.Join(GinkgoT().TempDir(), "quiet.wav")
		Expect(media.WriteWAV(quiet, bytes.Repeat([]byte{media.SilenceByte}, media.SampleRate/2))).To(Succeed())
		for _, step := range []string{"say: " + quiet, "say: {file: " + quiet + "}"} {
			src := `scenarios:
  - name: a
    stream: {mode: bidirectional}
    steps:
      - ` + step + `
`
			es := parseErrors(src)
			Expect(es).To(HaveLen(1), "all errors: %v", es)
			col := strings.Index(src[strings.Index(src, "- say"):], quiet) + len("      ") + 1
			Expect(headline(es[0])).To(Equal(fmt.Sprintf("t.yaml:5:%d: say: %s holds no speech: its level never reaches -40 dBFS", col, quiet)))
			expectShown(es[0], src)
		}
	})

	It("has a table of at least 25 broken files", func() {
		Expect(len(brokenFiles)).To(BeNumerically(">=", 25))
	})

	It("reports every error of a file at once, in source order", func() {
		src := `target:
  websocket: http://127.0.0.1:8080/media
scenarios:
  - name: a
    stream: {tracks: all}
    steps:
      - media: 2s
      - hangUp
`
		es := parseErrors(src)
		Expect(es).To(HaveLen(3))
		Expect(headline(es[0])).To(HavePrefix(`t.yaml:2:14: websocket: "http://127.0.0.1:8080/media" has scheme http`))
		Expect(headline(es[1])).To(Equal(`t.yaml:5:22: tracks: "all" is not one of inbound, outbound, both`))
		Expect(headline(es[2])).To(HavePrefix(`t.yaml:8:9: steps[1]: unknown step "hangUp"`))
		for _, e := range es {
			expectShown(e, src)
		}
		Expect(es.Error()).To(Equal(es[0].Error() + "\n" + es[1].Error() + "\n" + es[2].Error()))
	})

	It("sorts errors found out of order (defaults after scenarios) by position", func() {
		src := `scenarios:
  - name: a
    stream: {tracks: all}
    steps: [hangup]
defaults:
  pace: slow
`
		es := parseErrors(src)
		Expect(es).To(HaveLen(2))
		Expect(es[0].Pos.Line).To(Equal(3))
		Expect(es[1].Pos.Line).To(Equal(6))
	})

	It("reports a bad value in defaults once, however many scenarios use it", func() {
		src := `defaults:
  expect:
    close: {stream: ghost}
scenarios:
  - name: a
    steps: [hangup]
  - name: b
    steps: [hangup]
`
		es := parseErrors(src)
		Expect(es).To(HaveLen(1))
		Expect(headline(es[0])).To(Equal(`t.yaml:3:21: stream: stream "ghost" is not defined in scenarios "a", "b"`))
	})

	It("keeps reporting after a bad scenario, and for every bad step", func() {
		src := `scenarios:
  - name: a
    steps: [media, hangup: 1, abort]
  - 42
  - name: b
    steps: [{}]
`
		es := parseErrors(src)
		var got []string
		for _, e := range es {
			got = append(got, headline(e))
		}
		Expect(got).To(Equal([]string{
			`t.yaml:3:13: steps[0]: media needs a value, e.g. media: 2s`,
			`t.yaml:3:28: hangup: takes no value, got the number 1 (write - hangup)`,
			`t.yaml:3:31: steps[2]: abort needs a value, e.g. abort: reset`,
			`t.yaml:4:5: scenarios[1]: want a mapping, got the number 42`,
			`t.yaml:6:13: steps[0]: empty step: want one of media, silence, say, stopStream, hangup, abort, error, start, duplicateWebhooks, wait, waitForEnd`,
		}))
	})

	It("names the file as given and lets errors.As reach each Error", func() {
		_, err := scenarios.Parse("dir/x.yaml", []byte("scenarios: 1\n"))
		Expect(err).To(MatchError(HavePrefix("dir/x.yaml:1:12: scenarios: want a list, got the number 1\n")))
		var e *scenarios.Error
		Expect(errors.As(err, &e)).To(BeTrue())
		Expect(e.Pos).To(Equal(scenarios.Pos{File: "dir/x.yaml", Line: 1, Col: 12}))
	})

	It("returns the read error of a file that cannot be read", func() {
		_, err := scenarios.Load("testdata/no-such-file.yaml")
		Expect(err).To(MatchError(ContainSubstring("no such file")))
	})
})

var _ = Describe("Error", func() {
	It("puts the caret under the column, keeping tabs so it lines up", func() {
		e := &scenarios.Error{Pos: scenarios.Pos{File: "f.yaml", Line: 3, Col: 6}, Msg: "bad", Line: "\tab: cd"}
		Expect(e.Error()).To(Equal("f.yaml:3:6: bad\n    \tab: cd\n    \t    ^"))
	})

	It("counts columns in characters, not bytes", func() {
		e := &scenarios.Error{Pos: scenarios.Pos{File: "f.yaml", Line: 1, Col: 9}, Msg: "bad", Line: "tag: «x» y"}
		Expect(e.Error()).To(HaveSuffix("\n    tag: «x» y\n            ^"))
	})

	It("shows only the headline when there is no source line", func() {
		e := &scenarios.Error{Pos: scenarios.Pos{File: "f.yaml", Line: 9, Col: 1}, Msg: "bad"}
		Expect(e.Error()).To(Equal("f.yaml:9:1: bad"))
	})

	It("places the caret past the end of a short line", func() {
		e := &scenarios.Error{Pos: scenarios.Pos{File: "f.yaml", Line: 1, Col: 5}, Msg: "bad", Line: "ab"}
		Expect(e.Error()).To(HaveSuffix("\n    ab\n        ^"))
	})
})
