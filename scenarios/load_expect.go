package scenarios

import (
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/media"
)

var (
	expectKeys = []string{"started", "ending", "stopped", "rejected", "disconnect", "webhooks", "close", "playAudio", "reply", "bargeIn", "heard", "violations", "acceptsNewStream", "api", "bxmlWarnings"}

	// apiOperations are the Voice API operations on one call that
	// expect.api may name, as the journal names them.
	apiOperations = []string{"getCallState", "updateCall", "updateCallBxml"}
)

// replaceBxml is accepted in expect.api for updateCallBxml (PUT
// …/calls/{callId}/bxml, "replace BXML" in Bandwidth's guides).
const replaceBxml = "replaceBxml"

var (

	// stoppedCauses are mediaStreamStopped's causes (PROTOCOL §5).
	stoppedCauses = []string{"closed", "connection-error", "error"}
	// rejectedCauses are mediaStreamRejected's causes (PROTOCOL §5).
	rejectedCauses = []string{"connection-error", "duplicate", "error", "track-limit"}
	// disconnectCauses are the disconnect webhook's causes (PROTOCOL §6).
	disconnectCauses = []string{"hangup", "busy", "timeout", "cancel", "rejected", "callback-error", "invalid-bxml",
		"application-error", "account-limit", "node-capacity-exceeded", "error", "unknown"}
	// closedBy are who may close a stream's socket.
	closedBy = []string{string(emulator.ByEmulator), string(emulator.ByApp), string(emulator.ByNetwork)}
	// webhookStatuses are the accepted webhooks.status policies.
	webhookStatuses = []string{"204", "2xx"}
	// endingNames are the endings expect.ending may name: the rows of
	// emulator.Terminations, in its order.
	endingNames = func() []string {
		table := emulator.Terminations()
		out := make([]string, len(table))
		for i, t := range table {
			out[i] = string(t.Ending)
		}
		return out
	}()
)

// The range of close codes an expectation may name (RFC 6455 §7.4).
const (
	minCloseCode = 1000
	maxCloseCode = 4999
)

func (l *loader) expect(f *field) Expect {
	var e Expect
	l.obj(f, "expect", expectKeys).read(map[string]func(*field){
		"started":          func(v *field) { e.Started, e.StartedPos = l.optBool(v), v.kpos },
		"ending":           func(v *field) { e.Ending = l.endingIs(v) },
		"stopped":          func(v *field) { e.Stopped = l.ending(v, stoppedCauses) },
		"rejected":         func(v *field) { e.Rejected = l.ending(v, rejectedCauses) },
		"disconnect":       func(v *field) { e.Disconnect = l.disconnectExpect(v) },
		"webhooks":         func(v *field) { e.Webhooks = l.webhooksExpect(v) },
		"close":            func(v *field) { e.Close = l.closeExpect(v) },
		"playAudio":        func(v *field) { e.PlayAudio = l.playAudioExpect(v) },
		"reply":            func(v *field) { e.Reply = l.replyExpect(v) },
		"bargeIn":          func(v *field) { e.BargeIn = l.bargeInExpect(v) },
		"heard":            func(v *field) { e.Heard = l.heardExpect(v) },
		"violations":       func(v *field) { e.Violations = l.allowance(v, "protocol violations", "usually 0") },
		"acceptsNewStream": func(v *field) { e.AcceptsNewStream = l.optBool(v) },
		"api":              func(v *field) { e.API = l.apiExpect(v) },
		"bxmlWarnings":     func(v *field) { e.BXMLWarnings = l.allowance(v, "BXML warnings", "e.g. 0") },
	})
	return e
}

// allowance reads how many of what a scenario allows (violations:,
// bxmlWarnings:): 0 or more.
func (l *loader) allowance(f *field, what, example string) *int {
	n, ok := checked(l, f, l.integer, func(n int) bool { return n >= 0 }, func(n int) string {
		return fmt.Sprintf("%s: %d is negative (want how many %s are allowed, %s)", f.label, n, what, example)
	})
	if !ok {
		return nil
	}
	return &n
}

func (l *loader) disconnectExpect(f *field) *DisconnectExpect {
	o := l.obj(f, "disconnect", []string{"cause"})
	if o == nil {
		return nil
	}
	d := &DisconnectExpect{Pos: o.pos}
	o.read(map[string]func(*field){"cause": into(&d.Cause, l.oneOf(disconnectCauses))})
	return d
}

func (l *loader) webhooksExpect(f *field) *WebhooksExpect {
	o := l.obj(f, "webhooks", []string{"status", "within"})
	if o == nil {
		return nil
	}
	w := &WebhooksExpect{Pos: o.pos}
	o.read(map[string]func(*field){
		"status": func(v *field) { w.Status = l.status(v) },
		"within": into(&w.Within, l.duration),
	})
	return w
}

func (l *loader) closeExpect(f *field) *CloseExpect {
	o := l.obj(f, "close", []string{"stream", "by", "code", "handshake"})
	if o == nil {
		return nil
	}
	c := &CloseExpect{Pos: o.pos, Stream: l.expectStream(o)}
	o.read(map[string]func(*field){
		"by": into(&c.By, oneOfAs[emulator.Actor](l, closedBy)),
		"code": into(&c.Code, func(v *field) (int, bool) {
			return checked(l, v, l.integer, func(n int) bool { return n >= minCloseCode && n <= maxCloseCode }, func(n int) string {
				return fmt.Sprintf("code: %d is not a WebSocket close code (want %d to %d, e.g. 1000)", n, minCloseCode, maxCloseCode)
			})
		}),
		"handshake": func(v *field) { c.Handshake = l.optBool(v) },
	})
	return c
}

func (l *loader) playAudioExpect(f *field) *PlayAudioExpect {
	o := l.obj(f, "playAudio", []string{"stream", "min", "within"})
	if o == nil {
		return nil
	}
	p := &PlayAudioExpect{Pos: o.pos, Stream: l.expectStream(o)}
	o.read(map[string]func(*field){
		"min": into(&p.Min, func(v *field) (int, bool) {
			return checked(l, v, l.integer, func(n int) bool { return n >= 1 }, func(n int) string {
				return fmt.Sprintf("min: %d is below 1 (want how many playAudio messages the app must send at least)", n)
			})
		}),
		"within": into(&p.Within, l.duration),
	})
	return p
}

// replyExpect reads reply: {stream, within, min}; within is required.
func (l *loader) replyExpect(f *field) *ReplyExpect {
	o := l.obj(f, "reply", []string{"stream", "within", "min"})
	if o == nil {
		return nil
	}
	r := &ReplyExpect{Pos: o.pos, Stream: l.expectStream(o)}
	l.require(o, "within", "reply: missing key \"within\" (how soon the app must start answering each turn, e.g. reply: {within: 1s})")
	o.read(map[string]func(*field){
		"within": into(&r.Within, l.duration),
		"min":    into(&r.Min, l.duration),
	})
	return r
}

// bargeInExpect reads bargeIn: {stream, within}; within is required.
func (l *loader) bargeInExpect(f *field) *BargeInExpect {
	o := l.obj(f, "bargeIn", []string{"stream", "within"})
	if o == nil {
		return nil
	}
	b := &BargeInExpect{Pos: o.pos, Stream: l.expectStream(o)}
	l.require(o, "within", "bargeIn: missing key \"within\" (how soon the app must fall silent once the caller interrupts it, e.g. bargeIn: {within: 500ms})")
	o.read(map[string]func(*field){"within": into(&b.Within, l.duration)})
	return b
}

// heardExpect reads heard: {stream, tone, atLeast}.
func (l *loader) heardExpect(f *field) *HeardExpect {
	o := l.obj(f, "heard", []string{"stream", "tone", "atLeast"})
	if o == nil {
		return nil
	}
	h := &HeardExpect{Pos: o.pos, Stream: l.expectStream(o)}
	o.read(map[string]func(*field){
		"tone": into(&h.Tone, func(v *field) (float64, bool) {
			return checked(l, v, l.number, func(hz float64) bool { return hz > 0 && hz < media.SampleRate/2 }, func(float64) string {
				return fmt.Sprintf("tone: %s Hz is out of range (want a frequency above 0 and below %d Hz, half the 8 kHz sample rate, e.g. 440)", v.node.GetToken().Value, media.SampleRate/2)
			})
		}),
		"atLeast": into(&h.AtLeast, l.duration),
	})
	return h
}

// apiExpect reads api:, the Voice API operations the app must make.
func (l *loader) apiExpect(f *field) *APIExpect {
	items, ok := l.list(f)
	if !ok {
		return nil
	}
	a := &APIExpect{Pos: f.pos, Operations: []string{}}
	for i, it := range items {
		item := l.item("api", i, it)
		if name, isStr := item.node.(*ast.StringNode); isStr && name.Value == replaceBxml {
			a.Operations = append(a.Operations, "updateCallBxml")
			continue
		}
		if op, ok := l.enum(item, apiOperations...); ok {
			a.Operations = append(a.Operations, op)
		}
	}
	if len(items) == 0 {
		l.errorf(f.pos, "api: want at least one operation, e.g. [updateCall]")
	}
	return a
}

// endingIs reads ending: NAME (the first stream) or ending: {stream: S,
// is: NAME}.
func (l *loader) endingIs(f *field) *EndingIs {
	if _, isMap := l.entries(f.node); !isMap && !isNull(f.node) {
		name, ok := l.enum(f, endingNames...)
		if !ok {
			return nil
		}
		return &EndingIs{Pos: f.pos, Is: emulator.Ending(name)}
	}
	o := l.obj(f, "ending", []string{"stream", "is"})
	if o == nil {
		return nil
	}
	e := &EndingIs{Pos: o.pos}
	e.Stream = l.expectStream(o)
	v, ok := o.get("is")
	if !ok {
		l.missing(o, "is", "ending: missing key \"is\" (the ending the stream must have, e.g. connect-refused)")
		return nil
	}
	name, ok := l.enum(v, endingNames...)
	if !ok {
		return nil
	}
	e.Is = emulator.Ending(name)
	return e
}

// ending reads a stopped: or rejected: expectation.
func (l *loader) ending(f *field, causes []string) *EndingExpect {
	o := l.obj(f, f.key, []string{"stream", "cause", "errorMessage"})
	if o == nil {
		return nil
	}
	e := &EndingExpect{Pos: o.pos, Stream: l.expectStream(o)}
	o.read(map[string]func(*field){
		"cause":        into(&e.Cause, l.oneOf(causes)),
		"errorMessage": into(&e.ErrorMessage, l.text),
	})
	return e
}

// expectStream reads the stream an expectation is about.
func (l *loader) expectStream(o *object) string {
	f, ok := o.get("stream")
	if !ok {
		return ""
	}
	name, _ := l.str(f)
	l.refs[o.pos] = ref{pos: f.pos, label: f.label}
	return name
}

// status reads webhooks.status: 204 (as a number or a string) or "2xx".
func (l *loader) status(f *field) string {
	if n, ok := f.node.(*ast.IntegerNode); ok {
		s := n.GetToken().Value
		if s == "204" {
			return s
		}
		l.errorf(f.pos, "status: %s is not one of 204, 2xx (204: exactly 204, as Bandwidth asks; 2xx: any success)", s)
		return ""
	}
	s, ok := l.str(f)
	if !ok {
		return ""
	}
	if contains(webhookStatuses, s) {
		return s
	}
	l.errorf(f.pos, "status: %s is not one of 204, 2xx (204: exactly 204, as Bandwidth asks; 2xx: any success)", strconv.Quote(s))
	return ""
}
