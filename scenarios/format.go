package scenarios

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/bwemu/bwemu/emulator/protocol"
)

// format writes f back as a scenario file that Parse reads to the same
// model (positions and resolved audio aside). Scenarios are written with
// only what differs from the file's defaults, so merged settings come back
// as they were written; each scenario's steps come before its expect, and
// steps take their shortest form. Comments and the original key order are
// not kept. Paths (ca:, audio files) are written relative to f.Path's
// directory, so the output belongs next to the original.
func format(f *File) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("scenarios: format of a nil File")
	}
	var doc yaml.MapSlice
	if t := formatTarget(f); len(t) > 0 {
		doc = append(doc, yaml.MapItem{Key: "target", Value: yaml.MapSlice(t)})
	}
	if d := formatSettings(f.Defaults, Settings{}); len(d) > 0 {
		doc = append(doc, yaml.MapItem{Key: "defaults", Value: yaml.MapSlice(d)})
	}
	list := make([]any, 0, len(f.Scenarios))
	for _, s := range f.Scenarios {
		if s == nil {
			continue
		}
		m := yaml.MapSlice{{Key: "name", Value: s.Name}}
		settings := formatSettings(s.Settings, f.Defaults)
		var expect any
		if n := len(settings); n > 0 && settings[n-1].Key == "expect" {
			settings, expect = settings[:n-1], settings[n-1].Value
		}
		m = append(m, settings...)
		steps := make([]any, 0, len(s.Steps))
		for i, st := range s.Steps {
			v, err := formatStep(st)
			if err != nil {
				return nil, fmt.Errorf("scenarios: format: scenario %q, steps[%d]: %w", s.Name, i, err)
			}
			steps = append(steps, v)
		}
		m = append(m, yaml.MapItem{Key: "steps", Value: steps})
		if expect != nil {
			m = append(m, yaml.MapItem{Key: "expect", Value: expect})
		}
		list = append(list, m)
	}
	doc = append(doc, yaml.MapItem{Key: "scenarios", Value: list})
	out, err := yaml.MarshalWithOptions(doc, yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("scenarios: format: %w", err)
	}
	return out, nil
}

// mapSlice builds a mapping from key/value pairs, leaving out zero values.
type mapSlice yaml.MapSlice

func (m *mapSlice) add(key string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case time.Duration:
		if x == 0 {
			return
		}
		v = x.String()
	case float64:
		if x == 0 {
			return
		}
	case int:
		if x == 0 {
			return
		}
	case *bool:
		if x == nil {
			return
		}
		v = *x
	case *int:
		if x == nil {
			return
		}
		v = *x
	case mapSlice:
		if len(x) == 0 {
			return
		}
		v = yaml.MapSlice(x)
	}
	*m = append(*m, yaml.MapItem{Key: key, Value: v})
}

func formatTarget(f *File) mapSlice {
	t := f.Target
	var m mapSlice
	m.add("websocket", t.WebSocket)
	m.add("events", t.Events)
	m.add("eventMethod", t.EventMethod)
	m.add("disconnect", t.Disconnect)
	m.add("disconnectMethod", t.DisconnectMethod)
	m.add("wsUser", t.WSUser)
	m.add("wsPassword", t.WSPassword)
	m.add("eventUser", t.EventUser)
	m.add("eventPassword", t.EventPassword)
	m.add("ca", relativeTo(f.Path, t.CA))
	m.add("api", t.API)
	m.add("apiUsername", t.APIUsername)
	m.add("apiPassword", t.APIPassword)
	m.add("apiClientId", t.APIClientID)
	m.add("apiClientSecret", t.APIClientSecret)
	return m
}

// relativeTo writes p (resolved at load time) relative to the directory of
// the file at path, as it would have been written there.
func relativeTo(path, p string) string {
	if p == "" || !filepath.IsAbs(p) || path == "" {
		return p
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(dir, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

// formatSettings writes the settings in s that differ from base.
func formatSettings(s, base Settings) mapSlice {
	var m mapSlice
	var call mapSlice
	call.add("from", differ(s.Call.From, base.Call.From))
	call.add("to", differ(s.Call.To, base.Call.To))
	call.add("direction", differ(s.Call.Direction, base.Call.Direction))
	call.add("tag", differ(s.Call.Tag, base.Call.Tag))
	m.add("call", call)
	m.add("stream", formatStream(s.Stream, base.Stream))
	if s.Extra != nil && !streamsEqual(s.Extra, base.Extra) {
		list := make([]any, len(s.Extra))
		for i, st := range s.Extra {
			list[i] = emptyAsMap(formatStream(st, Stream{}))
		}
		m = append(m, yaml.MapItem{Key: "streams", Value: list})
	}
	m.add("pace", differ(s.Pace, base.Pace))
	m.add("speed", differ(s.Speed, base.Speed))
	var t mapSlice
	t.add("handshake", differ(s.Timeouts.Handshake, base.Timeouts.Handshake))
	t.add("write", differ(s.Timeouts.Write, base.Timeouts.Write))
	t.add("closeHandshake", differ(s.Timeouts.CloseHandshake, base.Timeouts.CloseHandshake))
	t.add("callback", differ(s.Timeouts.Callback, base.Timeouts.Callback))
	t.add("deadPeer", differ(s.Timeouts.DeadPeer, base.Timeouts.DeadPeer))
	m.add("timeouts", t)
	m.add("duplicateWebhooks", differPtr(s.Options.DuplicateWebhooks, base.Options.DuplicateWebhooks))
	m.add("rejectOnConnectError", differPtr(s.Options.RejectOnConnectError, base.Options.RejectOnConnectError))
	m.add("appCloseAsError", differPtr(s.Options.AppCloseAsError, base.Options.AppCloseAsError))
	if b := s.BXML; b != nil && !samePart(b, base.BXML) {
		var bm mapSlice
		bm.add("url", b.URL)
		bm.add("method", b.Method)
		bm.add("event", b.Event)
		bm.add("username", b.Username)
		bm.add("password", b.Password)
		m = append(m, yaml.MapItem{Key: "bxml", Value: emptyAsMap(bm)})
	}
	m.add("record", differ(s.Record, base.Record))
	m.add("expect", formatExpect(s.Expect, base.Expect))
	return m
}

// differ is v when it differs from base, else the zero value.
func differ[T comparable](v, base T) T {
	var zero T
	if v == base {
		return zero
	}
	return v
}

func differPtr[T comparable](v, base *T) *T {
	if v == nil || (base != nil && *v == *base) {
		return nil
	}
	return v
}

// formatStream writes the attributes of s that differ from base.
func formatStream(s, base Stream) mapSlice {
	var m mapSlice
	m.add("name", differ(s.Name, base.Name))
	m.add("mode", string(differ(s.Mode, base.Mode)))
	m.add("tracks", differ(s.Tracks, base.Tracks))
	if s.Params != nil && !paramsEqual(s.Params, base.Params) {
		m = append(m, yaml.MapItem{Key: "params", Value: formatParams(s.Params)})
	}
	m.add("destination", differ(s.Destination, base.Destination))
	if s.Query != nil && !paramsEqual(s.Query, base.Query) {
		m = append(m, yaml.MapItem{Key: "query", Value: formatParams(s.Query)})
	}
	m.add("audio", differ(s.Audio, base.Audio))
	return m
}

func formatParams(ps []protocol.StreamParam) yaml.MapSlice {
	m := yaml.MapSlice{}
	for _, p := range ps {
		m = append(m, yaml.MapItem{Key: p.Name, Value: p.Value})
	}
	return m
}

// emptyAsMap keeps an empty mapping a mapping ({}), where leaving it out
// would change the meaning.
func emptyAsMap(m mapSlice) yaml.MapSlice {
	if m == nil {
		return yaml.MapSlice{}
	}
	return yaml.MapSlice(m)
}

// streamsEqual compares stream lists, ignoring positions and resolved audio.
func streamsEqual(a, b []Stream) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Pos, y.Pos, x.AudioSource, y.AudioSource = Pos{}, Pos{}, nil, nil
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// samePart reports whether two expectation parts are equal apart from
// their positions.
func samePart[T any](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	clearPos(&x)
	clearPos(&y)
	return reflect.DeepEqual(x, y)
}

func clearPos(v any) {
	if f := reflect.ValueOf(v).Elem(); f.Kind() == reflect.Struct {
		if p := f.FieldByName("Pos"); p.IsValid() && p.CanSet() {
			p.Set(reflect.Zero(p.Type()))
		}
	}
}

// formatExpect writes the expectations in e that differ from base, in
// the order of expectKeys.
func formatExpect(e, base Expect) mapSlice {
	var m mapSlice
	changed(&m, "started", e.Started, base.Started)
	if x := e.Ending; x != nil && !samePart(x, base.Ending) {
		if x.Stream == "" {
			m.add("ending", string(x.Is))
		} else {
			m = append(m, yaml.MapItem{Key: "ending", Value: yaml.MapSlice{{Key: "stream", Value: x.Stream}, {Key: "is", Value: string(x.Is)}}})
		}
	}
	part(&m, "stopped", e.Stopped, base.Stopped, formatEnding)
	part(&m, "rejected", e.Rejected, base.Rejected, formatEnding)
	part(&m, "disconnect", e.Disconnect, base.Disconnect, func(p *mapSlice, x *DisconnectExpect) { p.add("cause", x.Cause) })
	part(&m, "webhooks", e.Webhooks, base.Webhooks, func(p *mapSlice, x *WebhooksExpect) {
		if n, err := strconv.Atoi(x.Status); err == nil {
			p.add("status", n) // 204 as the number it is written as
		} else {
			p.add("status", x.Status)
		}
		p.add("within", x.Within)
	})
	part(&m, "close", e.Close, base.Close, func(p *mapSlice, x *CloseExpect) {
		p.add("stream", x.Stream)
		p.add("by", string(x.By))
		p.add("code", x.Code)
		p.add("handshake", x.Handshake)
	})
	part(&m, "playAudio", e.PlayAudio, base.PlayAudio, func(p *mapSlice, x *PlayAudioExpect) {
		p.add("stream", x.Stream)
		p.add("min", x.Min)
		p.add("within", x.Within)
	})
	part(&m, "reply", e.Reply, base.Reply, func(p *mapSlice, x *ReplyExpect) {
		p.add("stream", x.Stream)
		p.add("within", x.Within)
		p.add("min", x.Min)
	})
	part(&m, "bargeIn", e.BargeIn, base.BargeIn, func(p *mapSlice, x *BargeInExpect) {
		p.add("stream", x.Stream)
		p.add("within", x.Within)
	})
	part(&m, "heard", e.Heard, base.Heard, func(p *mapSlice, x *HeardExpect) {
		p.add("stream", x.Stream)
		p.add("tone", x.Tone)
		p.add("atLeast", x.AtLeast)
	})
	changed(&m, "violations", e.Violations, base.Violations)
	changed(&m, "acceptsNewStream", e.AcceptsNewStream, base.AcceptsNewStream)
	if x := e.API; x != nil && !samePart(x, base.API) {
		m = append(m, yaml.MapItem{Key: "api", Value: append([]string{}, x.Operations...)})
	}
	changed(&m, "bxmlWarnings", e.BXMLWarnings, base.BXMLWarnings)
	return m
}

// changed adds key with the value x points to, when it is set and
// differs from base.
func changed[T any](m *mapSlice, key string, x, base *T) {
	if x != nil && !samePart(x, base) {
		m.add(key, x)
	}
}

// part adds key with the mapping fill writes of x, when x is set and
// differs from base.
func part[T any](m *mapSlice, key string, x, base *T, fill func(*mapSlice, *T)) {
	if x == nil || samePart(x, base) {
		return
	}
	var p mapSlice
	fill(&p, x)
	*m = append(*m, yaml.MapItem{Key: key, Value: emptyAsMap(p)})
}

func formatEnding(p *mapSlice, x *EndingExpect) {
	p.add("stream", x.Stream)
	p.add("cause", x.Cause)
	p.add("errorMessage", x.ErrorMessage)
}

// formatStep writes a step in its shortest form.
func formatStep(st Step) (any, error) {
	one := func(v any) yaml.MapSlice { return yaml.MapSlice{{Key: string(st.Kind), Value: v}} }
	switch st.Kind {
	case StepMedia, StepSilence:
		if st.Stream == "" {
			return one(st.Duration.String()), nil
		}
		return one(yaml.MapSlice{{Key: "for", Value: st.Duration.String()}, {Key: "stream", Value: st.Stream}}), nil
	case StepSay:
		if st.Stream == "" {
			return one(st.Audio), nil
		}
		return one(yaml.MapSlice{{Key: "file", Value: st.Audio}, {Key: "stream", Value: st.Stream}}), nil
	case StepStopStream:
		if !st.Wait && st.Timeout == 0 {
			if st.Stream == "" {
				return string(st.Kind), nil
			}
			return one(st.Stream), nil
		}
		var m mapSlice
		m.add("name", st.Stream)
		m.add("wait", st.Wait)
		m.add("timeout", st.Timeout)
		return one(yaml.MapSlice(m)), nil
	case StepHangup:
		return string(st.Kind), nil
	case StepAbort:
		if st.Stream == "" {
			return one(st.Fault), nil
		}
		return one(yaml.MapSlice{{Key: "fault", Value: st.Fault}, {Key: "stream", Value: st.Stream}}), nil
	case StepError:
		if st.Stream == "" {
			return string(st.Kind), nil
		}
		return one(yaml.MapSlice{{Key: "stream", Value: st.Stream}}), nil
	case StepStart:
		if st.Start == nil {
			return nil, fmt.Errorf("start step without a stream")
		}
		return one(emptyAsMap(formatStream(*st.Start, Stream{}))), nil
	case StepWait, StepWaitForEnd:
		return one(st.Duration.String()), nil
	case StepDuplicateWebhooks:
		if st.On {
			return string(st.Kind), nil
		}
		return one(false), nil
	}
	return nil, fmt.Errorf("unknown step kind %q", st.Kind)
}
