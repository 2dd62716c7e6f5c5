package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/junit"
	"github.com/bwemu/bwemu/load"
	"github.com/bwemu/bwemu/scenarios"
)

const loadSynopsis = "bwemu load [--ws URL --events URL] [--calls N | --rate R/s] [--ramp D] [--duration D] [--hold D|D-D] [--end hangup=90,reset=5,stop=5] [--threshold EXPR]... [--json FILE] [--html FILE] [--junit FILE] [--journal DIR] [--shard I/N | --shards N] [--start-at RFC3339] [--file F --scenario NAME] [flags]\n       bwemu load merge --json OUT [--html OUT] [--junit OUT] [--threshold EXPR]... SHARD.json..."

// defaultLoadCalls is --calls when neither --calls nor --rate is given.
const defaultLoadCalls = 10

// loadFlags are bwemu load's flags; their names are a public interface.
type loadFlags struct {
	app                        app
	calls, shards, maxJournals int
	sendBuffer                 int
	rate                       string
	ramp, duration             time.Duration
	hold, end, shard, startAt  string
	tracks, mode               *choiceFlag
	audio, caFile              string
	params                     kvFlag
	thresholds                 listFlag
	json, html, junit, journal string
	file, scenario             string
	cpuBudget                  float64
	seed                       uint64
	timeouts                   emulator.Timeouts
	fs                         *flag.FlagSet
}

// listFlag collects a repeatable flag's values.
type listFlag []string

func (f *listFlag) String() string     { return strings.Join(*f, " ") }
func (f *listFlag) Set(s string) error { *f = append(*f, s); return nil }

func (f *loadFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.app.ws, "ws", "", "the app's WebSocket URL (default: the built-in reference consumer)")
	fs.StringVar(&f.app.events, "events", "", "streamEventUrl: where mediaStreamStarted/Rejected/Stopped go (default: the built-in consumer's, when it is the target)")
	fs.StringVar(&f.app.disconnect, "disconnect", "", "disconnectUrl: where each call's disconnect goes; none without it (default: the built-in consumer's)")
	f.app.registerCredentials(fs)
	fs.IntVar(&f.calls, "calls", 0, "concurrent calls held; each that ends is replaced until --duration is over (default 10 without --rate)")
	fs.StringVar(&f.rate, "rate", "", "instead of --calls: new calls per second, as R or R/s (open model)")
	fs.DurationVar(&f.ramp, "ramp", 0, "reach --calls or --rate linearly over this time")
	fs.DurationVar(&f.duration, "duration", 30*time.Second, "how long new calls start; live calls are then ended")
	fs.StringVar(&f.file, "file", "", "a scenario file whose --scenario is each call's script (instead of --hold, --end and the stream flags)")
	fs.StringVar(&f.scenario, "scenario", "", "the name of the scenario of --file that each call plays")
	fs.StringVar(&f.hold, "hold", "10s", "each call's media time: a duration or a range such as 20s-2m")
	fs.StringVar(&f.end, "end", "hangup", "weighted mix of endings, e.g. hangup=90,reset=5,stop=5 (names: "+strings.Join(emulator.ChoosableEndings(), ", ")+")")
	f.tracks = newChoice("inbound", "inbound", "outbound", "both")
	fs.Var(f.tracks, "tracks", "tracks: inbound, outbound or both")
	f.mode = newChoice("unidirectional", "unidirectional", "bidirectional")
	fs.Var(f.mode, "mode", "mode: unidirectional or bidirectional")
	fs.StringVar(&f.audio, "audio", "tone:440", "audio: silence, tone:HZ, FILE.wav or FILE.pcmu")
	fs.Var(&f.params, "param", "a StreamParam as name=value (repeatable, up to 12)")
	fs.StringVar(&f.caFile, "ca", "", "PEM file of a CA to trust for wss:// destinations and https:// webhooks")
	fs.Var(&f.thresholds, "threshold", "pass criterion METRIC OP VALUE, e.g. webhook.p99<200ms or errors<=0 (repeatable); metrics: "+strings.Join(load.Metrics(), ", "))
	fs.StringVar(&f.json, "json", "", "write the summary (with encoded histograms, for merge) to FILE")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report to FILE")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report (a testcase per threshold) to FILE")
	fs.StringVar(&f.journal, "journal", "", "write the journal of each call that went wrong to DIR")
	fs.IntVar(&f.maxJournals, "max-journals", load.DefaultMaxJournals, "at most this many journals in --journal DIR")
	fs.StringVar(&f.shard, "shard", "", "run the I-th of N shares of the load, as I/N (0 ≤ I < N)")
	fs.IntVar(&f.shards, "shards", 0, "instead of --shard: N shares, I taken from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)")
	fs.StringVar(&f.startAt, "start-at", "", "start at this RFC 3339 instant, so every shard starts together")
	fs.Float64Var(&f.cpuBudget, "cpu-budget", 0, "cores bwemu may use (default GOMAXPROCS); using 90% marks the run generator-bound")
	fs.IntVar(&f.sendBuffer, "send-buffer", load.DefaultSendBuffer, "each stream's socket send buffer in bytes: small shows an app that stops reading within seconds, as blocked writes; 0 keeps the system's (megabytes on loopback)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the draws of hold times and endings")
	timeoutFlags(fs, &f.timeouts, emulator.DefaultTimeouts(), "callbackTimeout: bound on each webhook request (1s–25s on Bandwidth)")
}

// loadConfig is what bwemu load was asked to do.
type loadConfig struct {
	app        app
	opts       load.Options
	thresholds []load.Threshold
	reports    loadReports
	// merge, when set, is bwemu load merge: the shard summaries to merge.
	merge []string
	// file and scenario, when set, are the scenario each call plays;
	// caFile is --ca, which the scenario's run trusts too.
	file, scenario, caFile string
}

// loadReports are the files a load run or a merge writes.
type loadReports struct{ json, html, junit string }

func (f *loadFlags) config(pos []string) (*loadConfig, error) {
	if err := noArguments(pos); err != nil {
		return nil, err
	}
	if err := f.checkScript(); err != nil {
		return nil, err
	}
	c := &loadConfig{app: f.app, reports: loadReports{f.json, f.html, f.junit}, file: f.file, scenario: f.scenario, caFile: f.caFile}
	o := &c.opts
	var err error
	if o.Calls, o.Rate, err = f.model(); err != nil {
		return nil, err
	}
	if o.Hold, err = load.ParseHold(f.hold); err != nil {
		return nil, usagef("--hold: %v", err)
	}
	if o.Endings, err = load.ParseMix(f.end); err != nil {
		return nil, usagef("--end: %v", err)
	}
	if o.Shard, err = f.sharding(); err != nil {
		return nil, err
	}
	if f.startAt != "" {
		if o.StartAt, err = time.Parse(time.RFC3339, f.startAt); err != nil {
			return nil, usagef("--start-at: want an RFC 3339 time such as 2026-12-06T18:00:00Z, got %q", f.startAt)
		}
	}
	switch {
	case f.duration <= 0:
		return nil, usagef("--duration must be positive")
	case f.ramp < 0 || f.ramp > f.duration:
		return nil, usagef("--ramp must be between 0 and --duration")
	case f.cpuBudget < 0:
		return nil, usagef("--cpu-budget must not be negative")
	case f.sendBuffer < 0:
		return nil, usagef("--send-buffer must not be negative")
	case f.maxJournals < 1:
		return nil, usagef("--max-journals must be at least 1")
	}
	if err := checkTimeouts(f.timeouts, false); err != nil {
		return nil, err
	}
	if c.thresholds, err = parseThresholds(f.thresholds); err != nil {
		return nil, err
	}
	if err := f.app.check("--ws"); err != nil {
		return nil, err
	}
	return c, f.stream(c)
}

// checkScript checks --file and --scenario: both or neither, and with
// them none of the flags that describe the built-in call.
func (f *loadFlags) checkScript() error {
	switch {
	case f.file == "" && f.scenario == "":
		return nil
	case f.file == "" || f.scenario == "":
		return usagef("--file and --scenario go together: the file, and the name of its scenario each call plays")
	}
	var clash []string
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "hold", "end", "tracks", "mode", "audio", "param":
			clash = append(clash, "--"+fl.Name)
		}
	})
	if len(clash) > 0 {
		return usagef("%s: the scenario is each call's script, so it says how long calls last, how they end and what they stream", strings.Join(clash, ", "))
	}
	return nil
}

// model reads --calls and --rate: one of them, positive.
func (f *loadFlags) model() (calls int, rate float64, err error) {
	switch {
	case f.calls < 0 || f.calls == 0 && given(f.fs, "calls"):
		return 0, 0, usagef("--calls must be positive")
	case f.calls > 0 && f.rate != "":
		return 0, 0, usagef("give --calls or --rate, not both")
	case f.rate == "" && f.calls == 0:
		return defaultLoadCalls, 0, nil
	case f.rate == "":
		return f.calls, 0, nil
	}
	rate, err = strconv.ParseFloat(strings.TrimSuffix(f.rate, "/s"), 64)
	if err != nil || rate <= 0 {
		return 0, 0, usagef("--rate: want calls per second such as 20 or 20/s, got %q", f.rate)
	}
	return 0, rate, nil
}

// sharding reads --shard, or --shards with $JOB_COMPLETION_INDEX.
func (f *loadFlags) sharding() (load.Shard, error) {
	switch {
	case f.shard != "" && f.shards != 0:
		return load.Shard{}, usagef("give --shard or --shards, not both")
	case f.shard != "":
		s, err := load.ParseShard(f.shard)
		if err != nil {
			return s, usagef("--shard: %v", err)
		}
		return s, nil
	case f.shards < 0 || f.shards == 0 && given(f.fs, "shards"):
		return load.Shard{}, usagef("--shards must be positive")
	case f.shards == 0:
		return load.Shard{}, nil
	}
	idx := os.Getenv("JOB_COMPLETION_INDEX")
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= f.shards {
		return load.Shard{}, usagef("--shards %d: $JOB_COMPLETION_INDEX must be a shard index from 0 to %d, got %q", f.shards, f.shards-1, idx)
	}
	return load.Shard{Index: i, Count: f.shards}, nil
}

// stream fills the call and stream templates and the emulator options.
func (f *loadFlags) stream(c *loadConfig) error {
	audio, err := media.Parse(f.audio)
	if err != nil {
		return usagef("--audio: %v", err)
	}
	tlsConfig, err := trustCA(f.caFile)
	if err != nil {
		return err
	}
	o := &c.opts
	o.Emulator = emulator.Options{Timeouts: f.timeouts, TLSConfig: tlsConfig, SendBuffer: f.sendBuffer}
	o.Stream = emulator.StreamSpec{Mode: protocol.Mode(f.mode.value), Tracks: f.tracks.value, Audio: audio, Pace: emulator.Realtime}
	for i := range f.params.keys {
		o.Stream.Params = append(o.Stream.Params, protocol.StreamParam{Name: f.params.keys[i], Value: f.params.values[i]})
	}
	o.Ramp, o.Duration, o.CPUBudget, o.Seed = f.ramp, f.duration, f.cpuBudget, f.seed
	o.JournalDir, o.MaxJournals = f.journal, f.maxJournals
	return nil
}

// parseThresholds reads every --threshold; a bad one is bad usage that
// points at the column.
func parseThresholds(exprs []string) ([]load.Threshold, error) {
	var out []load.Threshold
	for _, e := range exprs {
		t, err := load.ParseThreshold(e)
		if err != nil {
			return nil, usagef("--threshold: %v", err)
		}
		out = append(out, t)
	}
	return out, nil
}

func parseLoad(args []string) (*loadConfig, error) {
	if len(args) > 0 && args[0] == "merge" {
		return parseCommand("load merge", &mergeFlags{}, args[1:])
	}
	return parseCommand("load", &loadFlags{}, args)
}

// runLoad drives the load (or merges shard summaries), writes the reports
// and judges: 1 when a threshold broke, or, with no threshold about
// errors, when the app failed any call.
func runLoad(ctx context.Context, c *loadConfig, stdout, stderr io.Writer) int {
	if len(c.merge) > 0 {
		return runMerge(c, stdout, stderr)
	}
	a, target := c.app, "your app"
	var file *scenarios.File
	if c.file != "" {
		files, ok := loadFiles([]string{c.file}, stderr)
		if !ok {
			return exitUsage
		}
		file = files[0]
	}
	if a.ws == "" && (file == nil || file.Target.WebSocket == "") {
		builtin, srv, err := startBuiltin(a, c.opts.Stream.Mode == protocol.ModeBidirectional)
		if err != nil {
			fmt.Fprintf(stderr, "bwemu: %v\n", err)
			return exitUsage
		}
		defer srv.Close()
		a, target = builtin, "the built-in reference consumer"
	}
	o := c.opts
	o.Stream.Destination, o.Stream.DestinationUsername, o.Stream.DestinationPassword = a.ws, a.wsUser, a.wsPassword
	o.Stream.StreamEventURL, o.Stream.Username, o.Stream.Password = a.events, a.eventUser, a.eventPassword
	o.Call = emulator.CallSpec{DisconnectURL: a.disconnect, Username: a.eventUser, Password: a.eventPassword}
	if file != nil {
		script, err := load.ScenarioScript(file, c.scenario, scenarios.RunOptions{WebSocket: a.ws, Events: a.events,
			Disconnect: a.disconnect, CA: c.caFile})
		if err != nil {
			return usageError(stderr, loadSynopsis, "%v", err)
		}
		o.Script, o.ScriptName = script, c.file+": "+c.scenario
	}
	reports, code, ok := c.reports.create(stderr)
	if !ok {
		return code
	}
	defer reports.close()
	o.Progress = stderr
	if f, ok := stderr.(*os.File); ok {
		o.Terminal = isTerminal(f)
	}
	fmt.Fprintf(stdout, "bwemu load: %s against %s for %s\n", describeModel(&o, c.scenario), target, o.Duration)
	if wait := time.Until(o.StartAt); !o.StartAt.IsZero() && wait > 0 {
		fmt.Fprintf(stderr, "bwemu load: waiting until %s (%s) to start, with the other shards\n",
			o.StartAt.Format(time.RFC3339), wait.Round(time.Second))
	}
	s, err := load.Run(ctx, &o)
	switch {
	case err != nil && ctx.Err() != nil:
		// Interrupted while waiting for --start-at: no call was made.
		fmt.Fprintln(stderr, "bwemu: interrupted before the load started")
		return exitInterrupted
	case err != nil:
		return usageError(stderr, loadSynopsis, "%v", err)
	}
	return judgeLoad(s, c, reports, stdout, stderr)
}

// describeModel says what load is driven, in a few words.
func describeModel(o *load.Options, scenario string) string {
	what := fmt.Sprintf("%d concurrent calls", o.Calls)
	if o.Rate > 0 {
		what = fmt.Sprintf("%g new calls a second", o.Rate)
	}
	if o.Ramp > 0 {
		what += fmt.Sprintf(" (ramp %s)", o.Ramp)
	}
	if o.Shard.Count > 1 {
		what += fmt.Sprintf(", shard %s", o.Shard)
	}
	if scenario != "" {
		return what + fmt.Sprintf(", each playing the scenario %q,", scenario)
	}
	return what + fmt.Sprintf(", each held %s, ending %s,", o.Hold, o.Endings)
}

// judgeLoad evaluates the thresholds, writes the reports and prints the
// summary; it returns the exit code.
func judgeLoad(s *load.Summary, c *loadConfig, reports reportFiles, stdout, stderr io.Writer) int {
	judgedErrors := false
	s.Thresholds = nil
	for _, t := range c.thresholds {
		s.Thresholds = append(s.Thresholds, t.Evaluate(s))
		judgedErrors = judgedErrors || t.Metric == "errors"
	}
	reports.write(stderr, "--json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	})
	reports.write(stderr, "--html", func(w io.Writer) error { return load.WriteHTML(w, s) })
	reports.write(stderr, "--junit", func(w io.Writer) error { return loadJUnit(w, s) })
	printLoad(stdout, s)
	if s.Interrupted {
		fmt.Fprintln(stderr, "bwemu: interrupted: the figures cover part of the run, and say nothing about the app")
		return exitInterrupted
	}
	code := exitPass
	for _, v := range s.Thresholds {
		if !v.Held {
			code = exitFail
		}
	}
	if !judgedErrors && s.Errors > 0 {
		fmt.Fprintf(stdout, "FAIL: the app failed %d of %d calls (no --threshold names errors, so any error fails the run)\n", s.Errors, s.Calls)
		code = exitFail
	}
	if code == exitPass {
		fmt.Fprintln(stdout, "PASS")
	}
	return code
}

// create creates the report files before anything runs.
func (r loadReports) create(stderr io.Writer) (reportFiles, int, bool) {
	return createReportFiles(stderr, loadSynopsis, reportFile{flag: "--json", path: r.json},
		reportFile{flag: "--html", path: r.html}, reportFile{flag: "--junit", path: r.junit})
}

// loadJUnit is a testcase per threshold, and one for the generator.
func loadJUnit(w io.Writer, s *load.Summary) error {
	suite := junit.Suite{Name: "bwemu.load"}
	for _, v := range s.Thresholds {
		c := junit.Case{Name: v.Expr, Classname: "bwemu.load.threshold"}
		if !v.Held {
			msg := fmt.Sprintf("%s: actual %s", v.Expr, v.Actual)
			c.Failure = &junit.Message{Message: msg, Type: "threshold", Text: msg}
		}
		suite.Add(c, 0)
	}
	// bwemu's own verdict: skipped, not failed, when it was the
	// bottleneck, for then nothing about the app could be checked.
	gen := junit.Case{Name: "the generator kept up (the figures about the app can be trusted)", Classname: "bwemu.load.generator"}
	if s.Generator.Bound {
		gen.Skipped = &junit.Message{Message: "generator-bound: " + strings.Join(s.Generator.Reasons, "; ") + ": " + s.Generator.Advice}
	}
	suite.Add(gen, 0)
	return junit.Write(w, "bwemu load", s.Duration(), []junit.Suite{suite})
}

// printLoad prints the summary: counts, the timing table, the thresholds
// and the generator's verdict.
func printLoad(w io.Writer, s *load.Summary) {
	fmt.Fprintf(w, "\n%d calls started, %d completed (%d cut short by the run's end), %d failed by the app; %d frames, %d skipped; %s\n",
		s.Started, s.Calls, s.Cut, s.Errors, s.Frames, s.Skipped, s.Duration().Round(time.Millisecond))
	if len(s.Endings) > 0 {
		fmt.Fprintf(w, "endings: %s\n", counts(s.Endings))
	}
	if len(s.ErrorsByCause) > 0 {
		fmt.Fprintf(w, "errors:  %s\n", counts(s.ErrorsByCause))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\n\tcount\tp50\tp95\tp99\tp99.9\tmax")
	for _, name := range []string{load.HistLateness, load.HistBlocked, load.HistHandshake, load.HistWebhook, load.HistFirstPlay, load.HistReply} {
		if h := s.Histograms[name]; h != nil && h.Count > 0 {
			fmt.Fprintf(tw, "%s\t%d\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%.2fms\n", name, h.Count, h.P50Ms, h.P95Ms, h.P99Ms, h.P999Ms, h.MaxMs)
		}
	}
	tw.Flush()
	for _, v := range s.Thresholds {
		if s.Interrupted {
			break // no verdict on part of a run
		}
		verdict := "ok  "
		if !v.Held {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s  %s (actual %s)\n", verdict, v.Expr, v.Actual)
	}
	if g := s.Generator; g.Bound {
		fmt.Fprintf(w, "GENERATOR-BOUND: %s\n  %s\n", strings.Join(g.Reasons, "; "), g.Advice)
	}
	for _, j := range s.Journals {
		fmt.Fprintf(w, "journal: %s\n", j)
	}
}

// counts reads a count map as "a 3, b 1", largest first.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// mergeFlags are bwemu load merge's flags.
type mergeFlags struct {
	thresholds        listFlag
	json, html, junit string
}

func (f *mergeFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.thresholds, "threshold", "pass criterion METRIC OP VALUE over the whole run (repeatable)")
	fs.StringVar(&f.json, "json", "", "write the merged summary to FILE")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report of the whole run to FILE")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report (a testcase per threshold) to FILE")
}

func (f *mergeFlags) config(pos []string) (*loadConfig, error) {
	if len(pos) == 0 {
		return nil, usagef("load merge: name the shard summaries (SHARD.json...) to merge")
	}
	ts, err := parseThresholds(f.thresholds)
	if err != nil {
		return nil, err
	}
	return &loadConfig{merge: pos, thresholds: ts, reports: loadReports{f.json, f.html, f.junit}}, nil
}

// runMerge merges shard summaries and judges the whole run.
func runMerge(c *loadConfig, stdout, stderr io.Writer) int {
	var shards []*load.Summary
	for _, path := range c.merge {
		b, err := os.ReadFile(path)
		if err != nil {
			return usageError(stderr, loadSynopsis, "load merge: %v", err)
		}
		var s load.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return usageError(stderr, loadSynopsis, "load merge: %s: not a bwemu load summary: %v", path, err)
		}
		shards = append(shards, &s)
	}
	s, err := load.Merge(shards...)
	if err != nil {
		return usageError(stderr, loadSynopsis, "load %v", err)
	}
	reports, code, ok := c.reports.create(stderr)
	if !ok {
		return code
	}
	defer reports.close()
	fmt.Fprintf(stdout, "bwemu load merge: %d shards, %d calls\n", len(shards), s.Calls)
	return judgeLoad(s, c, reports, stdout, stderr)
}
