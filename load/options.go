package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Options describe a load run. Stream and Call are the template every call
// copies (the app's URLs and credentials are already in them); Emulator is
// the template of each call's emulator (Run sets its Meter and HTTPClient).
type Options struct {
	Emulator emulator.Options
	Stream   emulator.StreamSpec
	Call     emulator.CallSpec

	// Calls is the number of calls held at once (closed model): each call
	// that ends is replaced by a new one until Duration is over. Rate,
	// instead, starts that many calls a second whatever the app does (open
	// model). Exactly one of them is set.
	Calls int
	Rate  float64
	// Ramp reaches Calls or Rate gradually, linearly from zero.
	Ramp time.Duration
	// Duration is how long new calls start; live calls are then ended.
	Duration time.Duration
	// Hold is each call's media time, drawn uniformly from the range.
	Hold Hold
	// Endings is the weighted mix of how calls end. Default: all hang up.
	Endings Mix

	// Script, when set, plays each call instead of the built-in one (a
	// stream held for Hold, ended as Endings draws): a scenario of a file,
	// say (the CLI's --file and --scenario). It must make its emulators
	// with the meter it is given, and returns what the call did. The run's
	// end does not cut a script short; an interrupt cancels its ctx.
	Script func(ctx context.Context, m emulator.Meter) Outcome
	// ScriptName names the script in the reports.
	ScriptName string

	// Shard runs the I-th share of the load when several processes share
	// it; StartAt, when set, is the instant every shard starts.
	Shard   Shard
	StartAt time.Time

	// CPUBudget is the cores bwemu may use (default: GOMAXPROCS); using
	// 90 % of it marks the run generator-bound.
	CPUBudget float64
	// JournalDir receives the journal of each call that went wrong, up to
	// MaxJournals (default 100) files.
	JournalDir  string
	MaxJournals int
	// Seed makes the draws of hold times and endings repeatable.
	Seed uint64

	// Progress receives a progress line every ProgressEvery (default 5 s);
	// Terminal rewrites one line in place every second instead.
	Progress      io.Writer
	ProgressEvery time.Duration
	Terminal      bool
}

// Outcome is what a scripted call did, as the load summary counts it.
type Outcome struct {
	// Streams are its streams' results; Deliveries every webhook exchange.
	Streams    []*emulator.StreamResult
	Deliveries []*emulator.Delivery
	// Failures say how the app failed the call (empty: it did not).
	Failures []string
	// CallID and Journal are for the slowest calls and the journals of
	// failed calls.
	CallID  string
	Journal []emulator.Entry
	// CutAt is when the run's end cut the call's media short (zero when it
	// did not). Every call still live then ends at that moment, a burst of
	// the run's own making that no real service sees, and the answer times
	// of the webhooks sent from then on measure it, not the app: they are
	// left out of the webhook figures (a failed answer still counts).
	CutAt time.Time
}

// timedAnswers are the webhook deliveries whose answer times measure the
// app: answered, not a BXML request (judged by the call), and not sent
// in the run's final burst (see CutAt).
func (o Outcome) timedAnswers() []*emulator.Delivery {
	var out []*emulator.Delivery
	for _, d := range o.Deliveries {
		burst := !o.CutAt.IsZero() && !d.Event.EventTime.Before(o.CutAt.Truncate(time.Millisecond))
		if d.Delivered() && !d.BXML && !burst {
			out = append(out, d)
		}
	}
	return out
}

// Hold is a range of call lengths; Min == Max for a fixed length.
type Hold struct{ Min, Max time.Duration }

func (h Hold) String() string {
	if h.Min == h.Max {
		return h.Min.String()
	}
	return h.Min.String() + "-" + h.Max.String()
}

// ParseHold reads "30s" or a range "20s-2m".
func ParseHold(s string) (Hold, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	min, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil {
		return Hold{}, fmt.Errorf("hold %q: want a duration (30s) or a range (20s-2m)", s)
	}
	max := min
	if isRange {
		if max, err = time.ParseDuration(strings.TrimSpace(hi)); err != nil {
			return Hold{}, fmt.Errorf("hold %q: the range's upper end %q is not a duration", s, hi)
		}
	}
	h := Hold{min, max}
	if reason := h.problem(); reason != "" {
		return Hold{}, fmt.Errorf("hold %q: %s", s, reason)
	}
	return h, nil
}

// problem says what is wrong with the range, "" when nothing is.
func (h Hold) problem() string {
	switch {
	case h.Min <= 0:
		return "must be positive"
	case h.Max < h.Min:
		return "the upper end is below the lower"
	}
	return ""
}

func (h Hold) draw(r *rand.Rand) time.Duration {
	if h.Max == h.Min {
		return h.Min
	}
	return h.Min + time.Duration(r.Int64N(int64(h.Max-h.Min)+1))
}

// Mix is a weighted choice of endings.
type Mix []Weighted

// Weighted is one ending of a mix and its weight.
type Weighted struct {
	Ending emulator.Ending
	Weight int
}

// String reads as ParseMix takes it; one ending alone goes without its
// weight ("hangup", not "hangup=1").
func (m Mix) String() string {
	if len(m) == 1 {
		return emulator.ChoiceName(m[0].Ending)
	}
	var parts []string
	for _, w := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", emulator.ChoiceName(w.Ending), w.Weight))
	}
	return strings.Join(parts, ",")
}

// ParseMix reads "hangup=90,reset=5,stop=5"; a bare name weighs 1.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(s, ",") {
		name, weight, hasWeight := strings.Cut(strings.TrimSpace(part), "=")
		if !slices.Contains(emulator.ChoosableEndings(), name) {
			return nil, fmt.Errorf("ending %q: want one of %s", name, strings.Join(emulator.ChoosableEndings(), ", "))
		}
		w := 1
		if hasWeight {
			var err error
			if w, err = strconv.Atoi(weight); err != nil || w < 0 {
				return nil, fmt.Errorf("ending %s: weight %q is not a whole number ≥ 0", name, weight)
			}
		}
		m = append(m, Weighted{emulator.EndingNamed(name), w})
	}
	total := 0
	for _, w := range m {
		total += w.Weight
	}
	if total == 0 {
		return nil, fmt.Errorf("endings %q: the weights add up to 0", s)
	}
	return m, nil
}

func (m Mix) draw(r *rand.Rand) emulator.Ending {
	if len(m) == 0 {
		return emulator.EndHangup
	}
	total := 0
	for _, w := range m {
		total += w.Weight
	}
	n := r.IntN(total)
	for _, w := range m {
		if n < w.Weight {
			return w.Ending
		}
		n -= w.Weight
	}
	return m[len(m)-1].Ending
}

// Shard is the I-th of N shares of a run (Index from 0); the zero value
// is the whole run.
type Shard struct{ Index, Count int }

func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// ParseShard reads "I/N", 0 ≤ I < N.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || cnt < 1 || idx < 0 || idx >= cnt {
		return Shard{}, fmt.Errorf("shard %q: want I/N with 0 ≤ I < N, e.g. 0/4", s)
	}
	return Shard{idx, cnt}, nil
}

// share is this shard's part of n things: n/N, the remainder going to the
// first shards.
func (s Shard) share(n int) int {
	if s.Count <= 1 {
		return n
	}
	k := n / s.Count
	if s.Index < n%s.Count {
		k++
	}
	return k
}

// Settings are the options as the reports show them.
type Settings struct {
	Target   string  `json:"target"`
	Calls    int     `json:"calls,omitempty"`
	Rate     float64 `json:"rate,omitempty"`
	Ramp     string  `json:"ramp,omitempty"`
	Duration string  `json:"duration"`
	Hold     string  `json:"hold"`
	End      string  `json:"end"`
	Tracks   string  `json:"tracks"`
	Mode     string  `json:"mode"`
	Pace     string  `json:"pace"`
	Shard    string  `json:"shard,omitempty"`
	// Scenario is the scenario each call played, when calls were scripted.
	Scenario string `json:"scenario,omitempty"`
}

func (o *Options) settings() Settings {
	if o.Script != nil {
		o.Hold, o.Endings = Hold{}, nil
	}
	s := Settings{Target: weburl.Redact(o.Stream.Destination), Calls: o.Calls, Rate: o.Rate, Duration: o.Duration.String(),
		Hold: o.Hold.String(), End: o.Endings.String(), Tracks: o.Stream.Tracks, Mode: string(o.Stream.Mode),
		Pace: string(o.Stream.Pace), Shard: o.Shard.String()}
	if o.Ramp > 0 {
		s.Ramp = o.Ramp.String()
	}
	if s.End == "" && o.Script == nil {
		s.End = "hangup"
	}
	s.Scenario = o.ScriptName
	return s
}

// check validates the options; the errors name the Go fields' flags.
func (o *Options) check() error {
	switch {
	case (o.Calls > 0) == (o.Rate > 0):
		return errors.New("load: give exactly one of Calls (--calls) and Rate (--rate), positive")
	case o.Calls < 0 || o.Rate < 0:
		return errors.New("load: Calls and Rate must not be negative")
	case o.Duration <= 0:
		return errors.New("load: Duration (--duration) must be positive")
	case o.Ramp < 0 || o.Ramp > o.Duration:
		return errors.New("load: Ramp (--ramp) must be between 0 and Duration")
	case o.Shard.Count > 1 && (o.Shard.Index < 0 || o.Shard.Index >= o.Shard.Count):
		return fmt.Errorf("load: shard %d/%d: want 0 ≤ I < N", o.Shard.Index, o.Shard.Count)
	case o.CPUBudget < 0:
		return errors.New("load: CPUBudget must not be negative")
	}
	if o.Script != nil {
		return nil // the script makes its own calls
	}
	if reason := o.Hold.problem(); reason != "" {
		return fmt.Errorf("load: Hold %s: %s", o.Hold, reason)
	}
	return o.Stream.Validate()
}
