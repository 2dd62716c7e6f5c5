package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/gorilla/websocket"
)

// playAhead is how far ahead of real time the agent sends its reply.
// Bandwidth queues playAudio and plays it at 20 ms a frame, so the agent
// could send a whole reply at once; it sends 20 ms chunks at the pace they
// play instead, 200 ms ahead:
//   - the lead absorbs the agent's own scheduling jitter, so the caller
//     hears no gap (an underrun);
//   - the queue stays short, so on barge-in clear drops at most that much,
//     and the agent knows what the caller heard before interrupting (a
//     real agent trims its transcript to it);
//   - a streamed reply (text-to-speech as it is generated) arrives this
//     way anyway.
const playAhead = 200 * time.Millisecond

// writeTimeout bounds one write to the socket: a peer that stops reading
// fails its own call, never the agent.
const writeTimeout = 5 * time.Second

func deadline(d time.Duration) time.Time { return time.Now().Add(d) }

// What the speaker is doing.
type speakerState int

const (
	listening speakerState = iota // waiting for the caller to finish
	thinking                      // the caller finished: the reply delay runs
	talking                       // the reply is being sent, or still playing
)

func (s speakerState) String() string {
	switch s {
	case thinking:
		return "thinking"
	case talking:
		return "talking"
	}
	return "listening"
}

// speaker takes the agent's turns on one call. It is the only goroutine
// that writes to the call's socket (gorilla/websocket allows one writer);
// the reader tells it what it heard through hear.
type speaker struct {
	conn          *websocket.Conn
	reply         [][]byte
	delay         time.Duration
	ignoreBargeIn bool
	log           *slog.Logger
	replies       func() // counts a reply begun
	bargeIns      func() // counts a reply cut short

	heard chan heard
	done  chan struct{} // closed when run returns

	// The turn taking, which only run's goroutine touches.
	timer       *time.Timer // the reply delay, then the next chunk due, then the reply's end
	state       speakerState
	next        int       // the reply chunk to send next
	began       time.Time // when the reply's first chunk went out
	answerAgain bool      // the caller finished an utterance while the agent talked over them
}

func (a *Agent) newSpeaker(conn *websocket.Conn, log *slog.Logger) *speaker {
	return &speaker{
		conn: conn, reply: a.reply, delay: a.opts.ReplyDelay, ignoreBargeIn: a.opts.IgnoreBargeIn, log: log,
		replies:  func() { a.replies.Add(1) },
		bargeIns: func() { a.bargeIns.Add(1) },
		heard:    make(chan heard),
		done:     make(chan struct{}),
	}
}

// hear tells the speaker what the caller did. It returns at once when the
// speaker has stopped (the call ended, or a write failed).
func (s *speaker) hear(h heard) {
	select {
	case s.heard <- h:
	case <-s.done:
	}
}

// run takes turns until ctx ends: after the caller's utterance it waits
// the reply delay, then sends the reply paced playAhead ahead of real
// time; if the caller speaks meanwhile it drops the reply, and sends clear
// when some of it is already queued at Bandwidth.
//
// The speaker waits on two things only: what the caller did, and its one
// timer. Each handler returns false when a write failed, which ends the
// call.
func (s *speaker) run(ctx context.Context) {
	defer close(s.done)
	// Nothing is due until the caller finishes an utterance.
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	defer s.timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case h := <-s.heard:
			if !s.onHeard(h) {
				return
			}
		case now := <-s.timer.C:
			if !s.onTimer(now) {
				return
			}
		}
	}
}

// onHeard reacts to the caller starting or finishing an utterance.
func (s *speaker) onHeard(h heard) bool {
	s.log.Debug("heard", "what", h, "state", s.state)
	switch {
	case h == speechEnded && s.state == listening:
		s.state = thinking
		s.timer.Reset(s.delay)
	case h == speechEnded && s.state == talking:
		s.answerAgain = true // only an agent that ignores barge-in gets here
	case h == speechStarted && s.state == thinking && !s.ignoreBargeIn:
		// The caller went on after a pause: answer when they finish.
		s.state = listening
		s.timer.Stop()
	case h == speechStarted && s.state == talking && !s.ignoreBargeIn:
		return s.bargeIn()
	}
	return true
}

// bargeIn stops the reply because the caller spoke over it: no more
// chunks go out, and clear tells Bandwidth to drop what it has queued.
func (s *speaker) bargeIn() bool {
	s.state = listening
	s.timer.Stop()
	played := min(time.Since(s.began), s.replyLength())
	s.log.Info("barge-in: the caller spoke, reply cut short", "played", played.Round(time.Millisecond))
	s.bargeIns()
	return s.send(clearMessage)
}

// onTimer runs when the timer fires: the reply delay is over, or more of
// the reply is due, or the reply has finished playing.
func (s *speaker) onTimer(now time.Time) bool {
	if s.state == thinking {
		s.state, s.next, s.began = talking, 0, now
		s.replies()
		s.log.Info("replying", "length", s.replyLength())
	}
	if !s.sendDueChunks() {
		return false
	}
	if s.next < len(s.reply) {
		s.timer.Reset(time.Until(s.sendTime(s.next)))
		return true
	}
	// All sent, but Bandwidth plays the last playAhead still: the
	// agent is talking, and a barge-in must clear, until it ends.
	if ends := s.began.Add(s.replyLength()); time.Now().Before(ends) {
		s.timer.Reset(time.Until(ends))
		return true
	}
	s.state = listening
	if s.answerAgain {
		s.answerAgain = false
		s.state = thinking
		s.timer.Reset(s.delay)
	}
	return true
}

// sendDueChunks sends every chunk of the reply that is due. After a stall
// the agent catches up at once; Bandwidth queues it.
func (s *speaker) sendDueChunks() bool {
	for s.next < len(s.reply) && !s.sendTime(s.next).After(time.Now()) {
		if !s.send(s.reply[s.next]) {
			return false
		}
		s.next++
	}
	return true
}

// sendTime is when chunk k of the reply goes out: it plays k×20 ms after
// the first, and goes out playAhead before it plays.
func (s *speaker) sendTime(k int) time.Time {
	return s.began.Add(time.Duration(k)*chunkDuration - playAhead)
}

// replyLength is how long the whole reply plays.
func (s *speaker) replyLength() time.Duration {
	return time.Duration(len(s.reply)) * chunkDuration
}

// send writes one message; on failure it closes the socket, so the reader
// ends the call too, and returns false.
func (s *speaker) send(msg []byte) bool {
	_ = s.conn.SetWriteDeadline(deadline(writeTimeout))
	if err := s.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		s.log.Warn("write failed: ending the call", "error", err)
		_ = s.conn.Close()
		return false
	}
	return true
}
