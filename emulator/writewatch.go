package emulator

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A frame write that blocks past Timeouts.Write ends the stream
// (EndWriteTimeout). A deadline set before every write would do it, but
// the runtime then moves a timer on every frame, which is a good part of
// the cost of pacing thousands of streams. Instead a write records when it
// began, and one goroutine for the process (running only while streams
// are connected) expires the deadline of a write that has blocked too
// long: the write then fails with a timeout, as it would have with its own
// deadline, between the timeout and an eighth more (the margin kept
// within watchMinTick and watchMaxTick) after it began.

// writeClockBase anchors writeClock.
var writeClockBase = time.Now()

// writeClock is a monotonic clock in nanoseconds, never 0 (0 says no write
// is under way).
func writeClock() int64 { return int64(time.Since(writeClockBase)) + 1 }

// writeTimer is a stream's side of the watch: the connection its writes
// go to and how long one may block.
type writeTimer struct {
	conn  net.Conn
	limit time.Duration
	began atomic.Int64 // writeClock when the write under way began, 0 when none is
	// mu orders the end of a write against the watch expiring it: a
	// deadline set for one write must not land on the next (gorilla
	// clears the deadline as a write starts, so it suffices that the
	// next write cannot start while the watch is expiring).
	mu sync.Mutex
}

// start marks a write beginning and returns its start on writeClock.
func (w *writeTimer) start() int64 {
	t := writeClock()
	w.began.Store(t)
	return t
}

// done marks the write over.
func (w *writeTimer) done() {
	w.mu.Lock()
	w.began.Store(0)
	w.mu.Unlock()
}

// writeWatch is the process's watch over blocked writes.
var writeWatch = newWatch()

func newWatch() *watch {
	return &watch{timers: map[*writeTimer]struct{}{}, idle: make(chan struct{}, 1)}
}

// The watch looks every eighth of the shortest write timeout it watches,
// within these bounds: watchMaxTick bounds how late it may notice a
// blocked write.
const (
	watchMinTick = 5 * time.Millisecond
	watchMaxTick = 250 * time.Millisecond
)

type watch struct {
	mu      sync.Mutex
	timers  map[*writeTimer]struct{}
	running bool
	// idle gets a token when the last stream leaves, so the goroutine
	// ends at once rather than a tick later.
	idle chan struct{}
}

// add watches the writes to conn, which may block for limit.
func (w *watch) add(t *writeTimer, conn net.Conn, limit time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t.conn, t.limit = conn, limit
	w.timers[t] = struct{}{}
	if !w.running {
		w.running = true
		go w.run()
	}
}

// remove stops watching t.
func (w *watch) remove(t *writeTimer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.timers, t)
	if len(w.timers) == 0 && w.running {
		select {
		case w.idle <- struct{}{}:
		default:
		}
	}
}

// run looks at every watched write once a tick, and returns when no
// stream is left to watch.
func (w *watch) run() {
	timer := time.NewTimer(watchMinTick)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-w.idle:
		}
		w.mu.Lock()
		if len(w.timers) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		now := writeClock()
		tick := watchMaxTick
		for t := range w.timers {
			tick = min(tick, max(t.limit/8, watchMinTick))
			if began := t.began.Load(); began != 0 && time.Duration(now-began) > t.limit {
				t.expire(began)
			}
		}
		w.mu.Unlock()
		timer.Reset(tick)
	}
}

// expire makes the write that began at began fail with a timeout, if it
// is still under way.
func (w *writeTimer) expire(began int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.began.Load() == began {
		_ = w.conn.SetWriteDeadline(time.Unix(1, 0))
	}
}
