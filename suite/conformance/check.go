package conformance

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/prose"
	"github.com/bwemu/bwemu/suite"
)

// Check is what a case works with: the target, an emulator factory with
// the run's timeouts, verdict reporting and journal capture. Its methods
// are safe for concurrent use, so a case may drive several streams from
// goroutines of its own.
type Check struct {
	// Target is the app under test.
	Target Target
	// Case is the case being run.
	Case Case

	timeouts emulator.Timeouts
	// opts are the run's options (the leak cases read AppPID, AppMetrics
	// and LeakSettle).
	opts Options
	rs   *runState
	// ctx is the case's context and cancel ends it early (see cut).
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	notes   []note
	details []string
	// excerptOf is the stream whose journal excerpt was attached first.
	excerptOf string
	emus      []*emulator.Emulator
	cleanups  []func()
	// isCut is set once the case was cut short (an unanswered webhook in a
	// 5.x case, the case deadline): later findings are the case tripping
	// over its own cancellation, not the app's doing, and are dropped.
	isCut bool
	// hookHint is the case's advice for a webhook left unanswered.
	hookHint string
	// noHooks says why the case's streams went without webhooks, if they did.
	noHooks  string
	watchers sync.WaitGroup
}

// note is one reported finding.
type note struct {
	status Status
	text   string
	at     time.Time
}

func newCheck(t Target, cs Case, o Options, rs *runState, ctx context.Context, cancel context.CancelFunc) *Check {
	return &Check{Target: t, Case: cs, timeouts: o.timeouts(), opts: o, rs: rs, ctx: ctx, cancel: cancel}
}

// Timeouts are the emulator timeouts of this run.
func (c *Check) Timeouts() emulator.Timeouts { return c.timeouts }

// Pass records something measured or confirmed; with no worse finding the
// case passes and these notes are its reason.
func (c *Check) Pass(format string, args ...any) { c.add(Pass, format, args) }

// Fail records what the app did wrong, and what to do instead.
func (c *Check) Fail(format string, args ...any) { c.add(Fail, format, args) }

// NonStrict records an answer Bandwidth accepts but does not document.
func (c *Check) NonStrict(format string, args ...any) { c.add(NonStrict, format, args) }

// Info records that the case is informational or does not apply for lack
// of configuration.
func (c *Check) Info(format string, args ...any) { c.add(Info, format, args) }

// Skip records that the case does not apply to the target.
func (c *Check) Skip(format string, args ...any) { c.add(Skip, format, args) }

func (c *Check) add(s Status, format string, args []any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isCut {
		return
	}
	c.notes = append(c.notes, note{status: s, text: fmt.Sprintf(format, args...), at: time.Now()})
}

// cut ends the case early with a failure: every later finding is dropped
// and the case's context is cancelled. Findings made since the given time
// (when not zero) are dropped too: the case tripping over a deadline that
// had passed before cut could run. With everything, the journal of every
// stream of the case is attached (when nothing more specific was).
func (c *Check) cut(text string, everything bool, since time.Time) {
	c.mu.Lock()
	if c.isCut {
		c.mu.Unlock()
		return
	}
	if !since.IsZero() {
		kept := c.notes[:0]
		for _, n := range c.notes {
			if n.at.Before(since) {
				kept = append(kept, n)
			}
		}
		c.notes = kept
	}
	c.notes = append(c.notes, note{status: Fail, text: text, at: time.Now()})
	if everything && len(c.details) == 0 {
		c.details, c.excerptOf = c.fallbackJournalLocked()
	}
	c.isCut = true
	c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

// Status is the verdict so far: the worst status reported, Pass when
// nothing was.
func (c *Check) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statusLocked()
}

func (c *Check) statusLocked() Status {
	worst := Pass
	for _, n := range c.notes {
		if n.status.WorseThan(worst) {
			worst = n.status
		}
	}
	return worst
}

// Failed reports whether a failure has been recorded.
func (c *Check) Failed() bool { return c.Status() == Fail }

// Attach adds a detail to the journal of the result (shown on Fail and
// NonStrict).
func (c *Check) Attach(detail string) {
	detail = strings.TrimRight(detail, "\n")
	if detail == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isCut && !slices.Contains(c.details, detail) {
		c.details = append(c.details, detail)
	}
}

// AttachStream adds the journal excerpt of a stream to the result's journal.
func (c *Check) AttachStream(s *emulator.Stream) {
	if s == nil {
		return
	}
	c.attachStreamID(s.Call.Emulator(), s.ID)
}

func (c *Check) attachStreamID(e *emulator.Emulator, streamID string) {
	if e == nil || streamID == "" {
		return
	}
	c.Attach(streamJournal(e.Journal().Entries(), streamID))
	c.mu.Lock()
	if c.excerptOf == "" && !c.isCut {
		c.excerptOf = streamID
	}
	c.mu.Unlock()
}

// streamJournal is the excerpt of a stream's journal a result shows.
func streamJournal(entries []emulator.Entry, streamID string) string {
	return fmt.Sprintf("journal of stream %s:\n%s", streamID, prose.Indent(suite.JournalExcerpt(entries, streamID, journalEntries), "  "))
}

// journalEntries is how many journal entries of a stream an attached
// excerpt shows.
const journalEntries = 16

// Expect judges actual with a suite (or any Gomega) matcher. On a
// mismatch it records a failure made of the matcher's first line (what
// was expected, what was seen), a dash and the hint (what the app should
// do: format and args), and attaches the rest of the matcher's message
// (the stream's record and journal) to the result.
func (c *Check) Expect(actual any, m types.GomegaMatcher, hint string, args ...any) bool {
	ok, msg := match(actual, m)
	if ok {
		return true
	}
	c.failWith(msg, fmt.Sprintf(hint, args...))
	return false
}

// failWith records a failure from a matcher's message and a hint.
func (c *Check) failWith(msg, hint string) {
	first, rest := splitMessage(msg)
	c.Fail("%s", withHint(first, hint))
	c.Attach(rest)
}

// match runs a matcher with a standalone Gomega and returns its verdict
// and, on a mismatch, its failure message.
func match(actual any, m types.GomegaMatcher) (bool, string) {
	var msg string
	g := gomega.NewGomega(func(message string, _ ...int) { msg = message })
	if g.Expect(actual).To(m) {
		return true, ""
	}
	return false, msg
}

func splitMessage(msg string) (first, rest string) {
	first, rest, _ = strings.Cut(strings.TrimSpace(msg), "\n")
	return first, rest
}

func withHint(text, hint string) string {
	if hint == "" {
		return text
	}
	return text + " — " + hint
}

// Emulator returns a new emulator with the run's timeouts (a non-zero
// field of opts.Timeouts overrides one) and the target's TLS configuration
// (for wss:// and for https:// webhooks), on top of the given options (nil
// for none). Every webhook is given at most WebhookBound. It is shut down
// when the case ends. In a case that judges webhooks (Case.Webhooks), a
// webhook left unanswered fails the case at once.
func (c *Check) Emulator(opts *emulator.Options) *emulator.Emulator {
	var o emulator.Options
	if opts != nil {
		o = *opts
	}
	o.Timeouts = merge(o.Timeouts, c.timeouts)
	o.Timeouts.Callback = min(o.Timeouts.Callback, c.WebhookBound())
	if o.TLSConfig == nil && c.Target.TLSConfig != nil {
		o.TLSConfig = c.Target.TLSConfig.Clone()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := emulator.New(&o)
	c.emus = append(c.emus, e)
	if c.Case.Webhooks && c.ctx != nil {
		c.watchers.Add(1)
		go func() {
			defer c.watchers.Done()
			c.watchWebhooks(e)
		}()
	}
	return e
}

// WebhookBound is how long the app has to answer each webhook: its
// callbackTimeout, as on Bandwidth. A later answer is a failed delivery.
func (c *Check) WebhookBound() time.Duration { return c.timeouts.Callback }

// watchWebhooks cuts the case as soon as one of e's webhooks goes
// unanswered past the bound: waiting for the rest would only repeat it.
func (c *Check) watchWebhooks(e *emulator.Emulator) {
	en, err := e.Journal().WaitFor(c.ctx, func(en emulator.Entry) bool {
		return en.Kind == emulator.KindWebhook && en.NoAnswer == emulator.NoAnswerTimeout
	})
	if err != nil {
		return
	}
	hint := c.unansweredHint()
	name := eventName(en.Event, en.Cause)
	if en.StreamID != "" {
		c.attachStreamID(e, en.StreamID)
	} else {
		c.attachCall(e, en.CallID)
	}
	c.cut(fmt.Sprintf("the %s webhook was not answered within %s — %s", name, c.WebhookBound(), hint), false, time.Time{})
}

// unansweredHint is the advice for a webhook left unanswered.
func (c *Check) unansweredHint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hookHint != "" {
		return c.hookHint
	}
	return fmt.Sprintf("answer every webhook at once (within %s), before doing any slow work: past the callbackTimeout (%s) Bandwidth counts the delivery as failed", WebhookLatencyLimit, c.WebhookBound())
}

// onUnanswered sets the advice given when a webhook of the case goes
// unanswered (Case.Webhooks).
func (c *Check) onUnanswered(hint string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookHint = hint
}

// lastEntry is the latest journal entry of the case's emulators (zero
// when there is none).
func (c *Check) lastEntry() emulator.Entry {
	c.mu.Lock()
	emus := c.emus
	c.mu.Unlock()
	var last emulator.Entry
	for _, e := range emus {
		if es := e.Journal().Entries(); len(es) > 0 && es[len(es)-1].Time.After(last.Time) {
			last = es[len(es)-1]
		}
	}
	return last
}

// Defer runs f when the case ends, before its emulators are closed.
func (c *Check) Defer(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

// cleanup waits for the case's watchers, runs the deferred functions (last
// first) and shuts the emulators down (hanging up what is still live, with
// emulator.InterruptGrace for the webhooks).
func (c *Check) cleanup(ctx context.Context) {
	c.watchers.Wait()
	c.mu.Lock()
	cleanups, emus := c.cleanups, c.emus
	c.cleanups = nil
	c.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	var wg sync.WaitGroup
	for _, e := range emus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shutdown(ctx, e)
		}()
	}
	wg.Wait()
}

// shutdown hangs up e's live calls and closes it, giving the webhooks
// emulator.InterruptGrace at most.
func shutdown(ctx context.Context, e *emulator.Emulator) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emulator.InterruptGrace)
	defer cancel()
	_ = e.Shutdown(sctx)
}

// learn tells the run when the app left one of the case's webhooks
// unanswered, or answered it slowly, so later socket cases send it none.
func (c *Check) learn() {
	c.mu.Lock()
	emus := c.emus
	c.mu.Unlock()
	for _, e := range emus {
		for _, d := range e.Deliveries() {
			a := d.Final()
			if why := tooSlow(a.NoAnswer, a.Latency, fmt.Sprintf("the %s webhook of case %s", deliveryName(d), c.Case.ID), c.WebhookBound()); why != "" {
				c.rs.markSlow(why)
				return
			}
		}
	}
}

// tooSlow says how a webhook answer shows an endpoint too slow for the
// socket cases to wait on, "" when it does not: left unanswered past the
// callbackTimeout, or answered inside it but slower than
// WebhookLatencyLimit (a call's webhooks go one at a time, so a few such
// answers outlast a case). why is the attempt's NoAnswer, what names the
// webhook.
func tooSlow(why emulator.NoAnswer, latency time.Duration, what string, bound time.Duration) string {
	switch {
	case why == emulator.NoAnswerTimeout:
		return fmt.Sprintf("the app left %s unanswered for %s", what, bound)
	case why == "" && latency > WebhookLatencyLimit:
		return fmt.Sprintf("the app took %s to answer %s (more than %s)", latency.Round(time.Millisecond), what, WebhookLatencyLimit)
	}
	return ""
}

// verdict is the case's status, reason and journal.
func (c *Check) verdict() (status Status, reason, journal, streamID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Case.Undocumented {
		for i := range c.notes {
			if c.notes[i].status == Fail {
				c.notes[i].status = NonStrict
			}
		}
	}
	status = c.statusLocked()
	var texts []string
	for _, n := range c.notes {
		if n.status == status && !slices.Contains(texts, n.text) {
			texts = append(texts, n.text)
		}
	}
	if len(texts) == 0 {
		texts = []string{c.Case.Title}
	}
	if status == Pass && c.noHooks != "" {
		texts = append(texts, fmt.Sprintf("(its streams carried no webhooks, since %s; the 5.x cases judge them)", c.noHooks))
	}
	reason = c.Case.ID + ": " + strings.Join(mergeHints(texts), "; ")
	if status != Fail && status != NonStrict {
		return status, reason, "", ""
	}
	details, streamID := c.details, c.excerptOf
	if len(details) == 0 {
		details, streamID = c.fallbackJournalLocked()
	}
	return status, reason, strings.Join(details, "\n"), streamID
}

// fallbackJournalLocked is the journal of every stream of the case, when
// no failure attached a record of its own, and the first of those streams.
func (c *Check) fallbackJournalLocked() (out []string, first string) {
	for _, e := range c.emus {
		entries := e.Journal().Entries()
		var ids []string
		for _, en := range entries {
			if en.StreamID != "" && !slices.Contains(ids, en.StreamID) {
				ids = append(ids, en.StreamID)
			}
		}
		for _, id := range ids {
			out = append(out, streamJournal(entries, id))
		}
		if first == "" && len(ids) > 0 {
			first = ids[0]
		}
	}
	return out, first
}

// tone is the callers' audio: a 440 Hz tone, so an app that plays it back
// plays something audible.
var tone = sync.OnceValue(func() media.Audio {
	a, err := media.Tone(440)
	if err != nil {
		return media.Silence()
	}
	return a
})

// Spec returns a stream spec aimed at the target: its destination and
// credentials, its webhook endpoint, method and credentials, mode
// bidirectional when the target plays audio back, Fast pace and a 440 Hz
// tone. In a case that does not judge webhooks, the spec carries none once
// the app has left a webhook unanswered (see Case.Webhooks).
func (c *Check) Spec(name string) emulator.StreamSpec {
	t := c.Target
	spec := emulator.StreamSpec{
		Name: name, Destination: t.WebSocket,
		DestinationUsername: t.WSUser, DestinationPassword: t.WSPassword,
		StreamEventURL: t.Events, StreamEventMethod: strings.ToUpper(t.EventMethod),
		Username: t.EventUser, Password: t.EventPassword,
		Pace: emulator.Fast, Audio: tone(),
	}
	if t.Bidirectional {
		spec.Mode = protocol.ModeBidirectional
	}
	if why := c.rs.slow(); why != "" && !c.Case.Webhooks && spec.StreamEventURL != "" {
		spec.StreamEventURL, spec.StreamEventMethod, spec.Username, spec.Password = "", "", "", ""
		c.mu.Lock()
		c.noHooks = why
		c.mu.Unlock()
	}
	return spec
}

// probeSpec is the spec of a stream that carries no webhooks: the health
// probe after a fault, which judges whether the app still takes streams
// (the 5.x cases judge its webhooks), and the leak cases' streams, whose
// sockets are then the only connections the case opens to the app.
func (c *Check) probeSpec(name string) emulator.StreamSpec {
	spec := c.Spec(name)
	spec.StreamEventURL, spec.StreamEventMethod, spec.Username, spec.Password = "", "", "", ""
	return spec
}

// Call starts a call on e; with disconnect, and a disconnect URL in the
// target, its disconnect webhook goes there (with the target's disconnect
// method and webhook credentials). No call's disconnect ever goes to the
// Events URL: Bandwidth sends disconnect to the call's disconnectUrl only.
func (c *Check) Call(e *emulator.Emulator, disconnect bool) (*emulator.Call, bool) {
	call, err := e.NewCall(c.callSpec(disconnect))
	if err != nil {
		c.Fail("could not start a call (a bug in bwemu, not in the app): %v", err)
		return nil, false
	}
	return call, true
}

// callSpec is the spec of a call aimed at the target (see Call).
func (c *Check) callSpec(disconnect bool) *emulator.CallSpec {
	t, spec := c.Target, &emulator.CallSpec{}
	if disconnect && t.Disconnect != "" {
		spec.DisconnectURL, spec.DisconnectMethod = t.Disconnect, strings.ToUpper(t.DisconnectMethod)
		spec.Username, spec.Password = t.EventUser, t.EventPassword
	}
	return spec
}

// newCall makes an emulator with opts (see Emulator) and starts a call on
// it (see Call); false when the call could not start.
func (c *Check) newCall(opts *emulator.Options, disconnect bool) (*emulator.Emulator, *emulator.Call, bool) {
	e := c.Emulator(opts)
	call, ok := c.Call(e, disconnect)
	return e, call, ok
}

// newStream starts a stream of spec alone on a call (without disconnect)
// of an emulator made with opts, and waits until the app accepted it (see
// Start). The stream's Call, and its Call.Emulator(), are the others.
func (c *Check) newStream(ctx context.Context, opts *emulator.Options, spec emulator.StreamSpec) (*emulator.Stream, bool) {
	_, call, ok := c.newCall(opts, false)
	if !ok {
		return nil, false
	}
	return c.Start(ctx, call, spec)
}

// streamOnce starts a stream of spec (see newStream), streams d of audio
// and stops it, expecting a clean end (see streamAndStop).
func (c *Check) streamOnce(ctx context.Context, spec emulator.StreamSpec, d time.Duration, what, hint string) (*emulator.StreamResult, bool) {
	s, ok := c.newStream(ctx, nil, spec)
	if !ok {
		return nil, false
	}
	return c.streamAndStop(ctx, s, d, what, hint)
}

// Start starts a stream of the given spec on the call and waits until the
// app accepted the WebSocket. When it did not, Start records a failure
// saying how the handshake went and returns false (the stream, if any,
// has ended).
func (c *Check) Start(ctx context.Context, call *emulator.Call, spec emulator.StreamSpec) (*emulator.Stream, bool) {
	s, err := call.StartStream(ctx, spec)
	if err != nil {
		c.Fail("could not start stream %q (a bug in bwemu, not in the app): %v", spec.Name, err)
		return s, false
	}
	if err := s.Connected(ctx); err != nil {
		r, werr := s.Wait(ctx)
		if werr != nil {
			c.Fail("stream %q: %v", spec.Name, werr)
			return s, false
		}
		c.Fail("stream %q: the app did not accept the WebSocket: %s — %s", spec.Name, r.ErrorMessage, c.connectHint(r))
		c.AttachStream(s)
		return s, false
	}
	return s, true
}

// connectHint says what to do about a stream that did not connect.
func (c *Check) connectHint(r *emulator.StreamResult) string {
	switch r.Ending {
	case emulator.EndHandshakeStatus:
		if r.HandshakeStatus == http.StatusUnauthorized || r.HandshakeStatus == http.StatusForbidden {
			if c.Target.wsCredentials() {
				return "the app refused the destination credentials of the run (Target.WSUser/WSPassword): are they the ones it expects?"
			}
			return "if the app demands credentials, configure the ones it expects (Target.WSUser/WSPassword)"
		}
		return "answer Bandwidth's WebSocket upgrade with 101 Switching Protocols"
	case emulator.EndHandshakeTimeout:
		return fmt.Sprintf("answer the WebSocket upgrade promptly (the emulator waited %s)", c.timeouts.Handshake)
	case emulator.EndConnectRefused:
		return "nothing listens at the destination: is the app running at Target.WebSocket?"
	case emulator.EndConnectFailed:
		return "check the destination URL (and for wss:// the certificate: Target.TLSConfig)"
	case emulator.EndAppAbnormalClose, emulator.EndAppClose, emulator.EndAppCloseCode:
		return "the app closed the socket right after accepting it: keep it open until Bandwidth closes it"
	}
	return "accept Bandwidth's WebSocket upgrade"
}

// endingHint explains an ending the app caused, for streams that should
// have ended cleanly; the stream's journal tells apart an app that never
// answered the close frame from one that dropped the connection instead.
func (c *Check) endingHint(s *emulator.Stream, r *emulator.StreamResult) string {
	switch r.Ending {
	case emulator.EndAppAbnormalClose:
		return "the app dropped the connection without a close frame (a crash, or closing the TCP connection by hand): keep the socket open until Bandwidth's stop and close, and never let one message end it"
	case emulator.EndAppClose:
		return fmt.Sprintf("the app closed the socket itself (code %d) before the stream ended: only Bandwidth ends a stream; keep reading until its stop message and close frame", r.CloseReceived)
	case emulator.EndAppCloseCode:
		return fmt.Sprintf("the app closed the socket with code %d%s: a consumer must take every valid Bandwidth message and keep the socket open until Bandwidth closes it", r.CloseReceived, parenthesized(r.CloseReason))
	case emulator.EndCloseHandshakeTimeout:
		if how, ok := droppedAtClose(s, r); ok {
			return "the app dropped the connection without a close frame (" + how + ") instead of answering the emulator's close frame: keep the socket open until Bandwidth closes it, and answer its close frame with one of your own"
		}
		return fmt.Sprintf("the app never answered the emulator's close frame within %s (it does not answer close frames, or it had stopped reading before the stop came): keep reading until the close and answer it with a close frame of your own (most WebSocket libraries do when you read until the close)", c.timeouts.CloseHandshake)
	case emulator.EndWriteTimeout:
		return fmt.Sprintf("the app stopped reading: a frame write blocked for more than %s; read every message promptly and do slow work elsewhere", c.timeouts.Write)
	case emulator.EndHandshakeStatus, emulator.EndHandshakeTimeout, emulator.EndConnectRefused, emulator.EndConnectFailed:
		return c.connectHint(r)
	}
	return ""
}

// droppedAtClose reports whether a close-handshake timeout was the app
// dropping the connection rather than never answering, and how it broke.
// endingHint and hintFor share it, so they cannot disagree on the case.
func droppedAtClose(s *emulator.Stream, r *emulator.StreamResult) (string, bool) {
	if r.Ending != emulator.EndCloseHandshakeTimeout {
		return "", false
	}
	en, ok := appCloseEntry(s)
	// A silent app leaves an entry with neither a close code nor an error.
	if !ok || en.Code != 0 || en.Error == "" {
		return "", false
	}
	return r.CloseProblem, true
}

// appCloseEntry is the journal's first record of the app's side of the
// connection ending: its close frame, or how the connection broke.
func appCloseEntry(s *emulator.Stream) (emulator.Entry, bool) {
	if s == nil {
		return emulator.Entry{}, false
	}
	for _, en := range s.Call.Emulator().Journal().Entries() {
		if en.StreamID == s.ID && en.Kind == emulator.KindClose && en.By == emulator.ByApp {
			return en, true
		}
	}
	return emulator.Entry{}, false
}

// normalClose reports whether a close code the app sent ends a connection
// normally: 1000, 1001 (going away) or 1005 (a close frame without a code).
func normalClose(code int) bool { return code == 1000 || code == 1001 || code == 1005 }

// streamAndStop streams d of audio on a connected stream, then stops it
// with <StopStream>, and checks that it ended cleanly (stop, close 1000,
// the app's close back). what says what the stream was about and prefixes
// a failure; hint is what the case asks of the app, added when the app
// ended the stream on its own.
func (c *Check) streamAndStop(ctx context.Context, s *emulator.Stream, d time.Duration, what, hint string) (*emulator.StreamResult, bool) {
	if !c.media(ctx, s, d, what, hint) {
		return nil, false
	}
	return c.stop(ctx, s, what, hint)
}

// settle waits a moment before Bandwidth ends a stream: in Fast pace the
// media, the stop and the close can all be written before the app has
// reacted to the start, and the app must get the chance to show whether
// it ends the stream on its own (a crossing close would otherwise pass
// for the answer to the emulator's).
func settle(ctx context.Context, s *emulator.Stream) {
	select {
	case <-s.Done():
	case <-time.After(settleTime):
	case <-ctx.Done():
	}
}

// ended reports whether the stream is over.
func ended(s *emulator.Stream) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// settleTime is how long settle waits.
const settleTime = 150 * time.Millisecond

// media streams d of audio and reports a stream that ended on the way.
func (c *Check) media(ctx context.Context, s *emulator.Stream, d time.Duration, what, hint string) bool {
	if err := s.Media(ctx, d); err != nil {
		r, werr := s.Wait(ctx)
		if werr != nil {
			c.Fail("%s: %v", what, werr)
			return false
		}
		c.Fail("%s: the stream ended after %s of the %s of audio sent: %s — %s", what, r.MediaDuration, d, describeEnding(r), c.hintFor(s, r, hint))
		c.AttachStream(s)
		return false
	}
	return true
}

// stop stops the stream and expects a clean end: stop, close 1000, the
// app's close back.
func (c *Check) stop(ctx context.Context, s *emulator.Stream, what, hint string) (*emulator.StreamResult, bool) {
	settle(ctx, s)
	r, err := s.Stop(ctx)
	if err != nil {
		c.Fail("%s: %v", what, err)
		return nil, false
	}
	if !c.expectEnded(s, r, emulator.EndStopStream, what, hint) {
		return r, false
	}
	return r, c.expectNoViolations(s, what)
}

// stopStream stops s, recording a failure when it cannot; a stream the app
// ended already is no failure here (Stop then returns how it ended).
func (c *Check) stopStream(ctx context.Context, s *emulator.Stream) (*emulator.StreamResult, bool) {
	r, err := s.Stop(ctx)
	if err != nil {
		c.Fail("stream %q: %v", s.Name, err)
		return nil, false
	}
	return r, true
}

// expectNoViolations checks that the app sent nothing the protocol does
// not allow on the stream; the reason quotes the first violation. Messages
// that are well formed but that Bandwidth's documents say nothing about (a
// playAudio or clear on a unidirectional stream, an eventType other than
// playAudio and clear: the emulator journals them as KindUndocumented) are
// non-strict: what Bandwidth does with them is undocumented.
func (c *Check) expectNoViolations(s *emulator.Stream, what string) bool {
	documented := c.noteUndocumented(s, what)
	ok, msg := match(s, suite.HaveNoViolations())
	if ok {
		return documented
	}
	first, rest := splitMessage(msg)
	advice := "send only playAudio (contentType audio/pcmu or audio/pcm;rate=8000|16000|24000;…, a base64 payload of whole samples) and clear, as JSON text frames"
	if v := firstViolation(s); v != "" {
		first += " (the first: " + v + ")"
	}
	c.Fail("%s: %s", what, withHint(first, advice))
	c.Attach(rest)
	return false
}

// noteUndocumented gives the non-strict verdicts, with advice, for what
// the app sent that Bandwidth documents nothing about; false when there
// was any.
func (c *Check) noteUndocumented(s *emulator.Stream, what string) bool {
	var uni, unknown []emulator.Entry
	for _, en := range s.Call.Emulator().Journal().Entries() {
		if en.StreamID != s.ID || en.Kind != emulator.KindUndocumented {
			continue
		}
		if en.Event == protocol.EventPlayAudio || en.Event == protocol.EventClear {
			uni = append(uni, en) // well formed, but on a unidirectional stream
		} else {
			unknown = append(unknown, en)
		}
	}
	if len(uni) > 0 {
		c.NonStrict("%s: the app sent %s on a unidirectional stream (the first: %s) — what Bandwidth does with messages from the app on a unidirectional stream is undocumented; this app plays audio back: run with --bidirectional (Target.Bidirectional), and start its streams with mode=\"bidirectional\"",
			what, prose.Plural(len(uni), "message", "messages"), uni[0].Error)
	}
	if len(unknown) > 0 {
		c.NonStrict("%s: the app sent %s with an eventType Bandwidth does not document (the first: %s) — Bandwidth documents playAudio and clear only, and what it does with another eventType is undocumented: send only those",
			what, prose.Plural(len(unknown), "message", "messages"), unknown[0].Error)
	}
	return len(uni)+len(unknown) == 0
}

// firstViolation is the error of the stream's first protocol violation,
// from the journal.
func firstViolation(s *emulator.Stream) string {
	for _, en := range s.Call.Emulator().Journal().Entries() {
		if en.StreamID == s.ID && en.Kind == emulator.KindViolation {
			return en.Error
		}
	}
	return ""
}

// expectEnded checks a stream ended the given way, with a hint when the
// app ended it otherwise. For Bandwidth's own endings (stop, hangup) the
// app's close frame must carry a normal code too.
func (c *Check) expectEnded(s *emulator.Stream, r *emulator.StreamResult, want emulator.Ending, what, hint string) bool {
	ok, msg := match(s, suite.HaveEnded(want))
	if !ok {
		first, rest := splitMessage(msg)
		c.Fail("%s: %s", what, withHint(first, c.hintFor(s, r, hint)))
		c.Attach(rest)
		return false
	}
	if (want != emulator.EndStopStream && want != emulator.EndHangup) || !r.CloseHandshake || normalClose(r.CloseReceived) {
		return true
	}
	text := fmt.Sprintf("the app's close frame carried code %d%s, not a normal close — a consumer must take every valid Bandwidth message, keep the socket open until Bandwidth ends the stream and close with 1000", r.CloseReceived, parenthesized(r.CloseReason))
	if hint != "" {
		text += "; " + hint
	}
	c.Fail("%s: %s", what, text)
	c.AttachStream(s)
	return false
}

// expectNoAppFault waits for the stream's result and checks that the app
// did not cause its ending: the cases whose subject is not the ending
// itself (the webhook cases, say) still fail a stream the app broke.
func (c *Check) expectNoAppFault(ctx context.Context, s *emulator.Stream, what, hint string) bool {
	if s == nil {
		return true
	}
	r, err := s.Wait(ctx)
	if err != nil {
		c.Fail("%s: %v", what, err)
		return false
	}
	ok, msg := match(s, suite.HaveNoAppFault())
	if ok {
		return true
	}
	first, rest := splitMessage(msg)
	c.Fail("%s: %s", what, withHint(first, c.hintFor(s, r, hint)))
	c.Attach(rest)
	c.AttachStream(s)
	return false
}

// hintFor is endingHint, followed by the case's own hint when the app
// ended the stream on its own (a crash or a close that the case's
// stimulus may have caused).
func (c *Check) hintFor(s *emulator.Stream, r *emulator.StreamResult, hint string) string {
	h := c.endingHint(s, r)
	_, dropped := droppedAtClose(s, r)
	switch {
	case dropped:
	case r.Ending == emulator.EndAppAbnormalClose, r.Ending == emulator.EndAppClose, r.Ending == emulator.EndAppCloseCode, r.Ending == emulator.EndWriteTimeout:
	default:
		return h
	}
	if hint != "" {
		h += "; " + hint
	}
	return h
}

// describeEnding says how a stream ended, in a few words.
func describeEnding(r *emulator.StreamResult) string {
	s := fmt.Sprintf("it ended with %s (by %s)", r.Ending, r.By)
	if r.ErrorMessage != "" {
		s += ": " + r.ErrorMessage
	}
	return s
}

func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// merge fills the zero fields of t from def.
func merge(t, def emulator.Timeouts) emulator.Timeouts {
	fill := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	fill(&t.Handshake, def.Handshake)
	fill(&t.Write, def.Write)
	fill(&t.CloseHandshake, def.CloseHandshake)
	fill(&t.Callback, def.Callback)
	fill(&t.DeadPeer, def.DeadPeer)
	return t
}

// mergeHints gives findings that end with the same advice (" — hint")
// the advice once: "a; b — hint" rather than "a — hint; b — hint".
func mergeHints(texts []string) []string {
	type group struct {
		hint   string
		claims []string
	}
	var groups []*group
	byHint := map[string]*group{}
	for _, t := range texts {
		claim, hint, ok := strings.Cut(t, " — ")
		if !ok {
			groups = append(groups, &group{claims: []string{t}})
			continue
		}
		if g := byHint[hint]; g != nil {
			g.claims = append(g.claims, claim)
			continue
		}
		g := &group{hint: hint, claims: []string{claim}}
		byHint[hint] = g
		groups = append(groups, g)
	}
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		s := strings.Join(g.claims, "; ")
		if g.hint != "" {
			s += " — " + g.hint
		}
		out = append(out, s)
	}
	return out
}
