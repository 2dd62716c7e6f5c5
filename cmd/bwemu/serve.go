package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/bxml"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/weburl"
)

const serveSynopsis = "bwemu serve [--listen ADDR] [--account-id ID] [--username U --password P] [--client-id ID --client-secret S] [--pace realtime|fast] [--ca FILE]"

// serveShutdownTimeout bounds how long requests in flight may take once
// the live calls have ended.
const serveShutdownTimeout = 2 * time.Second

// kindControl is the journal kind of control API requests.
const kindControl = "control"

// serveCommand serves the mock Voice API (and its OAuth token endpoint) for
// apps in any language, with a control API that plays the caller and the
// network, until its context ends; then it hangs up every live call with
// its webhooks (cut off after emulator.InterruptGrace) and exits 0: being
// stopped is how serve ends.
//
// The control API, under /control/ (no authentication: it is for the test
// driver on loopback; answers are JSON, errors {"error": "…"}):
//
//	POST /control/calls                               {"url": initiateUrl, "from"?, "to"?, "method"?, "disconnectUrl"?, "disconnectMethod"?, "username"?, "password"?, "tag"?}
//	                                                  places an inbound call: the initiate webhook goes to url → 201 {"callId", "callUrl", "state"}
//	GET  /control/calls                               every call with its streams
//	POST /control/calls/{callId}/hangup               the caller hangs up; answers once the disconnect webhook was answered → 200 call state
//	POST /control/calls/{callId}/streams/{name}/fault {"fault": "reset"|"drop"|"error"}; answers once the stream's webhook was answered → 200 result
//	POST /control/calls/{callId}/streams/{name}/media {"duration": "2s"}: lets that much audio through (with --pace fast nothing flows otherwise)
//	GET  /control/journal                             the journal, as JSON Lines
func serveCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address to listen on (port 0 picks a free one)")
	accountID := fs.String("account-id", emulator.DefaultAccountID, "the account the Voice API serves; requests for another get 403")
	var o voiceapi.Options
	fs.StringVar(&o.Username, "username", "", "Basic auth user of the API (with --password)")
	fs.StringVar(&o.Password, "password", "", "Basic auth password of the API")
	fs.StringVar(&o.ClientID, "client-id", "", "OAuth client id that gets Bearer tokens (with --client-secret)")
	fs.StringVar(&o.ClientSecret, "client-secret", "", "OAuth client secret")
	pace := newChoice("realtime", "realtime", "fast")
	fs.Var(pace, "pace", "media pace of the streams: realtime (20 ms per frame), or fast (only what POST …/media lets through)")
	caFile := fs.String("ca", "", "PEM file of a CA to trust for wss:// destinations, https:// webhooks and BXML fetches")
	pos, code, ok := parseFlags(fs, serveSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	switch {
	case len(pos) > 0:
		return usageError(stderr, serveSynopsis, "unexpected argument %q", pos[0])
	case *accountID == "":
		return usageError(stderr, serveSynopsis, "--account-id must not be empty")
	case (o.Username == "") != (o.Password == ""):
		return usageError(stderr, serveSynopsis, "--username and --password go together")
	case (o.ClientID == "") != (o.ClientSecret == ""):
		return usageError(stderr, serveSynopsis, "--client-id and --client-secret go together")
	}
	var tlsConfig *tls.Config
	if *caFile != "" {
		pool, err := loadCA(*caFile)
		if err != nil {
			return usageError(stderr, serveSynopsis, "--ca: %v", err)
		}
		tlsConfig = &tls.Config{RootCAs: pool}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "bwemu: cannot listen on %s: %v\n", *listen, err)
		return exitUsage
	}

	em := emulator.New(&emulator.Options{AccountID: *accountID, TLSConfig: tlsConfig})
	o.AccountID = *accountID
	o.Engine = &bxml.Engine{Emulator: em, Pace: emulator.Pace(pace.value)}
	if tlsConfig != nil {
		// BXML fetches and PlayAudio files trust the CA too. No idle
		// connection outlives a fetch, as with the engine's own client.
		t := weburl.NewTransport()
		t.DisableKeepAlives = true
		t.TLSClientConfig = tlsConfig
		o.Engine.HTTPClient = &http.Client{Transport: t}
	}
	api := voiceapi.New(o)
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/control/", newControl(api, em))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln) // http.ErrServerClosed after Shutdown
	}()

	base := "http://" + ln.Addr().String()
	authLine := "none: every request is accepted (set --username/--password or --client-id/--client-secret)"
	switch {
	case o.Username != "" && o.ClientID != "":
		authLine = fmt.Sprintf("Basic user %q, or Bearer tokens for OAuth client %q", o.Username, o.ClientID)
	case o.Username != "":
		authLine = fmt.Sprintf("Basic user %q", o.Username)
	case o.ClientID != "":
		authLine = fmt.Sprintf("Bearer tokens for OAuth client %q", o.ClientID)
	}
	fmt.Fprintf(stdout, `bwemu serve: Bandwidth's Voice API, emulated
  voice api  %[1]s/api/v2  (calls: %[1]s/api/v2/accounts/%[2]s/calls)
  oauth      %[1]s%[3]s
  control    %[1]s/control/
               POST calls {"url": initiateUrl, "from", "to", "disconnectUrl"}   place an inbound call
               POST calls/{callId}/hangup                                     the caller hangs up
               POST calls/{callId}/streams/{name}/fault {"fault": "reset|drop|error"}
               POST calls/{callId}/streams/{name}/media {"duration": "2s"}    (for --pace fast)
               GET  calls, GET journal (JSON Lines)
  account    %[2]s
  auth       %[4]s
  pace       %[5]s
(Ctrl-C to stop: live calls are hung up with their webhooks)
`, base, *accountID, voiceapi.TokenPath, authLine, pace.value)

	<-ctx.Done()
	live := 0
	for _, c := range api.Calls() {
		select {
		case <-c.Done():
		default:
			live++
		}
	}
	fmt.Fprintf(stdout, "shutting down: hanging up %d live calls\n", live)
	// Calls end first, while the API still answers: an app may query a
	// call from its disconnect handler. Their webhooks get
	// emulator.InterruptGrace in all; then the runs end.
	emulatorShutdown(ctx, em, stderr)
	_ = api.Close()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-served
	_ = em.Close()
	fmt.Fprintln(stdout, "stopped")
	return exitPass
}

// control is the control API: what the caller and the network do.
type control struct {
	api *voiceapi.Server
	em  *emulator.Emulator
	mux *http.ServeMux
}

func newControl(api *voiceapi.Server, em *emulator.Emulator) *control {
	c := &control{api: api, em: em, mux: http.NewServeMux()}
	c.mux.HandleFunc("POST /control/calls", c.place)
	c.mux.HandleFunc("GET /control/calls", c.list)
	c.mux.HandleFunc("POST /control/calls/{callId}/hangup", c.hangup)
	c.mux.HandleFunc("POST /control/calls/{callId}/streams/{name}/fault", c.fault)
	c.mux.HandleFunc("POST /control/calls/{callId}/streams/{name}/media", c.media)
	c.mux.HandleFunc("GET /control/journal", c.journal)
	c.mux.HandleFunc("/control/", func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, "no control operation "+r.Method+" "+r.URL.Path)
	})
	return c
}

// ServeHTTP serves the control API and journals each request.
func (c *control) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	c.mux.ServeHTTP(sw, r)
	if r.URL.Path == "/control/journal" {
		return // reading the journal is not an event in it
	}
	c.em.Journal().Add(emulator.Entry{Kind: kindControl, By: emulator.ByEmulator, CallID: r.PathValue("callId"),
		StreamName: r.PathValue("name"), Code: sw.status, Latency: time.Since(began),
		Message: fmt.Sprintf("control: %s %s → %d %s", r.Method, r.URL.Path, sw.status, http.StatusText(sw.status))})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func controlError(w http.ResponseWriter, status int, msg string) {
	controlJSON(w, status, map[string]string{"error": msg})
}

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		controlError(w, http.StatusBadRequest, "the body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

// placeRequest is POST /control/calls.
type placeRequest struct {
	URL              string `json:"url"`
	Method           string `json:"method"`
	From             string `json:"from"`
	To               string `json:"to"`
	DisconnectURL    string `json:"disconnectUrl"`
	DisconnectMethod string `json:"disconnectMethod"`
	Username         string `json:"username"`
	Password         string `json:"password"`
	Tag              string `json:"tag"`
}

func (c *control) place(w http.ResponseWriter, r *http.Request) {
	var q placeRequest
	if !decode(w, r, &q) {
		return
	}
	if q.URL == "" {
		controlError(w, http.StatusBadRequest, `"url" is required: the app's URL for the initiate webhook`)
		return
	}
	call, err := c.api.Inbound(voiceapi.InboundCall{URL: q.URL, Method: q.Method, From: q.From, To: q.To,
		DisconnectURL: q.DisconnectURL, DisconnectMethod: q.DisconnectMethod, Username: q.Username, Password: q.Password, Tag: q.Tag})
	switch {
	case errors.Is(err, voiceapi.ErrClosed), errors.Is(err, emulator.ErrClosed):
		controlError(w, http.StatusServiceUnavailable, "shutting down: no new calls")
		return
	case err != nil:
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	controlJSON(w, http.StatusCreated, map[string]string{"callId": call.ID, "callUrl": call.Run.Call.URL(), "state": call.State().State})
}

// streamInfo describes a stream in GET /control/calls.
type streamInfo struct {
	Name   string                 `json:"name"`
	ID     string                 `json:"streamId"`
	Live   bool                   `json:"live"`
	Result *emulator.StreamResult `json:"result,omitempty"`
}

func (c *control) list(w http.ResponseWriter, _ *http.Request) {
	type callInfo struct {
		voiceapi.CallState
		Streams []streamInfo `json:"streams"`
	}
	out := []callInfo{}
	for _, call := range c.api.Calls() {
		ci := callInfo{CallState: call.State(), Streams: []streamInfo{}}
		for _, s := range call.Run.Call.Streams() {
			res := s.Result()
			ci.Streams = append(ci.Streams, streamInfo{Name: s.Name, ID: s.ID, Live: res == nil, Result: res})
		}
		out = append(out, ci)
	}
	controlJSON(w, http.StatusOK, out)
}

// call finds the path's call, answering 404 when there is none.
func (c *control) call(w http.ResponseWriter, r *http.Request) *voiceapi.Call {
	call := c.api.Call(r.PathValue("callId"))
	if call == nil {
		controlError(w, http.StatusNotFound, "no call "+r.PathValue("callId"))
	}
	return call
}

// stream finds the path's live stream, answering 404 when there is none.
func (c *control) stream(w http.ResponseWriter, r *http.Request) *emulator.Stream {
	call := c.call(w, r)
	if call == nil {
		return nil
	}
	s := call.Run.Call.Stream(r.PathValue("name"))
	if s == nil {
		controlError(w, http.StatusNotFound, fmt.Sprintf("call %s has no live stream named %q", call.ID, r.PathValue("name")))
	}
	return s
}

// hangup ends the call as the caller does: streams stopped (cause
// closed), then disconnect (cause hangup). The ending must run to its end
// even if the client goes away, or the call would be left half ended.
func (c *control) hangup(w http.ResponseWriter, r *http.Request) {
	call := c.call(w, r)
	if call == nil {
		return
	}
	if err := call.Run.Call.Hangup(context.WithoutCancel(r.Context())); err != nil {
		controlError(w, http.StatusConflict, fmt.Sprintf("call %s has already ended", call.ID))
		return
	}
	controlJSON(w, http.StatusOK, call.State())
}

func (c *control) fault(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Fault string `json:"fault"`
	}
	if !decode(w, r, &q) {
		return
	}
	f, err := emulator.ParseFault(q.Fault)
	if err != nil {
		controlError(w, http.StatusBadRequest, `"fault": `+err.Error())
		return
	}
	s := c.stream(w, r)
	if s == nil {
		return
	}
	res, err := s.Inject(r.Context(), f)
	if err != nil {
		controlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	controlJSON(w, http.StatusOK, map[string]any{"callId": s.Call.ID, "streamId": s.ID, "name": s.Name,
		"ending": res.Ending, "event": res.Event, "cause": res.Cause, "errorMessage": res.ErrorMessage})
}

func (c *control) media(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Duration string `json:"duration"`
	}
	if !decode(w, r, &q) {
		return
	}
	d, err := time.ParseDuration(q.Duration)
	if err != nil || d <= 0 {
		controlError(w, http.StatusBadRequest, fmt.Sprintf(`"duration" %q: want a positive duration such as "2s"`, q.Duration))
		return
	}
	s := c.stream(w, r)
	if s == nil {
		return
	}
	if err := s.Media(r.Context(), d); err != nil {
		controlError(w, http.StatusConflict, err.Error())
		return
	}
	controlJSON(w, http.StatusOK, map[string]any{"callId": s.Call.ID, "streamId": s.ID, "name": s.Name, "progress": s.Progress().String()})
}

func (c *control) journal(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	_ = c.em.Journal().WriteJSONLines(w)
}
