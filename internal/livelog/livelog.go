// Package livelog prints what a long-running command sees as it happens,
// one line per call, stream, frame summary, close and webhook, as
// `stripe listen` does: text for people (coloured when asked, on a
// terminal) or JSON Lines for programs. The lines come from an emulator's
// journal (Follow and Journal, for bwemu serve) or from the reference
// consumer's activities (Consumer, for bwemu consumer); neither source
// holds a secret, and no line adds one: credentials, Authorization
// headers, destination query strings and StreamParams are never printed.
package livelog

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Format is how lines are written.
type Format string

// The formats.
const (
	// Text is one line of words per event, for people.
	Text Format = "text"
	// JSON is one JSON object per line (Line's fields), for programs.
	JSON Format = "json"
)

// Level says how a line reads: whether something went wrong.
type Level string

// The levels.
const (
	Info  Level = "info"
	Warn  Level = "warn"  // worth a look: an undocumented answer, a protocol violation
	Error Level = "error" // something failed: a webhook unanswered, an ending that is the app's fault
)

// Line is one line of the log. Its JSON form is stable: time, level,
// kind, what and message are always present; the other keys appear when
// they apply to the line, always under these names.
type Line struct {
	Time  time.Time `json:"time"`
	Level Level     `json:"level"`
	// Kind is what the line is about: call, stream, webhook, api,
	// control or bxml.
	Kind string `json:"kind"`
	// What happened: started, ended, connected, refused, frames, closed,
	// aborted, rejected, stopped, violation, answered, failed, request,
	// warning.
	What       string `json:"what"`
	CallID     string `json:"callId,omitempty"`
	StreamID   string `json:"streamId,omitempty"`
	StreamName string `json:"streamName,omitempty"`
	// Conn numbers a consumer's socket, for lines before its start message.
	Conn      int    `json:"conn,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Direction string `json:"direction,omitempty"`
	// Event is a webhook's eventType or a Voice API operation.
	Event  string `json:"event,omitempty"`
	Cause  string `json:"cause,omitempty"`
	Method string `json:"method,omitempty"`
	// Status is an HTTP status: a webhook's answer, a handshake's, an API
	// request's.
	Status    int     `json:"status,omitempty"`
	LatencyMs float64 `json:"latencyMs,omitempty"`
	Duplicate bool    `json:"duplicate,omitempty"`
	// Frames are media frames by track; Skipped those realtime pacing
	// skipped, BadFrames those the consumer refused.
	Frames    map[string]int `json:"frames,omitempty"`
	Skipped   int            `json:"skipped,omitempty"`
	BadFrames int            `json:"badFrames,omitempty"`
	// Ending is the row of the termination table a stream ended by;
	// ClosedBy who sent the first close frame, CloseCode its code and
	// CloseAnswer the code of the close frame that answered it.
	Ending      string `json:"ending,omitempty"`
	ClosedBy    string `json:"closedBy,omitempty"`
	CloseCode   int    `json:"closeCode,omitempty"`
	CloseAnswer int    `json:"closeAnswer,omitempty"`
	Error       string `json:"error,omitempty"`
	// Message is the line in words, as the text format prints it after
	// its subject.
	Message string `json:"message"`
}

// Printer writes lines to one writer, whole, one at a time. It is safe
// for concurrent use.
type Printer struct {
	mu     sync.Mutex
	w      io.Writer
	format Format
	color  bool
	buf    []byte
}

// NewPrinter returns a printer writing lines to w in format; color adds
// ANSI colours to the text format (never to JSON).
func NewPrinter(w io.Writer, format Format, color bool) *Printer {
	return &Printer{w: w, format: format, color: color && format != JSON}
}

// Print writes the lines. A write error is ignored: the log is a view of
// what happens, and a closed terminal must not stop the server.
func (p *Printer) Print(lines ...Line) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range lines {
		p.buf = p.buf[:0]
		if p.format == JSON {
			b, _ := json.Marshal(l) // Line has only marshalable fields
			p.buf = append(append(p.buf, b...), '\n')
		} else {
			p.buf = p.appendText(p.buf, l)
		}
		_, _ = p.w.Write(p.buf)
	}
}

// ANSI colours of the text format.
const (
	dim    = "\033[2m"
	bold   = "\033[1m"
	red    = "\033[31m"
	yellow = "\033[33m"
	cyan   = "\033[36m"
	reset  = "\033[0m"
)

// appendText renders "15:04:05.000  kind     subject  message".
func (p *Printer) appendText(b []byte, l Line) []byte {
	paint := func(b []byte, color, s string) []byte {
		if !p.color || color == "" {
			return append(b, s...)
		}
		return append(append(append(b, color...), s...), reset...)
	}
	b = paint(b, dim, l.Time.Format("15:04:05.000"))
	b = append(b, "  "...)
	b = paint(b, cyan, fmt.Sprintf("%-7s", l.Kind))
	b = append(b, "  "...)
	b = paint(b, bold, fmt.Sprintf("%-17s", subject(l)))
	b = append(b, "  "...)
	switch l.Level {
	case Error:
		b = paint(b, red, l.Message)
	case Warn:
		b = paint(b, yellow, l.Message)
	default:
		b = append(b, l.Message...)
	}
	return append(b, '\n')
}

// subject is what a text line is about: the stream (its short id and its
// name), else the call, else the consumer's socket number.
func subject(l Line) string {
	switch {
	case l.StreamID != "":
		s := Short(l.StreamID)
		if l.StreamName != "" && l.StreamName != l.StreamID {
			s += " " + l.StreamName
		}
		return s
	case l.CallID != "":
		return Short(l.CallID)
	case l.Conn > 0:
		return fmt.Sprintf("#%d", l.Conn)
	}
	return "-"
}

// Short is the head of a Bandwidth id, "c-0123abcd" for
// "c-0123abcd-4567ef01-…": its first 32 bits are random, so it tells the
// calls and streams of a session apart, and keeps text lines short. JSON
// lines carry the whole id.
func Short(id string) string {
	if len(id) > 10 && id[1] == '-' && id[10] == '-' {
		return id[:10]
	}
	return id
}

// Duration is d as a log line prints it: to the microsecond below 1 ms, to
// 0.1 ms below 10 ms, to the millisecond above.
func Duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// ms is d in milliseconds, for JSON lines.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// frames says "50 frames inbound" or "50 frames inbound + 50 outbound",
// tracks in alphabetical order (so inbound first).
func frames(byTrack map[string]int) string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(byTrack)) {
		parts = append(parts, fmt.Sprintf("%d %s", byTrack[t], t))
	}
	if len(parts) == 0 {
		return "0 frames"
	}
	first, rest, _ := strings.Cut(strings.Join(parts, " + "), " ")
	return first + " frames " + rest
}
