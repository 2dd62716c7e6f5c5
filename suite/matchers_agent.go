package suite

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega/types"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/internal/prose"
)

// HaveReplied succeeds when the app answered every turn of the caller
// (Stream.Say) on time: it started playing within `within` of the end of
// the caller's speech and played at least min before the caller spoke
// again or the stream ended (min 0: any audio). A stream where the caller
// said nothing fails: there was no turn to answer.
func HaveReplied(within, min time.Duration) types.GomegaMatcher {
	if within <= 0 || min < 0 {
		return failed("HaveReplied", fmt.Errorf("within (%s) must be above 0 and min (%s) not negative", within, min))
	}
	want := fmt.Sprintf("have been answered within %s of each turn", within)
	if min > 0 {
		want += fmt.Sprintf(", with at least %s of audio", min)
	}
	return newMatcher(&check{name: "HaveReplied", want: want,
		test: func(s *subject) (verdict, error) {
			turns := s.result.Turns
			if len(turns) == 0 {
				return verdict{found: "the caller said nothing (no Stream.Say, no say: step), so there was no turn to answer"}, nil
			}
			var bad []string
			for i, t := range turns {
				switch {
				case !t.Replied:
					bad = append(bad, fmt.Sprintf("turn %d got no reply in the %s the caller listened", i+1, round(t.Listened)))
				case t.Latency > within:
					bad = append(bad, fmt.Sprintf("turn %d was answered after %s", i+1, round(t.Latency)))
				case t.Played < min:
					bad = append(bad, fmt.Sprintf("turn %d's reply played %s", i+1, round(t.Played)))
				}
			}
			v := verdict{ok: len(bad) == 0, extra: describeTurns(turns)}
			if v.ok {
				v.found = "every turn was answered so: latencies " + latencies(turns)
			} else {
				v.found = strings.Join(bad, "; ")
			}
			return v, nil
		}})
}

// HaveStoppedTalkingWithin succeeds when, each time the caller spoke while
// the app was playing (a barge-in), the app fell silent (a clear, or no
// more audio) within d of the caller starting. A stream without a barge-in
// fails: there was nothing to judge.
func HaveStoppedTalkingWithin(d time.Duration) types.GomegaMatcher {
	if d <= 0 {
		return failed("HaveStoppedTalkingWithin", fmt.Errorf("d (%s) must be above 0", d))
	}
	return newMatcher(&check{name: "HaveStoppedTalkingWithin", want: fmt.Sprintf("have stopped talking within %s of the caller interrupting it", d),
		test: func(s *subject) (verdict, error) {
			var bad, good []string
			for i, t := range s.result.Turns {
				switch {
				case !t.BargeIn:
				case !t.Stopped:
					bad = append(bad, fmt.Sprintf("at turn %d the app talked on for the %s until the stream ended", i+1, round(t.StoppedAfter)))
				case t.StoppedAfter > d:
					bad = append(bad, fmt.Sprintf("at turn %d the app stopped %s after the caller began", i+1, round(t.StoppedAfter)))
				default:
					good = append(good, fmt.Sprintf("turn %d after %s", i+1, round(t.StoppedAfter)))
				}
			}
			v := verdict{ok: len(bad) == 0 && len(good) > 0, extra: describeTurns(s.result.Turns)}
			switch {
			case len(bad) > 0:
				v.found = strings.Join(bad, "; ")
			case len(good) == 0:
				v.found = "the caller never spoke while the app was playing, so there was no barge-in to judge"
			default:
				v.found = "it stopped at " + strings.Join(good, ", ")
			}
			return v, nil
		}})
}

// HavePlayed succeeds when the app played at least atLeast of audio to the
// caller (its playAudio, as played out in real time; clear drops what was
// still queued).
func HavePlayed(atLeast time.Duration) types.GomegaMatcher {
	if atLeast <= 0 {
		return failed("HavePlayed", fmt.Errorf("atLeast (%s) must be above 0: any app plays at least nothing", atLeast))
	}
	return newMatcher(&check{name: "HavePlayed", want: fmt.Sprintf("have played at least %s of audio to the caller", atLeast),
		test: func(s *subject) (verdict, error) {
			p := s.result.Playback
			found := fmt.Sprintf("it played %s", round(p.Played))
			if p.Cleared > 0 {
				found += fmt.Sprintf(" (and cleared %s still queued)", round(p.Cleared))
			}
			return verdict{ok: p.Played >= atLeast, found: found}, nil
		}})
}

// HavePlayedSound succeeds when what the caller heard was not silence: at
// least atLeast of it (default one frame) was loud. It needs the stream
// recorded (StreamSpec.Record or Options.RecordDir).
func HavePlayedSound(atLeast ...time.Duration) types.GomegaMatcher {
	least := minimum(atLeast, 20*time.Millisecond)
	return newMatcher(&check{name: "HavePlayedSound", want: fmt.Sprintf("have played at least %s of sound (not silence) to the caller", least),
		test: func(s *subject) (verdict, error) {
			rec, err := recording("HavePlayedSound", s)
			if err != nil {
				return verdict{}, err
			}
			heard := rec.HeardSound()
			return verdict{ok: heard >= least, found: fmt.Sprintf("the caller heard %s of sound in %s%s", round(heard), round(audioLength(rec.Heard)), files(rec))}, nil
		}})
}

// HavePlayedTone succeeds when what the caller heard held a tone of hz
// (Goertzel: the power at hz is most of the audio's) for at least atLeast
// (default 100 ms). It needs the stream recorded.
func HavePlayedTone(hz float64, atLeast ...time.Duration) types.GomegaMatcher {
	least := minimum(atLeast, 100*time.Millisecond)
	return newMatcher(&check{name: "HavePlayedTone", want: fmt.Sprintf("have played a %g Hz tone for at least %s", hz, least),
		test: func(s *subject) (verdict, error) {
			rec, err := recording("HavePlayedTone", s)
			if err != nil {
				return verdict{}, err
			}
			d := rec.HeardTone(hz)
			return verdict{ok: d >= least, found: fmt.Sprintf("the caller heard %s of it in %s of audio (%s of sound)%s", round(d), round(audioLength(rec.Heard)), round(rec.HeardSound()), files(rec))}, nil
		}})
}

// Latencies are the response latencies of a stream's turns the app
// answered, in order.
func Latencies(r *emulator.StreamResult) []time.Duration { return r.Latencies() }

func recording(name string, s *subject) (*emulator.Recording, error) {
	if s.result.Recording == nil {
		return nil, errors.New(name + ": " + s.label + " was not recorded: start it with StreamSpec.Record (or set Options.RecordDir) to judge what the caller heard")
	}
	return s.result.Recording, nil
}

func minimum(given []time.Duration, def time.Duration) time.Duration {
	if len(given) > 0 && given[0] > 0 {
		return given[0]
	}
	return def
}

func audioLength(pcmu []byte) time.Duration {
	return time.Duration(len(pcmu)) * time.Second / media.SampleRate
}

func files(r *emulator.Recording) string {
	if r.HeardFile == "" {
		return ""
	}
	return " (recorded in " + r.HeardFile + ")"
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func latencies(turns []emulator.Turn) string {
	var out []string
	for _, t := range turns {
		out = append(out, round(t.Latency).String())
	}
	return strings.Join(out, ", ")
}

// describeTurns lists the turns for a failure message.
func describeTurns(turns []emulator.Turn) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", prose.Plural(len(turns), "turn", "turns"))
	for i, t := range turns {
		fmt.Fprintf(&b, "\n  %d. the caller spoke %s–%s; ", i+1, round(t.SpeechStart), round(t.SpeechEnd))
		if t.Replied {
			fmt.Fprintf(&b, "the app replied after %s and played %s", round(t.Latency), round(t.Played))
			if t.Lag > 0 {
				fmt.Fprintf(&b, " (not counting %s bwemu fell behind)", round(t.Lag))
			}
		} else {
			fmt.Fprintf(&b, "no reply in the %s the caller listened", round(t.Listened))
		}
		if t.BargeIn {
			if t.Stopped {
				fmt.Fprintf(&b, "; it interrupted the app, which stopped %s later", round(t.StoppedAfter))
			} else {
				fmt.Fprintf(&b, "; it interrupted the app, which talked on (%s)", round(t.StoppedAfter))
			}
		}
	}
	return b.String()
}
