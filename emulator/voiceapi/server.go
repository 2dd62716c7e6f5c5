package voiceapi

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
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
	// get 403. Default: the engine's emulator's account. Set it only to
	// that same value, since the emulator's calls carry its account.
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

// Server is the mock Voice API, an http.Handler. Create it with New and
// end it with Close.
type Server struct {
	opts    Options
	account string
	engine  *bxml.Engine
	journal *emulator.Journal
	log     *slog.Logger
	open    bool // no credentials configured: every request is accepted

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

// New returns a Voice API server for o. It panics when o.Engine or its
// Emulator is nil, a programming error.
//
// New replaces o.Engine.HTTPClient with a client that wraps it (or, when
// nil, a client like the engine's own, keeping no idle connections): the
// wrapper holds a call's answer webhook until the app has its create-call
// response, as on Bandwidth, where the call is queued, dialled and answered
// first. Requests of runs started outside this server pass straight
// through. Call New before the engine's first Start.
func New(o Options) *Server {
	if o.Engine == nil || o.Engine.Emulator == nil {
		panic("voiceapi: Options.Engine and its Emulator are required")
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	s := &Server{
		opts: o, account: o.AccountID, engine: o.Engine, journal: o.Engine.Emulator.Journal(), log: o.Logger,
		open:   o.Username == "" && o.Password == "" && o.ClientID == "" && o.ClientSecret == "",
		byID:   map[string]*Call{},
		tokens: map[string]time.Time{},
	}
	if s.account == "" {
		s.account = o.Engine.Emulator.Options().AccountID
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	o.Engine.HTTPClient = gatedClient(o.Engine.HTTPClient, o.Engine.Emulator.Options().TLSConfig)
	return s
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

// exchange is what the journal records of one request.
type exchange struct {
	op      string // the operation, as Bandwidth's SDKs name it
	callID  string
	problem string // an error's description
	data    []byte // the request body, secrets redacted
	note    string // more to say, e.g. how many bytes of BXML
	status  int    // set by the recorder
	written bool   // ditto
	w       http.ResponseWriter
	// after runs once the request is answered and journaled.
	after []func()
}

func (x *exchange) Header() http.Header { return x.w.Header() }

func (x *exchange) WriteHeader(code int) {
	if !x.written {
		x.status, x.written = code, true
	}
	x.w.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if !x.written {
		x.WriteHeader(http.StatusOK)
	}
	return x.w.Write(b)
}

// ServeHTTP serves the Voice API under /api/v2 and the OAuth token
// endpoint at /api/v1/oauth2/token, and journals every request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	x := &exchange{w: w}
	defer func() {
		for _, f := range x.after {
			f()
		}
	}()
	s.route(x, r)
	if !x.written {
		x.WriteHeader(http.StatusOK)
	}
	s.record(r, x, time.Since(began))
}

// route finds the operation, after authentication and the account check.
func (s *Server) route(x *exchange, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == TokenPath {
		x.op = "token"
		s.serveToken(x, r)
		return
	}
	rest, ok := strings.CutPrefix(path, VoicePrefix+"/")
	if !ok {
		x.op = "unknown"
		x.fail(http.StatusNotFound, TypeValidation, "path "+r.URL.Path+" not found: the Voice API is under "+VoicePrefix)
		return
	}
	// The operation is named before authentication, so that the journal
	// says which request was refused.
	seg := strings.Split(rest, "/")
	type route struct {
		op      string
		handler func(*exchange, *http.Request)
	}
	var methods map[string]route
	switch {
	case len(seg) < 3 || len(seg) > 5 || seg[0] != "accounts" || seg[2] != "calls" || (len(seg) == 5 && seg[4] != "bxml"):
	case len(seg) == 3:
		methods = map[string]route{http.MethodPost: {"createCall", s.createCall}, http.MethodGet: {"listCalls", s.listCalls}}
	case len(seg) == 4:
		methods = map[string]route{http.MethodGet: {"getCallState", s.getCall}, http.MethodPost: {"updateCall", s.updateCall}}
	default:
		methods = map[string]route{http.MethodPut: {"updateCallBxml", s.updateBXML}}
	}
	rt, allowed := methods[r.Method]
	switch {
	case methods == nil:
		x.op = "unknown"
	case !allowed:
		x.op = "methodNotAllowed"
	default:
		x.op = rt.op
	}
	if len(seg) >= 4 && methods != nil {
		x.callID = seg[3]
	}

	if !s.authenticate(r) {
		x.Header().Set("WWW-Authenticate", `Basic realm="Bandwidth Voice API"`)
		x.fail(http.StatusUnauthorized, TypeAuthentication, "The credentials provided were invalid")
		return
	}
	if methods == nil {
		x.fail(http.StatusNotFound, TypeValidation, "path "+r.URL.Path+" not found")
		return
	}
	if !allowed {
		var allow []string
		for m := range methods {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		x.Header().Set("Allow", strings.Join(allow, ", "))
		x.fail(http.StatusMethodNotAllowed, TypeValidation, "Method Not Allowed: "+r.Method+" "+r.URL.Path)
		return
	}
	if seg[1] != s.account {
		x.fail(http.StatusForbidden, TypeAuthorization, "Access is denied: account "+seg[1]+" is not this emulator's account ("+s.account+")")
		return
	}
	rt.handler(x, r)
}
