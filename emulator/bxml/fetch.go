package bxml

import (
	"bytes"
	"context"
	"fmt"
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
// call's callback timeout. The exchange is journaled and recorded
// (emulator.Fetch).
func (r *Run) fetch(ctx context.Context, t target) (*Document, error) {
	_, resp := r.Call.Emulator().Fetch(ctx, emulator.Request{
		Callback: emulator.Callback{URL: t.url, Method: t.method, Username: t.username, Password: t.password, Timeout: r.callbackTimeout()},
		Event:    r.event(t.eventType), Accept: "application/xml", MaxBody: MaxDocument, Client: r.client,
	}, r.Call.ID)
	fail := &FetchError{EventType: t.eventType, Method: resp.Method, URL: resp.URL, Status: resp.Status}
	switch {
	case resp.Interrupted:
		// Interrupted (Replace, Redirect, Hangup) or the run ended: not
		// the app's fault, and not a callback-error.
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
		return nil, emulator.ErrClosed
	case resp.Error != "":
		fail.Reason = resp.Error
		return nil, fail
	case resp.Status < 200 || resp.Status > 299:
		fail.Reason = fmt.Sprintf("the app answered %d %s instead of 200 with BXML", resp.Status, http.StatusText(resp.Status))
		return nil, fail
	case resp.ReadError != "":
		fail.Reason = "reading the answer: " + resp.ReadError
		return nil, fail
	case len(resp.Body) > MaxDocument:
		return nil, &SyntaxError{Msg: fmt.Sprintf("the document is larger than %d bytes (64 KB), Bandwidth's limit", MaxDocument)}
	}
	return Parse(resp.Body)
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
	resp := r.Call.Emulator().Send(ctx, emulator.Request{
		Callback: emulator.Callback{URL: raw, Method: http.MethodGet, Username: v.Username, Password: v.Password, Timeout: r.callbackTimeout()},
		MaxBody:  MaxAudioFile, Client: r.client,
	})
	switch {
	case resp.Interrupted:
		return nil, 0, "", ctx.Err()
	case resp.Error != "":
		return fallback("fetching " + resp.URL + ": " + resp.Error)
	case resp.Status < 200 || resp.Status > 299:
		return fallback(fmt.Sprintf("%s answered %d %s", resp.URL, resp.Status, http.StatusText(resp.Status)))
	case resp.ReadError != "":
		return fallback("reading " + resp.URL + ": " + resp.ReadError)
	case len(resp.Body) > MaxAudioFile:
		return fallback(fmt.Sprintf("%s is larger than %d bytes", resp.URL, MaxAudioFile))
	}
	data := resp.Body
	a, err := media.DecodeWAV(bytes.NewReader(data), path.Base(u.Path))
	if err != nil {
		return fallback(fmt.Sprintf("%s is not a WAV file the emulator can play (%v)", weburl.Redact(raw), err))
	}
	if a.Duration() <= 0 {
		return fallback(fmt.Sprintf("%s holds no audio", weburl.Redact(raw)))
	}
	return a, a.Duration(), "", nil
}
