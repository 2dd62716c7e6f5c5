package voiceapi

import (
	"net/http"
	"path"
	"slices"
	"strings"
)

// operation is one operation of the Voice API, as Bandwidth's SDKs name it.
type operation struct {
	name  string
	serve func(*exchange, *http.Request)
}

// resource is one path of the API: its operations by method. Methods are
// dispatched here rather than in the patterns, so that a request with
// another method is named, authenticated and answered in Bandwidth's shape.
type resource map[string]operation

// exchangeHandler serves a request through its exchange, which
// Server.ServeHTTP hands the mux as the ResponseWriter.
type exchangeHandler func(*exchange, *http.Request)

func (h exchangeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h(w.(*exchange), r) }

// routes maps the API's paths to their resources. Each path is also
// registered with a trailing slash, which Bandwidth's own examples use
// (…/calls/).
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		mux.Handle(pattern+"/{$}", h)
	}
	calls := VoicePrefix + "/accounts/{accountId}/calls"
	for pattern, res := range map[string]resource{
		calls: {http.MethodPost: {"createCall", s.createCall}, http.MethodGet: {"listCalls", s.listCalls}},
		calls + "/{callId}": {
			http.MethodGet: {"getCallState", s.getCall}, http.MethodPost: {"updateCall", s.updateCall}},
		calls + "/{callId}/bxml": {http.MethodPut: {"updateCallBxml", s.updateBXML}},
	} {
		handle(pattern, exchangeHandler(func(x *exchange, r *http.Request) { s.dispatch(x, r, res) }))
	}
	handle(TokenPath, exchangeHandler(func(x *exchange, r *http.Request) {
		x.op = "token"
		s.serveToken(x, r)
	}))
	mux.Handle("/", exchangeHandler(s.unknown))
	return mux
}

// route serves the request on the API's routes. A path that is not clean
// (an empty, . or .. segment; a trailing slash is fine) names no
// operation: the mux would redirect it, where Bandwidth answers 404.
func (s *Server) route(x *exchange, r *http.Request) {
	if p := r.URL.Path; path.Clean(p) != strings.TrimSuffix(p, "/") {
		s.unknown(x, r)
		return
	}
	s.mux.ServeHTTP(x, r)
}

// dispatch runs the resource's operation for the request's method, after
// authentication and the account check. The operation is named first, so
// that the journal says which request was refused.
func (s *Server) dispatch(x *exchange, r *http.Request, res resource) {
	op, allowed := res[r.Method]
	x.op, x.callID = op.name, r.PathValue("callId")
	if !allowed {
		x.op = "methodNotAllowed"
	}
	if !s.authorize(x, r) {
		return
	}
	if !allowed {
		allow := make([]string, 0, len(res))
		for m := range res {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		x.Header().Set("Allow", strings.Join(allow, ", "))
		x.fail(http.StatusMethodNotAllowed, TypeValidation, "Method Not Allowed: "+r.Method+" "+r.URL.Path)
		return
	}
	if account := r.PathValue("accountId"); account != s.account {
		x.fail(http.StatusForbidden, TypeAuthorization, "Access is denied: account "+account+" is not this emulator's account ("+s.account+")")
		return
	}
	op.serve(x, r)
}

// unknown answers a path that names no operation: 404, after
// authentication for a path under the Voice API's prefix.
func (s *Server) unknown(x *exchange, r *http.Request) {
	x.op = "unknown"
	if !strings.HasPrefix(strings.TrimSuffix(r.URL.Path, "/"), VoicePrefix+"/") {
		x.fail(http.StatusNotFound, TypeValidation, "path "+r.URL.Path+" not found: the Voice API is under "+VoicePrefix)
		return
	}
	if s.authorize(x, r) {
		x.fail(http.StatusNotFound, TypeValidation, "path "+r.URL.Path+" not found")
	}
}

// authorize answers 401 and reports false unless the request authenticates.
func (s *Server) authorize(x *exchange, r *http.Request) bool {
	if s.authenticate(r) {
		return true
	}
	x.Header().Set("WWW-Authenticate", `Basic realm="Bandwidth Voice API"`)
	x.fail(http.StatusUnauthorized, TypeAuthentication, "The credentials provided were invalid")
	return false
}
