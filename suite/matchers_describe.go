package suite

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/prose"
)

// JournalExcerpt renders the last n journal entries of one stream (n <= 0:
// all of them; streamID "": every entry), one line each: the time since the
// first entry shown, the kind, who did it and what happened. The scenario
// reports use it too.
func JournalExcerpt(entries []emulator.Entry, streamID string, n int) string {
	mine := entries
	if streamID != "" {
		mine = nil
		for _, e := range entries {
			if e.StreamID == streamID {
				mine = append(mine, e)
			}
		}
	}
	if len(mine) == 0 {
		if streamID == "" {
			return "(the journal is empty)"
		}
		return fmt.Sprintf("(no journal entries for stream %s)", streamID)
	}
	t0 := mine[0].Time
	var b strings.Builder
	if n > 0 && len(mine) > n {
		fmt.Fprintf(&b, "(%s before these)\n", prose.Plural(len(mine)-n, "earlier entry", "earlier entries"))
		mine = mine[len(mine)-n:]
	}
	b.WriteString(formatEntries(mine, t0))
	return b.String()
}

// formatEntries renders entries one a line, times relative to t0.
func formatEntries(entries []emulator.Entry, t0 time.Time) string {
	lines := make([]string, 0, len(entries))
	for _, e := range entries {
		offset := fmt.Sprintf("+%.3fms", float64(e.Time.Sub(t0))/float64(time.Millisecond))
		lines = append(lines, fmt.Sprintf("%11s  %-9s  %-8s  %s", offset, e.Kind, orNone(string(e.By)), e.Message))
	}
	return strings.Join(lines, "\n")
}

// streamStart is the time of the stream's first journal entry.
func streamStart(entries []emulator.Entry, streamID string) time.Time {
	for _, e := range entries {
		if e.StreamID == streamID {
			return e.Time
		}
	}
	return time.Time{}
}

// streamExcerpt is the journal section of a stream's failure message.
func streamExcerpt(s *emulator.Stream) string {
	if s.Call == nil || s.Call.Emulator() == nil {
		return ""
	}
	entries := s.Call.Emulator().Journal().Entries()
	n := 0
	for _, e := range entries {
		if e.StreamID == s.ID {
			n++
		}
	}
	heading := fmt.Sprintf("journal of stream %s (%s):", s.ID, prose.Plural(n, "entry", "entries"))
	if n > ExcerptEntries {
		heading = fmt.Sprintf("journal of stream %s (the last %d of %d entries):", s.ID, ExcerptEntries, n)
	}
	return heading + "\n" + prose.Indent(JournalExcerpt(entries, s.ID, ExcerptEntries), "  ")
}

// describe appends what the subject holds: the result, the webhooks (in
// full when full is set, or when there is no result) and for a stream the
// journal excerpt.
func (s *subject) describe(b *strings.Builder, full bool) {
	var sections []string
	if s.result != nil {
		var r strings.Builder
		describeResult(&r, s.result, !full)
		sections = append(sections, "result:\n"+strings.TrimRight(r.String(), "\n"))
	}
	if full || s.result == nil {
		blocks := []string{"  (none)"}
		if len(s.deliveries) > 0 {
			blocks = blocks[:0]
		}
		for _, d := range s.deliveries {
			blocks = append(blocks, prose.Indent(deliveryBlock(d), "  "))
		}
		sections = append(sections, "webhooks:\n"+strings.Join(blocks, "\n"))
	}
	if s.stream != nil {
		if x := streamExcerpt(s.stream); x != "" {
			sections = append(sections, x)
		}
	}
	for _, sec := range sections {
		b.WriteString("\n" + sec)
	}
}

// describeResult renders a stream result, one aspect a line.
func describeResult(b *strings.Builder, r *emulator.StreamResult, deliveries bool) {
	line := func(key, format string, args ...any) {
		if key != "" {
			key += ":"
		}
		fmt.Fprintf(b, "  %-14s %s\n", key, fmt.Sprintf(format, args...))
	}
	if r.Aborted {
		line("ending", "cut by Emulator.Close (no webhook)")
	} else {
		fault := ""
		if r.AppFault {
			fault = ", an app fault"
		}
		line("ending", "%s (by %s%s)", r.Ending, r.By, fault)
		line("event", "%s, cause %s", orNone(r.Event), orNone(r.Cause))
		if r.ErrorMessage != "" {
			line("errorMessage", "%s", r.ErrorMessage)
		}
		if r.Original != nil {
			line("original", "stream %q (%s)", r.Original.Name, r.Original.ID)
		}
	}
	switch {
	case r.Connected:
		line("connection", "connected (handshake answered %d)", r.HandshakeStatus)
	case r.HandshakeStatus != 0:
		line("connection", "not connected (handshake answered %d %s)", r.HandshakeStatus, http.StatusText(r.HandshakeStatus))
	default:
		line("connection", "not connected")
	}
	line("close", "%s", describeClose(r))
	if r.Connected {
		tracks := make([]string, 0, len(r.FramesByTrack))
		for _, t := range slices.Sorted(maps.Keys(r.FramesByTrack)) {
			tracks = append(tracks, fmt.Sprintf("%s %d", t, r.FramesByTrack[t]))
		}
		media := fmt.Sprintf("%s, %s of audio", prose.Plural(r.Messages, "message", "messages"), r.MediaDuration)
		if len(tracks) > 0 {
			media += " (" + strings.Join(tracks, ", ") + ")"
		}
		if r.Skipped > 0 {
			media += fmt.Sprintf(", %d frames skipped by late pacing", r.Skipped)
		}
		line("media sent", "%s", media)
		line("from the app", "%d playAudio, %d clear, %s", r.PlayAudio, r.Clears, prose.Plural(r.Violations, "violation", "violations"))
	}
	if deliveries {
		if len(r.Deliveries) == 0 {
			line("webhooks", "none")
		}
		for i, d := range r.Deliveries {
			key := ""
			if i == 0 {
				key = "webhooks"
			}
			line(key, "%s", deliveryLine(d))
		}
	}
}

// describeClose says how the connection closed, subject first.
func describeClose(r *emulator.StreamResult) string {
	reason := parenthesized(r.CloseReason)
	switch r.ClosedBy {
	case emulator.ByEmulator:
		if r.CloseHandshake {
			return fmt.Sprintf("the emulator closed with code %d and the app answered %d%s: close handshake complete", r.CloseSent, r.CloseReceived, reason)
		}
		return fmt.Sprintf("the emulator closed with code %d and the app never answered it (%s): close handshake incomplete", r.CloseSent, r.Ending)
	case emulator.ByApp:
		if r.CloseReceived != 0 {
			return fmt.Sprintf("the app closed with code %d%s and the emulator answered %d: close handshake complete", r.CloseReceived, reason, r.CloseSent)
		}
		return fmt.Sprintf("the app ended the connection without a close frame (%s): close handshake incomplete", r.Ending)
	case emulator.ByNetwork:
		return fmt.Sprintf("the network ended the connection (%s): no close frames", r.Ending)
	}
	if !r.Connected {
		return "the stream never connected: nothing was closed"
	}
	return "no close was recorded"
}

// answer says how the app answered a delivery's final attempt.
func answer(d *emulator.Delivery) string {
	a := d.Final()
	s := describeAttempt(a)
	if len(d.Attempts) > 1 {
		s += fmt.Sprintf(" (attempt %d of %d)", len(d.Attempts), len(d.Attempts))
	}
	return s
}

func describeAttempt(a emulator.Attempt) string {
	if a.Error != "" {
		return fmt.Sprintf("no answer after %s: %s", a.Latency.Round(time.Microsecond), a.Error)
	}
	return fmt.Sprintf("answered %d %s in %s", a.Status, http.StatusText(a.Status), a.Latency.Round(time.Microsecond))
}

// deliveryLine is one delivery on one line.
func deliveryLine(d *emulator.Delivery) string {
	return fmt.Sprintf("%s: %s, %s", d.Name(), d.Method, answer(d))
}

// deliveryBlock is one delivery in full: request, every attempt, the
// app's answer and the JSON body sent.
func deliveryBlock(d *emulator.Delivery) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s, %s\n", d.Name(), d.Method, redactURL(d.URL), answer(d))
	if len(d.Attempts) > 1 {
		for i, a := range d.Attempts {
			fmt.Fprintf(&b, "  attempt %d: %s\n", i+1, describeAttempt(a))
		}
	}
	if body := d.Final().Body; body != "" {
		fmt.Fprintf(&b, "  answer body: %q\n", body)
	}
	if d.Event != nil {
		js, err := json.Marshal(d.Event)
		if err != nil {
			js = []byte(err.Error())
		}
		fmt.Fprintf(&b, "  json: %s\n", js)
	}
	return strings.TrimRight(b.String(), "\n")
}

// redactURL hides a password in URL userinfo, as the journal does.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "[redacted]")
	}
	return u.String()
}
