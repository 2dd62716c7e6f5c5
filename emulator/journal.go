package emulator

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

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
	for {
		j.mu.Lock()
		for ; seen < len(j.entries); seen++ {
			if match(j.entries[seen]) {
				e := j.entries[seen]
				j.mu.Unlock()
				return e, nil
			}
		}
		changed := j.changed
		j.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// WriteJSONLines writes every entry as one JSON object per line.
func (j *Journal) WriteJSONLines(w io.Writer) error { return WriteEntries(w, j.Entries()) }

// WriteFile writes the journal as JSON Lines to path.
func (j *Journal) WriteFile(path string) error { return WriteEntriesFile(path, j.Entries()) }

// WriteEntries writes entries (a journal's, or part of one) as JSON Lines.
func WriteEntries(w io.Writer, entries []Entry) error {
	enc := json.NewEncoder(w)
	for _, e := range entries {
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

// ReadJSONLines reads a journal written by WriteJSONLines.
func ReadJSONLines(r io.Reader) ([]Entry, error) {
	var out []Entry
	dec := json.NewDecoder(r)
	for dec.More() {
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}
