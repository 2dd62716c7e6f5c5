package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/internal/parallel"
)

// A run is planned, then executed: plan starts the servers the files need
// and lays out a job per scenario and repetition; execute runs the jobs
// with the shared parallel loop and sets the status of those it did not
// start; runScenario plays one job and judges it.

// job is one scenario (one repetition of it) to run.
type job struct {
	f       *File
	sc      *Scenario
	res     *Result
	t       Target
	api     *apiServer // the file's Voice API, for bxml: scenarios
	journal string     // the journal file's name in JournalDir
	// recordDir is where the scenario's streams are recorded (record:),
	// a directory of this run of the scenario's own.
	recordDir string
}

// servers are what a run starts for its files: one built-in consumer per
// set of credentials the files require, and each file's Voice API.
type servers struct {
	builtins map[consumer.Options]*consumer.Server
	apis     []*apiServer
}

func newServers() *servers {
	return &servers{builtins: map[consumer.Options]*consumer.Server{}}
}

// close ends the Voice APIs (and their calls), then the consumers.
func (s *servers) close() {
	for _, a := range s.apis {
		a.close()
	}
	for _, srv := range s.builtins {
		srv.Close()
	}
}

// target is the target f's scenarios run against: the built-in consumer
// when no WebSocket URL is left after opts' overrides.
func (s *servers) target(f *File, opts RunOptions) (Target, error) {
	t, builtin := effectiveTarget(f.Target, opts)
	if !builtin {
		return t, nil
	}
	creds := consumer.Options{WSUser: t.WSUser, WSPassword: t.WSPassword, EventUser: t.EventUser, EventPassword: t.EventPassword}
	srv := s.builtins[creds]
	if srv == nil {
		var err error
		if srv, err = consumer.Start("127.0.0.1:0", &creds); err != nil {
			return t, fmt.Errorf("starting the built-in reference consumer: %w", err)
		}
		s.builtins[creds] = srv
	}
	return useBuiltin(t, srv), nil
}

// api serves f's Voice API when its target names one and the run has a
// scenario of f to run; nil otherwise.
func (s *servers) api(ctx context.Context, f *File, t Target, opts RunOptions) (*apiServer, error) {
	if t.API == "" || opts.Count([]*File{f}) == 0 {
		return nil, nil
	}
	a, err := startAPI(ctx, f, t, filePace(f, opts))
	if err != nil {
		return nil, err
	}
	s.apis = append(s.apis, a)
	return a, nil
}

// plan lays out the jobs of a run in file order, a scenario's
// repetitions together; scenarios opts does not select are Skipped jobs.
func plan(ctx context.Context, files []*File, opts RunOptions, env *servers) ([]*job, error) {
	var jobs []*job
	// The names taken: files may share a base name.
	taken := &takenNames{journals: map[string]bool{}, recordings: map[string]bool{}}
	for _, f := range files {
		t, err := env.target(f, opts)
		if err != nil {
			return nil, err
		}
		api, err := env.api(ctx, f, t, opts)
		if err != nil {
			return nil, err
		}
		for _, sc := range f.Scenarios {
			jobs = append(jobs, scenarioJobs(&job{f: f, sc: sc, t: t, api: api}, opts, taken)...)
		}
	}
	return jobs, nil
}

// takenNames are the names a run has given its jobs' files: journals (in
// JournalDir) and recording directories (by path).
type takenNames struct {
	journals, recordings map[string]bool
}

// scenarioJobs are the jobs of one scenario: one per repetition, or one
// Skipped job when opts does not select it.
func scenarioJobs(base *job, opts RunOptions, taken *takenNames) []*job {
	if !opts.Selected(base.sc) {
		j := *base
		j.res = newResult(base.f, base.sc)
		j.res.Status = Skipped
		return []*job{&j}
	}
	jobs := make([]*job, 0, opts.Repeat)
	for i := 1; i <= opts.Repeat; i++ {
		j := *base
		j.res = newResult(base.f, base.sc)
		if opts.Repeat > 1 {
			j.res.Repetition, j.res.Repetitions = i, opts.Repeat
		}
		if opts.JournalDir != "" {
			j.journal = uniqueName(taken.journals, journalName(base.f, base.sc, j.res.Repetition))
		}
		if dir := base.sc.Record; dir != "" && (base.sc.BXML == nil || base.api == nil) {
			// A bxml: scenario on the file's shared emulator records
			// where that emulator does (sharedRecordDir).
			j.recordDir = uniqueName(taken.recordings, filepath.Join(resolvePath(base.f, dir), runName(base.f, base.sc, j.res.Repetition)))
		}
		jobs = append(jobs, &j)
	}
	return jobs
}

// execute runs the jobs not skipped, opts.Parallel at a time; those an
// interrupt or FailFast kept from starting say so in their status.
func execute(ctx context.Context, jobs []*job, opts RunOptions) {
	var runnable []*job
	for _, j := range jobs {
		if j.res.Status != Skipped {
			runnable = append(runnable, j)
		}
	}
	outcomes := parallel.Run(ctx, len(runnable), parallel.Options{Limit: opts.Parallel, FailFast: opts.FailFast}, func(i int) bool {
		j := runnable[i]
		if opts.OnStart != nil {
			opts.OnStart(j.sc)
		}
		runScenario(ctx, j, opts)
		if opts.OnResult != nil {
			opts.OnResult(j.res)
		}
		return j.res.Status == Passed
	})
	for i, out := range outcomes {
		switch r := runnable[i].res; out {
		case parallel.Interrupted:
			r.Status, r.Error = Interrupted, "interrupted before it started: not run"
		case parallel.FailedFast:
			r.Status = Skipped
		}
	}
}

// runScenario plays one call flow, checks its expectations and records
// the outcome in the job's result.
func runScenario(ctx context.Context, j *job, opts RunOptions) {
	r := j.res
	began := time.Now()
	r.Start = began
	defer func() { r.Duration = time.Since(began) }()
	p, err := newPlay(ctx, j, opts)
	if err != nil {
		r.Status, r.Error = Errored, err.Error()
		return
	}
	defer p.close()
	runErr := p.run()
	var failures []Failure
	if runErr == nil && ctx.Err() == nil {
		p.results()
		failures = p.check()
	}
	interrupted := p.interrupted()
	p.results()
	for _, sr := range p.order {
		r.Streams = append(r.Streams, *sr)
	}
	r.Webhooks = p.exchanges()
	if p.call != nil {
		r.Advice = p.bxmlWarnings()
	}
	p.judge(r, interrupted, runErr, failures)
	r.Journal = p.entries()
	if opts.JournalDir != "" {
		saveJournal(r, filepath.Join(opts.JournalDir, j.journal))
	}
}

// judge sets the result's status: no verdict when the run was
// interrupted, an error when it broke, else what the expectations found.
func (p *play) judge(r *Result, interrupted bool, runErr error, failures []Failure) {
	switch {
	case interrupted:
		// Whatever was seen so far, the scenario did not run to its end:
		// its expectations say nothing about the app.
		r.Status, r.Error = Interrupted, "interrupted before the scenario finished; its live calls were hung up"
		if p.guard.err != nil {
			r.Error += fmt.Sprintf(" (webhooks still unanswered after %s were cut off)", emulator.InterruptGrace)
		}
	case runErr != nil && p.bxmlFault():
		// The steps could not be carried out because the app's BXML
		// failed: the app's fault, so a failure, not a broken run.
		r.Status = Failed
		r.Failures = []Failure{p.failure("bxml", p.sc.BXML.Pos, p.rootCause(runErr), "")}
	case runErr != nil:
		r.Status, r.Error = Errored, p.rootCause(runErr)
	default:
		r.Failures = failures
		r.Status = Passed
		if len(failures) > 0 {
			r.Status = Failed
		}
	}
}

// saveJournal writes the result's journal to path; a run that could not
// write it broke (unless it was interrupted anyway).
func saveJournal(r *Result, path string) {
	r.JournalFile = path
	if err := emulator.WriteEntriesFile(path, r.Journal); err != nil && r.Status != Interrupted {
		r.Status, r.Error = Errored, fmt.Sprintf("writing the journal: %v", err)
	}
}

// scenarioPace is the pace a scenario runs at: the runner's override, else
// its own; a scenario that takes turns with the app always runs in real
// time, since a turn's timing is media time.
func scenarioPace(override string, sc *Scenario) emulator.Pace {
	if needsRealtime(sc) {
		return emulator.Realtime
	}
	return pace(override, sc.Pace)
}

// filePace is the pace of the streams a file's shared emulator (target.api)
// starts for its bxml: scenarios: as the defaults and the runner say,
// unless one of those scenarios the run selects takes turns with the app.
func filePace(f *File, opts RunOptions) emulator.Pace {
	for _, sc := range f.Scenarios {
		if sc.BXML != nil && opts.Selected(sc) && needsRealtime(sc) {
			return emulator.Realtime
		}
	}
	return pace(opts.Pace, f.Defaults.Pace)
}

// sharedRecordDir is where a file's shared emulator (target.api) records
// its streams, when its defaults set record:: a directory of the file's
// own in it.
func sharedRecordDir(f *File) string {
	if f.Defaults.Record == "" {
		return ""
	}
	return filepath.Join(resolvePath(f, f.Defaults.Record), fileBase(f))
}

func pace(override, own string) emulator.Pace {
	switch {
	case override != "":
		return emulator.Pace(override)
	case own != "":
		return emulator.Pace(own)
	}
	return emulator.Realtime
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// journalName is BASE-LINE-NAME.jsonl, with -rN before the extension for
// the Nth repetition.
func journalName(f *File, sc *Scenario, repetition int) string {
	return runName(f, sc, repetition) + ".jsonl"
}

// runName names one run of a scenario in file names: BASE-LINE-NAME, the
// file's base name, the scenario's line and its name made safe, with -rN
// for the Nth repetition.
func runName(f *File, sc *Scenario, repetition int) string {
	name := strings.Trim(unsafeName.ReplaceAllString(sc.Name, "-"), "-")
	if repetition > 0 {
		return fmt.Sprintf("%s-%d-%s-r%d", fileBase(f), sc.Pos.Line, name, repetition)
	}
	return fmt.Sprintf("%s-%d-%s", fileBase(f), sc.Pos.Line, name)
}

// fileBase is the file's name without its directory and extension.
func fileBase(f *File) string {
	return strings.TrimSuffix(filepath.Base(f.Path), filepath.Ext(f.Path))
}

// uniqueName returns name, or name with -2, -3, … before the extension
// when taken already has it, and records it as taken.
func uniqueName(taken map[string]bool, name string) string {
	stem, ext := strings.TrimSuffix(name, filepath.Ext(name)), filepath.Ext(name)
	n := name
	for i := 2; taken[n]; i++ {
		n = fmt.Sprintf("%s-%d%s", stem, i, ext)
	}
	taken[n] = true
	return n
}
