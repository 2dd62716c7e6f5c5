package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// sendFrame writes frame n of every track. Allocation-free: the message is
// built in a reused buffer around the base64 of the audio.
func (ss *session) sendFrame() (Ending, string) {
	playing, saying, silent := ss.period()
	for i, track := range ss.s.tracks {
		switch {
		case track == protocol.TrackInbound:
			ss.pcm = ss.said
		case playing:
			// tracks="both": the app hears its own playback (PROTOCOL pitfall 3).
			ss.pcm = ss.played
		case silent:
			ss.pcm = silenceFrame
		case ss.s.Call.outbound.Load() != nil:
			if played, n, ok := ss.s.Call.playing(time.Now()); ok {
				played.Frame(n, ss.pcm[:])
			} else {
				ss.s.spec.OutboundAudio.Frame(int(ss.audioPos), ss.pcm[:])
			}
		default:
			ss.s.spec.OutboundAudio.Frame(int(ss.audioPos), ss.pcm[:])
		}
		ss.seq++
		ss.msg = appendMedia(ss.msg[:0], track, ss.seq, &ss.pcm, &ss.b64)
		took, err := ss.write(ss.msg)
		if err != nil {
			return ss.writeFailed(err)
		}
		if m := ss.e.opts.Meter; m != nil {
			m.Frame(ss.late, took)
		}
		ss.res.Messages++
		ss.sent[i]++
		if ss.e.opts.JournalMedia || ss.sent[i] == 1 {
			ss.journal(Entry{Kind: KindFrameOut, By: ByEmulator, Event: protocol.EventMedia, Track: track, Count: int(ss.seq),
				Message: fmt.Sprintf("media %s #%d (20 ms PCMU)", track, ss.seq), Data: json.RawMessage(append([]byte(nil), ss.msg...))})
		}
	}
	ss.n++
	if !silent && !saying {
		ss.audioPos++
	}
	ss.s.frame.Store(ss.n)
	if len(ss.waiters) > 0 {
		ss.releaseWaiters()
	}
	return "", ""
}

// period is frame period ss.n as the caller lives it, sent or not: the
// app's playback plays one frame (what the caller hears, whether or not a
// track carries it), the caller says one (its speech, silence or its
// audio, into ss.said), and both are followed and recorded.
func (ss *session) period() (playing, saying, silent bool) {
	saying = ss.n < ss.sayTo
	silent = !saying && ss.n < ss.silentTo
	bidi := ss.s.spec.Mode == protocol.ModeBidirectional
	playing = bidi && ss.play.next(&ss.played, time.Now(), saying)
	if !playing {
		ss.played = silenceFrame
	}
	switch {
	case playing:
		ss.talk.played(ss.played[:])
	case bidi:
		ss.talk.played(nil) // quiet, without measuring silence
	}
	switch {
	case saying:
		ss.say.Frame(int(ss.n-ss.sayFrom), ss.said[:])
	case silent:
		ss.said = silenceFrame
	default:
		ss.s.spec.Audio.Frame(int(ss.audioPos), ss.said[:])
	}
	ss.rec.frame(&ss.played, &ss.said)
	return playing, saying, silent
}

var silenceFrame = func() (f [media.FrameSize]byte) {
	for i := range f {
		f[i] = media.SilenceByte
	}
	return f
}()

var (
	mediaHead    = []byte(`{"eventType":"media","track":"`)
	mediaSeq     = []byte(`","sequenceNumber":"`)
	mediaPayload = []byte(`","payload":"`)
	mediaTail    = []byte(`"}`)
)

func appendMedia(b []byte, track string, seq int64, pcm *[media.FrameSize]byte, b64 *[media.EncodedFrameSize]byte) []byte {
	b = append(b, mediaHead...)
	b = append(b, track...)
	b = append(b, mediaSeq...)
	b = appendInt(b, seq)
	b = append(b, mediaPayload...)
	base64Std.Encode(b64[:], pcm[:])
	b = append(b, b64[:]...)
	return append(b, mediaTail...)
}

// write sends one message and returns how long it took. A write that
// blocks past the write timeout fails with a timeout (see writeWatch).
func (ss *session) write(b []byte) (time.Duration, error) {
	began := ss.writes.start()
	err := ss.conn.WriteMessage(websocket.TextMessage, b)
	ss.writes.done()
	return time.Duration(writeClock() - began), err
}

func (ss *session) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := ss.write(b); err != nil {
		return err
	}
	var probe struct{ EventType string }
	_ = json.Unmarshal(b, &probe)
	ss.journal(Entry{Kind: KindFrameOut, By: ByEmulator, Event: probe.EventType, Message: probe.EventType, Data: b})
	return nil
}

var base64Std = base64.StdEncoding

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
