package load

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A Threshold is a pass criterion on a run's metric, as given to
// --threshold: METRIC OP VALUE, e.g. "webhook.p99<200ms" or "errors<=0".
type Threshold struct {
	Expr   string
	Metric string
	Op     string
	// Value is a count, or a duration for timing metrics.
	Value    float64
	Duration time.Duration
	timing   bool
}

// Verdict is a threshold evaluated against a summary.
type Verdict struct {
	Expr string `json:"expr"`
	// Actual is the metric's value, in the threshold's unit.
	Actual string `json:"actual"`
	Held   bool   `json:"held"`
}

// ThresholdError is a threshold that does not parse; Col is the 1-based
// column of the expression where the problem is.
type ThresholdError struct {
	Expr string
	Col  int
	Msg  string
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("threshold %q:%d: %s", e.Expr, e.Col, e.Msg)
}

// countMetrics are the metrics that count things.
var countMetrics = []string{"calls", "started", "frames", "skipped", "errors"}

// timingBases are the histograms thresholds may name, with their quantiles.
var timingBases = []string{HistLateness, HistWebhook, HistHandshake, HistBlocked, HistFirstPlay, HistReply}

var quantiles = map[string]float64{"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}

// Metrics lists the metric names a threshold may use.
func Metrics() []string {
	out := append([]string(nil), countMetrics...)
	for _, b := range timingBases {
		out = append(out, b+".p50|p90|p95|p99|p999|max")
	}
	return out
}

// ParseThreshold reads METRIC OP VALUE; OP is one of < <= > >=. Spaces
// around the parts are allowed.
func ParseThreshold(expr string) (Threshold, error) {
	fail := func(col int, format string, args ...any) (Threshold, error) {
		return Threshold{}, &ThresholdError{Expr: expr, Col: col, Msg: fmt.Sprintf(format, args...)}
	}
	opAt := strings.IndexAny(expr, "<>=!")
	if opAt < 0 {
		return fail(len(expr)+1, "no operator: want METRIC OP VALUE with OP one of < <= > >=, e.g. webhook.p99<200ms")
	}
	t := Threshold{Expr: expr, Metric: strings.TrimSpace(expr[:opAt])}
	op := expr[opAt:]
	switch {
	case strings.HasPrefix(op, "<="), strings.HasPrefix(op, ">="):
		t.Op = op[:2]
	case strings.HasPrefix(op, "<"), strings.HasPrefix(op, ">"):
		t.Op = op[:1]
	default:
		return fail(opAt+1, "operator %q: want one of < <= > >=", strings.TrimRight(op[:min(2, len(op))], " 0123456789"))
	}
	valueAt := opAt + len(t.Op)
	raw := expr[valueAt:]
	if strings.TrimLeft(raw, " ") != "" && strings.ContainsRune("<>=!", rune(strings.TrimLeft(raw, " ")[0])) {
		return fail(valueAt+len(raw)-len(strings.TrimLeft(raw, " "))+1, "one operator only: want one of < <= > >=")
	}
	lead := len(raw) - len(strings.TrimLeft(raw, " "))
	raw = strings.TrimSpace(raw)
	if t.Metric == "" {
		return fail(1, "no metric before %q: want one of %s", t.Op, strings.Join(Metrics(), ", "))
	}
	timing, ok := metricKind(t.Metric)
	if !ok {
		return fail(1, "unknown metric %q: want one of %s", t.Metric, strings.Join(Metrics(), ", "))
	}
	t.timing = timing
	col := valueAt + lead + 1
	switch {
	case raw == "":
		return fail(col, "no value after %q", t.Op)
	case timing:
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			return fail(col, "%s is a time: want a duration such as 200ms, got %q", t.Metric, raw)
		}
		t.Duration, t.Value = d, float64(d)
	default:
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < 0 {
			return fail(col, "%s is a count: want a number, got %q", t.Metric, raw)
		}
		t.Value = v
	}
	return t, nil
}

// metricKind says whether name is a timing metric, and whether it exists.
func metricKind(name string) (timing, ok bool) {
	for _, c := range countMetrics {
		if name == c {
			return false, true
		}
	}
	base, q, found := strings.Cut(name, ".")
	if !found {
		return false, false
	}
	for _, b := range timingBases {
		if base == b {
			_, isQ := quantiles[q]
			return true, isQ || q == "max"
		}
	}
	return false, false
}

// Evaluate checks the threshold against s.
func (t Threshold) Evaluate(s *Summary) Verdict {
	actual, shown := t.actual(s)
	held := false
	switch t.Op {
	case "<":
		held = actual < t.Value
	case "<=":
		held = actual <= t.Value
	case ">":
		held = actual > t.Value
	case ">=":
		held = actual >= t.Value
	}
	return Verdict{Expr: t.Expr, Actual: shown, Held: held}
}

// actual is the metric's value in s (nanoseconds for timings) and how it
// reads. A timing with no observations reads as "no data" and holds no
// bound: an expectation over nothing is not met.
func (t Threshold) actual(s *Summary) (float64, string) {
	if !t.timing {
		var n float64
		switch t.Metric {
		case "calls":
			n = float64(s.Calls)
		case "started":
			n = float64(s.Started)
		case "frames":
			n = float64(s.Frames)
		case "skipped":
			n = float64(s.Skipped)
		case "errors":
			n = float64(s.Errors)
		}
		return n, strconv.FormatFloat(n, 'f', -1, 64)
	}
	base, q, _ := strings.Cut(t.Metric, ".")
	h := s.Histograms[base]
	if h == nil || h.Count == 0 {
		nan := -1.0 // below every bound…
		if t.Op == "<" || t.Op == "<=" {
			nan = 1e300 // …or above it: never held
		}
		return nan, "no data"
	}
	var d time.Duration
	if q == "max" {
		d = h.Max()
	} else {
		d = h.Quantile(quantiles[q])
	}
	return float64(d), d.String()
}
