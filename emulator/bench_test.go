package emulator_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/consumer"
)

// The benchmarks stream to a sink in another process (this test binary,
// re-executed), so the CPU measured is the emulator's alone.
const sinkEnv = "BWEMU_BENCH_SINK"

// appEnv set to "consumer" makes the sink the reference consumer, as
// bwemu consumer serves it, instead of a discarding one: make bench-beside
// measures both pacers beside a real app on the same cores.
const appEnv = "BWEMU_BENCH_APP"

// sinkCPUEnv, when set, is the CPU list the sink runs on (taskset -c): make
// bench-load pins the benchmark to one core, a mask the sink would inherit.
const sinkCPUEnv = "BWEMU_BENCH_SINK_CPU"

func TestMain(m *testing.M) {
	if os.Getenv(sinkEnv) != "" {
		runSink()
		return
	}
	os.Exit(m.Run())
}

// runSink accepts WebSocket streams and discards every frame until stdin
// closes, or serves the reference consumer when appEnv asks for it.
func runSink() {
	switch app := os.Getenv(appEnv); app {
	case "":
	case "consumer":
		srv, err := consumer.Start("127.0.0.1:0", &consumer.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(srv.WebSocketURL())
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = srv.Close()
		return
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: the only app is consumer\n", appEnv, app)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	up := websocket.Upgrader{}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				_, rd, err := c.NextReader()
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, rd); err != nil {
					return
				}
			}
		}))
	}()
	fmt.Println("ws://" + ln.Addr().String() + "/media")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func startSink(b *testing.B) string {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	if cpus := os.Getenv(sinkCPUEnv); cpus != "" {
		cmd = exec.Command("taskset", "-c", cpus, exe)
	}
	cmd.Env = append(os.Environ(), sinkEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(line)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchMedia is the media time each realtime stream sends in the benchmark.
const benchMedia = 5 * time.Second

// benchRealtime runs n concurrent real-time streams for benchMedia each and
// reports send lateness and CPU per frame over their whole life, connecting
// included.
func benchRealtime(b *testing.B, n int) {
	sink := startSink(b)
	ctx := context.Background()
	for range b.N {
		cpu0 := cpuTime()
		e := emulator.New(&emulator.Options{Timeouts: emulator.Timeouts{Handshake: 30 * time.Second}})
		streams := make([]*emulator.Stream, n)
		for i := range streams {
			call, err := e.NewCall(nil)
			if err != nil {
				b.Fatal(err)
			}
			streams[i], err = call.StartStream(ctx, emulator.StreamSpec{Destination: sink})
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, s := range streams {
			if err := s.Connected(ctx); err != nil {
				b.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for _, s := range streams {
			wg.Go(func() {
				if err := s.Media(ctx, benchMedia); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		var late emulator.Histogram
		frames, skipped := 0, 0
		for _, s := range streams {
			res, err := s.Stop(ctx)
			if err != nil {
				b.Fatal(err)
			}
			late.Merge(&res.Lateness)
			frames += res.Messages
			skipped += res.Skipped
		}
		e.Close()
		cpu := cpuTime() - cpu0
		b.ReportMetric(float64(late.Quantile(0.5).Microseconds()), "late-p50-µs")
		b.ReportMetric(float64(late.Quantile(0.99).Microseconds()), "late-p99-µs")
		b.ReportMetric(float64(cpu.Microseconds())/float64(frames), "cpu-µs/frame")
		b.ReportMetric(float64(skipped), "skipped")
	}
}

func BenchmarkRealtime100Streams(b *testing.B)  { benchRealtime(b, 100) }
func BenchmarkRealtime1000Streams(b *testing.B) { benchRealtime(b, 1000) }

// BenchmarkFastStream sends b.N frames on one stream in fast pace.
func BenchmarkFastStream(b *testing.B) {
	sink := startSink(b)
	ctx := context.Background()
	e := emulator.New(nil)
	defer e.Close()
	call, err := e.NewCall(nil)
	if err != nil {
		b.Fatal(err)
	}
	tone, _ := media.Tone(440)
	s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: sink, Pace: emulator.Fast, Audio: tone})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Connected(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	if err := s.Media(ctx, time.Duration(b.N)*media.FrameDuration); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/frame")
	b.StopTimer()
	if _, err := s.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBareGorillaWriteLoop is the yardstick: a gorilla/websocket client
// writing a ready-made media message in a loop, with nothing else to do but
// what any client must: a reader waiting for the peer's frames (without it
// the loop is faster still, since the socket is never polled for reading).
func BenchmarkBareGorillaWriteLoop(b *testing.B) {
	sink := startSink(b)
	c, _, err := websocket.DefaultDialer.Dial(sink, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	go func() { // as the emulator does, a reader waits for the app's frames
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	msg := []byte(`{"eventType":"media","track":"inbound","sequenceNumber":"12345","payload":"` + strings.Repeat("/", 216) + `"}`)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/frame")
}
