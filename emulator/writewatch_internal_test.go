package emulator

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair is a connected loopback pair; the far end reads everything when
// drain is true and nothing otherwise.
func tcpPair(t *testing.T, drain bool) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
		if drain {
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	far, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); far.Close() })
	return c
}

// watchedWrite writes as session.write does through gorilla/websocket:
// the deadline cleared first, the write timed by the watch.
func watchedWrite(w *writeTimer, c net.Conn, b []byte) (time.Duration, error) {
	began := w.start()
	_ = c.SetWriteDeadline(time.Time{})
	_, err := c.Write(b)
	w.done()
	return time.Duration(writeClock() - began), err
}

func TestWatchExpiresABlockedWriteNotBeforeItsLimit(t *testing.T) {
	const limit = 100 * time.Millisecond
	c := tcpPair(t, false) // the far end never reads: writes block once the buffers fill
	w, timer := newWatch(), &writeTimer{}
	w.add(timer, c, limit)
	defer w.remove(timer)
	chunk := make([]byte, 64<<10)
	for range 10_000 {
		took, err := watchedWrite(timer, c, chunk)
		if err == nil {
			continue
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the blocked write failed with %v, want a timeout", err)
		}
		if took < limit {
			t.Fatalf("the blocked write was expired after %v, before its limit of %v", took, limit)
		}
		return
	}
	t.Fatal("no write ever blocked")
}

func TestWatchLeavesWritesThatFinishAlone(t *testing.T) {
	const limit = 20 * time.Millisecond
	c := tcpPair(t, true)
	w, timer := newWatch(), &writeTimer{}
	w.add(timer, c, limit)
	defer w.remove(timer)
	frame := make([]byte, 300)
	// Writes that never block, spread over many of the watch's ticks: none
	// may fail, whatever the watch does between them.
	deadline := time.Now().Add(10 * limit)
	for n := 0; time.Now().Before(deadline); n++ {
		if _, err := watchedWrite(timer, c, frame); err != nil {
			t.Fatalf("write %d failed: %v", n, err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatchStopsWhenNothingIsWatched(t *testing.T) {
	c := tcpPair(t, true)
	w, timer := newWatch(), &writeTimer{}
	w.add(timer, c, time.Second)
	w.remove(timer)
	for range 1000 {
		w.mu.Lock()
		running := w.running
		w.mu.Unlock()
		if !running {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the watch goroutine still runs a second after its last stream left")
}
