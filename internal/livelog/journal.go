package livelog

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
)

// Follower hands a journal's entries to a function as they are added, on
// a goroutine of its own.
type Follower struct {
	j      *emulator.Journal
	keep   func(emulator.Entry) bool
	each   func(emulator.Entry)
	cancel context.CancelFunc
	done   chan struct{}
	next   int64 // the Seq of the next entry to look at
}

// Follow calls each with every entry of j that keep selects, in order, as
// they are added, until Stop; keep and each run on the follower's
// goroutine.
//
// Follow takes every entry added since its last look in one
// Journal.Since, so it pays for the new entries only, and it never polls.
func Follow(j *emulator.Journal, keep func(emulator.Entry) bool, each func(emulator.Entry)) *Follower {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{j: j, keep: keep, each: each, cancel: cancel, done: make(chan struct{}), next: 1}
	go func() {
		defer close(f.done)
		for f.batch(ctx) {
		}
	}()
	return f
}

// batch waits for entries after those handed on so far, hands on those
// keep selects, and reports whether to go on.
func (f *Follower) batch(ctx context.Context) bool {
	entries, err := f.j.Since(ctx, f.next-1)
	if err != nil {
		return false
	}
	f.next = entries[len(entries)-1].Seq + 1
	for _, e := range entries {
		if f.keep(e) {
			f.each(e)
		}
	}
	return true
}

// Stop stops following, hands on the entries added before it was called
// that were not handed on yet, and returns once each has returned for
// the last time.
func (f *Follower) Stop() {
	f.cancel()
	<-f.done
	entries := f.j.Entries()
	if f.next-1 > int64(len(entries)) {
		return
	}
	for _, e := range entries[f.next-1:] {
		if f.keep(e) {
			f.each(e)
		}
	}
	f.next = int64(len(entries)) + 1
}

// Journal turns an emulator's journal entries into lines. A stream's end
// is summed up from the entries before it (its media totals, its skipped
// frames, its close frames), which Journal keeps until the end arrives.
// It is not safe for concurrent use: give it the entries of one Follow.
type Journal struct {
	em      *emulator.Emulator
	streams map[string]*streamSoFar
}

// streamSoFar is what the journal said of a live stream.
type streamSoFar struct {
	frames       map[string]int
	skipped      int
	closedBy     emulator.Actor
	code, answer int  // the first close frame's code, and the answer's
	warned       bool // a violation was printed: the next are only counted in the result
}

// NewJournal returns a Journal for em's entries; em tells the numbers of
// a call that starts.
func NewJournal(em *emulator.Emulator) *Journal {
	return &Journal{em: em, streams: map[string]*streamSoFar{}}
}

// Keep reports whether an entry makes a line or feeds one: Follow's keep.
// Frames, faults and BXML verbs make none (the frame summary and the
// ending say what they did); nor do reads of the control API, which a
// test driver may repeat many times a second.
func Keep(e emulator.Entry) bool {
	switch e.Kind {
	case emulator.KindCall, emulator.KindHandshake, emulator.KindMedia, emulator.KindPacing, emulator.KindClose,
		emulator.KindEnding, emulator.KindWebhook, emulator.KindRejected, emulator.KindViolation,
		voiceapi.KindAPI, bxml.KindWarning:
		return true
	case voiceapi.KindControl:
		return e.Method != http.MethodGet
	}
	return false
}

// Lines returns the lines an entry makes: none (it only feeds a later
// line), one, or two (a stream's end: its frame summary and its close).
func (j *Journal) Lines(e emulator.Entry) []Line {
	l := Line{Time: e.Time, Level: Info, CallID: e.CallID, StreamID: e.StreamID, StreamName: e.StreamName}
	switch e.Kind {
	case emulator.KindCall:
		return []Line{j.call(l, e)}
	case emulator.KindHandshake:
		return []Line{handshake(l, e)}
	case emulator.KindMedia:
		s := j.stream(e.StreamID)
		s.frames[e.Track] = e.Count
	case emulator.KindPacing:
		j.stream(e.StreamID).skipped += e.Count
	case emulator.KindClose:
		j.close(e)
	case emulator.KindEnding:
		return j.ending(l, e)
	case emulator.KindWebhook:
		return []Line{webhook(l, e)}
	case emulator.KindRejected:
		l.Kind, l.What, l.Level, l.Event, l.Cause, l.Ending = "stream", "rejected", Warn, e.Event, e.Cause, string(e.Ending)
		l.Message = e.Message
		return []Line{l}
	case emulator.KindViolation:
		s := j.stream(e.StreamID)
		if s.warned {
			return nil
		}
		s.warned = true
		l.Kind, l.What, l.Level, l.Event, l.Error = "stream", "violation", Warn, e.Event, e.Error
		l.Message = e.Message + " (any further violations are counted in the stream's result)"
		return []Line{l}
	case voiceapi.KindAPI:
		return []Line{api(l, e)}
	case voiceapi.KindControl:
		l.Kind, l.What, l.Status = "control", "request", e.Code
		l.Message = e.Message
		if e.Code >= 400 {
			l.Level = Warn
		}
		return []Line{l}
	case bxml.KindWarning:
		l.Kind, l.What, l.Level, l.Event = "bxml", "warning", Warn, e.Event
		l.Message = e.Message
		return []Line{l}
	}
	return nil
}

func (j *Journal) stream(id string) *streamSoFar {
	s := j.streams[id]
	if s == nil {
		s = &streamSoFar{frames: map[string]int{}}
		j.streams[id] = s
	}
	return s
}

// call is a call's start ("started +1555… → +1555… (inbound)") or end.
func (j *Journal) call(l Line, e emulator.Entry) Line {
	l.Kind = "call"
	if e.Cause != "" {
		l.What, l.Cause = "ended", e.Cause
		l.Message = "ended: " + e.Cause
		if e.Cause != "hangup" {
			l.Level = Warn
		}
		return l
	}
	l.What, l.Message = "started", "started"
	calls := j.em.Calls()
	for i := len(calls) - 1; i >= 0; i-- { // a call that starts is among the last
		if c := calls[i]; c.ID == e.CallID {
			l.From, l.To, l.Direction = c.From, c.To, c.Direction
			l.Message = fmt.Sprintf("started %s → %s (%s), id %s", c.From, c.To, c.Direction, c.ID)
			break
		}
	}
	return l
}

// handshake is "connected (101 in 2.7ms)", or why the stream did not
// connect.
func handshake(l Line, e emulator.Entry) Line {
	l.Kind, l.Status, l.LatencyMs = "stream", e.Code, ms(e.Latency)
	if e.Error == "" && e.Code == http.StatusSwitchingProtocols {
		l.What = "connected"
		l.Message = fmt.Sprintf("connected (%d in %s)", e.Code, Duration(e.Latency))
		return l
	}
	l.What, l.Level, l.Error, l.Ending = "refused", Error, e.Error, string(e.Ending)
	l.Message = "not connected: " + e.Error
	return l
}

// close keeps a stream's close frames for its end's line.
func (j *Journal) close(e emulator.Entry) {
	if e.Code == 0 { // the connection's end, not a close frame
		return
	}
	s := j.stream(e.StreamID)
	switch {
	case s.closedBy == "":
		s.closedBy, s.code = e.By, e.Code
	case e.By != s.closedBy && s.answer == 0:
		s.answer = e.Code
	}
}

// ending is a stream's end: its frame summary ("50 frames inbound, 0
// skipped"), then how it closed ("closed by emulator 1000 ⇄ 1000
// (hangup)").
func (j *Journal) ending(l Line, e emulator.Entry) []Line {
	l.Kind = "stream"
	if e.Event == "" && e.Error != "" { // a note on the way to the end (the recording failed)
		l.What, l.Level, l.Error, l.Message = "warning", Warn, e.Error, e.Message
		return []Line{l}
	}
	s := j.stream(e.StreamID)
	delete(j.streams, e.StreamID)
	if e.Event == "" { // no webhook: the emulator closed
		l.What, l.Message = "aborted", e.Message
		return []Line{l}
	}
	var out []Line
	if len(s.frames) > 0 {
		f := l
		f.What, f.Frames, f.Skipped = "frames", s.frames, s.skipped
		f.Message = fmt.Sprintf("%s, %d skipped", frames(s.frames), s.skipped)
		out = append(out, f)
	}
	l.What, l.Event, l.Cause, l.Ending = "closed", e.Event, e.Cause, string(e.Ending)
	l.ClosedBy, l.CloseCode, l.CloseAnswer = string(s.closedBy), s.code, s.answer
	switch {
	case s.code != 0 && s.answer != 0:
		l.Message = fmt.Sprintf("closed by %s %d ⇄ %d", s.closedBy, s.code, s.answer)
	case s.code != 0:
		l.Message = fmt.Sprintf("closed by %s %d, never answered", s.closedBy, s.code)
	default:
		l.What = "ended"
		l.Message = fmt.Sprintf("ended by %s without a close handshake", e.By)
	}
	if e.Ending != "" {
		l.Message += " (" + string(e.Ending) + ")"
	}
	if t, ok := emulator.TerminationOf(e.Ending); ok && t.AppFault {
		l.Level = Error
		if e.Error != "" { // the webhook's errorMessage
			l.Error = e.Error
			l.Message += ": " + e.Error
		}
	}
	return append(out, l)
}

// webhook is "mediaStreamStopped (closed) → 204 in 2.1ms", or the failure.
func webhook(l Line, e emulator.Entry) Line {
	l.Kind, l.Event, l.Cause, l.Status, l.LatencyMs = "webhook", e.Event, e.Cause, e.Code, ms(e.Latency)
	// A BXML fetch (answer, initiate, redirect) concerns the call: its
	// entry names no stream.
	what := e.Event
	if e.Cause != "" {
		what += " (" + e.Cause + ")"
	}
	var notes string
	if e.Copy > 1 {
		l.Duplicate = true
		notes += " (duplicate)"
	}
	if e.Attempt > 1 {
		notes += " (retry)"
	}
	switch {
	case e.Error != "":
		l.What, l.Level, l.Error = "failed", Error, e.Error
		l.Message = fmt.Sprintf("%s → no answer after %s: %s%s", what, Duration(e.Latency), e.Error, notes)
	default:
		l.What = "answered"
		l.Message = fmt.Sprintf("%s → %d in %s%s", what, e.Code, Duration(e.Latency), notes)
		switch {
		case e.Code >= 300 || e.Code < 200:
			l.Level = Error
		case e.Code != http.StatusNoContent && (e.StreamID != "" || e.Event == "disconnect"):
			// Bandwidth documents 204 for its stream events and disconnect.
			l.Level = Warn
		}
	}
	return l
}

// api is one Voice API request: "createCall → 201 in 1.2ms".
func api(l Line, e emulator.Entry) Line {
	l.Kind, l.What, l.Event, l.Status, l.LatencyMs = "api", "request", e.Event, e.Code, ms(e.Latency)
	l.Method = e.Method
	op := e.Event
	if op == "" {
		op = l.Method
	}
	l.Message = fmt.Sprintf("%s → %d in %s", op, e.Code, Duration(e.Latency))
	if e.Error != "" {
		l.Error = e.Error
		l.Message += ": " + e.Error
	}
	if e.Code >= 400 {
		l.Level = Warn
	}
	return l
}
