package main

import (
	"net/http"
	"sync"

	"github.com/bwemu/bwemu/internal/apptest"
)

// The fixtures conform_test.go names, on the test kit. The kit's own names
// serve as well: apptest.NewWS and NewTLSWS (URL, Handshakes, CAFile),
// apptest.NewHooks (EventsURL, Requests) and apptest.RefusedURL.

// wsOptions has no options: conform's specs need a correct app only.
type wsOptions struct{}

// wsApp is a correct WebSocket app. One made by newWSApp listens on its
// own; a literal serves through serve, on a server the spec starts.
type wsApp struct {
	URL    string
	frames map[string]int // set by literals; unread

	once sync.Once
	ws   *apptest.WS
}

func newWSApp(wsOptions) *wsApp {
	ws := apptest.NewWS()
	return &wsApp{URL: ws.URL(), ws: ws}
}

func (a *wsApp) kit() *apptest.WS {
	a.once.Do(func() {
		if a.ws == nil {
			a.ws = new(apptest.WS)
		}
	})
	return a.ws
}

func (a *wsApp) serve(w http.ResponseWriter, r *http.Request) { a.kit().ServeHTTP(w, r) }

// Handshakes counts the upgrade requests.
func (a *wsApp) Handshakes() int { return a.kit().Handshakes() }

// eventsApp answers every webhook with status and records it.
type eventsApp struct {
	URL   string
	hooks *apptest.Hooks
}

func newEventsApp(status int) *eventsApp {
	h := apptest.NewHooks(apptest.Reply{Status: status})
	return &eventsApp{URL: h.EventsURL(), hooks: h}
}

// Hooks is every webhook received, in order.
func (e *eventsApp) Hooks() []apptest.Request { return e.hooks.Requests() }

// refusedURL is a ws:// URL where nothing listens.
func refusedURL() string { return apptest.RefusedURL() }
