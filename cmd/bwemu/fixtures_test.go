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
	// Shown when a spec fails, so the whole account is at hand.
	AddReportEntry("bwemu "+strings.Join(args, " "), ReportEntryVisibilityFailureOrVerbose,
		"exit "+itoa(code)+"\n--- stdout\n"+stdout.String()+"--- stderr\n"+stderr.String())
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String()}
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
