package bxml

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Defaults of the Engine's settings, and the engine's other fixed choices.
const (
	// DefaultSpeechRate is how long SpeakSentence takes per word: 300 ms is
	// about 200 words a minute, the brisk end of text-to-speech voices at
	// their default rate. Bandwidth documents no duration (it depends on
	// the voice, the punctuation and SSML); what matters to a stream test
	// is that speech takes time that grows with the text, so the rate is
	// configurable and the engine makes no attempt to be exact.
	DefaultSpeechRate = 300 * time.Millisecond

	// DefaultStopStreamWaitTimeout bounds <StopStream wait="true">.
	// Bandwidth says the verb waits until the stream's socket is closed
	// but documents no limit (undocumented). The emulator stops the stream
	// itself after 30 s, long enough for any test's conversation and short
	// enough that a forgotten close fails a test instead of hanging it.
	DefaultStopStreamWaitTimeout = 30 * time.Second

	// FallbackAudioDuration is how long PlayAudio plays when the file is
	// not a WAV the emulator can decode (MP3, a failed fetch…): the engine
	// cannot know the real length, so it plays a 1 s tone and journals why.
	FallbackAudioDuration = time.Second

	// MaxAudioFile bounds a PlayAudio download.
	MaxAudioFile = 16 << 20

	// Tone frequencies played to the caller (heard on outbound tracks) in
	// place of what Bandwidth would play; distinct so a test can tell them
	// apart.
	SpeechToneHz = 440 // SpeakSentence
	AudioToneHz  = 660 // PlayAudio of a file the engine cannot decode
	RingToneHz   = 480 // Ring
)

var speechTone, audioTone, ringTone = mustTone(SpeechToneHz), mustTone(AudioToneHz), mustTone(RingToneHz)

func mustTone(hz float64) media.Audio {
	a, err := media.Tone(hz)
	if err != nil {
		panic(err) // the constants above are in range
	}
	return a
}

// Engine executes BXML on emulated calls with Bandwidth's semantics. Its
// zero value with Emulator set works; set fields before the first Start
// and do not change them afterwards.
type Engine struct {
	Emulator *emulator.Emulator
	// HTTPClient fetches BXML and PlayAudio files. Nil: a client of the
	// engine's own that keeps no idle connections (so nothing lingers
	// after a run). Its Timeout is not used: each fetch is bounded by the
	// call's callback timeout.
	HTTPClient *http.Client
	// Pace of the streams StartStream starts (default Realtime). With Fast,
	// media flows only when the test calls Stream.Media.
	Pace emulator.Pace
	// Audio is the caller's audio on inbound tracks (default silence).
	Audio media.Audio
	// SpeechRate is the time per word of SpeakSentence (default
	// DefaultSpeechRate, which says why).
	SpeechRate time.Duration
	// StopStreamWaitTimeout bounds <StopStream wait="true"> (default
	// DefaultStopStreamWaitTimeout; Bandwidth's value is undocumented).
	StopStreamWaitTimeout time.Duration

	once   sync.Once
	client *http.Client
}

// CallOptions describe a call whose BXML the engine runs.
type CallOptions struct {
	// Call is the call's identity, disconnect webhook and callback timeout.
	// BaseURL defaults to URL.
	Call emulator.CallSpec
	// URL serves the first BXML: the answerUrl of an outbound call
	// (eventType answer) or the app's URL for inbound calls (initiate).
	URL string
	// Method is POST (default) or GET.
	Method string
	// Username and Password authenticate the BXML fetch (HTTP Basic).
	Username, Password string
	// EventType is "answer" or "initiate"; default answer for an outbound
	// call, initiate for an inbound one.
	EventType string
}

// ErrCallEnded is returned by Run's methods once the call has ended (or
// the run is over), and is Run.Err when the call was ended outside the
// engine (Call.Hangup, Call.End, Emulator.Close) while BXML was running.
// It is emulator.ErrCallEnded itself: one error, whichever layer says it.
var ErrCallEnded = emulator.ErrCallEnded

// Start creates the call and runs its BXML on a goroutine of its own: it
// fetches the first document from o.URL and executes it verb by verb until
// the call ends or ctx is done. It returns at once.
func (en *Engine) Start(ctx context.Context, o CallOptions) (*Run, error) {
	if en.Emulator == nil {
		return nil, errors.New("bxml: Engine.Emulator is nil")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bxml: call URL %q is not an http:// or https:// URL", o.URL)
	}
	o.Method = strings.ToUpper(o.Method)
	switch o.Method {
	case "":
		o.Method = http.MethodPost
	case http.MethodPost, http.MethodGet:
	default:
		return nil, fmt.Errorf("bxml: method %q: want POST or GET", o.Method)
	}
	switch o.EventType {
	case "":
		o.EventType = EventInitiate
		if o.Call.Direction == protocol.DirectionOutbound {
			o.EventType = EventAnswer
		}
	case EventAnswer, EventInitiate:
	default:
		return nil, fmt.Errorf("bxml: event type %q: want answer or initiate", o.EventType)
	}
	spec := o.Call
	if spec.BaseURL == "" {
		spec.BaseURL = o.URL
	}
	call, err := en.Emulator.NewCall(&spec)
	if err != nil {
		return nil, fmt.Errorf("bxml: failed to create the call: %w", err)
	}
	r := newRun(ctx, en.settings(), call, o)
	go r.run()
	return r, nil
}

// settings are the engine's fields with defaults filled in.
type settings struct {
	client     *http.Client
	pace       emulator.Pace
	audio      media.Audio
	speechRate time.Duration
	stopWait   time.Duration
}

func (en *Engine) settings() settings {
	s := settings{client: en.HTTPClient, pace: en.Pace, audio: en.Audio, speechRate: en.SpeechRate, stopWait: en.StopStreamWaitTimeout}
	if s.client == nil {
		en.once.Do(func() {
			t := weburl.NewTransport()
			t.DisableKeepAlives = true // no idle connection outlives a fetch
			// The CA trusted for wss:// is trusted for https:// BXML too.
			t.TLSClientConfig = en.Emulator.Options().TLSConfig.Clone()
			en.client = &http.Client{Transport: t}
		})
		s.client = en.client
	}
	if s.pace == "" {
		s.pace = emulator.Realtime
	}
	if s.audio == nil {
		s.audio = media.Silence()
	}
	if s.speechRate <= 0 {
		s.speechRate = DefaultSpeechRate
	}
	if s.stopWait <= 0 {
		s.stopWait = DefaultStopStreamWaitTimeout
	}
	return s
}
