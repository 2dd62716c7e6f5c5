package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/scenarios"
)

// ScenarioScript makes the scenario named name of f the script of every
// call (Options.Script): each call runs it as `bwemu run` would, with o's
// overrides (the app's URLs, the CA, the pace), and counts as failed when
// the scenario fails. The scenario is checked against o's target first.
func ScenarioScript(f *scenarios.File, name string, o scenarios.RunOptions) (func(context.Context, emulator.Meter) Outcome, error) {
	var names []string
	one := *f // the file with only that scenario
	one.Scenarios = nil
	for _, sc := range f.Scenarios {
		names = append(names, sc.Name)
		if sc.Name == name {
			one.Scenarios = append(one.Scenarios, sc)
		}
	}
	if len(one.Scenarios) == 0 {
		return nil, fmt.Errorf("%s has no scenario %q; it has: %s", f.Path, name, strings.Join(names, "; "))
	}
	files := []*scenarios.File{&one}
	if f.Target.API != "" {
		return nil, fmt.Errorf("%s: target.api serves the Voice API on one address, which concurrent calls cannot share: load a scenario without it", f.Path)
	}
	o.Focus, o.Skip, o.Repeat, o.Parallel, o.FailFast = nil, nil, 1, 1, false
	o.JournalDir, o.OnStart, o.OnResult = "", nil, nil
	if err := scenarios.Check(files, o); err != nil {
		return nil, err
	}
	return func(ctx context.Context, m emulator.Meter) Outcome {
		run := o
		run.Meter = m
		results, err := scenarios.Run(ctx, files, run)
		if err != nil || len(results) == 0 {
			return Outcome{Failures: []string{fmt.Sprintf("error: %v", err)}}
		}
		return scenarioOutcome(results[0])
	}, nil
}

// scenarioOutcome is what a scenario's result says about the call: its
// streams, its webhooks, and the expectations that failed.
func scenarioOutcome(r *scenarios.Result) Outcome {
	out := Outcome{Deliveries: r.Webhooks, Journal: r.Journal}
	for _, s := range r.Streams {
		if s.Result != nil {
			out.Streams = append(out.Streams, s.Result)
		}
	}
	for _, e := range r.Journal {
		if e.CallID != "" {
			out.CallID = e.CallID
			break
		}
	}
	switch r.Status {
	case scenarios.Failed:
		for _, f := range r.Failures {
			out.Failures = append(out.Failures, f.Expectation)
		}
	case scenarios.Errored:
		out.Failures = append(out.Failures, "error: "+r.Error)
	}
	return out
}
