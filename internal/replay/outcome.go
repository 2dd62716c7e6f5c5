package replay

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// Outcome is what one run of a stream came to, as its journal tells it:
// what the app did and how the stream ended. A recording and its replay
// are read by the same function (OutcomeOf), so that they are compared
// on equal terms.
type Outcome struct {
	// Handshake is the upgrade's HTTP status, 0 when none came (refused,
	// timed out).
	Handshake int
	// Frames are the media frames sent, per track; Skipped the frame
	// periods realtime pacing skipped on every track (bwemu fell behind
	// real time), which count as media time all the same.
	Frames  map[string]int
	Skipped int
	// Stopped is true when the emulator sent the stop message.
	Stopped bool
	// ClosedFirst is who began the end of the connection: the emulator
	// (its stop message or close frame), the app (its close frame, or its
	// socket ending), the network (an injected fault); "" for nobody.
	ClosedFirst emulator.Actor
	// CloseSent and CloseReceived are the close codes the emulator sent
	// and the app sent (0: none).
	CloseSent, CloseReceived int
	// Ending is the row of the termination table; Event and Cause the
	// webhook it made (also when none was sent).
	Ending       emulator.Ending
	Event, Cause string
	// Webhooks are the stream's webhooks and its call's disconnect, in the
	// order they were first sent.
	Webhooks []Webhook
	// What the app sent back.
	PlayAudio, Clears, Violations, Undocumented int
}

// Webhook is one event's deliveries and how the app answered each attempt:
// "204", or why no answer came. A retry or a deliberate duplicate is a
// second answer.
type Webhook struct {
	Event   string
	Answers []string
	// Interrupted is true when an interrupt cut an attempt off.
	Interrupted bool
	// failed says how the first attempt that was not answered 204 went
	// ("was answered 500, not 204", "got no answer (timed out)"), an
	// attempt an interrupt cut off aside: "" when there is none.
	failed string
}

// Answered is the answers in one line: "204", "no answer (connection refused), 204".
func (w Webhook) Answered() string { return strings.Join(w.Answers, ", ") }

// OutcomeOf reads the outcome of the stream streamID of call callID from
// a journal's entries (the disconnect webhook is the call's).
func OutcomeOf(entries []emulator.Entry, callID, streamID string) Outcome {
	o := Outcome{Frames: map[string]int{}}
	webhooks := map[string]int{}
	for _, e := range entries {
		if e.Kind == emulator.KindWebhook && e.CallID == callID && (e.StreamID == streamID || e.StreamID == "" && e.Event == protocol.EventDisconnect) {
			k, seen := webhooks[e.Event]
			if !seen {
				k = len(o.Webhooks)
				webhooks[e.Event] = k
				o.Webhooks = append(o.Webhooks, Webhook{Event: e.Event})
			}
			w, answer := &o.Webhooks[k], answerOf(e)
			w.Answers = append(w.Answers, answer)
			switch {
			case interruptedAnswer(e):
				w.Interrupted = true
			case e.Code == 0 && w.failed == "":
				w.failed = "got " + answer
			case e.Code != 204 && w.failed == "":
				w.failed = fmt.Sprintf("was answered %d, not 204", e.Code)
			}
			continue
		}
		if e.StreamID != streamID {
			continue
		}
		o.read(e)
	}
	if o.ClosedFirst == "" && o.Handshake == 101 {
		if t, ok := emulator.TerminationOf(o.Ending); ok {
			o.ClosedFirst = t.By // the connection ended without a frame saying so: a write timeout
		}
	}
	return o
}

// read takes one of the stream's own entries into the outcome.
func (o *Outcome) read(e emulator.Entry) {
	first := func(who emulator.Actor) {
		if o.ClosedFirst == "" {
			o.ClosedFirst = who
		}
	}
	switch e.Kind {
	case emulator.KindHandshake:
		o.Handshake = e.Code
	case emulator.KindMedia:
		o.Frames[e.Track] = e.Count
	case emulator.KindPacing:
		o.Skipped += e.Count
	case emulator.KindFrameOut:
		if e.Event == protocol.EventStop {
			o.Stopped = true
			first(emulator.ByEmulator)
		}
	case emulator.KindFrameIn:
		switch e.Event {
		case protocol.EventPlayAudio:
			o.PlayAudio++
		case protocol.EventClear:
			o.Clears++
		}
	case emulator.KindViolation:
		o.Violations++
	case emulator.KindUndocumented:
		o.Undocumented++
	case emulator.KindFault:
		first(e.By)
	case emulator.KindClose:
		switch {
		case e.Code != 0 && e.By == emulator.ByEmulator && o.CloseSent == 0:
			o.CloseSent = e.Code
			first(emulator.ByEmulator)
		case e.Code != 0 && e.By == emulator.ByApp && o.CloseReceived == 0:
			o.CloseReceived = e.Code
			first(emulator.ByApp)
		case e.Code == 0 && e.Error != "":
			first(e.By) // the socket ended without a close frame
		}
	case emulator.KindEnding, emulator.KindRejected:
		if end := endingOf(e); end != "" {
			o.Ending, o.Event, o.Cause = end, e.Event, e.Cause
		}
	}
}

// answerOf is how the app answered one webhook attempt.
func answerOf(e emulator.Entry) string {
	switch why := noAnswerOf(e); {
	case why == emulator.NoAnswerInterrupted:
		return "cut off by the interrupt"
	case why != "":
		return "no answer (" + string(why) + ")"
	}
	return strconv.Itoa(e.Code)
}

// interruptedAnswer reports an attempt an interrupt cut off.
func interruptedAnswer(e emulator.Entry) bool { return noAnswerOf(e) == emulator.NoAnswerInterrupted }

// noAnswerOf is why a webhook attempt got no answer, "" when it got one.
// A journal older than the entry's NoAnswer says it only in the error's
// words, which are read then.
func noAnswerOf(e emulator.Entry) emulator.NoAnswer {
	switch {
	case e.Code != 0:
		return ""
	case e.NoAnswer != "":
		return e.NoAnswer
	case e.Error == "":
		return ""
	case strings.HasPrefix(e.Error, "interrupted"):
		return emulator.NoAnswerInterrupted
	case strings.Contains(e.Error, "connection refused"):
		return emulator.NoAnswerRefused
	case strings.Contains(e.Error, "x509:") || strings.Contains(e.Error, "certificate"):
		return emulator.NoAnswerUntrusted
	case strings.Contains(e.Error, "timeout") || strings.Contains(e.Error, "deadline") || strings.Contains(e.Error, "no answer within"):
		return emulator.NoAnswerTimeout
	case strings.Contains(e.Error, "EOF") || strings.Contains(e.Error, "reset by peer"):
		return emulator.NoAnswerClosed
	case strings.Contains(e.Error, "no such host"):
		return emulator.NoAnswerNoHost
	}
	return emulator.NoAnswerFailed
}

// Media is the media time the stream ran for: its longest track, with
// the frames pacing skipped.
func (o Outcome) Media() time.Duration {
	n := 0
	for _, c := range o.Frames {
		n = max(n, c)
	}
	return o.mediaOf(n)
}

// mediaOf is the media time of a track that sent n frames.
func (o Outcome) mediaOf(n int) time.Duration {
	if n == 0 {
		return 0
	}
	return time.Duration(n+o.Skipped) * media.FrameDuration
}

// emulatorEnded reports whether the emulator decided when the stream's
// media stopped: it stopped the stream, hung up or injected a fault.
func (o Outcome) emulatorEnded() bool {
	return choosable(o.Ending) || o.Stopped
}

// choosable reports whether the emulator brings an ending about on
// request: StopStream, hangup, or an injectable fault.
func choosable(e emulator.Ending) bool {
	t, ok := emulator.TerminationOf(e)
	return ok && (e == emulator.EndStopStream || e == emulator.EndHangup || t.Injectable)
}

// Failures are what the app got wrong in this outcome, by the rules every
// bwemu verdict follows: an ending that is the app's fault, a protocol
// violation, a webhook not answered 204 (one cut off by an interrupt says
// nothing about the app).
func (o Outcome) Failures() []string {
	var out []string
	if t, ok := emulator.TerminationOf(o.Ending); ok && t.AppFault {
		out = append(out, fmt.Sprintf("the stream ended by %s, the app's fault", o.Ending))
	}
	if o.Violations > 0 {
		out = append(out, fmt.Sprintf("the app sent %d invalid messages", o.Violations))
	}
	for _, w := range o.Webhooks {
		if w.failed != "" {
			out = append(out, w.Event+" "+w.failed)
		}
	}
	return out
}

// Verdict is how a row of the comparison came out.
type Verdict string

// The verdicts of a row.
const (
	Same      Verdict = "same"
	Different Verdict = "DIFFERENT"
	// NotCompared is a row shown for the record that says nothing about
	// the app: its values depend on timing, or the replay was not asked to
	// reproduce it.
	NotCompared Verdict = "not compared"
)

// Row is one line of the comparison: what, then, now, and the verdict.
type Row struct {
	What, Then, Now string
	Verdict         Verdict
	// Why says why a row was not compared.
	Why string
}

// Compare lays then and now side by side. disconnect says whether the
// replay sent the call's disconnect webhook: without a URL for it, the
// recorded one is shown but not compared.
func Compare(then, now Outcome, disconnect bool) []Row {
	var rows []Row
	addIf := func(what, t, n string, same bool) {
		v := Same
		if !same {
			v = Different
		}
		rows = append(rows, Row{What: what, Then: t, Now: n, Verdict: v})
	}
	add := func(what, t, n string) { addIf(what, t, n, t == n) }
	add("handshake", handshake(then.Handshake), handshake(now.Handshake))
	// The media sent is the emulator's choice only when it ended the
	// stream; when the app did, it is however much went out before its
	// close was read, which timing decides.
	timed := !then.emulatorEnded() || !now.emulatorEnded()
	for _, track := range tracks(then.Frames, now.Frames) {
		// Media time, not frames sent: frames realtime pacing skipped
		// because bwemu fell behind say nothing about the app.
		t, n := then.mediaOf(then.Frames[track]), now.mediaOf(now.Frames[track])
		addIf("media "+track, then.frames(track), now.frames(track), t == n)
		if r := &rows[len(rows)-1]; timed && r.Verdict == Different {
			r.Verdict, r.Why = NotCompared, "the app or the network ended the stream: the media sent until then depends on timing"
		}
	}
	add("closed first", actor(then.ClosedFirst), actor(now.ClosedFirst))
	add("close sent", code(then.CloseSent), code(now.CloseSent))
	add("close received", code(then.CloseReceived), code(now.CloseReceived))
	add("ending", orNone(string(then.Ending)), orNone(string(now.Ending)))
	add("ending webhook", eventCause(then), eventCause(now))
	for _, event := range events(then.Webhooks, now.Webhooks) {
		t, n := answered(then.Webhooks, event), answered(now.Webhooks, event)
		add(event, t, n)
		if event == protocol.EventDisconnect && !disconnect {
			r := &rows[len(rows)-1]
			r.Now, r.Verdict, r.Why = "not sent", NotCompared, "no --disconnect URL: the replay sent no disconnect"
		}
	}
	add("playAudio", strconv.Itoa(then.PlayAudio), strconv.Itoa(now.PlayAudio))
	add("clear", strconv.Itoa(then.Clears), strconv.Itoa(now.Clears))
	add("violations", strconv.Itoa(then.Violations), strconv.Itoa(now.Violations))
	add("undocumented", strconv.Itoa(then.Undocumented), strconv.Itoa(now.Undocumented))
	return rows
}

// Differences are the rows that differ.
func Differences(rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if r.Verdict == Different {
			out = append(out, r)
		}
	}
	return out
}

func handshake(status int) string {
	if status == 0 {
		return "none"
	}
	return strconv.Itoa(status)
}

// frames is a track's media: its time, the frames sent and any skipped.
func (o Outcome) frames(track string) string {
	n := o.Frames[track]
	switch {
	case n == 0:
		return "none"
	case o.Skipped > 0:
		return fmt.Sprintf("%s (%d frames, %d skipped: bwemu fell behind real time)", o.mediaOf(n), n, o.Skipped)
	}
	return fmt.Sprintf("%s (%d frames)", o.mediaOf(n), n)
}

func actor(a emulator.Actor) string { return orNone(string(a)) }

func code(c int) string {
	if c == 0 {
		return "none"
	}
	return strconv.Itoa(c)
}

func eventCause(o Outcome) string {
	if o.Event == "" {
		return "none"
	}
	return fmt.Sprintf("%s (%s)", o.Event, o.Cause)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func answered(ws []Webhook, event string) string {
	for _, w := range ws {
		if w.Event == event {
			return w.Answered()
		}
	}
	return "not sent"
}

// tracks are the tracks either run sent media on, inbound first.
func tracks(a, b map[string]int) []string {
	var out []string
	for _, m := range []map[string]int{a, b} {
		for t := range m {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}

// events are the webhook events of then in their order, then those only
// now sent.
func events(then, now []Webhook) []string {
	var out []string
	for _, ws := range [][]Webhook{then, now} {
		for _, w := range ws {
			if !slices.Contains(out, w.Event) {
				out = append(out, w.Event)
			}
		}
	}
	return out
}
