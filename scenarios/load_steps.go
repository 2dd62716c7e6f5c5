package scenarios

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// stepKinds lists the step kinds in the order messages name them.
var stepKinds = []string{
	string(StepMedia), string(StepSilence), string(StepSay), string(StepStopStream), string(StepHangup),
	string(StepAbort), string(StepError), string(StepStart), string(StepDuplicateWebhooks),
	string(StepWait), string(StepWaitForEnd),
}

// faults are the network faults abort: injects.
var faults = []string{"reset", "drop"}

// stepExamples show each kind that needs a value in use.
var stepExamples = map[StepKind]string{
	StepMedia:      "media: 2s",
	StepSilence:    "silence: 1s",
	StepSay:        "say: hello.wav",
	StepAbort:      "abort: reset",
	StepStart:      "start: {name: second, tracks: inbound}",
	StepWait:       "wait: 500ms",
	StepWaitForEnd: "waitForEnd: 5s",
}

func (l *loader) steps(f *field) []Step {
	items, _ := l.list(f)
	steps := []Step{}
	for i, it := range items {
		if st, ok := l.step(l.item("steps", i, it)); ok {
			steps = append(steps, st)
		}
	}
	return steps
}

// step reads one step: a bare word (hangup) or a one-key mapping (media: 2s).
func (l *loader) step(f *field) (Step, bool) {
	st := Step{Pos: f.pos}
	switch n := f.node.(type) {
	case *ast.StringNode:
		kind, ok := l.stepKind(f, n.Value, f.pos)
		if !ok {
			return st, false
		}
		st.Kind = kind
		if ex, needsValue := stepExamples[kind]; needsValue {
			l.errorf(f.pos, "%s: %s needs a value, e.g. %s", f.label, kind, ex)
			return st, false
		}
		if kind == StepDuplicateWebhooks {
			st.On = true
		}
		return st, true
	case *ast.MappingNode, *ast.MappingValueNode:
		es, _ := l.entries(n)
		if len(es) == 0 {
			l.errorf(f.pos, "%s: empty step: want one of %s", f.label, strings.Join(stepKinds, ", "))
			return st, false
		}
		if len(es) > 1 {
			keys := make([]string, len(es))
			for i, e := range es {
				keys[i] = e.key
			}
			msg := fmt.Sprintf("%s: a step has exactly one key, got %d (%s)", f.label, len(es), strings.Join(keys, ", "))
			if first := StepKind(es[0].key); contains(stepKinds, es[0].key) && first != StepHangup && first != StepStart && first != StepWait && first != StepWaitForEnd {
				msg += fmt.Sprintf("; options go inside the step, e.g. %s", optionsExample(first))
			} else {
				msg += "; put each step in its own list item"
			}
			l.errorf(es[1].kpos, "%s", msg)
		}
		e := es[0]
		kind, ok := l.stepKind(f, e.key, e.kpos)
		if !ok {
			return st, false
		}
		st.Kind = kind
		v := l.newField(string(kind), e.key, e.kpos, e.value)
		return st, l.stepValue(&st, v) && len(es) == 1
	}
	l.errorf(f.pos, "%s: want a step such as hangup or media: 2s, got %s", f.label, describe(f.node))
	return st, false
}

func optionsExample(k StepKind) string {
	switch k {
	case StepMedia, StepSilence:
		return string(k) + ": {for: 2s, stream: NAME}"
	case StepSay:
		return "say: {file: hello.wav, stream: NAME}"
	case StepStopStream:
		return "stopStream: {name: NAME, wait: true, timeout: 5s}"
	case StepAbort:
		return "abort: {fault: reset, stream: NAME}"
	case StepError:
		return "error: {stream: NAME}"
	}
	return "duplicateWebhooks: true"
}

func (l *loader) stepKind(f *field, word string, p Pos) (StepKind, bool) {
	if contains(stepKinds, word) {
		return StepKind(word), true
	}
	msg := fmt.Sprintf("%s: unknown step %q (want one of %s)", f.label, word, strings.Join(stepKinds, ", "))
	if best := suggest(word, stepKinds); best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	l.errorf(p, "%s", msg)
	return "", false
}

// stepReaders read the value of a one-key step into st, by the step's
// kind; mapping says the value is a mapping (a step's long form).
var stepReaders = map[StepKind]func(l *loader, st *Step, v *field, mapping bool) bool{
	StepMedia:             (*loader).timedStep,
	StepSilence:           (*loader).timedStep,
	StepSay:               (*loader).sayStep,
	StepStopStream:        (*loader).stopStep,
	StepHangup:            (*loader).hangupStep,
	StepAbort:             (*loader).abortStep,
	StepError:             (*loader).errorStep,
	StepStart:             (*loader).startStep,
	StepWait:              (*loader).waitStep,
	StepWaitForEnd:        (*loader).waitStep,
	StepDuplicateWebhooks: (*loader).duplicateStep,
}

// stepValue reads the value of a one-key step into st.
func (l *loader) stepValue(st *Step, v *field) bool {
	read, known := stepReaders[st.Kind]
	return known && read(l, st, v, isMapping(v.node))
}

// isMapping says whether n is a mapping (one of one key, too).
func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// valueOrLong reads a step whose value is one scalar (media: 2s), or in
// the long form a mapping of that scalar under key and the stream the
// step acts on (media: {for: 2s, stream: NAME}); read reads the scalar,
// missing is the message when the long form lacks key.
func (l *loader) valueOrLong(st *Step, v *field, mapping bool, key, missing string, read func(*field) bool) bool {
	if !mapping {
		return read(v)
	}
	o := l.obj(v, string(st.Kind), []string{key, "stream"})
	if o == nil {
		return false
	}
	ok := false
	if f, has := o.get(key); has {
		ok = read(f)
	} else {
		l.missing(o, key, "%s", missing)
	}
	return l.stepStream(st, o, "stream") && ok
}

// timedStep reads media: and silence:.
func (l *loader) timedStep(st *Step, v *field, mapping bool) bool {
	missing := fmt.Sprintf("%s: missing key \"for\" (how long, e.g. %s: {for: 2s, stream: NAME})", st.Kind, st.Kind)
	return l.valueOrLong(st, v, mapping, "for", missing, func(f *field) (ok bool) {
		st.Duration, ok = l.duration(f)
		return ok
	})
}

// sayStep reads say: FILE and say: {file: FILE, stream: NAME}: the clip is
// loaded now, so a missing file or one without speech is a file error.
func (l *loader) sayStep(st *Step, v *field, mapping bool) bool {
	missing := "say: missing key \"file\" (the caller's speech, e.g. say: {file: hello.wav, stream: NAME})"
	return l.valueOrLong(st, v, mapping, "file", missing, func(f *field) (ok bool) {
		st.Audio, st.AudioSource, ok = l.speech(f)
		return ok
	})
}

// abortStep reads abort:.
func (l *loader) abortStep(st *Step, v *field, mapping bool) bool {
	return l.valueOrLong(st, v, mapping, "fault", "abort: missing key \"fault\" (reset or drop)", func(f *field) (ok bool) {
		st.Fault, ok = l.enum(f, faults...)
		return ok
	})
}

// stopStep reads stopStream, stopStream: NAME and stopStream: {name,
// wait, timeout}.
func (l *loader) stopStep(st *Step, v *field, mapping bool) bool {
	switch {
	case isNull(v.node):
		return true
	case !mapping:
		name, ok := l.str(v)
		st.Stream = name
		l.refs[st.Pos] = ref{pos: v.pos, label: v.label}
		return ok
	}
	o := l.obj(v, "stopStream", []string{"name", "wait", "timeout"})
	if o == nil {
		return false
	}
	ok := l.stepStream(st, o, "name")
	if w, has := o.get("wait"); has {
		var good bool
		st.Wait, good = l.boolean(w)
		ok = ok && good
	}
	if t, has := o.get("timeout"); has {
		d, good := l.duration(t)
		st.Timeout = d
		if good && !st.Wait {
			l.errorf(t.kpos, "timeout: only applies with wait: true (how long to wait for the app to close the stream)")
			good = false
		}
		ok = ok && good
	}
	return ok
}

func (l *loader) hangupStep(_ *Step, v *field, _ bool) bool {
	if !isNull(v.node) {
		l.errorf(v.pos, "hangup: takes no value, got %s (write - hangup)", describe(v.node))
		return false
	}
	return true
}

// errorStep reads error and error: {stream: NAME}.
func (l *loader) errorStep(st *Step, v *field, _ bool) bool {
	if isNull(v.node) {
		return true
	}
	o := l.obj(v, "error", []string{"stream"})
	if o == nil {
		return false
	}
	return l.stepStream(st, o, "stream")
}

// startStep reads start: with the new stream's keys.
func (l *loader) startStep(st *Step, v *field, _ bool) bool {
	if isNull(v.node) {
		l.errorf(v.pos, "start: want the new stream's keys, e.g. %s", stepExamples[StepStart])
		return false
	}
	s := l.stream(v, "start")
	if s == nil {
		return false
	}
	st.Start = s
	st.Stream = s.Name
	return true
}

// waitStep reads wait: and waitForEnd:.
func (l *loader) waitStep(st *Step, v *field, _ bool) bool {
	d, ok := l.duration(v) // refuses zero and negative durations itself
	st.Duration = d
	return ok
}

// duplicateStep reads duplicateWebhooks and duplicateWebhooks: BOOL.
func (l *loader) duplicateStep(st *Step, v *field, _ bool) bool {
	if isNull(v.node) {
		st.On = true
		return true
	}
	on, ok := l.boolean(v)
	st.On = on
	return ok
}

// stepStream reads the stream a step acts on from o's key.
func (l *loader) stepStream(st *Step, o *object, key string) bool {
	f, has := o.get(key)
	if !has {
		return true
	}
	name, ok := l.str(f)
	st.Stream = name
	l.refs[st.Pos] = ref{pos: f.pos, label: f.label}
	return ok
}
