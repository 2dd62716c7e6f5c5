package consumer

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// BenchmarkHandleMediaFrame measures what the consumer does with one media
// frame once it has read it: parse, check against the start and the
// sequence, decode the audio, count it. Reading the frame off the socket
// costs every consumer the same; this part is the consumer's own, and
// under load it runs fifty times a second per stream on the machine the
// emulator drives them from.
func BenchmarkHandleMediaFrame(b *testing.B) {
	s := &stream{c: New(nil), log: slog.New(slog.DiscardHandler), lastSeq: map[string]uint64{},
		rec: StreamRecord{FramesByTrack: map[string]int{}, BytesByTrack: map[string]int{}, Errors: []string{}}}
	start, err := json.Marshal(protocol.StartMessage{EventType: protocol.EventStart, Metadata: protocol.Metadata{
		AccountID: "9901234", CallID: protocol.NewCallID(), StreamID: protocol.NewStreamID(), StreamName: "bench",
		Tracks: []protocol.TrackInfo{{Name: protocol.TrackInbound, MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: 8000}}}}})
	if err != nil {
		b.Fatal(err)
	}
	s.handleFrame(websocket.TextMessage, start)
	head := []byte(`{"eventType":"media","track":"inbound","sequenceNumber":"`)
	tail := []byte(`","payload":"` + base64.StdEncoding.EncodeToString(make([]byte, 160)) + `"}`)
	msg := make([]byte, 0, len(head)+len(tail)+20)

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		msg = append(strconv.AppendInt(append(msg[:0], head...), int64(i+1), 10), tail...)
		s.handleFrame(websocket.TextMessage, msg)
	}
	if s.rec.BadFrames > 0 || s.rec.FramesByTrack[protocol.TrackInbound] == 0 {
		b.Fatalf("the frames were not counted: %d bad, errors %q", s.rec.BadFrames, s.rec.Errors)
	}
}
