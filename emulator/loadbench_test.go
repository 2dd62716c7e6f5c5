package emulator_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
)

// BenchmarkLoadPacer measures how many real-time streams one core paces:
// BWEMU_BENCH_STREAMS streams (default 1000) of BWEMU_BENCH_SECONDS each
// (default 10) to the discarding sink, first by a bare gorilla/websocket
// pacer, the yardstick, then by the emulator as bwemu load drives it, on
// the same sink. make bench-load pins it to one core (the sink to another).
//
// Metrics: p99-lateness-ms, how late frames were written past their
// absolute deadline, over every frame; skipped-frames, frames dropped as
// more than 3 periods late; cpu-us/frame and cpu-% (of one core), the
// process's CPU in a steady-state window once every stream is connected;
// KiB/stream, heap and stacks in use then, above what was in use before.
//
// Benchmarks run only when -bench asks for them; -short skips this one.
func BenchmarkLoadPacer(b *testing.B) {
	if testing.Short() {
		b.Skip("streams for seconds in real time")
	}
	n := benchEnv(b, "BWEMU_BENCH_STREAMS", 1000)
	d := time.Duration(benchEnv(b, "BWEMU_BENCH_SECONDS", 10) * float64(time.Second))
	if n < 1 || d < time.Second {
		b.Fatal("BWEMU_BENCH_STREAMS must be at least 1 and BWEMU_BENCH_SECONDS at least 1")
	}
	sink := startSink(b)
	b.Run("bare", func(b *testing.B) {
		for range b.N {
			runBarePacer(b, sink, int(n), d).report(b, int(n))
		}
	})
	b.Run("emulator", func(b *testing.B) {
		for range b.N {
			runEmulatorPacer(b, sink, int(n), d).report(b, int(n))
		}
	})
}

func benchEnv(b *testing.B, name string, def float64) float64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		b.Fatalf("%s=%q: not a number", name, s)
	}
	return v
}

// pacerRun is what one run of n streams measured.
type pacerRun struct {
	late    emulator.Histogram // every frame's lateness
	skipped int
	// steadySkipped are the frames skipped in the steady-state window:
	// skipped counts the connecting too, when every stream is dialled at
	// once.
	steadySkipped int64
	// The steady-state window: its length, the CPU the process used in it
	// and the frames written in it; mem is heap and stacks in use at its
	// end above the baseline.
	window time.Duration
	cpu    time.Duration
	frames int64
	mem    uint64
}

func (r *pacerRun) report(b *testing.B, n int) {
	b.ReportMetric(float64(r.late.Quantile(0.99))/float64(time.Millisecond), "p99-lateness-ms")
	b.ReportMetric(float64(r.skipped), "skipped-frames")
	b.ReportMetric(float64(r.steadySkipped), "skipped-steady")
	if r.frames > 0 {
		b.ReportMetric(float64(r.cpu)/float64(time.Microsecond)/float64(r.frames), "cpu-us/frame")
	}
	b.ReportMetric(100*float64(r.cpu)/float64(r.window), "cpu-%")
	b.ReportMetric(float64(r.mem)/1024/float64(n), "KiB/stream")
	b.ReportMetric(float64(n), "streams")
}

// inUse is the heap and stacks in use after a collection.
func inUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// steady measures the steady state of streams that began connecting at
// start and stream for d each: once allUp has returned, the CPU and the
// frames (a running count) over a window that ends before the first
// stream can have finished, then the memory in use above base.
func steady(b *testing.B, r *pacerRun, start time.Time, d time.Duration, base uint64, allUp func(), frames, skipped func() int64) {
	allUp()
	up := time.Now()
	from := up.Add(min(time.Second, d/10))
	to := start.Add(d - 5*media.FrameDuration) // no stream ends before start+d-20ms
	if to.Sub(from) < 10*media.FrameDuration {
		b.Fatalf("connecting took %v of the %v each stream lasts: no steady state is left to measure; raise BWEMU_BENCH_SECONDS",
			up.Sub(start).Round(time.Millisecond), d)
	}
	time.Sleep(time.Until(from))
	cpu0, f0, s0, t0 := cpuTime(), frames(), skipped(), time.Now()
	time.Sleep(time.Until(to))
	r.cpu, r.frames, r.steadySkipped, r.window = cpuTime()-cpu0, frames()-f0, skipped()-s0, time.Since(t0)
	if m := inUse(); m > base {
		r.mem = m - base
	}
}

// The bare pacer speaks just enough of the protocol for a real app to
// take its streams: a start message, media messages the size of the
// emulator's (20 ms of PCMU) with rising sequence numbers, a stop.
var (
	loadPayload = strings.Repeat("/", media.EncodedFrameSize)
	loadStart   = `{"eventType":"start","metadata":`
	loadStop    = `{"eventType":"stop","metadata":`
)

// loadMetadata is stream i's metadata, with ids of Bandwidth's shape.
func loadMetadata(i int) string {
	return fmt.Sprintf(`{"accountId":"9901234","callId":"c-1a2b3c4d-0f1e2d3c-aaaa-4bbb-8ccc-%012d",`+
		`"streamId":"s-1a2b3c4d-9e8d7c6b-dddd-4eee-9fff-%012d","streamName":"bench",`+
		`"tracks":[{"name":"inbound","mediaFormat":{"encoding":"PCMU","sampleRate":8000}}]}}`, i, i)
}

// appendLoadFrame appends media message seq to buf.
func appendLoadFrame(buf []byte, seq int64) []byte {
	buf = append(buf, `{"eventType":"media","track":"inbound","sequenceNumber":"`...)
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, `","payload":"`...)
	buf = append(buf, loadPayload...)
	return append(buf, `"}`...)
}

// loadMaxLag is how late a frame may be before a pacer skips to the
// present, as the emulator does (its maxLagFrames).
const loadMaxLag = 3 * media.FrameDuration

// runBarePacer streams with gorilla/websocket alone: per stream a goroutine
// that writes a frame, built in a reused buffer, at each absolute 20 ms
// deadline, sleeping in between, and one reading, as every client must.
func runBarePacer(b *testing.B, sink string, n int, d time.Duration) *pacerRun {
	base := inUse()
	period := media.FrameDuration
	total := int64(d / period)
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	var (
		frames  atomic.Int64
		skips   atomic.Int64 // a running count, for the steady window
		up, all sync.WaitGroup
		lates   = make([]emulator.Histogram, n)
		skipped = make([]int, n)
	)
	up.Add(n)
	start := time.Now()
	for i := range n {
		all.Go(func() {
			c, _, err := dialer.Dial(sink, nil)
			up.Done()
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
			md := loadMetadata(i)
			if err := c.WriteMessage(websocket.TextMessage, []byte(loadStart+md)); err != nil {
				b.Error(err)
				return
			}
			late := &lates[i]
			frame := make([]byte, 0, 2*len(loadPayload))
			t0 := time.Now()
			for k := int64(0); k < total; {
				l := time.Since(t0.Add(time.Duration(k) * period))
				switch {
				case l < 0:
					time.Sleep(-l)
					continue
				case l > loadMaxLag:
					skip := int64(l / period)
					k += skip
					skipped[i] += int(skip)
					skips.Add(skip)
					continue
				}
				late.Observe(l)
				frame = appendLoadFrame(frame[:0], k+1)
				if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
					b.Error(err)
					return
				}
				frames.Add(1)
				k++
			}
			_ = c.WriteMessage(websocket.TextMessage, []byte(loadStop+md))
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		})
	}
	r := &pacerRun{}
	steady(b, r, start, d, base, up.Wait, frames.Load, skips.Load)
	all.Wait()
	for i := range lates {
		r.late.Merge(&lates[i])
		r.skipped += skipped[i]
	}
	return r
}

// frameCounter is a Meter that only counts the frames written and
// skipped.
type frameCounter struct{ frames, skipped atomic.Int64 }

func (m *frameCounter) Handshake(time.Duration)  {}
func (m *frameCounter) Frame(_, _ time.Duration) { m.frames.Add(1) }
func (m *frameCounter) Skipped(n int)            { m.skipped.Add(int64(n)) }
func (m *frameCounter) count() int64             { return m.frames.Load() }
func (m *frameCounter) skips() int64             { return m.skipped.Load() }

// runEmulatorPacer streams through the emulator as bwemu load does: an
// emulator per call (with a Meter, here one that counts frames, and an
// HTTP client they share), a call, a realtime stream held with Media.
func runEmulatorPacer(b *testing.B, sink string, n int, d time.Duration) *pacerRun {
	base := inUse()
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
	defer cancel()
	var (
		meter   frameCounter
		client  = &http.Client{}
		all     sync.WaitGroup
		emus    = make([]*emulator.Emulator, n)
		streams = make([]*emulator.Stream, n)
		results = make([]*emulator.StreamResult, n)
	)
	defer func() {
		for _, e := range emus {
			if e != nil {
				e.Close()
			}
		}
	}()
	start := time.Now()
	for i := range n {
		e := emulator.New(&emulator.Options{Timeouts: emulator.Timeouts{Handshake: 30 * time.Second}, Meter: &meter, HTTPClient: client})
		emus[i] = e
		call, err := e.NewCall(nil)
		if err != nil {
			b.Fatal(err)
		}
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: sink, Pace: emulator.Realtime})
		if err != nil {
			b.Fatal(err)
		}
		streams[i] = s
		all.Go(func() {
			if err := s.Media(ctx, d); err != nil {
				b.Error(err)
			}
			res, err := s.Stop(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			results[i] = res
		})
	}
	allUp := func() {
		for _, s := range streams {
			if err := s.Connected(ctx); err != nil {
				b.Error(err)
			}
		}
	}
	r := &pacerRun{}
	steady(b, r, start, d, base, allUp, meter.count, meter.skips)
	all.Wait()
	for _, res := range results {
		if res != nil {
			r.late.Merge(&res.Lateness)
			r.skipped += res.Skipped
		}
	}
	return r
}
