package emulator

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// The per-frame work of the sender must not allocate.
func TestAppendMediaAllocationFree(t *testing.T) {
	tone, err := media.Tone(440)
	if err != nil {
		t.Fatal(err)
	}
	var pcm [media.FrameSize]byte
	var b64 [216]byte
	buf := make([]byte, 0, 512)
	seq := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		tone.Frame(int(seq), pcm[:])
		buf = appendMedia(buf[:0], protocol.TrackInbound, seq, &pcm, &b64)
	})
	if allocs != 0 {
		t.Fatalf("appendMedia allocates %v times per frame", allocs)
	}
	var m protocol.MediaMessage
	if err := json.Unmarshal(buf, &m); err != nil {
		t.Fatalf("frame is not JSON: %v\n%s", err, buf)
	}
	if m.EventType != "media" || m.Track != "inbound" || m.SequenceNumber != strconv.FormatInt(seq, 10) || len(m.Payload) != 216 {
		t.Fatalf("unexpected frame %+v", m)
	}
}
