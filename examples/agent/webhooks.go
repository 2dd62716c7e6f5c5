package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxWebhookBody bounds a webhook body; Bandwidth's are a few hundred bytes.
const maxWebhookBody = 1 << 20

// The events each webhook endpoint takes (PROTOCOL §5): a StartStream's
// streamEventUrl gets the stream events only, the call's disconnectUrl
// only disconnect.
var (
	streamEvents     = map[string]bool{"mediaStreamStarted": true, "mediaStreamRejected": true, "mediaStreamStopped": true}
	disconnectEvents = map[string]bool{"disconnect": true}
)

// webhook is what the agent reads of a webhook.
type webhook struct {
	EventType    string `json:"eventType"`
	CallID       string `json:"callId"`
	Cause        string `json:"cause"`
	ErrorMessage string `json:"errorMessage"`
	MediaStream  struct {
		Name string `json:"name"`
	} `json:"mediaStream"`
}

func (a *Agent) serveStreamEvent(w http.ResponseWriter, r *http.Request) {
	a.serveWebhook(w, r, streamEvents)
}

func (a *Agent) serveDisconnect(w http.ResponseWriter, r *http.Request) {
	a.serveWebhook(w, r, disconnectEvents)
}

// serveWebhook answers an event it takes with 204, as Bandwidth expects,
// and anything else with 400. It keeps no state, so the duplicate delivery
// Bandwidth makes after a connection failure changes nothing.
func (a *Agent) serveWebhook(w http.ResponseWriter, r *http.Request, takes map[string]bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody))
	var ev webhook
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	if err != nil {
		http.Error(w, "the body is not a JSON webhook", http.StatusBadRequest)
		return
	}
	if !takes[ev.EventType] {
		http.Error(w, fmt.Sprintf("unexpected event %q at %s", ev.EventType, r.URL.Path), http.StatusBadRequest)
		return
	}
	attrs := []any{"event", ev.EventType, "callId", ev.CallID}
	for _, kv := range [][2]string{{"stream", ev.MediaStream.Name}, {"cause", ev.Cause}, {"errorMessage", ev.ErrorMessage}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	a.log.Info("webhook", attrs...)
	w.WriteHeader(http.StatusNoContent)
}
