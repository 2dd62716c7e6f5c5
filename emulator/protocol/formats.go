package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is Bandwidth's timestamp: ISO 8601, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time is a timestamp written as Bandwidth writes it.
type Time struct{ time.Time }

// NewTime truncates t to milliseconds in UTC, as it will be sent.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// TimePtr is NewTime for the optional fields.
func TimePtr(t time.Time) *Time { v := NewTime(t); return &v }

// String formats the time in TimeLayout.
func (t Time) String() string { return t.UTC().Format(TimeLayout) }

// MarshalText implements encoding.TextMarshaler.
func (t Time) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// MarshalJSON writes TimeLayout. Without it encoding/json would use the
// MarshalJSON promoted from the embedded time.Time (RFC 3339 with trailing
// zeros trimmed: .08Z, no fraction at all for whole seconds).
func (t Time) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON reads a JSON string with UnmarshalText (the promoted
// time.Time.UnmarshalJSON would keep the sender's zone); null leaves t as is.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time %s: want a JSON string like \"2022-06-30T18:55:02.489Z\"", b)
	}
	return t.UnmarshalText([]byte(s))
}

// UnmarshalText accepts any RFC 3339 time, so payloads from other sources decode too.
func (t *Time) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return fmt.Errorf("time %q: want ISO 8601 like 2022-06-30T18:55:02.489Z", b)
	}
	t.Time = v.UTC()
	return nil
}

// Duration is an ISO 8601 duration as in mediaStream.duration:
// PT1M52.217257456S, nanosecond precision, no trailing zeros.
// (time.Duration.String gives 1m52.217257456s, which is not it.)
type Duration struct{ time.Duration }

// DurationPtr wraps d for the optional field.
func DurationPtr(d time.Duration) *Duration { return &Duration{d} }

// String formats the duration as PT[nH][nM]n[.fff]S.
func (d Duration) String() string {
	v := d.Duration
	var b strings.Builder
	b.WriteString("PT")
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	if h := v / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10))
		b.WriteByte('H')
		v -= h * time.Hour
	}
	if m := v / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10))
		b.WriteByte('M')
		v -= m * time.Minute
	}
	if v > 0 || b.Len() == 2 {
		sec, frac := v/time.Second, v%time.Second
		b.WriteString(strconv.FormatInt(int64(sec), 10))
		if frac > 0 {
			f := fmt.Sprintf("%09d", int64(frac))
			b.WriteByte('.')
			b.WriteString(strings.TrimRight(f, "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses PT[nH][nM][n[.f]S]; days and larger units are not
// used by Bandwidth for stream durations and are rejected.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// ParseDuration reads an ISO 8601 time duration such as PT1M52.217257456S.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("duration %q: want ISO 8601 like PT1M52.217S", s)
	rest, ok := strings.CutPrefix(s, "PT")
	if !ok || rest == "" {
		return 0, bad
	}
	neg := false
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		neg, rest = true, r
	}
	var total time.Duration
	units := []struct {
		suffix byte
		unit   time.Duration
	}{{'H', time.Hour}, {'M', time.Minute}, {'S', time.Second}}
	for _, u := range units {
		i := strings.IndexByte(rest, u.suffix)
		if i < 0 {
			continue
		}
		num := rest[:i]
		rest = rest[i+1:]
		whole, frac, hasFrac := strings.Cut(num, ".")
		if whole == "" || (hasFrac && (u.suffix != 'S' || frac == "" || len(frac) > 9)) {
			return 0, bad
		}
		if !isDigits(whole) || (hasFrac && !isDigits(frac)) {
			return 0, bad // ParseInt alone would take signs: PT1H-2M, PT1.-5S
		}
		n, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || n > int64(math.MaxInt64/u.unit) {
			return 0, bad
		}
		add := time.Duration(n) * u.unit
		if hasFrac {
			f, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			if err != nil {
				return 0, bad
			}
			add += time.Duration(f)
		}
		if add < 0 || total > math.MaxInt64-add {
			return 0, bad // beyond time.Duration
		}
		total += add
	}
	if rest != "" {
		return 0, bad
	}
	if neg {
		total = -total
	}
	return total, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
