package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/reportjson"
	"github.com/bwemu/bwemu/suite/conformance"
)

// report prints the readable account of one stream.
type report struct {
	w      io.Writer
	target string
	call   *emulator.Call
	audio  media.Audio
	events string
	// disconnect is the call's disconnectUrl ("" for none).
	disconnect, disconnectMethod string
	journal                      *emulator.Journal
	// streamID is the stream's id, once it started.
	streamID string
	// problems are what the verdict found wrong, once result ran.
	problems []string
	jsonFile *os.File // --json, nil for none
	// lenient passes a webhook answered 2xx but not 204 (--lenient);
	// nonStrict counts those it passed.
	lenient   bool
	nonStrict int
}

// streamJSON is what --json writes: the verdict and what it rests on.
type streamJSON struct {
	Verdict  string                 `json:"verdict"` // pass, fail or interrupted
	ExitCode int                    `json:"exitCode"`
	Problems []string               `json:"problems"`
	CallID   string                 `json:"callId"`
	StreamID string                 `json:"streamId"`
	Stream   *emulator.StreamResult `json:"stream"`
	Webhooks []*emulator.Delivery   `json:"webhooks"`
}

// writeJSON writes the --json file, when asked for.
func (r *report) writeJSON(res *emulator.StreamResult, deliveries []*emulator.Delivery, code int) error {
	if r.jsonFile == nil {
		return nil
	}
	verdict := map[int]string{exitPass: "pass", exitFail: "fail", exitInterrupted: "interrupted"}[code]
	return reportjson.Write(r.jsonFile, streamJSON{Verdict: verdict, ExitCode: code, Problems: append([]string{}, r.problems...),
		CallID: r.call.ID, StreamID: r.streamID, Stream: res, Webhooks: deliveries})
}

func (r *report) header(spec emulator.StreamSpec) {
	c := r.call
	fmt.Fprintf(r.w, "bwemu stream → %s (%s)\n", spec.Destination, r.target)
	fmt.Fprintf(r.w, "  call     %s  %s → %s (%s)\n", c.ID, c.From, c.To, c.Direction)
	name := spec.Name
	if name == "" {
		name = "(the stream id)"
	}
	fmt.Fprintf(r.w, "  stream   name %s, tracks %s, %s, %s pace, audio %s\n", name, spec.Tracks, spec.Mode, spec.Pace, r.audio)
	if len(spec.Params) > 0 {
		var ps []string
		for _, p := range spec.Params {
			ps = append(ps, p.Name+"="+p.Value)
		}
		fmt.Fprintf(r.w, "  params   %s\n", strings.Join(ps, ", "))
	}
	if r.events == "" {
		fmt.Fprintf(r.w, "  webhooks none (no --events URL)\n")
	} else {
		fmt.Fprintf(r.w, "  webhooks %s %s\n", spec.StreamEventMethod, r.events)
	}
	if r.disconnect == "" {
		fmt.Fprintf(r.w, "  disconnect none (no --disconnect URL)\n")
	} else {
		fmt.Fprintf(r.w, "  disconnect %s %s\n", r.disconnectMethod, r.disconnect)
	}
}

// result prints what happened and returns the exit code. An interrupted
// run gives no verdict: it says so, lists what the app got wrong before
// the interrupt, and returns exitInterrupted.
func (r *report) result(res *emulator.StreamResult, asked emulator.Ending, deliveries []*emulator.Delivery, journalFile string, interrupted bool, elapsed time.Duration) int {
	w := r.w
	fmt.Fprintln(w)
	problems := r.stream(res)
	if p := endingProblem(res, asked, interrupted); p != "" {
		problems = append(problems, p)
	}
	problems = append(problems, r.webhooks(deliveries)...)
	r.problems = problems
	if journalFile != "" {
		fmt.Fprintf(w, "\n  journal      %s (%d entries)\n", journalFile, r.journal.Len())
	}
	fmt.Fprintf(w, "\n  took         %s\n", elapsed.Round(time.Millisecond))
	fmt.Fprintln(w)
	code := exitFail
	switch {
	case interrupted:
		fmt.Fprintf(w, "INTERRUPTED after %s (%s of media): no verdict on the app\n", elapsed.Round(time.Millisecond), res.MediaDuration)
		if len(problems) > 0 {
			fmt.Fprintln(w, "  before the interrupt:")
		}
		code = exitInterrupted
	case len(problems) == 0:
		if r.nonStrict > 0 {
			fmt.Fprintf(w, "PASS (lenient): the stream ran as asked; %d webhooks were answered 2xx but not 204, as Bandwidth asks (non-strict)\n", r.nonStrict)
			return exitPass
		}
		fmt.Fprintln(w, "PASS: the stream ran as asked and every webhook was answered 204")
		return exitPass
	default:
		fmt.Fprintln(w, "FAIL: the app misbehaved")
	}
	for _, p := range problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	return code
}

// stream prints what the stream carried and how it ended, and returns the
// protocol violations as a problem.
func (r *report) stream(res *emulator.StreamResult) (problems []string) {
	w := r.w
	if r.streamID != "" {
		fmt.Fprintf(w, "  stream id    %s\n", r.streamID)
	}
	if res.Connected {
		fmt.Fprintf(w, "  connected    handshake answered %d\n", res.HandshakeStatus)
	} else {
		fmt.Fprintf(w, "  not connected\n")
	}
	r.media(res)
	r.playback(res)
	problems = r.appMessages(res)
	row, _ := emulator.TerminationOf(res.Ending)
	fmt.Fprintf(w, "  ended        %s: %s\n", res.Ending, row.Wire)
	fmt.Fprintf(w, "  close        %s\n", describeClose(res))
	fmt.Fprintf(w, "  webhook      %s, cause %s%s\n", res.Event, res.Cause, prefixed(", errorMessage: ", res.ErrorMessage))
	return problems
}

// media prints the frames sent on each track and any the emulator skipped.
func (r *report) media(res *emulator.StreamResult) {
	tracks := make([]string, 0, len(res.FramesByTrack))
	for t := range res.FramesByTrack {
		tracks = append(tracks, t)
	}
	sort.Strings(tracks)
	for _, t := range tracks {
		n := res.FramesByTrack[t]
		fmt.Fprintf(r.w, "  media        %d frames on %s (%s of PCMU)\n", n, t, time.Duration(n)*media.FrameDuration)
	}
	if res.Skipped > 0 {
		fmt.Fprintf(r.w, "  pacing       %d frames skipped: the emulator fell behind real time\n", res.Skipped)
	}
}

// playback prints what the app played back, the conversation's turns and
// where the recording went.
func (r *report) playback(res *emulator.StreamResult) {
	w := r.w
	if res.PlayAudio+res.Clears > 0 {
		fmt.Fprintf(w, "  from the app %d playAudio (%d bytes), %d clear\n", res.PlayAudio, res.PlayAudioBytes, res.Clears)
		p := res.Playback
		fmt.Fprintf(w, "  playback     played %s, cleared %s, deepest queue %s, %d underruns\n", p.Played, p.Cleared, p.MaxQueued, p.Underruns)
		if p.Overflowed > 0 {
			fmt.Fprintf(w, "               %s dropped: the playback buffer was full\n", p.Overflowed)
		}
	}
	for i, t := range res.Turns {
		reply := fmt.Sprintf("no reply in the %s the caller listened", t.Listened)
		if t.Replied {
			reply = fmt.Sprintf("the app replied after %s and played %s", t.Latency, t.Played)
		}
		fmt.Fprintf(w, "  turn %-7d the caller spoke %s–%s; %s\n", i+1, t.SpeechStart, t.SpeechEnd, reply)
	}
	if rec := res.Recording; rec != nil {
		switch {
		case rec.Error != "":
			fmt.Fprintf(w, "  recording    not written: %s\n", rec.Error)
		case rec.HeardFile != "":
			fmt.Fprintf(w, "  recording    heard %s\n               said  %s\n", rec.HeardFile, rec.SaidFile)
		}
	}
}

// appMessages prints the app's invalid and undocumented messages and
// returns the invalid ones as a problem.
func (r *report) appMessages(res *emulator.StreamResult) (problems []string) {
	w := r.w
	if res.Violations > 0 {
		fmt.Fprintf(w, "  violations   %d protocol violations by the app:\n", res.Violations)
		r.entryErrors(emulator.KindViolation)
		problems = append(problems, fmt.Sprintf("the app sent %d invalid messages", res.Violations))
	}
	if res.Undocumented > 0 {
		// Not a problem: Bandwidth documents nothing about these, so the
		// account says what the app did and what to do, and passes it.
		fmt.Fprintf(w, "  undocumented %d messages Bandwidth documents nothing about (not held against the app):\n", res.Undocumented)
		r.entryErrors(emulator.KindUndocumented)
		fmt.Fprintf(w, "               if the app plays audio back, stream with --mode bidirectional; send only playAudio and clear\n")
	}
	return problems
}

// entryErrors prints what each journal entry of a kind says went wrong.
func (r *report) entryErrors(kind emulator.Kind) {
	for _, e := range r.journal.Entries() {
		if e.Kind == kind {
			fmt.Fprintf(r.w, "                 %s\n", e.Error)
		}
	}
}

// endingProblem says what is wrong with how the stream ended, "" if nothing.
func endingProblem(res *emulator.StreamResult, asked emulator.Ending, interrupted bool) string {
	switch {
	case interrupted && res.AppFault:
		// The app ended the stream badly: a stream the interrupt cut short
		// is recorded as aborted, never as the app's fault.
		return fmt.Sprintf("the stream ended by %s%s", res.Ending, prefixed(": ", res.ErrorMessage))
	case interrupted:
	case res.Ending != asked:
		return fmt.Sprintf("the stream was to end by %s but ended by %s%s", asked, res.Ending, prefixed(": ", res.ErrorMessage))
	case res.AppFault:
		return fmt.Sprintf("%s is the app's fault", res.Ending)
	}
	return ""
}

// webhooks prints the table of the app's answers and returns the ones
// that were not 204.
func (r *report) webhooks(deliveries []*emulator.Delivery) (problems []string) {
	if len(deliveries) > 0 {
		fmt.Fprintln(r.w, "\n  webhooks (the app's answers)")
	}
	for _, d := range deliveries {
		a := d.Final()
		what := d.Name()
		verdict := "ok"
		switch {
		case d.Interrupted():
			// Cut off by the interrupt: says nothing about the app.
			verdict = "cut off by the interrupt"
		case a.Error != "":
			verdict = "FAIL " + a.Error + tlsAdvice(a)
			problems = append(problems, fmt.Sprintf("%s was not delivered: %s%s", d.Event.EventType, a.Error, tlsAdvice(a)))
		case a.Status != 204 && r.lenient && a.Status >= 200 && a.Status <= 299:
			// Bandwidth asks for 204, but takes any 2xx: non-strict, which
			// --lenient lets pass (as conform does).
			verdict = "NON-STRICT want 204 (passed under --lenient)"
			r.nonStrict++
		case a.Status != 204:
			verdict = fmt.Sprintf("FAIL want 204%s", bodyNote(a.Body))
			problems = append(problems, fmt.Sprintf("%s was answered %d, not 204", d.Event.EventType, a.Status))
		case a.Latency > conformance.WebhookLatencyLimit:
			// Inside the callbackTimeout Bandwidth takes it; advice only.
			verdict = fmt.Sprintf("ok, but slow: answer within %s, then do the work", conformance.WebhookLatencyLimit)
		}
		fmt.Fprintf(r.w, "    %-40s %s %s %s\n", what, d.Method, answerOf(d), verdict)
	}
	return problems
}

// answerOf is how the app answered a webhook: "204 in 1.2ms", or what an
// interrupt left of it.
func answerOf(d *emulator.Delivery) string {
	a := d.Final()
	if d.Interrupted() {
		if a.Latency > 0 {
			return "no answer in " + roundLatency(a.Latency).String() + ":"
		}
		return "not sent:"
	}
	retry := ""
	if len(d.Attempts) > 1 {
		retry = " after a retry"
	}
	if a.Status == 0 && a.Error != "" {
		return fmt.Sprintf("no answer (%s)%s:", a.NoAnswer, retry)
	}
	return fmt.Sprintf("%3d in %-10s%s", a.Status, roundLatency(a.Latency), retry)
}

// roundLatency keeps three significant digits or so: 1.23ms, 2.523s.
func roundLatency(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}

// tlsAdvice says what to do about a certificate the emulator did not trust.
func tlsAdvice(a emulator.Attempt) string {
	if a.NoAnswer == emulator.NoAnswerUntrusted {
		return " (to trust the app's certificate, pass its CA with --ca FILE)"
	}
	return ""
}

func describeClose(res *emulator.StreamResult) string {
	switch {
	case !res.Connected:
		return "none (never connected)"
	case res.CloseHandshake:
		return fmt.Sprintf("handshake complete: %s sent %d, got %d back", res.ClosedBy, firstCode(res), res.CloseReceived)
	case res.CloseSent != 0:
		return fmt.Sprintf("emulator sent %d, the app never answered", res.CloseSent)
	}
	return fmt.Sprintf("no close frames (%s ended the connection)", res.ClosedBy)
}

func firstCode(res *emulator.StreamResult) int {
	if res.ClosedBy == emulator.ByApp {
		return res.CloseReceived
	}
	return res.CloseSent
}

func bodyNote(b string) string {
	b = strings.TrimSpace(b)
	if b == "" {
		return ""
	}
	if len(b) > 60 {
		b = b[:60] + "…"
	}
	return fmt.Sprintf(" (body %q)", b)
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func isTerminal(f *os.File) bool {
	if os.Getenv("CI") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
