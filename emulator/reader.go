package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// read is the stream's reader: it takes every frame the app sends, checks
// it, journals it, and reports how the connection ended.
func (ss *session) read() {
	defer close(ss.readerExit)
	bidi := ss.s.spec.Mode == protocol.ModeBidirectional
	for {
		mt, data, err := ss.conn.ReadMessage()
		if ss.dropped.Load() {
			<-ss.teardown // silent: take no more traffic
			return
		}
		if err != nil {
			var ce *websocket.CloseError
			rr := readResult{err: err}
			if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
				rr = readResult{closeFrame: true, first: !ss.closeSent.Load(), code: ce.Code, reason: ce.Text}
				ss.journal(Entry{Kind: KindClose, By: ByApp, Code: ce.Code, Message: "close frame received: " + closeDetail(ce.Code, ce.Text)})
				if h := ss.e.afterAppClose; h != nil {
					h(ss.s)
				}
			} else if !isTeardown(ss.teardown) {
				ss.journal(Entry{Kind: KindClose, By: ByApp, Error: err.Error(), Message: "connection ended: " + describeNetError(err)})
			}
			ss.readDone <- rr
			ss.s.poke()
			return
		}
		ss.received(bidi, mt, data)
	}
}

func isTeardown(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (ss *session) received(bidi bool, mt int, data []byte) {
	msg, pa, err := protocol.ParseAppMessage(mt == websocket.TextMessage, data)
	if err == nil && !bidi {
		err = &protocol.ProtocolError{Undocumented: true, Reason: fmt.Sprintf(
			"the app sent %s on a unidirectional stream: Bandwidth documents messages from the app on bidirectional streams only", msg.EventType)}
	}
	var pe *protocol.ProtocolError
	if errors.As(err, &pe) && pe.Undocumented {
		ss.undocumented.Add(1)
		ss.journal(Entry{Kind: KindUndocumented, By: ByApp, Event: msg.EventType, Error: err.Error(),
			Message: "undocumented: " + err.Error(), Data: quoteFrame(data)})
		return
	}
	if err != nil {
		ss.violations.Add(1)
		ss.journal(Entry{Kind: KindViolation, By: ByApp, Event: msg.EventType, Error: err.Error(),
			Message: "protocol violation: " + err.Error(), Data: quoteFrame(data)})
		return
	}
	switch msg.EventType {
	case protocol.EventClear:
		ss.clears.Add(1)
		dropped := ss.play.clear()
		ss.journal(Entry{Kind: KindFrameIn, By: ByApp, Event: msg.EventType, Data: data,
			Message: fmt.Sprintf("clear: dropped %s of queued playback", dropped.Round(time.Millisecond))})
	case protocol.EventPlayAudio:
		now := time.Now()
		if ss.playAudio.Add(1) == 1 {
			ss.firstPlay.Store(int64(now.Sub(ss.s.StartTime)))
		}
		ss.playBytes.Add(int64(len(pa.Audio)))
		dur := time.Duration(pa.Samples()) * time.Second / time.Duration(pa.SampleRate)
		underrun, ahead, dropped := ss.play.push(pa, now)
		ss.journal(Entry{Kind: KindFrameIn, By: ByApp, Event: msg.EventType, Count: pa.Samples(),
			Message: fmt.Sprintf("playAudio %s, %d samples (%s)", pa.ContentType, pa.Samples(), dur)})
		if underrun && ss.play.result().Underruns == 1 {
			// The first only: an app that streams just in time may run dry
			// every few frames; the result counts them all.
			ss.journal(Entry{Kind: KindPlayback, By: ByApp, Event: msg.EventType,
				Message: "playback underrun: the app's audio ran out mid-speech and resumed (the caller heard a gap); further underruns are counted in the result"})
		}
		if ahead {
			ss.journal(Entry{Kind: KindPlayback, By: ByApp, Event: msg.EventType, Message: describeAhead(aheadWarning)})
		}
		if dropped > 0 {
			ss.journal(Entry{Kind: KindPlayback, By: ByApp, Event: msg.EventType,
				Message: fmt.Sprintf("playback queue full (Options.PlaybackBuffer %s): dropped %s of this playAudio — how much Bandwidth queues is undocumented", ss.play.limit, dropped.Round(time.Millisecond))})
		}
	}
}

// quoteFrame keeps the start of a bad frame as a JSON string for the journal.
func quoteFrame(data []byte) json.RawMessage {
	if len(data) > 256 {
		data = data[:256]
	}
	b, _ := json.Marshal(strings.ToValidUTF8(string(data), "?"))
	return b
}
