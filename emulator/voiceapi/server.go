package voiceapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/internal/statuswriter"
)

// DefaultTokenTTL is how long an OAuth access token lasts, as Bandwidth's
// (expires_in 3600).
const DefaultTokenTTL = time.Hour

// Paths the server answers, as Bandwidth's hosts do.
const (
	// VoicePrefix is the Voice API's base path on voice.bandwidth.com.
	VoicePrefix = "/api/v2"
	// TokenPath is the OAuth token endpoint's path on api.bandwidth.com.
	TokenPath = "/api/v1/oauth2/token"
)

// Options configure a Server. Engine is required; the rest may be zero.
type Options struct {
	// AccountID is the one account the API serves: requests for another
	// get 403. Default: the engine's emulator's account, the only value
	// it may take, since the emulator's calls carry that account.
	AccountID string
	// Username and Password are the Basic API user.
	Username, Password string
	// ClientID and ClientSecret are the OAuth client that gets tokens.
	ClientID, ClientSecret string
	// Engine runs the calls' BXML; its Emulator sends their webhooks and
	// holds the journal. New wraps Engine.HTTPClient (see New).
	Engine *bxml.Engine
	// TokenTTL is the lifetime of access tokens (default DefaultTokenTTL).
	TokenTTL time.Duration
	// Logger receives a debug line per request; nil discards them.
	Logger *slog.Logger
}

// Server is the mock Voice API, an http.Handler. Create it with New
// and end it with Close.
type Server struct {
	opts    Options
	account string
	engine  *bxml.Engine
	journal *emulator.Journal
	log     *slog.Logger
	open    bool // no credentials configured: every request is accepted
	mux     *http.ServeMux

	// ctx is the runs' context (Engine.Start's), cancelled by Close once
	// every call has ended.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	calls  []*Call
	byID   map[string]*Call
	tokens map[string]time.Time // access token → expiry

	// background are hangups requested with state=completed, which
	// finish after the API has answered.
	background sync.WaitGroup
}

// New returns a Voice API server for o, or an error when o cannot
// work: o (nil included) must name an Engine with its Emulator, and an
// AccountID, if set, must be the emulator's.
//
// New replaces o.Engine.HTTPClient with a client that wraps it (or,
// when nil, a client like the engine's own, keeping no idle connections
// and trusting the emulator's TLSConfig): the wrapper holds a call's
// answer webhook until the app has its create-call response, as on
// Bandwidth, where the call is queued, dialled and answered first.
// Requests of runs started outside this server pass straight through.
// Call New before the engine's first Start.
func New(o *Options) (*Server, error) {
	if o == nil || o.Engine == nil || o.Engine.Emulator == nil {
		return nil, errors.New("voiceapi: Options.Engine and its Emulator are required")
	}
	em := o.Engine.Emulator
	if o.AccountID != "" && o.AccountID != em.Options().AccountID {
		return nil, fmt.Errorf("voiceapi: Options.AccountID %q is not the emulator's account %q, which its calls carry",
			o.AccountID, em.Options().AccountID)
	}
	s := &Server{
		opts: *o, account: em.Options().AccountID, engine: o.Engine, journal: em.Journal(), log: o.Logger,
		open:   o.Username == "" && o.Password == "" && o.ClientID == "" && o.ClientSecret == "",
		byID:   map[string]*Call{},
		tokens: map[string]time.Time{},
	}
	if s.opts.TokenTTL <= 0 {
		s.opts.TokenTTL = DefaultTokenTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.mux = s.routes()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	o.Engine.HTTPClient = gatedClient(o.Engine.HTTPClient, em.Options().TLSConfig)
	return s, nil
}

// AccountID is the account the server serves.
func (s *Server) AccountID() string { return s.account }

// Calls returns every call the server knows (created through the API or
// placed with Inbound), live or ended, oldest first.
func (s *Server) Calls() []*Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Call(nil), s.calls...)
}

// Call returns the call with this id, or nil.
func (s *Server) Call(id string) *Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// Close ends every live call gracefully, as a hangup does (streams stopped
// with cause closed, then the disconnect webhook), waits until every
// call's webhooks have been answered and every run is over, and returns.
// Afterwards new calls are refused with 503; the API still answers
// queries. Close does not close the engine's emulator, which its owner
// closes after. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	calls := append([]*Call(nil), s.calls...)
	s.mu.Unlock()
	// A hangup's context only bounds the wait for the run: the ending
	// itself is bounded by the calls' callback timeouts.
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			_ = c.Run.Hangup(context.Background())
			<-c.Run.Done()
		})
	}
	wg.Wait()
	s.background.Wait()
	s.cancel()
	return nil
}

// exchange is what the journal records of one request, and the writer
// its answer goes through.
type exchange struct {
	*statuswriter.Writer
	op      string // the operation, as Bandwidth's SDKs name it
	callID  string
	problem string // an error's description
	data    []byte // the request body, secrets redacted
	note    string // more to say, e.g. how many bytes of BXML
	// after runs once the request is answered and journaled.
	after []func()
}

// ServeHTTP serves the Voice API under /api/v2 and the OAuth token
// endpoint at /api/v1/oauth2/token, and journals every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	x := &exchange{Writer: statuswriter.New(w)}
	defer func() {
		for _, f := range x.after {
			f()
		}
	}()
	s.route(x, r)
	if x.Status() == 0 {
		x.WriteHeader(http.StatusOK)
	}
	s.record(r, x, time.Since(began))
}
