package scenarios

import (
	"strconv"

	"github.com/goccy/go-yaml/ast"

	"github.com/bwemu/bwemu/emulator"
)

var (
	expectKeys = []string{"started", "ending", "stopped", "rejected", "disconnect", "webhooks", "close", "playAudio", "violations", "acceptsNewStream", "api", "bxmlWarnings"}

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
	closedBy = []string{"emulator", "app", "network"}
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
	o := l.obj(f, "expect", expectKeys)
	if o == nil {
		return e
	}
	e.Started = l.boolPtr(o, "started")
	if v, ok := o.get("started"); ok {
		e.StartedPos = v.kpos
	}
	e.AcceptsNewStream = l.boolPtr(o, "acceptsNewStream")
	if v, ok := o.get("ending"); ok {
		e.Ending = l.endingIs(v)
	}
	if v, ok := o.get("stopped"); ok {
		e.Stopped = l.ending(v, stoppedCauses)
	}
	if v, ok := o.get("rejected"); ok {
		e.Rejected = l.ending(v, rejectedCauses)
	}
	if v, ok := o.get("disconnect"); ok {
		if po := l.obj(v, "disconnect", []string{"cause"}); po != nil {
			e.Disconnect = &DisconnectExpect{Pos: po.pos}
			if c, ok := po.get("cause"); ok {
				e.Disconnect.Cause, _ = l.enum(c, disconnectCauses...)
			}
		}
	}
	if v, ok := o.get("webhooks"); ok {
		if po := l.obj(v, "webhooks", []string{"status", "within"}); po != nil {
			e.Webhooks = &WebhooksExpect{Pos: po.pos}
			if s, ok := po.get("status"); ok {
				e.Webhooks.Status = l.status(s)
			}
			if w, ok := po.get("within"); ok {
				e.Webhooks.Within, _ = l.duration(w)
			}
		}
	}
	if v, ok := o.get("close"); ok {
		if po := l.obj(v, "close", []string{"stream", "by", "code", "handshake"}); po != nil {
			c := &CloseExpect{Pos: po.pos}
			c.Stream = l.expectStream(po)
			if b, ok := po.get("by"); ok {
				c.By, _ = l.enum(b, closedBy...)
			}
			if cf, ok := po.get("code"); ok {
				if code, ok := l.integer(cf); ok {
					if code < minCloseCode || code > maxCloseCode {
						l.errorf(cf.pos, "code: %d is not a WebSocket close code (want %d to %d, e.g. 1000)", code, minCloseCode, maxCloseCode)
					} else {
						c.Code = code
					}
				}
			}
			c.Handshake = l.boolPtr(po, "handshake")
			e.Close = c
		}
	}
	if v, ok := o.get("playAudio"); ok {
		if po := l.obj(v, "playAudio", []string{"stream", "min", "within"}); po != nil {
			p := &PlayAudioExpect{Pos: po.pos}
			p.Stream = l.expectStream(po)
			if m, ok := po.get("min"); ok {
				if n, ok := l.integer(m); ok {
					if n < 1 {
						l.errorf(m.pos, "min: %d is below 1 (want how many playAudio messages the app must send at least)", n)
					} else {
						p.Min = n
					}
				}
			}
			if w, ok := po.get("within"); ok {
				p.Within, _ = l.duration(w)
			}
			e.PlayAudio = p
		}
	}
	if v, ok := o.get("violations"); ok {
		if n, ok := l.integer(v); ok {
			if n < 0 {
				l.errorf(v.pos, "violations: %d is negative (want how many protocol violations are allowed, usually 0)", n)
			} else {
				e.Violations = &n
			}
		}
	}
	if v, ok := o.get("api"); ok {
		if items, ok := l.list(v); ok {
			a := &APIExpect{Pos: v.pos, Operations: []string{}}
			for i, it := range items {
				f := l.item("api", i, it)
				if name, isStr := f.node.(*ast.StringNode); isStr && name.Value == replaceBxml {
					a.Operations = append(a.Operations, "updateCallBxml")
					continue
				}
				if op, ok := l.enum(f, apiOperations...); ok {
					a.Operations = append(a.Operations, op)
				}
			}
			if len(items) == 0 {
				l.errorf(v.pos, "api: want at least one operation, e.g. [updateCall]")
			}
			e.API = a
		}
	}
	if v, ok := o.get("bxmlWarnings"); ok {
		if n, ok := l.integer(v); ok {
			if n < 0 {
				l.errorf(v.pos, "bxmlWarnings: %d is negative (want how many BXML warnings are allowed, e.g. 0)", n)
			} else {
				e.BXMLWarnings = &n
			}
		}
	}
	return e
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
	e := &EndingExpect{Pos: o.pos}
	e.Stream = l.expectStream(o)
	if c, ok := o.get("cause"); ok {
		e.Cause, _ = l.enum(c, causes...)
	}
	if m, ok := o.get("errorMessage"); ok {
		e.ErrorMessage, _ = l.text(m)
	}
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
