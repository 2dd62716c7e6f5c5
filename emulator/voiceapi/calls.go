package voiceapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// ErrClosed is returned by Inbound once the server is closed.
var ErrClosed = errors.New("voiceapi: the server is closed")

// Call is one call the API knows: created with create call, or placed by
// Inbound. Its BXML runs on Run.
type Call struct {
	ID        string
	Direction string
	// Run executes the call's BXML; Run.Call is the emulated call, with
	// its streams.
	Run *bxml.Run
	// Created is when the call was accepted (enqueuedTime of an outbound call).
	Created time.Time

	srv           *Server
	applicationID string
	tag           string

	mu        sync.Mutex
	setup     bool            // the first BXML arrived
	hangingUp bool            // state=completed was accepted
	end       *emulator.Entry // the journal's end-of-call entry
}

// Done is closed when the call has ended and all its webhooks were answered.
func (c *Call) Done() <-chan struct{} { return c.Run.Done() }

// CallState is the body of get call state, and each element of list
// calls. Fields without a value are null, as on Bandwidth.
type CallState struct {
	ApplicationID string `json:"applicationId"`
	AccountID     string `json:"accountId"`
	CallID        string `json:"callId"`
	To            string `json:"to"`
	From          string `json:"from"`
	Direction     string `json:"direction"`
	// State is initiated, answered or disconnected (the emulator has no
	// queue, so never queued).
	State           string         `json:"state"`
	Tag             string         `json:"tag,omitempty"`
	EnqueuedTime    *protocol.Time `json:"enqueuedTime"`
	StartTime       *protocol.Time `json:"startTime"`
	AnswerTime      *protocol.Time `json:"answerTime"`
	EndTime         *protocol.Time `json:"endTime"`
	DisconnectCause *string        `json:"disconnectCause"`
	ErrorMessage    *string        `json:"errorMessage"`
	ErrorID         *string        `json:"errorId"`
	LastUpdate      *protocol.Time `json:"lastUpdate"`
}

// State is the call's state as get call state reports it.
func (c *Call) State() CallState {
	rc := c.Run.Call
	st := c.Run.State()
	if c.ended() {
		st = bxml.StateDisconnected
	}
	cs := CallState{
		ApplicationID: c.applicationID, AccountID: rc.AccountID, CallID: c.ID, To: rc.To, From: rc.From,
		Direction: rc.Direction, State: st, Tag: c.tag, StartTime: protocol.TimePtr(rc.StartTime),
	}
	last := rc.StartTime
	if c.Direction == protocol.DirectionOutbound {
		cs.EnqueuedTime = protocol.TimePtr(c.Created)
	}
	// The emulator answers an outbound call at once (its answer webhook
	// carries the time); an inbound one once its first BXML arrived.
	if c.Direction == protocol.DirectionOutbound || st == bxml.StateAnswered || c.isSetup() {
		cs.AnswerTime = protocol.TimePtr(rc.AnswerTime)
	}
	if st == bxml.StateDisconnected {
		// Between the call's end and its streams' last webhooks the cause
		// is not known yet: endTime and disconnectCause stay null.
		if end := c.ending(); end != nil {
			cause := end.Cause
			cs.EndTime, cs.DisconnectCause, last = protocol.TimePtr(end.Time), &cause, end.Time
		}
		if msg := c.errorMessage(); msg != "" {
			cs.ErrorMessage = &msg
		}
	}
	cs.LastUpdate = protocol.TimePtr(last)
	return cs
}

// ended reports whether the call has ended or is ending, by any cause,
// including a state=completed the run has not taken yet: from the API's
// 200 on, the call is gone as far as the API is concerned.
func (c *Call) ended() bool {
	c.mu.Lock()
	hangingUp := c.hangingUp
	c.mu.Unlock()
	return hangingUp || c.Run.Call.Ended()
}

// isSetup reports whether the call's first BXML has arrived (its answer
// or initiate webhook was answered 2xx). Until then there is nothing to
// interrupt, and redirects and BXML replacements get 409.
func (c *Call) isSetup() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.setup {
		_, c.setup = findEntry(c.srv.journal, func(e emulator.Entry) bool {
			return e.Kind == emulator.KindWebhook && e.CallID == c.ID &&
				(e.Event == bxml.EventAnswer || e.Event == bxml.EventInitiate) && e.Code >= 200 && e.Code <= 299
		})
	}
	return c.setup
}

// ending is the journal's end-of-call entry (time and disconnect cause),
// or nil while the call has not finished ending.
func (c *Call) ending() *emulator.Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end == nil {
		if e, ok := findEntry(c.srv.journal, func(e emulator.Entry) bool {
			return e.Kind == emulator.KindCall && e.CallID == c.ID && e.Cause != ""
		}); ok {
			c.end = &e
		}
	}
	return c.end
}

// errorMessage says why the BXML ended the call (callback-error,
// invalid-bxml…), once the run is over.
func (c *Call) errorMessage() string {
	select {
	case <-c.Run.Done():
	default:
		return ""
	}
	err := c.Run.Err()
	if err == nil || errors.Is(err, bxml.ErrCallEnded) || errors.Is(err, context.Canceled) {
		return ""
	}
	return err.Error()
}

// done is a context that is already over, for findEntry.
var done = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// findEntry scans the journal once for a matching entry: WaitFor with a
// context already done looks through every entry without copying them,
// then gives up.
func findEntry(j *emulator.Journal, match func(emulator.Entry) bool) (emulator.Entry, bool) {
	e, err := j.WaitFor(done, match)
	return e, err == nil
}

// InboundCall describes a call from a caller to the app: the emulator
// sends the initiate webhook to URL and runs the BXML it gets back.
type InboundCall struct {
	// URL is the app's call-initiated URL (the voice application's
	// "Call Initiated" callback); required.
	URL                string
	Method             string // POST (default) or GET
	Username, Password string // Basic auth on the call's webhooks
	From, To           string // default emulator.DefaultFrom and DefaultTo
	Tag                string
	// DisconnectURL receives the disconnect webhook (none when empty).
	DisconnectURL    string
	DisconnectMethod string
	// CallbackTimeout bounds each webhook (default: the emulator's).
	CallbackTimeout time.Duration
}

// Inbound places an inbound call to the app, which the Voice API then
// knows like any other: its state, updates and BXML replacements work.
// It returns at once; the initiate webhook follows.
func (s *Server) Inbound(o InboundCall) (*Call, error) {
	return s.start(s.ctx, bxml.CallOptions{
		Call: emulator.CallSpec{From: o.From, To: o.To, Direction: protocol.DirectionInbound, Tag: o.Tag,
			DisconnectURL: o.DisconnectURL, DisconnectMethod: o.DisconnectMethod,
			Username: o.Username, Password: o.Password, CallbackTimeout: o.CallbackTimeout},
		URL: o.URL, Method: o.Method, Username: o.Username, Password: o.Password, EventType: bxml.EventInitiate,
	})
}

// start starts the call's run on ctx and adds the call to the server's,
// unless the server is closed (ErrClosed).
func (s *Server) start(ctx context.Context, o bxml.CallOptions) (*Call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	created := time.Now() // before the call's startTime: an outbound call's enqueuedTime
	run, err := s.engine.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	c := &Call{ID: run.Call.ID, Direction: o.Call.Direction, Run: run, Created: created,
		srv: s, applicationID: run.Call.ApplicationID, tag: o.Call.Tag}
	s.calls = append(s.calls, c)
	s.byID[c.ID] = c
	return c, nil
}
