package voiceapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/weburl"
)

// KindAPI is the journal kind of Voice API requests: one entry per request
// with the operation (Event: createCall, getCallState, listCalls,
// updateCall, updateCallBxml, token…), the status (Code), the latency,
// the error description, and the JSON body with secrets redacted (Data).
// The Authorization header is journaled as its scheme and "[redacted]";
// tokens, passwords and client secrets never reach the journal.
const KindAPI emulator.Kind = "api"

// redacted is weburl.Redacted, so the API's journal entries read like the
// engine's.
const redacted = weburl.Redacted

// record journals one request.
func (s *Server) record(r *http.Request, x *exchange, latency time.Duration) {
	msg := fmt.Sprintf("%s %s → %d %s in %s (Authorization: %s)", r.Method, redactQuery(r.URL),
		x.Status(), http.StatusText(x.Status()), latency.Round(time.Microsecond), describeAuth(r.Header.Get("Authorization")))
	if x.problem != "" {
		msg += ": " + x.problem
	}
	if x.note != "" {
		msg += "; " + x.note
	}
	s.journal.Add(emulator.Entry{Kind: KindAPI, By: emulator.ByApp, CallID: x.callID, Event: x.op, Method: r.Method,
		Code: x.Status(), Latency: latency, Error: x.problem, Message: msg, Data: x.data})
	s.log.Debug("voice api request", "op", x.op, "method", r.Method, "path", r.URL.Path,
		"status", x.Status(), "latency", latency, "error", x.problem)
}

// describeAuth names the scheme of an Authorization header, never its value.
func describeAuth(h string) string {
	if h == "" {
		return "none"
	}
	scheme, _, _ := strings.Cut(h, " ")
	return scheme + " " + redacted
}

// secret reports whether a field name holds a secret.
func secret(name string) bool { return weburl.SecretName(name) }

// redactQuery is the request URI with secret query parameters redacted.
func redactQuery(u *url.URL) string {
	q := u.Query()
	changed := false
	for k := range q {
		if secret(k) {
			q[k] = []string{redacted}
			changed = true
		}
	}
	if !changed {
		return u.RequestURI()
	}
	c := *u
	c.RawQuery = q.Encode()
	return c.RequestURI()
}

// redactJSON returns a JSON object body with every secret field redacted,
// at any depth (machineDetection carries credentials too), or nil when
// the body is not a JSON object.
func redactJSON(body []byte) json.RawMessage {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	redactValue(v)
	out, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return out
}

func redactValue(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			if secret(k) {
				if s, ok := val.(string); ok && s == "" {
					continue
				}
				v[k] = redacted
				continue
			}
			if s, ok := val.(string); ok {
				v[k] = weburl.Redact(s) // http://user:password@host/…
				continue
			}
			redactValue(val)
		}
	case []any:
		for i, e := range v {
			if s, ok := e.(string); ok {
				v[i] = weburl.Redact(s)
				continue
			}
			redactValue(e)
		}
	}
}

func joinNotes(first string, more ...string) string {
	var parts []string
	if first != "" {
		parts = append(parts, first)
	}
	parts = append(parts, more...)
	return strings.Join(parts, "; ")
}
