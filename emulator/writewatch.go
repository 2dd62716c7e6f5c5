package emulator

import (
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
// deadline, between the timeout and an eighth more (at most watchMaxTick
// more) after it began.

// writeClockBase anchors writeClock.
var writeClockBase = time.Now()

// writeClock is a monotonic clock in nanoseconds, never 0 (0 says no write
// is under way).
func writeClock() int64 { return int64(time.Since(writeClockBase)) + 1 }

// writeTimer is a stream's side of the watch.
type writeTimer struct {
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
var writeWatch = &watch{sessions: map[*session]struct{}{}, idle: make(chan struct{}, 1)}

// The watch looks every eighth of the shortest write timeout it watches,
// within these bounds: watchMaxTick bounds how late it may notice a
// blocked write.
const (
	watchMinTick = 5 * time.Millisecond
	watchMaxTick = 250 * time.Millisecond
)

type watch struct {
	mu       sync.Mutex
	sessions map[*session]struct{}
	running  bool
	// idle gets a token when the last session leaves, so the goroutine
	// ends at once rather than a tick later.
	idle chan struct{}
}

// add watches a connected session's writes.
func (w *watch) add(ss *session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sessions[ss] = struct{}{}
	if !w.running {
		w.running = true
		go w.run()
	}
}

// remove stops watching a session.
func (w *watch) remove(ss *session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.sessions, ss)
	if len(w.sessions) == 0 && w.running {
		select {
		case w.idle <- struct{}{}:
		default:
		}
	}
}

// run looks at every watched write once a tick, and returns when no
// session is left to watch.
func (w *watch) run() {
	timer := time.NewTimer(watchMinTick)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-w.idle:
		}
		w.mu.Lock()
		if len(w.sessions) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		now := writeClock()
		tick := watchMaxTick
		for ss := range w.sessions {
			limit := ss.e.opts.Timeouts.Write
			tick = min(tick, max(limit/8, watchMinTick))
			if t := ss.writes.began.Load(); t != 0 && time.Duration(now-t) > limit {
				ss.expireWrite(t)
			}
		}
		w.mu.Unlock()
		timer.Reset(tick)
	}
}

// expireWrite makes the write that began at t fail with a timeout, if it
// is still under way.
func (ss *session) expireWrite(t int64) {
	ss.writes.mu.Lock()
	defer ss.writes.mu.Unlock()
	if ss.writes.began.Load() == t {
		_ = ss.conn.NetConn().SetWriteDeadline(time.Unix(1, 0))
	}
}
