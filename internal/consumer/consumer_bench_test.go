//go:build unix

package consumer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/consumer"
)

// BenchmarkMediaFrame measures the consumer's work per media frame: one
// socket on loopback, a start, then b.N media frames as the emulator sends
// them, until the consumer has counted them all. The sender's cost is in
// the figures too (a few prebuilt bytes and a write per frame); cpu-µs/frame
// is the process's CPU time, which is what counts when the machine is
// shared. Under
// load the consumer shares the machine with bwemu, so its cost per frame
// is what bwemu has left.
func BenchmarkMediaFrame(b *testing.B) {
	srv, err := consumer.Start("127.0.0.1:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, srv.WebSocketURL(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()

	md := protocol.Metadata{AccountID: "9901234", CallID: protocol.NewCallID(), StreamID: protocol.NewStreamID(), StreamName: "bench",
		Tracks: []protocol.TrackInfo{{Name: protocol.TrackInbound, MediaFormat: protocol.MediaFormat{Encoding: "PCMU", SampleRate: 8000}}}}
	if err := conn.WriteJSON(protocol.StartMessage{EventType: protocol.EventStart, Metadata: md}); err != nil {
		b.Fatal(err)
	}
	payload := base64.StdEncoding.EncodeToString(make([]byte, 160))
	head := []byte(`{"eventType":"media","track":"inbound","sequenceNumber":"`)
	tail := []byte(`","payload":"` + payload + `"}`)
	msg := make([]byte, 0, len(head)+len(tail)+20)

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		msg = append(strconv.AppendInt(append(msg[:0], head...), int64(i+1), 10), tail...)
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
	}
	rec, err := srv.WaitStream(ctx, func(r consumer.StreamRecord) bool {
		return r.FramesByTrack[protocol.TrackInbound]+r.BadFrames >= b.N
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/frame")
	if rec.BadFrames > 0 {
		errs, _ := json.Marshal(rec.Errors)
		b.Fatalf("the consumer refused %d frames: %s", rec.BadFrames, errs)
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
