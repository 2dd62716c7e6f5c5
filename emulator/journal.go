package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// JournalVersion is the version of the journal's JSON Lines format (see
// docs/JOURNAL.md), written in every line as "v". A reader refuses a
// journal of a higher version rather than misread it; a line without "v"
// was written before the field existed (version 0: no ending or setup
// fields). Adding an optional field keeps the version; changing what a
// field or kind means raises it.
const JournalVersion = 1

// Actor is who did or caused something, in journal entries and results.
type Actor string

// The actors.
const (
	ByEmulator Actor = "emulator"
	ByApp      Actor = "app"
	ByNetwork  Actor = "network"
)

// Kind is what a journal entry records. The packages built on the emulator
// add their own (bxml.KindBXML, bxml.KindWarning, voiceapi.KindAPI).
type Kind string

// Journal entry kinds.
const (
	KindCall      Kind = "call"      // a call began or ended
	KindHandshake Kind = "handshake" // the WebSocket upgrade and its answer
	KindFrameOut  Kind = "frame.out" // a message the emulator sent
	KindFrameIn   Kind = "frame.in"  // a message the app sent
	KindMedia     Kind = "media"     // totals of media frames sent on a track
	KindViolation Kind = "violation" // something the app sent that breaks the protocol
	// KindUndocumented is something the app sent whose effect Bandwidth
	// documents nowhere (playAudio on a unidirectional stream, an unknown
	// eventType): worth a look, never a violation.
	KindUndocumented Kind = "undocumented"
	KindClose        Kind = "close"    // a close frame or the end of the connection
	KindFault        Kind = "fault"    // a fault the emulator injected
	KindEnding       Kind = "ending"   // how a stream ended, with its cause
	KindWebhook      Kind = "webhook"  // one webhook delivery attempt and the app's answer
	KindRejected     Kind = "rejected" // a StartStream refused (duplicate, track limit)
	KindPacing       Kind = "pacing"   // late frames skipped in realtime pacing
	// KindPlayback is how the app's audio played to the caller: a gap in
	// its speech (underrun), audio sent far ahead of real time.
	KindPlayback Kind = "playback"
)

// Entry is one line of the journal. Fields not relevant to a kind are empty.
// Secrets never reach an entry: passwords and Authorization headers are
// redacted before they are recorded.
type Entry struct {
	// Version is the format's version, JournalVersion in every line
	// WriteEntries writes; 0 in memory, and in journals older than it.
	Version    int       `json:"v,omitempty"`
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Kind       Kind      `json:"kind"`
	By         Actor     `json:"by,omitempty"`
	CallID     string    `json:"callId,omitempty"`
	StreamID   string    `json:"streamId,omitempty"`
	StreamName string    `json:"streamName,omitempty"`
	// Event is the eventType of a frame or webhook.
	Event string `json:"event,omitempty"`
	// Track and Count describe media frames (Count: how many).
	Track string `json:"track,omitempty"`
	Count int    `json:"count,omitempty"`
	// Code is a WebSocket close code or an HTTP status.
	Code    int           `json:"code,omitempty"`
	Latency time.Duration `json:"latencyNs,omitempty"`
	Cause   string        `json:"cause,omitempty"`
	Error   string        `json:"error,omitempty"`
	// Ending is the row of the termination table a stream ended by, on
	// KindEnding and KindRejected entries (the words of Message are for
	// people; this is for programs).
	Ending Ending `json:"ending,omitempty"`
	// Method is the HTTP method of a webhook or a request to the Voice API
	// or its control API.
	Method string `json:"method,omitempty"`
	// Copy and Attempt number a webhook's deliveries: copy 2 is the
	// deliberate duplicate, attempt 2 the retry after a connection failure.
	Copy    int `json:"copy,omitempty"`
	Attempt int `json:"attempt,omitempty"`
	// NoAnswer says why a webhook got no answer (Error has the details).
	NoAnswer NoAnswer `json:"noAnswer,omitempty"`
	// Setup is how the stream was asked for, on KindHandshake entries.
	Setup *StreamSetup `json:"setup,omitempty"`
	// Message says in words what happened.
	Message string `json:"message"`
	// Data is the frame or request body, when there is one worth keeping.
	Data json.RawMessage `json:"data,omitempty"`
}

// Journal is the ordered, timestamped record of everything an emulator saw
// and did. It is safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	entries []Entry
	changed chan struct{} // closed and replaced on every Add
	// log, when set, receives every entry at debug level (Options.Logger).
	log *slog.Logger
}

// NewJournal returns an empty journal.
func NewJournal() *Journal { return &Journal{changed: make(chan struct{})} }

// Add appends e, stamping its sequence number and (when zero) its time.
func (j *Journal) Add(e Entry) {
	j.mu.Lock()
	e.Seq = int64(len(j.entries) + 1)
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	j.entries = append(j.entries, e)
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
	if j.log != nil {
		j.log.Debug(e.Message, "kind", e.Kind, "by", e.By, "call", e.CallID, "stream", e.StreamName)
	}
}

// Entries returns a copy of the entries so far.
func (j *Journal) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Entry(nil), j.entries...)
}

// Len is the number of entries so far.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// WaitFor blocks until an entry satisfies match or ctx ends, and returns it.
func (j *Journal) WaitFor(ctx context.Context, match func(Entry) bool) (Entry, error) {
	seen := 0
	var found Entry
	err := j.await(ctx, func(entries []Entry) bool {
		for ; seen < len(entries); seen++ {
			if match(entries[seen]) {
				found = entries[seen]
				return true
			}
		}
		return false
	})
	return found, err
}

// Since blocks until the journal holds entries after sequence number seq
// (0: from the first), or ctx ends, and returns a copy of them: a reader
// that follows the journal pays for the new entries only.
func (j *Journal) Since(ctx context.Context, seq int64) ([]Entry, error) {
	var out []Entry
	err := j.await(ctx, func(entries []Entry) bool {
		if int64(len(entries)) > seq {
			out = append([]Entry(nil), entries[max(seq, 0):]...)
			return true
		}
		return false
	})
	return out, err
}

// await calls done with the entries, under the lock, each time they
// change until it returns true or ctx ends.
func (j *Journal) await(ctx context.Context, done func([]Entry) bool) error {
	for {
		j.mu.Lock()
		if done(j.entries) {
			j.mu.Unlock()
			return nil
		}
		changed := j.changed
		j.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WriteJSONLines writes every entry as one JSON object per line.
func (j *Journal) WriteJSONLines(w io.Writer) error { return WriteEntries(w, j.Entries()) }

// WriteFile writes the journal as JSON Lines to path.
func (j *Journal) WriteFile(path string) error { return WriteEntriesFile(path, j.Entries()) }

// WriteEntries writes entries (a journal's, or part of one) as JSON Lines,
// each stamped with JournalVersion: whatever version they were read from,
// they are written in this one.
func WriteEntries(w io.Writer, entries []Entry) error {
	enc := json.NewEncoder(w)
	for _, e := range entries {
		e.Version = JournalVersion
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// WriteEntriesFile writes entries as JSON Lines to path.
func WriteEntriesFile(path string, entries []Entry) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteEntries(f, entries); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadJSONLines reads a journal written by WriteJSONLines. It refuses an
// entry of a newer format version than JournalVersion, whose fields it
// could misread.
func ReadJSONLines(r io.Reader) ([]Entry, error) {
	var out []Entry
	dec := json.NewDecoder(r)
	for dec.More() {
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return out, err
		}
		if e.Version > JournalVersion {
			return out, fmt.Errorf("journal entry %d is in format version %d, newer than this package reads (%d and older)", len(out)+1, e.Version, JournalVersion)
		}
		out = append(out, e)
	}
	return out, nil
}

// StreamSetup is how a stream was asked for: what of its StartStream is
// not on the wire, its call, and the emulator's settings that shape how it
// ends. It rides on the stream's handshake entry so that a journal says
// enough to run the stream again (bwemu replay). It holds no URL and no
// credential: a replay names its own target, and secrets never reach the
// journal (DestinationAuth and EventAuth only say that some were sent).
type StreamSetup struct {
	Mode   protocol.Mode          `json:"mode"`
	Tracks string                 `json:"tracks"`
	Params []protocol.StreamParam `json:"params,omitempty"`
	Pace   Pace                   `json:"pace"`
	Speed  float64                `json:"speed,omitempty"`
	// Audio names the caller's audio as media.Audio's String does
	// ("silence", "tone:440Hz", "greeting.wav (2.5s)"); OutboundAudio is
	// set only when the outbound track played something else.
	Audio         string `json:"audio"`
	OutboundAudio string `json:"outboundAudio,omitempty"`
	EventMethod   string `json:"eventMethod"`
	// DestinationAuth and EventAuth say the handshake and the stream's
	// webhooks carried Basic credentials.
	DestinationAuth bool `json:"destinationAuth,omitempty"`
	EventAuth       bool `json:"eventAuth,omitempty"`

	Call     CallSetup     `json:"call"`
	Timeouts TimeoutsSetup `json:"timeouts"`

	DuplicateWebhooks    bool          `json:"duplicateWebhooks,omitempty"`
	RejectOnConnectError bool          `json:"rejectOnConnectError,omitempty"`
	AppCloseAsError      bool          `json:"appCloseAsError,omitempty"`
	PlaybackBuffer       time.Duration `json:"playbackBufferNs,omitempty"`
}

// CallSetup is the call a stream belongs to, as its webhooks describe it.
type CallSetup struct {
	AccountID        string `json:"accountId"`
	From             string `json:"from"`
	To               string `json:"to"`
	Direction        string `json:"direction"`
	Tag              string `json:"tag,omitempty"`
	DisconnectMethod string `json:"disconnectMethod"`
}

// TimeoutsSetup are the Timeouts a stream ran under, in nanoseconds. It has
// Timeouts' fields, so the two convert into each other: a timeout added to
// Timeouts fails to compile here until the journal records it too.
type TimeoutsSetup struct {
	Handshake      time.Duration `json:"handshakeNs"`
	Write          time.Duration `json:"writeNs"`
	CloseHandshake time.Duration `json:"closeHandshakeNs"`
	Callback       time.Duration `json:"callbackNs"`
	DeadPeer       time.Duration `json:"deadPeerNs"`
}

// Timeouts are the setup's timeouts as the emulator takes them.
func (t TimeoutsSetup) Timeouts() Timeouts {
	return Timeouts(t)
}

// setup is the stream's StreamSetup, defaults filled in as StartStream
// filled them.
func (s *Stream) setup() *StreamSetup {
	spec, c, o := s.spec, s.Call, s.Call.e.opts
	mode := spec.Mode
	if mode == "" {
		mode = protocol.ModeUnidirectional
	}
	setup := &StreamSetup{Mode: mode, Tracks: s.Tracks()[0], Params: spec.Params, Pace: spec.Pace, Speed: spec.Speed,
		Audio: spec.Audio.String(), EventMethod: methodOrPost(spec.StreamEventMethod),
		DestinationAuth: spec.DestinationUsername != "" || spec.DestinationPassword != "",
		EventAuth:       spec.Username != "" || spec.Password != "",
		Call: CallSetup{AccountID: c.AccountID, From: c.From, To: c.To, Direction: c.Direction, Tag: c.Tag,
			DisconnectMethod: methodOrPost(c.spec.DisconnectMethod)},
		Timeouts: TimeoutsSetup{Handshake: o.Timeouts.Handshake, Write: o.Timeouts.Write, CloseHandshake: o.Timeouts.CloseHandshake,
			Callback: c.callbackTimeout(), DeadPeer: o.Timeouts.DeadPeer},
		DuplicateWebhooks: s.Call.e.duplicate.Load(), RejectOnConnectError: o.RejectOnConnectError,
		AppCloseAsError: o.AppCloseAsError, PlaybackBuffer: o.PlaybackBuffer}
	if len(s.tracks) == 2 {
		setup.Tracks = protocol.TracksBoth
	}
	if out := spec.OutboundAudio.String(); out != setup.Audio {
		setup.OutboundAudio = out
	}
	return setup
}

func methodOrPost(m string) string {
	if m == "" {
		return "POST"
	}
	return strings.ToUpper(m)
}
