package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// merge lays a scenario's own settings over the file's defaults, field by
// field: a non-zero scalar wins, a non-nil *bool, *int or expectation wins,
// stream attributes merge one by one (params and query as a whole: the
// scenario's when it sets them) and streams: is the scenario's when set.
// The result shares no pointers or slices with either input.
func merge(d, s Settings) Settings {
	out := Settings{
		Call: Call{
			From:      cmp.Or(s.Call.From, d.Call.From),
			To:        cmp.Or(s.Call.To, d.Call.To),
			Direction: cmp.Or(s.Call.Direction, d.Call.Direction),
			Tag:       cmp.Or(s.Call.Tag, d.Call.Tag),
		},
		Stream:  mergeStream(d.Stream, s.Stream),
		Pace:    cmp.Or(s.Pace, d.Pace),
		PacePos: d.PacePos,
		Speed:   cmp.Or(s.Speed, d.Speed),
		Timeouts: Timeouts{
			Handshake:      cmp.Or(s.Timeouts.Handshake, d.Timeouts.Handshake),
			Write:          cmp.Or(s.Timeouts.Write, d.Timeouts.Write),
			CloseHandshake: cmp.Or(s.Timeouts.CloseHandshake, d.Timeouts.CloseHandshake),
			Callback:       cmp.Or(s.Timeouts.Callback, d.Timeouts.Callback),
			DeadPeer:       cmp.Or(s.Timeouts.DeadPeer, d.Timeouts.DeadPeer),
		},
		Options: Options{
			DuplicateWebhooks:    clonePtr(orPtr(s.Options.DuplicateWebhooks, d.Options.DuplicateWebhooks)),
			RejectOnConnectError: clonePtr(orPtr(s.Options.RejectOnConnectError, d.Options.RejectOnConnectError)),
			AppCloseAsError:      clonePtr(orPtr(s.Options.AppCloseAsError, d.Options.AppCloseAsError)),
		},
		Expect: mergeExpect(d.Expect, s.Expect),
		Extra:  cloneStreams(orSlice(s.Extra, d.Extra)),
		BXML:   clonePtr(orPtr(s.BXML, d.BXML)),
		Record: cmp.Or(s.Record, d.Record),
	}
	if s.Pace != "" {
		out.PacePos = s.PacePos
	}
	return out
}

func mergeStream(d, s Stream) Stream {
	out := Stream{
		Pos:         cmp.Or(s.Pos, d.Pos),
		Name:        cmp.Or(s.Name, d.Name),
		Mode:        cmp.Or(s.Mode, d.Mode),
		Tracks:      cmp.Or(s.Tracks, d.Tracks),
		Params:      slices.Clone(orSlice(s.Params, d.Params)),
		Destination: cmp.Or(s.Destination, d.Destination),
		Query:       slices.Clone(orSlice(s.Query, d.Query)),
		Audio:       d.Audio,
		AudioSource: d.AudioSource,
	}
	if s.Audio != "" {
		out.Audio, out.AudioSource = s.Audio, s.AudioSource
	}
	return out
}

func mergeExpect(d, s Expect) Expect {
	startedPos := d.StartedPos
	if s.Started != nil {
		startedPos = s.StartedPos
	}
	e := Expect{
		Started:          clonePtr(orPtr(s.Started, d.Started)),
		StartedPos:       startedPos,
		Ending:           clonePtr(orPtr(s.Ending, d.Ending)),
		Stopped:          clonePtr(orPtr(s.Stopped, d.Stopped)),
		Rejected:         clonePtr(orPtr(s.Rejected, d.Rejected)),
		Disconnect:       clonePtr(orPtr(s.Disconnect, d.Disconnect)),
		Webhooks:         clonePtr(orPtr(s.Webhooks, d.Webhooks)),
		Close:            clonePtr(orPtr(s.Close, d.Close)),
		PlayAudio:        clonePtr(orPtr(s.PlayAudio, d.PlayAudio)),
		Violations:       clonePtr(orPtr(s.Violations, d.Violations)),
		AcceptsNewStream: clonePtr(orPtr(s.AcceptsNewStream, d.AcceptsNewStream)),
		API:              clonePtr(orPtr(s.API, d.API)),
		BXMLWarnings:     clonePtr(orPtr(s.BXMLWarnings, d.BXMLWarnings)),
		Reply:            clonePtr(orPtr(s.Reply, d.Reply)),
		BargeIn:          clonePtr(orPtr(s.BargeIn, d.BargeIn)),
		Heard:            clonePtr(orPtr(s.Heard, d.Heard)),
	}
	if e.Close != nil {
		e.Close.Handshake = clonePtr(e.Close.Handshake)
	}
	if e.API != nil {
		e.API.Operations = slices.Clone(e.API.Operations)
	}
	return e
}

func orPtr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func orSlice[S ~[]E, E any](a, b S) S {
	if a != nil {
		return a
	}
	return b
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneStreams(ss []Stream) []Stream {
	if ss == nil {
		return nil
	}
	out := make([]Stream, len(ss))
	for i, s := range ss {
		s.Params = slices.Clone(s.Params)
		s.Query = slices.Clone(s.Query)
		out[i] = s
	}
	return out
}

// checkRefs makes sure every stream a merged scenario's steps and
// expectations name (without bxml:, whose streams the app's BXML names)
// is defined: by stream:, streams: or a start step before the step (for
// expectations: anywhere in the scenario). Problems with expectations
// are gathered in l.problems, since one from the defaults concerns many
// scenarios and is reported once.
func (l *loader) checkRefs(s *Scenario) {
	if s.BXML != nil {
		// The app's BXML names the streams; the runner waits for them.
		return
	}
	d := &definedStreams{modes: map[string]protocol.Mode{}}
	d.add(&s.Stream)
	for i := range s.Extra {
		d.add(&s.Extra[i])
	}
	for _, st := range s.Steps {
		switch {
		case st.Kind == StepStart && st.Start != nil:
			d.add(st.Start)
		case st.Kind != StepStart && st.Stream != "" && !d.has(st.Stream):
			r := l.refs[st.Pos]
			l.errorf(r.pos, "%s: stream %q is not defined before this step (%s)", r.label, st.Stream, d.known())
		}
	}
	l.checkExpectRefs(s, d)
}

// checkExpectRefs checks the streams a scenario's expectations name, and
// that those judging the app's playback (playAudio, reply, bargeIn, heard)
// are about a bidirectional stream.
func (l *loader) checkExpectRefs(s *Scenario, d *definedStreams) {
	e := s.Expect
	type naming struct {
		at     Pos // the expectation's place, which l.refs knows
		stream string
	}
	var named []naming
	if e.Stopped != nil {
		named = append(named, naming{e.Stopped.Pos, e.Stopped.Stream})
	}
	if e.Rejected != nil {
		named = append(named, naming{e.Rejected.Pos, e.Rejected.Stream})
	}
	if e.Close != nil {
		named = append(named, naming{e.Close.Pos, e.Close.Stream})
	}
	if e.Ending != nil {
		named = append(named, naming{e.Ending.Pos, e.Ending.Stream})
	}
	// The app plays back only on a bidirectional stream: these judge
	// what it played.
	type playback struct {
		key string
		naming
	}
	var played []playback
	if e.PlayAudio != nil {
		played = append(played, playback{"playAudio", naming{e.PlayAudio.Pos, e.PlayAudio.Stream}})
	}
	if e.Reply != nil {
		played = append(played, playback{"reply", naming{e.Reply.Pos, e.Reply.Stream}})
	}
	if e.BargeIn != nil {
		played = append(played, playback{"bargeIn", naming{e.BargeIn.Pos, e.BargeIn.Stream}})
	}
	if e.Heard != nil {
		played = append(played, playback{"heard", naming{e.Heard.Pos, e.Heard.Stream}})
	}
	for _, p := range played {
		named = append(named, p.naming)
	}
	for _, n := range named {
		if n.stream != "" && !d.has(n.stream) {
			r := l.refs[n.at]
			l.problem(r.pos, fmt.Sprintf("%s: stream %q is not defined in {S}", r.label, n.stream), s.Name, d.known())
		}
	}
	for _, p := range played {
		mode, found := s.Stream.Mode, true
		which := "the first stream of {S}"
		if p.stream != "" {
			mode, found = d.modes[p.stream]
			which = fmt.Sprintf("stream %q of {S}", p.stream)
		}
		if found && mode != protocol.ModeBidirectional {
			l.problem(p.at, p.key+": "+which+" is unidirectional: only a bidirectional stream carries the app's audio back (set mode: bidirectional)", s.Name, "")
		}
	}
}

// checkTurns refuses a scenario that takes turns with the app (say:
// steps, reply:, bargeIn:) at pace: fast: a turn's timing is media time,
// which only in real time is the time the app takes to answer.
func (l *loader) checkTurns(s *Scenario) {
	if s.Pace != string(emulator.Fast) {
		return
	}
	if what, at := turnTaking(s); what != "" {
		l.problem(s.PacePos, "pace: fast does not suit {S}: say/reply/bargeIn need pace: realtime: turn timing is media time in real time",
			s.Name, fmt.Sprintf("its %s at %d:%d", what, at.Line, at.Col))
	}
}

// turnTaking names the first say: step, or else the reply: or bargeIn:
// expectation, of a scenario, and where it is; "" when it has none.
func turnTaking(s *Scenario) (string, Pos) {
	for _, st := range s.Steps {
		if st.Kind == StepSay {
			return "say:", st.Pos
		}
	}
	switch {
	case s.Expect.Reply != nil:
		return "reply:", s.Expect.Reply.Pos
	case s.Expect.BargeIn != nil:
		return "bargeIn:", s.Expect.BargeIn.Pos
	}
	return "", Pos{}
}

// needsRealtime says whether a scenario's turns must be timed in real
// time, whatever pace the runner was asked for.
func needsRealtime(s *Scenario) bool {
	what, _ := turnTaking(s)
	return what != ""
}

// definedStreams are the streams a scenario has defined so far: their
// modes by name, and the names in order.
type definedStreams struct {
	modes map[string]protocol.Mode
	names []string
}

func (d *definedStreams) add(st *Stream) {
	if st.Name == "" {
		return
	}
	if _, ok := d.modes[st.Name]; !ok {
		d.names = append(d.names, st.Name)
	}
	d.modes[st.Name] = st.Mode
}

func (d *definedStreams) has(name string) bool {
	_, ok := d.modes[name]
	return ok
}

// known lists the streams defined, for messages.
func (d *definedStreams) known() string {
	if len(d.names) == 0 {
		return "no stream has a name yet: name the first with stream: {name: NAME}"
	}
	return "defined: " + strings.Join(d.names, ", ")
}

// problem is a finding about some scenarios' expectations.
type problem struct {
	pos       Pos
	msg       string   // with {S} where the scenarios go
	scenarios []string // the scenarios it concerns
	detail    string   // the first scenario's detail, shown when there is one
}

// problem records that msg applies to scenario at pos.
func (l *loader) problem(pos Pos, msg, scenario, detail string) {
	k := fmt.Sprintf("%d:%d:%s", pos.Line, pos.Col, msg)
	p, ok := l.problems[k]
	if !ok {
		p = &problem{pos: pos, msg: msg, detail: detail}
		l.problems[k] = p
		l.problemOrder = append(l.problemOrder, k)
	}
	p.scenarios = append(p.scenarios, scenario)
}

// reportProblems turns the recorded problems into errors.
func (l *loader) reportProblems() {
	for _, k := range l.problemOrder {
		p := l.problems[k]
		var which string
		if len(p.scenarios) == 1 {
			which = fmt.Sprintf("scenario %q", p.scenarios[0])
		} else {
			quoted := make([]string, 0, 3)
			for _, n := range p.scenarios[:min(3, len(p.scenarios))] {
				quoted = append(quoted, strconv.Quote(n))
			}
			which = "scenarios " + strings.Join(quoted, ", ")
			if more := len(p.scenarios) - len(quoted); more > 0 {
				which += fmt.Sprintf(" and %d more", more)
			}
		}
		msg := strings.Replace(p.msg, "{S}", which, 1)
		if p.detail != "" && len(p.scenarios) == 1 {
			msg += " (" + p.detail + ")"
		}
		l.errorf(p.pos, "%s", msg)
	}
}

// paramsEqual compares parameter lists (nil and empty differ: empty
// overrides the defaults).
func paramsEqual(a, b []protocol.StreamParam) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}
