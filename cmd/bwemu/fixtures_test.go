package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
)

// fastFlags keep every stream short: media as fast as the app reads and
// every timeout well under a second, so failures are found quickly.
var fastFlags = []string{
	"--pace", "fast",
	"--close-timeout", "300ms",
	"--callback-timeout", "300ms",
	"--dead-peer-timeout", "200ms",
	"--handshake-timeout", "300ms",
}

// outcome is what one in-process run of the CLI produced.
type outcome struct {
	code           int
	stdout, stderr string
}

// bwemu runs the CLI in-process, as a user would from a shell.
func bwemu(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	reportRun("bwemu "+strings.Join(args, " "), code, stdout.String(), stderr.String())
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// reportRun adds a run's exit code and output to the spec's report, shown
// when the spec fails, so the whole account is at hand.
func reportRun(name string, code int, stdout, stderr string) {
	AddReportEntry(name, ReportEntryVisibilityFailureOrVerbose,
		"exit "+itoa(code)+"\n--- stdout\n"+stdout+"--- stderr\n"+stderr)
}

// background is the CLI running in-process in the background: its output
// so far, its exit code on done once it has exited, and interrupt, which
// cancels its context as a Ctrl-C does.
type background struct {
	stdout, stderr *gbytes.Buffer
	done           chan int
	interrupt      context.CancelFunc
}

// inBackground runs the CLI with args in the background until ctx ends or
// it is interrupted.
func inBackground(ctx context.Context, args ...string) background {
	runCtx, cancel := context.WithCancel(ctx)
	DeferCleanup(cancel)
	b := background{stdout: gbytes.NewBuffer(), stderr: gbytes.NewBuffer(), done: make(chan int, 1), interrupt: cancel}
	go func() {
		defer GinkgoRecover()
		b.done <- run(runCtx, args, b.stdout, b.stderr)
	}()
	return b
}

// report adds the run's exit code and output to the spec's report.
func (b background) report(name string, code int) {
	reportRun(name, code, string(b.stdout.Contents()), string(b.stderr.Contents()))
}

// stream runs `bwemu stream` with fastFlags and then args.
func stream(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	return bwemu(ctx, append(append([]string{"stream"}, fastFlags...), args...)...)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// writeWAV writes seconds of a 16-bit 16 kHz mono sine at hz with
// go-audio/wav's Encoder and returns its path.
func writeWAV(name string, hz float64, seconds float64) string {
	GinkgoHelper()
	const rate = 16000
	path := filepath.Join(GinkgoT().TempDir(), name)
	f, err := os.Create(path)
	Expect(err).NotTo(HaveOccurred())
	n := int(seconds * rate)
	data := make([]int, n)
	for i := range data {
		data[i] = int(0.5 * math.MaxInt16 * math.Sin(2*math.Pi*hz*float64(i)/rate))
	}
	enc := wav.NewEncoder(f, rate, 16, 1, 1)
	Expect(enc.Write(&audio.IntBuffer{
		Format:         &audio.Format{NumChannels: 1, SampleRate: rate},
		Data:           data,
		SourceBitDepth: 16,
	})).To(Succeed())
	Expect(enc.Close()).To(Succeed())
	Expect(f.Close()).To(Succeed())
	return path
}

// lines splits output into lines without the trailing empty one.
func lines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
