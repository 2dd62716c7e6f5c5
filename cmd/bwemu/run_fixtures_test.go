package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// exampleFile is the tour of the scenario format at the module root, as a
// user in cmd/bwemu would name it.
const exampleFile = "../../scenarios.example.yaml"

// exampleNames are the example's scenarios, in file order.
var exampleNames = []string{
	"the app stops the stream with StopStream",
	"the caller hangs up",
	"the network resets the connection",
	"the connection silently drops",
	"Bandwidth fails with an internal error",
	"every webhook is answered 204 within a second",
	"webhooks are delivered twice and the app stays idempotent",
	"both tracks with StreamParams",
	"a bidirectional stream echoes audio back",
	"a second stream with a live name is rejected as a duplicate",
	"a fifth track is over the limit",
	"the app accepts a new stream after a reset",
}

// runCmd runs `bwemu run args...`.
func runCmd(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	return bwemu(ctx, append([]string{"run"}, args...)...)
}

// validateCmd runs `bwemu validate args...`.
func validateCmd(ctx context.Context, args ...string) outcome {
	GinkgoHelper()
	return bwemu(ctx, append([]string{"validate"}, args...)...)
}

// scenarioFile writes src to name in a fresh temporary directory and
// returns its path.
func scenarioFile(name, src string) string {
	GinkgoHelper()
	path := filepath.Join(GinkgoT().TempDir(), name)
	Expect(os.WriteFile(path, []byte(src), 0o644)).To(Succeed())
	return path
}

// fastDefaults keep every stream of a scenario file short: fast pace and
// timeouts well under a second (the callback timeout cannot go below 1s).
const fastDefaults = `defaults:
  pace: fast
  timeouts: {handshake: 1s, closeHandshake: 300ms, deadPeer: 200ms, callback: 1s}
`

// realtimeDefaults are fastDefaults at realtime pace, for an app that ends
// the stream itself: media then lasts until the app's close has arrived
// (fast pace could finish the steps and hang up first).
const realtimeDefaults = `defaults:
  pace: realtime
  timeouts: {handshake: 1s, closeHandshake: 300ms, deadPeer: 200ms, callback: 1s}
`

// target is the target: block of a file aimed at a fake app: its
// WebSocket URL, its stream event URL and, when given, its disconnect URL.
func target(ws, events string, disconnect ...string) string {
	t := "target:\n  websocket: " + ws + "\n  events: " + events + "\n"
	if len(disconnect) > 0 {
		t += "  disconnect: " + disconnect[0] + "\n"
	}
	return t
}

// lineOf is the 1-based number of the first line of src containing s.
func lineOf(src, s string) int {
	GinkgoHelper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	Fail("no line contains " + s)
	return 0
}

// tableRow matches a row of the summary table: name, status, time, FILE:LINE:COL.
func tableRow(name, status, file string) string {
	return `(?m)^` + regexp.QuoteMeta(name) + ` +` + status + ` +\S+ +` + regexp.QuoteMeta(file) + `:\d+:\d+$`
}

// progressLine matches one non-TTY progress line on stderr and captures the
// index, the total, the status and the name.
var progressLine = regexp.MustCompile(`^\[(\d+)/(\d+)\] (\S+) +(.+) \((\d+(?:\.\d+)?(?:ns|µs|ms|s|m\d+(?:\.\d+)?s))\)$`)

// ---------------------------------------------------------------------------
// Reports.

// jsonReport is the --json report, decoded independently of the writer.
type jsonReport struct {
	Summary struct {
		Total, Passed, Failed, Errors, Skipped, Interrupted int
		DurationMs                                          float64
	} `json:"summary"`
	Results []struct {
		File        string `json:"file"`
		Name        string `json:"name"`
		Pos         string `json:"pos"`
		Repetition  int    `json:"repetition"`
		Repetitions int    `json:"repetitions"`
		Status      string `json:"status"`
		Error       string `json:"error"`
		Failures    []struct {
			Expectation, Pos, Message, Excerpt string
		} `json:"failures"`
		Streams []struct {
			Name, ID string
			Result   map[string]any
		} `json:"streams"`
		Webhooks []struct {
			Event struct {
				EventType string `json:"eventType"`
				CallID    string `json:"callId"`
				Cause     string `json:"cause"`
			} `json:"event"`
			Method   string `json:"method"`
			URL      string `json:"url"`
			Attempts []struct {
				Status    int     `json:"status"`
				LatencyMs float64 `json:"latencyMs"`
			} `json:"attempts"`
		} `json:"webhooks"`
		Journal string `json:"journal"`
	} `json:"results"`
}

func readJSONReport(path string) jsonReport {
	GinkgoHelper()
	return readReport[jsonReport](path, false)
}

// readReport reads the JSON report at path as a T, checking it is valid
// JSON; strict refuses any field T does not have.
func readReport[T any](path string, strict bool) T {
	GinkgoHelper()
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(json.Valid(raw)).To(BeTrue(), "the JSON report is not valid JSON")
	dec := json.NewDecoder(bytes.NewReader(raw))
	if strict {
		dec.DisallowUnknownFields()
	}
	var r T
	Expect(dec.Decode(&r)).To(Succeed())
	return r
}

// journalLines reads a JSON Lines journal, checking every line is a JSON
// object with seq and kind.
func journalLines(path string) []map[string]any {
	GinkgoHelper()
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	for sc.Scan() {
		var e map[string]any
		Expect(json.Unmarshal(sc.Bytes(), &e)).To(Succeed(), "%s line %d: %s", path, len(out)+1, sc.Text())
		Expect(e).To(HaveKey("seq"))
		Expect(e).To(HaveKey("kind"))
		out = append(out, e)
	}
	Expect(sc.Err()).NotTo(HaveOccurred())
	return out
}
