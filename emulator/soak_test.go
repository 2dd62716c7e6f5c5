package emulator_test

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/consumer"
)

// BenchmarkSoakCloseFirst stops b.N streams to an app that closes the
// socket itself the moment it reads stop (as many correct apps do), with a
// CPU hog on every core beside it, and counts false verdicts: any of those
// streams recorded as anything but a clean stop. It is a soak, not a speed
// measure, and not part of make test:
//
//	go test -run '^$' -bench SoakCloseFirst -benchtime 500x ./emulator/
func BenchmarkSoakCloseFirst(b *testing.B) {
	stopHog := startCPUHog(b)
	defer stopHog()
	srv, err := consumer.Start("127.0.0.1:0", &consumer.Options{CloseOnStop: true, StrictEvents: true, PostOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	e := emulator.New(nil)
	defer e.Close()
	// A random delay of up to 2 ms before each of the emulator's close
	// frames lets every ordering happen: the emulator first, the app first,
	// the two crossing.
	emulator.SetCloseHooks(e, func(*emulator.Stream) {
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}, nil)
	ctx := context.Background()

	falseVerdicts, appFirst := 0, 0
	b.ResetTimer()
	for i := range b.N {
		call, err := e.NewCall(&emulator.CallSpec{DisconnectURL: srv.DisconnectURL()})
		if err != nil {
			b.Fatal(err)
		}
		s, err := call.StartStream(ctx, emulator.StreamSpec{Destination: srv.WebSocketURL(), StreamEventURL: srv.EventsURL(), Pace: emulator.Fast})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Media(ctx, 40*time.Millisecond); err != nil {
			b.Fatal(err)
		}
		// Half the streams end with StopStream, half with a hangup.
		want := emulator.EndStopStream
		if i%2 == 1 {
			want = emulator.EndHangup
			if err := call.Hangup(ctx); err != nil {
				b.Fatal(err)
			}
		} else if _, err := s.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		res, err := s.Wait(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.AppClosedFirst {
			appFirst++
		}
		if res.Ending != want || res.Failed() || !res.CloseHandshake {
			falseVerdicts++
			b.Logf("stream %d: ending %s (want %s), app fault %t, handshake %t, %s", i, res.Ending, want, res.AppFault, res.CloseHandshake, res.CloseProblem)
		}
		if i%2 == 0 {
			if err := call.Hangup(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(falseVerdicts), "false-verdicts")
	b.ReportMetric(float64(appFirst), "app-closed-first")
	if falseVerdicts > 0 {
		b.Errorf("%d of %d correct streams were given a false verdict", falseVerdicts, b.N)
	}
}

// startCPUHog runs one `yes > /dev/null` per core, as a busy neighbour
// would, and returns the function that stops them.
func startCPUHog(b *testing.B) func() {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	var hogs []*exec.Cmd
	for range runtime.NumCPU() {
		cmd := exec.Command("yes")
		cmd.Stdout = devNull
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		hogs = append(hogs, cmd)
	}
	return func() {
		for _, h := range hogs {
			_ = h.Process.Kill()
			_ = h.Wait()
		}
		devNull.Close()
	}
}
