package bxml

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Call webhook event types that expect BXML back.
const (
	EventAnswer   = "answer"
	EventInitiate = "initiate"
	EventRedirect = "redirect"
)

// target is where BXML comes from.
type target struct {
	url, method        string
	username, password string
	eventType          string
}

// FetchError is a BXML fetch that failed: no answer, or an answer other
// than 2xx. Bandwidth ends the call with disconnect cause callback-error.
type FetchError struct {
	EventType string
	Method    string
	URL       string // passwords in the URL redacted
	// Status is the app's HTTP status, 0 when no answer came.
	Status int
	// Reason says what went wrong, in words.
	Reason string
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("%s webhook %s %s: %s", e.EventType, e.Method, e.URL, e.Reason)
}

// fetch asks the app for BXML as Bandwidth does: the call webhook as JSON
// (POST) or query parameters (GET), Basic credentials when given, the
// call's callback timeout. Every attempt is journaled as a webhook.
func (r *Run) fetch(ctx context.Context, t target) (*Document, error) {
	method := t.method
	if method == "" {
		method = http.MethodPost
	}
	ev := r.event(t.eventType)
	body, _ := json.Marshal(ev) // Event has only marshalable fields
	dest := t.url
	var rd io.Reader
	if method == http.MethodGet {
		dest = weburl.WithQuery(t.url, ev.Query())
	} else {
		rd = bytes.NewReader(body)
	}
	fail := &FetchError{EventType: t.eventType, Method: method, URL: weburl.Redact(dest)}
	timeout := r.callbackTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, dest, rd)
	if err != nil {
		fail.Reason = err.Error()
		return nil, fail
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "bwemu")
	req.Header.Set("Accept", "application/xml")
	if t.username != "" || t.password != "" {
		req.SetBasicAuth(t.username, t.password)
	}
	began := time.Now()
	resp, err := r.client.Do(req)
	lat := time.Since(began)
	entry := emulator.Entry{Kind: emulator.KindWebhook, By: emulator.ByEmulator, CallID: r.Call.ID,
		Event: t.eventType, Latency: lat, Data: body}
	if err != nil {
		if parent := context.Cause(ctx); ctx.Err() != nil && !errors.Is(parent, context.DeadlineExceeded) {
			// Interrupted (Replace, Redirect, Hangup) or the run ended:
			// not the app's fault, and not a callback-error.
			entry.Error = "cancelled"
			entry.Message = fmt.Sprintf("%s %s abandoned after %s: the BXML was interrupted", method, fail.URL, lat.Round(time.Microsecond))
			r.journal.Add(entry)
			return nil, parent
		}
		fail.Reason = weburl.ErrorText(err)
		if errors.Is(err, context.DeadlineExceeded) {
			fail.Reason = fmt.Sprintf("no answer within the callback timeout of %s", timeout)
		}
		entry.Error = fail.Reason
		entry.Message = fmt.Sprintf("%s %s failed after %s: %s", method, fail.URL, lat.Round(time.Microsecond), fail.Reason)
		r.journal.Add(entry)
		return nil, fail
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxDocument+1))
	entry.Code = resp.StatusCode
	entry.Message = fmt.Sprintf("%s %s → %d in %s: %d bytes (%s)", method, fail.URL, resp.StatusCode,
		lat.Round(time.Microsecond), len(data), resp.Header.Get("Content-Type"))
	r.journal.Add(entry)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fail.Status = resp.StatusCode
		fail.Reason = fmt.Sprintf("the app answered %d %s instead of 200 with BXML", resp.StatusCode, http.StatusText(resp.StatusCode))
		return nil, fail
	}
	if readErr != nil {
		fail.Status = resp.StatusCode
		fail.Reason = "reading the answer: " + weburl.ErrorText(readErr)
		return nil, fail
	}
	if len(data) > MaxDocument {
		return nil, &SyntaxError{Msg: fmt.Sprintf("the document is larger than %d bytes (64 KB), Bandwidth's limit", MaxDocument)}
	}
	return Parse(data)
}

// event is the call webhook that asks for BXML. An initiate event carries
// no answerTime: the call is not answered yet.
func (r *Run) event(eventType string) *protocol.Event {
	c := r.Call
	ev := &protocol.Event{
		AccountID: c.AccountID, ApplicationID: c.ApplicationID, CallID: c.ID, CallURL: c.URL(),
		Direction: c.Direction, EventTime: protocol.NewTime(time.Now()), EventType: eventType,
		From: c.From, StartTime: protocol.NewTime(c.StartTime), Tag: r.tag, To: c.To,
	}
	if eventType != EventInitiate {
		ev.AnswerTime = protocol.TimePtr(c.AnswerTime)
	}
	return ev
}

func (r *Run) callbackTimeout() time.Duration {
	if r.opts.Call.CallbackTimeout > 0 {
		return r.opts.Call.CallbackTimeout
	}
	return r.Call.Emulator().Options().Timeouts.Callback
}

// loadAudio fetches a PlayAudio file. A WAV file plays for its length;
// anything else (an MP3, a failed fetch, a URL that is not http) plays a
// FallbackAudioDuration tone, and the reason is returned for the journal.
func (r *Run) loadAudio(ctx context.Context, v *PlayAudio, base string) (media.Audio, time.Duration, string, error) {
	fallback := func(why string) (media.Audio, time.Duration, string, error) {
		return audioTone, FallbackAudioDuration, why + fmt.Sprintf("; playing a %s tone instead", FallbackAudioDuration), nil
	}
	raw, err := weburl.Resolve(base, v.URL)
	if err != nil {
		return fallback(err.Error())
	}
	u, _ := url.Parse(raw) // resolve returned a parsed URL
	if u.Scheme != "http" && u.Scheme != "https" {
		return fallback(fmt.Sprintf("%s is not an http(s) URL", weburl.Redact(raw)))
	}
	fctx, cancel := context.WithTimeout(ctx, r.callbackTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, raw, nil)
	if err != nil {
		return fallback(err.Error())
	}
	req.Header.Set("User-Agent", "bwemu")
	if v.Username != "" || v.Password != "" {
		req.SetBasicAuth(v.Username, v.Password)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, "", ctx.Err()
		}
		return fallback("fetching " + weburl.Redact(raw) + ": " + weburl.ErrorText(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fallback(fmt.Sprintf("%s answered %d %s", weburl.Redact(raw), resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAudioFile+1))
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return nil, 0, "", ctx.Err()
		}
		return fallback("reading " + weburl.Redact(raw) + ": " + weburl.ErrorText(err))
	case len(data) > MaxAudioFile:
		return fallback(fmt.Sprintf("%s is larger than %d bytes", weburl.Redact(raw), MaxAudioFile))
	}
	a, err := media.DecodeWAV(bytes.NewReader(data), path.Base(u.Path))
	if err != nil {
		return fallback(fmt.Sprintf("%s is not a WAV file the emulator can play (%v)", weburl.Redact(raw), err))
	}
	if a.Duration() <= 0 {
		return fallback(fmt.Sprintf("%s holds no audio", weburl.Redact(raw)))
	}
	return a, a.Duration(), "", nil
}
