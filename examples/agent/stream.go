package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
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
	c := a.newCall(conn)
	defer c.end()
	for {
		// ReadMessage answers Bandwidth's close frame for us, then fails.
		_, data, err := conn.ReadMessage()
		if err != nil {
			c.log.Info("stream ended", "how", describeEnd(err, c.stopped))
			return
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			continue // a bad frame is ignored, never fatal
		}
		switch m.EventType {
		case "start":
			c.start(m)
		case "media":
			c.media(m)
		case "stop":
			c.stop()
		}
	}
}

// call is what the agent keeps about one call while converse reads its
// stream. Only converse's goroutine touches it.
type call struct {
	agent *Agent
	conn  *websocket.Conn
	// ctx lasts as long as the call: hangUp ends it, which stops the
	// speaker.
	ctx    context.Context
	hangUp context.CancelFunc

	log      *slog.Logger    // a.log, then with the call's IDs from start on
	sp       *speaker        // from start on
	detector speechDetector  // finds the caller's utterances
	session  *backendSession // from start on, unless it failed to open
	stopped  bool            // Bandwidth sent stop: the socket ends cleanly
}

func (a *Agent) newCall(conn *websocket.Conn) *call {
	ctx, hangUp := context.WithCancel(context.Background())
	return &call{agent: a, conn: conn, ctx: ctx, hangUp: hangUp, log: a.log}
}

// start begins the call: Bandwidth sent start, with the call's IDs.
func (c *call) start(m message) {
	if c.sp != nil {
		return // Bandwidth sends one start; another changes nothing
	}
	c.log = c.agent.log.With("callId", m.Metadata.CallID, "stream", m.Metadata.StreamName)
	c.log.Info("stream started")
	var err error
	c.session, err = c.agent.openSession(c.ctx, m.Metadata.CallID)
	if err != nil {
		// Without its backend a real agent could not answer; this
		// one still can, and says what went wrong.
		c.log.Error("backend session not opened", "error", err)
	}
	c.sp = c.agent.newSpeaker(c.conn, c.log)
	go c.sp.run(c.ctx)
}

// media listens to 20 ms of the call's audio, and tells the speaker when
// the caller starts or finishes an utterance.
func (c *call) media(m message) {
	// Only the caller's side: with tracks="both" the outbound track
	// carries the agent's own playback, and an agent that listened to it
	// would interrupt itself.
	if c.sp == nil || m.Track != "inbound" {
		return
	}
	pcmu, err := base64.StdEncoding.DecodeString(m.Payload)
	if err != nil {
		return
	}
	if h := c.detector.listen(pcmu); h != heardNothing {
		c.sp.hear(h)
	}
}

// stop ends the call the normal way: Bandwidth sent stop, and will close
// the socket next.
func (c *call) stop() {
	c.stopped = true
	c.hangUp() // the call is over: nothing more to say
	if c.session != nil {
		c.session.close()
	}
}

// end cleans up after the socket has ended, however it ended; converse
// defers it.
func (c *call) end() {
	c.hangUp()
	if c.sp != nil {
		<-c.sp.done
	}
	// The correct agent closes the session however the socket ends.
	// The leaky one closes it only on stop (above), as code written
	// for the happy path does: a reset or a 1011 leaves it open.
	if c.session != nil && !c.agent.opts.LeakSessions {
		c.session.close()
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
