package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/websocket"
)

// message is what Bandwidth sends on the socket: start, media and stop
// (PROTOCOL §4), with only the fields the agent reads.
type message struct {
	EventType string `json:"eventType"`
	Metadata  struct {
		CallID     string `json:"callId"`
		StreamName string `json:"streamName"`
	} `json:"metadata"`
	Track   string `json:"track"`
	Payload string `json:"payload"`
}

// serveMedia takes one media stream. Bandwidth opens it because the app's
// BXML said <StartStream mode="bidirectional" destination=".../media">.
func (a *Agent) serveMedia(w http.ResponseWriter, r *http.Request) {
	if a.isClosing() {
		http.Error(w, "the agent is shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := a.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	if !a.admit(conn) {
		// Shutdown began between the check above and the upgrade.
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "the agent is shutting down"), deadline(writeTimeout))
		_ = conn.Close()
		return
	}
	defer a.release(conn)
	a.converse(conn)
}

func (a *Agent) isClosing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closing
}

// converse runs one call: it reads until the socket ends, listening to the
// caller and telling the call's speaker what it heard. The speaker's
// goroutine has ended when converse returns.
func (a *Agent) converse(conn *websocket.Conn) {
	ctx, hangUp := context.WithCancel(context.Background())
	defer hangUp()

	var (
		log      = a.log
		sp       *speaker // from start on
		detector speechDetector
		session  *backendSession
		stopped  bool
	)
	defer func() {
		if sp != nil {
			hangUp()
			<-sp.done
		}
		// The correct agent closes the session however the socket ends.
		// The leaky one closes it only on stop (below), as code written
		// for the happy path does: a reset or a 1011 leaves it open.
		if session != nil && !a.opts.LeakSessions {
			session.close()
		}
	}()
	for {
		// ReadMessage answers Bandwidth's close frame for us, then fails.
		_, data, err := conn.ReadMessage()
		if err != nil {
			log.Info("stream ended", "how", describeEnd(err, stopped))
			return
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			continue // a bad frame is ignored, never fatal
		}
		switch m.EventType {
		case "start":
			if sp != nil {
				continue // Bandwidth sends one start; another changes nothing
			}
			log = a.log.With("callId", m.Metadata.CallID, "stream", m.Metadata.StreamName)
			log.Info("stream started")
			session, err = a.openSession(ctx, m.Metadata.CallID)
			if err != nil {
				// Without its backend a real agent could not answer; this
				// one still can, and says what went wrong.
				log.Error("backend session not opened", "error", err)
			}
			sp = a.newSpeaker(conn, log)
			go sp.run(ctx)
		case "media":
			// Only the caller's side: with tracks="both" the outbound
			// track carries the agent's own playback, and an agent that
			// listened to it would interrupt itself.
			if sp == nil || m.Track != "inbound" {
				continue
			}
			pcmu, err := base64.StdEncoding.DecodeString(m.Payload)
			if err != nil {
				continue
			}
			if h := detector.listen(pcmu); h != heardNothing {
				sp.hear(h)
			}
		case "stop":
			stopped = true
			hangUp() // the call is over: nothing more to say
			if session != nil {
				session.close()
			}
		}
	}
}

// describeEnd says how a stream's socket ended, for the log.
func describeEnd(err error, stopped bool) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure:
		return "connection lost without a close frame"
	case errors.As(err, &ce) && stopped:
		return "stop, then close " + strconv.Itoa(ce.Code)
	case errors.As(err, &ce):
		return "close " + strconv.Itoa(ce.Code) + " without stop"
	default:
		return "connection lost: " + err.Error()
	}
}
