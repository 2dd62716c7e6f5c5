package emulator

import (
	"testing"
	"time"

	"github.com/bwemu/bwemu/emulator/media"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// The turns pair each utterance with the app's answer, in frames (20 ms).
func TestConversationTurns(t *testing.T) {
	c := conversation{
		caller: []media.Span{{Start: 10, End: 35}, {Start: 80, End: 90}, {Start: 200, End: 210}},
		app: []media.Span{
			{Start: 45, End: 100},  // the reply to the first, barged in at 80, stopped at 100
			{Start: 85, End: 88},   // over the caller: neither a reply nor a barge-in
			{Start: 120, End: 150}, // the reply to the second, 30 frames after it
			{Start: 160, End: 170}, // more of that reply
		},
	}
	got := c.turns(230)
	want := []Turn{
		{SpeechStart: ms(200), SpeechEnd: ms(700), Listened: ms(900), Replied: true, Latency: ms(200), Played: ms(700)},
		{SpeechStart: ms(1600), SpeechEnd: ms(1800), Listened: ms(2200), Replied: true, Latency: ms(600), Played: ms(800),
			BargeIn: true, Stopped: true, StoppedAfter: ms(400)},
		{SpeechStart: ms(4000), SpeechEnd: ms(4200), Listened: ms(400)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d turns, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("turn %d:\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}
	r := StreamResult{Turns: got}
	if l := r.Latencies(); len(l) != 2 || l[0] != ms(200) || l[1] != ms(600) {
		t.Errorf("Latencies() = %v, want [200ms 600ms]", l)
	}
}

// An app still talking when the stream ends never stopped.
func TestConversationTalkingAtTheEnd(t *testing.T) {
	c := conversation{caller: []media.Span{{Start: 10, End: 20}, {Start: 40, End: 45}}, app: []media.Span{{Start: 25, End: 60}}}
	got := c.turns(60)
	if b := got[1]; !b.BargeIn || b.Stopped || b.StoppedAfter != ms(400) {
		t.Errorf("turn 2 = %+v, want a barge-in the app never stopped for, 400ms observed", b)
	}
}

// Following the talk costs nothing per frame while nobody speaks.
func TestConversationPlayedAllocationFree(t *testing.T) {
	var c conversation
	tone, _ := media.Tone(440)
	var frame [media.FrameSize]byte
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		n++
		tone.Frame(n, frame[:])
		c.played(frame[:])
	})
	if allocs != 0 {
		t.Fatalf("played allocates %v times per frame", allocs)
	}
}

// Frames the emulator skipped are not held against the app: the latency
// and the time to stop leave them out.
func TestConversationLeavesOutSkippedFrames(t *testing.T) {
	c := conversation{
		caller: []media.Span{{Start: 10, End: 35}, {Start: 80, End: 90}},
		app:    []media.Span{{Start: 60, End: 85}},
	}
	c.skipped(30, 7)  // during the first speech: the app heard its end 7 frames late
	c.skipped(100, 5) // after everything: counts for nothing
	got := c.turns(120)
	if t0 := got[0]; t0.Latency != ms(360) || t0.Lag != ms(140) {
		t.Errorf("turn 1 = %+v, want latency 360ms (25 frames less 7 skipped), lag 140ms", t0)
	}
	if t1 := got[1]; !t1.BargeIn || t1.StoppedAfter != ms(100) {
		t.Errorf("turn 2 = %+v, want a barge-in stopped after 100ms", t1)
	}
}
