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

func TestExpireHitsOnlyTheWriteItWasFor(t *testing.T) {
	c := tcpPair(t, true)
	timer := &writeTimer{conn: c, limit: time.Second}
	frame := make([]byte, 300)

	// The watch saw a write that began at first; that write is over and
	// the next one is under way when the expiry comes: it must not land.
	first := timer.start()
	timer.done()
	for timer.start() == first { // a clock too coarse to tell them apart
	}
	timer.expire(first)
	if _, err := c.Write(frame); err != nil {
		t.Fatalf("a write was expired for the one before it: %v", err)
	}
	timer.done()

	// The write the watch saw is still under way: it fails with a timeout.
	under := timer.start()
	timer.expire(under)
	_, err := c.Write(frame)
	timer.done()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the expired write returned %v, want a timeout", err)
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
