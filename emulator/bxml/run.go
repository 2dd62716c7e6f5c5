package bxml

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// CauseCallbackError is the disconnect cause of a failed BXML fetch.
const CauseCallbackError = "callback-error"

// KindBXML is the journal kind of the engine's entries: each verb as it
// starts (Event is the verb's name), interruptions and the end of the
// BXML. BXML fetches are journaled as emulator.KindWebhook entries whose
// Event is answer, initiate or redirect.
const KindBXML emulator.Kind = "bxml"

// KindWarning is the journal kind of a warning about the app's BXML (an
// unsupported verb, an unknown attribute such as destination_username).
const KindWarning emulator.Kind = "bxml.warning"

// Call states, as the Voice API reports them.
const (
	StateInitiated    = "initiated"
	StateAnswered     = "answered"
	StateDisconnected = "disconnected"
)

// Run is the BXML execution of one call. Its methods are safe for
// concurrent use; they talk to the run's goroutine, which alone executes
// verbs.
type Run struct {
	Call *emulator.Call

	set     settings
	opts    CallOptions
	client  *http.Client
	journal *emulator.Journal

	// ctx is Start's context: ending the call waits on it. runCtx is
	// also cancelled when the call was ended outside the engine.
	ctx    context.Context
	runCtx context.Context
	stop   context.CancelCauseFunc

	// tag is the call's tag in BXML fetches; <Redirect tag> changes it.
	// Only the run's goroutine uses it.
	tag string
	// stopping are the streams a StopStream stopped without waiting, by
	// name. Only the run's goroutine uses it.
	stopping map[string]*emulator.Stream

	mu         sync.Mutex
	pending    []*interrupt
	stepCancel context.CancelCauseFunc
	finishing  bool // no more interruptions are taken
	answered   bool
	err        error

	done chan struct{}
}

// errInterrupted cancels a step when an interruption is pending.
var errInterrupted = errors.New("bxml: interrupted")

type interruptKind int

const (
	interruptRedirect interruptKind = iota
	interruptReplace
	interruptHangup
)

// interrupt is a request from outside (the Voice API's verbs) to abandon
// the current verb.
type interrupt struct {
	kind   interruptKind
	target target
	doc    *Document
	// taken receives nil when the run takes the interruption, or
	// ErrCallEnded when the call ends first.
	taken chan error
}

// outcome is what the run does after a document, a fetch or an interruption.
type outcome struct {
	// Continue with this document, served by base.
	doc  *Document
	base string
	// Or end the call with this disconnect cause; err becomes Run.Err.
	end        bool
	cause, msg string
	err        error
	// Or stop without ending the call (ended elsewhere, or ctx done).
	gone bool
}

func hangupOutcome() outcome { return outcome{end: true, cause: protocol.DisconnectHangup} }

func newRun(ctx context.Context, set settings, call *emulator.Call, o CallOptions) *Run {
	r := &Run{Call: call, set: set, opts: o, client: set.client, journal: call.Emulator().Journal(),
		ctx: ctx, tag: o.Call.Tag, stopping: map[string]*emulator.Stream{}, done: make(chan struct{}),
		answered: o.EventType == EventAnswer}
	r.runCtx, r.stop = context.WithCancelCause(ctx)
	return r
}

// Done is closed when the run is over: the call has ended and every
// webhook was answered, or Start's context is done. When the call was
// ended outside the engine, Done only says that the engine stopped.
func (r *Run) Done() <-chan struct{} { return r.done }

// Err says why the BXML stopped, once Done is closed: nil for a plain
// hangup (<Hangup>, the verbs ran out, Run.Hangup), a *FetchError for
// callback-error, a *SyntaxError for invalid-bxml, ErrCallEnded when the
// call was ended outside the engine, or the context's error.
func (r *Run) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// State is the call's state as the Voice API reports it: initiated until
// an inbound call's first BXML starts, answered while BXML runs (an
// outbound call is answered from the start), disconnected once the call
// has ended.
func (r *Run) State() string {
	if r.Call.Ended() {
		return StateDisconnected
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.answered {
		return StateAnswered
	}
	return StateInitiated
}

// Redirect does what the Voice API's redirectUrl does: it abandons the
// current BXML and fetches new BXML from url (eventType redirect; relative
// to the URL that served the current BXML), without credentials. It
// returns once the run has taken the request; the fetch follows.
func (r *Run) Redirect(ctx context.Context, url, method string) error {
	return r.RedirectWithAuth(ctx, url, method, "", "")
}

// RedirectWithAuth is Redirect with the update's username and password.
func (r *Run) RedirectWithAuth(ctx context.Context, url, method, username, password string) error {
	method = strings.ToUpper(method)
	if method != "" && method != http.MethodPost && method != http.MethodGet {
		return fmt.Errorf("bxml: redirect method %q: want POST or GET", method)
	}
	if err := checkHTTPURL(url); err != nil || url == "" {
		return fmt.Errorf("bxml: redirect URL %q: want an http:// or https:// URL", url)
	}
	return r.request(ctx, &interrupt{kind: interruptRedirect,
		target: target{url: url, method: method, username: username, password: password, eventType: EventRedirect}})
}

// Replace does what PUT …/calls/{callId}/bxml does: it interrupts the
// current verb and runs doc instead. A document Bandwidth would refuse is
// returned as a *SyntaxError and the call goes on as it was (the Voice
// API answers such a request with an error). It returns once the run has
// taken the document.
func (r *Run) Replace(ctx context.Context, doc []byte) error {
	d, err := Parse(doc)
	if err != nil {
		return err
	}
	return r.request(ctx, &interrupt{kind: interruptReplace, doc: d})
}

// Hangup does what the Voice API's state=completed does: it ends the call
// (streams stopped with cause closed, then disconnect with cause hangup)
// and returns once the run is over. ErrCallEnded when the call has ended.
func (r *Run) Hangup(ctx context.Context) error {
	if err := r.request(ctx, &interrupt{kind: interruptHangup}); err != nil {
		return err
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Run) request(ctx context.Context, it *interrupt) error {
	it.taken = make(chan error, 1)
	r.mu.Lock()
	if r.finishing || r.Call.Ended() {
		r.mu.Unlock()
		return ErrCallEnded
	}
	r.pending = append(r.pending, it)
	if r.stepCancel != nil {
		r.stepCancel(errInterrupted)
	}
	r.mu.Unlock()
	select {
	case err := <-it.taken:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the run's goroutine.
func (r *Run) run() {
	defer close(r.done)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.watch()
	}()
	defer func() {
		r.stop(nil)
		wg.Wait()
	}()

	o := r.fetchOutcome(r.opts.URL, target{url: r.opts.URL, method: r.opts.Method,
		username: r.opts.Username, password: r.opts.Password, eventType: r.opts.EventType})
	for !o.end && !o.gone {
		o = r.execute(o.doc, o.base)
	}
	r.finish(o)
}

// watch notices a call ended outside the engine (Call.Hangup, Emulator.Close).
func (r *Run) watch() {
	select {
	case <-r.runCtx.Done():
	case <-r.Call.Done():
		r.stop(ErrCallEnded)
	}
}

// finish ends the call as o says and answers pending interruptions.
func (r *Run) finish(o outcome) {
	r.mu.Lock()
	r.finishing = true
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, it := range pending {
		it.taken <- ErrCallEnded
	}
	r.Call.PlayOutbound(media.Silence(), 0)
	err := o.err
	if o.gone {
		r.journalf("", "BXML stopped: %v", err)
	} else {
		msg := "ending the call: " + o.cause
		if o.msg != "" {
			msg += ": " + o.msg
		}
		r.journalf("", "%s", msg)
		switch endErr := r.Call.End(r.ctx, o.cause, o.msg); {
		case errors.Is(endErr, emulator.ErrCallEnded):
			err = ErrCallEnded
		case endErr != nil:
			err = endErr
		}
	}
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// step runs f with a context that an interruption, the end of the call
// and Start's context cancel; it then returns the cause.
func (r *Run) step(f func(ctx context.Context) error) error {
	r.mu.Lock()
	if len(r.pending) > 0 {
		r.mu.Unlock()
		return errInterrupted
	}
	ctx, cancel := context.WithCancelCause(r.runCtx)
	r.stepCancel = cancel
	r.mu.Unlock()
	err := f(ctx)
	r.mu.Lock()
	r.stepCancel = nil
	r.mu.Unlock()
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	cancel(nil)
	return err
}

// check reports a pending interruption or the end of the run between verbs.
func (r *Run) check() error {
	return r.step(func(context.Context) error { return nil })
}

// stopped turns the error of a step that was cut short into what follows:
// the pending interruption, or the end of the run.
func (r *Run) stopped(err error, base string) outcome {
	if errors.Is(err, errInterrupted) {
		return r.takeInterrupt(base)
	}
	cause := context.Cause(r.runCtx)
	if cause == nil {
		cause = err
	}
	return outcome{gone: true, err: cause}
}

func (r *Run) takeInterrupt(base string) outcome {
	r.mu.Lock()
	if len(r.pending) == 0 { // cannot happen: only a pending interruption cancels with errInterrupted
		r.mu.Unlock()
		return hangupOutcome()
	}
	it := r.pending[0]
	r.pending = r.pending[1:]
	r.mu.Unlock()
	it.taken <- nil
	r.Call.PlayOutbound(media.Silence(), 0) // whatever was playing stops
	switch it.kind {
	case interruptHangup:
		// Who asked (the Voice API, a test, the end of a scenario) is
		// theirs to say: this says what the engine does.
		r.journalf("", "hangup requested: the current verb is abandoned and the call ends")
		return hangupOutcome()
	case interruptReplace:
		r.journalf("", "BXML replaced (as the Voice API's PUT …/bxml): the current verb is abandoned")
		return outcome{doc: it.doc, base: base}
	default:
		t := it.target
		u, err := weburl.Resolve(base, t.url)
		if err != nil {
			return outcome{end: true, cause: CauseCallbackError, msg: err.Error(), err: &FetchError{EventType: EventRedirect, Method: t.method, URL: weburl.Redact(t.url), Reason: err.Error()}}
		}
		t.url = u
		r.journalf("", "redirect requested (as the Voice API's redirectUrl): the current BXML is abandoned for %s", weburl.Redact(u))
		return r.fetchOutcome(base, t)
	}
}

// fetchOutcome fetches BXML from the targets in turn (a fallback after a
// failed primary) and says what follows.
func (r *Run) fetchOutcome(base string, targets ...target) outcome {
	var err error
	for _, t := range targets {
		var doc *Document
		err = r.step(func(ctx context.Context) error {
			var ferr error
			doc, ferr = r.fetch(ctx, t)
			return ferr
		})
		if err == nil {
			return outcome{doc: doc, base: t.url}
		}
		var fe *FetchError
		if !errors.As(err, &fe) {
			break
		}
	}
	var fe *FetchError
	var se *SyntaxError
	switch {
	case errors.As(err, &fe):
		return outcome{end: true, cause: CauseCallbackError, msg: fe.Error(), err: fe}
	case errors.As(err, &se):
		return outcome{end: true, cause: protocol.DisconnectInvalidBXML, msg: se.Error(), err: se}
	}
	return r.stopped(err, base)
}

// execute runs a document's verbs in order; when they run out, the call
// hangs up (Bandwidth's implicit hangup).
func (r *Run) execute(doc *Document, base string) outcome {
	r.mu.Lock()
	r.answered = true
	r.mu.Unlock()
	r.journalf("", "executing <%s> from %s: %d verbs, %d warnings", doc.Root, weburl.Redact(base), len(doc.Verbs), len(doc.Warnings))
	for _, w := range doc.Warnings {
		r.journal.Add(emulator.Entry{Kind: KindWarning, By: emulator.ByEmulator, CallID: r.Call.ID, Event: w.Verb,
			Message: "warning: " + w.String()})
	}
	for _, v := range doc.Verbs {
		if err := r.check(); err != nil {
			return r.stopped(err, base)
		}
		r.journalf(v.VerbName(), "%s", describe(v))
		if o, leave := r.exec(v, base); leave {
			return o
		}
	}
	if err := r.check(); err != nil {
		return r.stopped(err, base)
	}
	r.journalf("", "the BXML ran out of verbs: implicit hangup")
	return hangupOutcome()
}

func (r *Run) journalf(verb, format string, args ...any) {
	r.journal.Add(emulator.Entry{Kind: KindBXML, By: emulator.ByEmulator, CallID: r.Call.ID, Event: verb,
		Message: fmt.Sprintf(format, args...)})
}
