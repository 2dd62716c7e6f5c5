package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// RunOptions control a run of scenario files.
type RunOptions struct {
	// WebSocket, Events and Disconnect override every file's target
	// (target.websocket, target.events, target.disconnect).
	WebSocket  string
	Events     string
	Disconnect string
	// CA overrides every file's target.ca: a PEM file (relative to the
	// working directory) trusted for wss:// streams, https:// webhooks and
	// https:// BXML fetches.
	CA string
	// Pace overrides every scenario's pace ("" keeps it; realtime when
	// neither says).
	Pace string
	// Parallel is how many scenarios run at once (default DefaultParallel).
	Parallel int
	// Focus, when set, runs only scenarios whose name matches.
	Focus *regexp.Regexp
	// Skip, when set, skips the scenarios whose name matches (of those
	// Focus selects).
	Skip *regexp.Regexp
	// Repeat runs each selected scenario that many times (default once),
	// each repetition a Result of its own, in order after the scenario's
	// first; any failing repetition fails the run.
	Repeat int
	// FailFast skips the scenarios not yet started once one fails.
	FailFast bool
	// JournalDir, when set, receives one JSON Lines journal per scenario.
	JournalDir string
	// Meter, when set, observes the streams of every scenario that runs
	// on an emulator of its own (see emulator.Options.Meter): bwemu load
	// measures a scenario played as its calls' script this way.
	Meter emulator.Meter
	// OnStart and OnResult, when set, are called as scenarios begin and
	// end (from several goroutines at once when Parallel > 1).
	OnStart  func(*Scenario)
	OnResult func(*Result)
}

// Selected reports whether a run with these options runs the scenario:
// its name matches Focus (when set) and not Skip (when set).
func (o RunOptions) Selected(sc *Scenario) bool {
	return (o.Focus == nil || o.Focus.MatchString(sc.Name)) && (o.Skip == nil || !o.Skip.MatchString(sc.Name))
}

// withDefaults fills in Parallel and Repeat.
func (o RunOptions) withDefaults() RunOptions {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Repeat <= 0 {
		o.Repeat = 1
	}
	return o
}

// ErrNothingSelected is returned by Run when Focus and Skip leave no
// scenario to run: a run of nothing would pass, and say nothing.
var ErrNothingSelected = errors.New("no scenario is left to run")

// DefaultParallel is how many scenarios run at once unless told: streams
// mostly wait on the clock and the app, so a few at a time cost little.
const DefaultParallel = 4

// Status is how a scenario (one repetition of it) came out.
type Status string

// Result statuses.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	// Errored: the run itself broke (a step could not be carried out);
	// when the app's BXML failed the steps, the scenario Failed instead.
	Errored Status = "error"
	// Interrupted: the run was interrupted before the scenario finished,
	// so there is no verdict on the app.
	Interrupted Status = "interrupted"
)

// Result is the outcome of one scenario (of one repetition of it).
type Result struct {
	File     string    `json:"file"`
	Scenario *Scenario `json:"-"`
	Name     string    `json:"name"`
	Pos      string    `json:"pos"`
	// Repetition is which run of the scenario this is, from 1, of
	// Repetitions, when RunOptions.Repeat is above 1 (both 0 otherwise).
	Repetition  int           `json:"repetition,omitempty"`
	Repetitions int           `json:"repetitions,omitempty"`
	Status      Status        `json:"status"`
	Start       time.Time     `json:"start,omitzero"`
	Duration    time.Duration `json:"durationNs"`
	Failures    []Failure     `json:"failures,omitempty"`
	Error       string        `json:"error,omitempty"`
	// Advice is what the app does that Bandwidth does not document or
	// handles otherwise, which fails nothing: the warnings on its BXML
	// (an unknown attribute, an unsupported verb). A passing scenario
	// shows it too.
	Advice  []string    `json:"advice,omitempty"`
	Streams []StreamRun `json:"streams,omitempty"`
	// Webhooks are every webhook exchange of the scenario, in order: the
	// deliveries and the BXML fetches (Delivery.BXML).
	Webhooks    []*emulator.Delivery `json:"webhooks,omitempty"`
	Journal     []emulator.Entry     `json:"-"`
	JournalFile string               `json:"journal,omitempty"`
}

// newResult is the result of a scenario of f before it runs.
func newResult(f *File, sc *Scenario) *Result {
	return &Result{File: f.Path, Scenario: sc, Name: sc.Name, Pos: sc.Pos.String()}
}

// Label names the result in reports: the scenario's name, followed by
// [i/n] for a repetition.
func (r *Result) Label() string {
	if r.Repetitions > 1 {
		return fmt.Sprintf("%s [%d/%d]", r.Name, r.Repetition, r.Repetitions)
	}
	return r.Name
}

// Failure is one expectation that did not hold.
type Failure struct {
	// Expectation names it as the file does, e.g. expect.stopped.
	Expectation string `json:"expectation"`
	Pos         string `json:"pos,omitempty"`
	// Message is the matcher's account: what was expected, what was seen.
	Message string `json:"message"`
	// Excerpt is the journal around it.
	Excerpt string `json:"excerpt,omitempty"`
	// JournalInMessage says the Message already ends with the journal
	// of what it judged (the suite's stream matchers show the stream's),
	// so reports do not print Excerpt after it.
	JournalInMessage bool `json:"journalInMessage,omitempty"`
	// StreamID is the stream the expectation judged, "" for the call's
	// (webhooks, disconnect): the HTML report draws the failure there.
	StreamID string `json:"streamId,omitempty"`
}

// StreamRun is one stream of a scenario and how it went.
type StreamRun struct {
	Name   string                 `json:"name"`
	ID     string                 `json:"id"`
	Result *emulator.StreamResult `json:"result"`
	stream *emulator.Stream
}

// Run runs the scenarios of files and returns their results in file order
// (a scenario's repetitions together). Before anything runs it checks the
// files against the targets the options give them (see Check), and
// returns those Errors; and ErrNothingSelected when Focus and Skip leave
// nothing to run.
//
// When ctx ends (an interrupt), the live calls are hung up with their
// webhooks within emulator.InterruptGrace, the scenarios cut short are
// Interrupted and those not started too; Run then returns the results.
func Run(ctx context.Context, files []*File, opts RunOptions) ([]*Result, error) {
	opts = opts.withDefaults()
	if err := Check(files, opts); err != nil {
		return nil, err
	}
	if opts.Count(files) == 0 {
		return nil, ErrNothingSelected
	}
	if opts.JournalDir != "" {
		if err := os.MkdirAll(opts.JournalDir, 0o755); err != nil {
			return nil, fmt.Errorf("journal directory: %w", err)
		}
	}
	env := newServers()
	defer env.close()
	jobs, err := plan(ctx, files, opts, env)
	if err != nil {
		return nil, err
	}
	execute(ctx, jobs, opts)
	out := make([]*Result, len(jobs))
	for i, j := range jobs {
		out[i] = j.res
	}
	return out, nil
}

// Count is how many scenarios of files a run with these options runs,
// each once (Repeat aside).
func (o RunOptions) Count(files []*File) int {
	n := 0
	for _, f := range files {
		for _, sc := range f.Scenarios {
			if o.Selected(sc) {
				n++
			}
		}
	}
	return n
}
