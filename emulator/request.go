package emulator

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Callback says where and how a request to the app goes: a streamEventUrl,
// a disconnectUrl, an answer URL.
type Callback struct {
	URL      string
	Method   string // POST (default) or GET
	Username string
	Password string
	// Timeout is the call's callbackTimeout; zero takes Options.Timeouts.Callback.
	Timeout time.Duration
}

// Request is one HTTP request to the app. Every request the emulator and
// the packages built on it make to the app — stream events, disconnect,
// BXML callbacks, PlayAudio files — goes through Emulator.Send, so
// credentials, headers, timeouts, interrupts and error texts are decided
// in one place.
type Request struct {
	Callback
	// Event is the payload: a JSON body with POST, the query with GET. Nil
	// for a bare GET (a file).
	Event *protocol.Event
	// Accept is the Accept header, e.g. application/xml for BXML.
	Accept string
	// MaxBody is how much of the answer to keep (the caller gets up to one
	// byte more, to tell a body that is too large); 0 keeps a snippet for
	// reports.
	MaxBody int64
	// Client sends the request; nil: the emulator's own client.
	Client *http.Client
}

// Response is the app's answer to one request, or why none came.
type Response struct {
	Attempt
	Method string
	// URL is where the request went, without any password.
	URL    string
	Header http.Header
	Body   []byte
	// ReadError says why the answer's body could not be read in full.
	ReadError string
	// Retry is true when the connection failed before any answer, the one
	// case Bandwidth retries (never an error status or a timeout).
	Retry bool
}

// NoAnswer says why a request got no HTTP answer, in a few words that
// stay the same from run to run (the error text holds addresses and
// timings): what verdicts, reports and replays compare.
type NoAnswer string

const (
	NoAnswerTimeout     NoAnswer = "timed out" // no answer within the callback timeout
	NoAnswerRefused     NoAnswer = "connection refused"
	NoAnswerClosed      NoAnswer = "connection closed without an answer"
	NoAnswerUntrusted   NoAnswer = "certificate not trusted"
	NoAnswerNoHost      NoAnswer = "no such host"
	NoAnswerFailed      NoAnswer = "request failed" // anything else
	NoAnswerInterrupted NoAnswer = "interrupted"    // the call ended or the run was interrupted first: never the app's fault
)

// noAnswerOf classifies the error of a request that got no answer.
func noAnswerOf(err error) NoAnswer {
	var cert *tls.CertificateVerificationError
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return NoAnswerRefused
	case errors.As(err, &cert):
		return NoAnswerUntrusted
	case errors.As(err, &dns) && dns.IsNotFound:
		return NoAnswerNoHost
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return NoAnswerClosed
	}
	return NoAnswerFailed
}

// snippetSize is how much of an answer a report keeps.
const snippetSize = 512

// Send makes one request to the app and reads its answer, bounded by the
// callback timeout. A request cut off by ctx or by an interrupted run
// (Shutdown) comes back Interrupted, which is never the app's fault.
func (e *Emulator) Send(ctx context.Context, r Request) Response {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = e.opts.Timeouts.Callback
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unlink := context.AfterFunc(e.delivering, cancel) // Shutdown cuts it off
	defer unlink()
	req, resp := newRequest(rctx, r)
	if req == nil {
		return resp
	}
	if e.delivering.Err() != nil || ctx.Err() != nil {
		resp.Attempt = interruptedAttempt(0)
		return resp
	}
	client := r.Client
	if client == nil {
		client = e.client
	}
	began := time.Now()
	hr, err := client.Do(req)
	resp.Latency = time.Since(began)
	if err != nil {
		switch timedOut := errors.Is(err, context.DeadlineExceeded) || isTimeout(err); {
		case e.delivering.Err() != nil || ctx.Err() != nil:
			resp.Attempt = interruptedAttempt(resp.Latency)
		case timedOut:
			resp.Error, resp.NoAnswer = fmt.Sprintf("no answer within the callback timeout of %s", timeout), NoAnswerTimeout
		default:
			resp.Error, resp.NoAnswer, resp.Retry = weburl.ErrorText(err), noAnswerOf(err), true
		}
		return resp
	}
	defer hr.Body.Close()
	resp.read(hr, r.MaxBody)
	return resp
}

// newRequest builds the HTTP request: the event as a JSON body (POST) or
// as the query (GET), Bandwidth's headers and credentials. A nil request
// comes with the Response that says why.
func newRequest(ctx context.Context, r Request) (*http.Request, Response) {
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = http.MethodPost
	}
	target := r.URL
	var body io.Reader
	if r.Event != nil {
		if method == http.MethodGet {
			target = weburl.WithQuery(r.URL, r.Event.Query())
		} else {
			raw, _ := json.Marshal(r.Event) // Event has only marshalable fields
			body = bytes.NewReader(raw)
		}
	}
	resp := Response{Method: method, URL: weburl.Redact(target)}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		resp.Error, resp.NoAnswer = err.Error(), NoAnswerFailed
		return nil, resp
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "bwemu")
	if r.Accept != "" {
		req.Header.Set("Accept", r.Accept)
	}
	if r.Username != "" || r.Password != "" {
		req.SetBasicAuth(r.Username, r.Password)
	}
	return req, resp
}

// read takes the status, the headers and up to maxBody+1 bytes of the
// answer (a report's snippet when maxBody is 0).
func (resp *Response) read(hr *http.Response, maxBody int64) {
	if maxBody <= 0 {
		maxBody = snippetSize
	}
	resp.Status, resp.Header = hr.StatusCode, hr.Header
	var err error
	resp.Body, err = io.ReadAll(io.LimitReader(hr.Body, maxBody+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(hr.Body, 1<<20)) // lets the connection be reused
	if err != nil {
		resp.ReadError = weburl.ErrorText(err)
	}
	resp.Attempt.Body = string(resp.Body[:min(len(resp.Body), snippetSize)])
}

func interruptedAttempt(lat time.Duration) Attempt {
	return Attempt{Latency: lat, Interrupted: true, NoAnswer: NoAnswerInterrupted, Error: "interrupted: the run was interrupted before the app answered"}
}

// Fetch asks the app for a document (BXML on answer, initiate or redirect)
// through Send, journals the exchange as a KindWebhook entry and records it
// as a Delivery with BXML set: Exchanges lists it, Deliveries does not,
// since Bandwidth wants 200 and a document there, not 204, and judges the
// answer itself (callback-error).
func (e *Emulator) Fetch(ctx context.Context, r Request, callID string) (*Delivery, Response) {
	resp := e.Send(ctx, r)
	// The document may name its streams' credentials: what is recorded of
	// it never holds them.
	recorded := resp.Attempt
	recorded.Body = weburl.RedactMarkup(recorded.Body)
	d := &Delivery{Event: r.Event, Method: resp.Method, URL: resp.URL, Authenticated: r.Username != "" || r.Password != "",
		Copy: 1, Attempts: []Attempt{recorded}, BXML: true}
	entry := Entry{Kind: KindWebhook, By: ByEmulator, CallID: callID, Method: resp.Method, Copy: 1, Attempt: 1,
		Code: resp.Status, Latency: resp.Latency, Error: resp.Error, NoAnswer: resp.NoAnswer}
	if r.Event != nil {
		entry.Event = r.Event.EventType
		entry.Data, _ = json.Marshal(r.Event)
	}
	lat := resp.Latency.Round(time.Microsecond)
	switch {
	case resp.Interrupted: // the call ended or the run was interrupted
		entry.Error = "cancelled"
		entry.Message = fmt.Sprintf("%s %s abandoned after %s: interrupted", resp.Method, resp.URL, lat)
	case resp.Error != "":
		entry.Message = fmt.Sprintf("%s %s failed after %s: %s", resp.Method, resp.URL, lat, resp.Error)
	default:
		entry.Message = fmt.Sprintf("%s %s → %d in %s: %d bytes (%s)", resp.Method, resp.URL, resp.Status, lat,
			len(resp.Body), resp.Header.Get("Content-Type"))
	}
	e.journal.Add(entry)
	e.mu.Lock()
	e.exchanges = append(e.exchanges, d)
	e.mu.Unlock()
	return d, resp
}
