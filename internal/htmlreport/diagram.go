package htmlreport

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
)

// The diagram's layout, in SVG user units (pixels at full size). The two
// lifelines leave room on the left for the time and the stream of each
// row; labels are cut to what fits between them (the whole message is the
// row's tooltip and in the journal table).
const (
	diagramWidth = 980
	laneEmulator = 250
	laneApp      = 930
	atX          = 6
	tagX         = 70
	headerHeight = 46
	footerHeight = 14
	arrowHeight  = 28
	detailHeight = 13
	noteHeight   = 28
	gapHeight    = 26
	failLine     = 15
	labelChars   = 100
	detailChars  = 115
	failChars    = 138
	tagChars     = 22
	// failMessageLines is how much of a failure's headline its box shows;
	// the whole message is in the case's findings above the diagram.
	failMessageLines = 3
	// maxRows bounds a diagram: past it the middle of the call is left
	// out (the journal table and file hold it), keeping the start, the
	// end and every row a failure is about.
	maxRows  = 160
	headRows = 100
	tailRows = 50
)

// diagram is one call of a case, drawn as a sequence diagram.
type diagram struct {
	CallID  string
	Entries int
	Width   int
	Height  int
	Rows    []*row
	Spans   []span
	// Lane positions, for the template.
	LaneE, LaneA int
}

// LifeTop and LifeBottom are where the lifelines run: from under the
// lane headers to the bottom.
func (d *diagram) LifeTop() int    { return headerHeight - 8 }
func (d *diagram) LifeBottom() int { return d.Height - 4 }

// row is one line of a diagram: an arrow between the lanes, a note across
// them, a failed expectation, or a gap where rows were left out.
type row struct {
	Kind   string // arrow, note, failure, gap
	Class  string // ok, bad, warn, fault, muted, media (the look)
	Y, H   int
	At     string // the time, after the call's first entry
	Tag    string // the stream's name
	Color  int    // the stream's colour
	X1, X2 int    // an arrow from X1 to X2; a note's box
	Dashed bool   // an answer
	Label  string
	Detail string
	// Title is the row's tooltip: the whole journal message.
	Title string
	// Anchor marks the row a failure below is about.
	Anchor bool
	// Expectation and Lines are a failure's.
	Expectation string
	Lines       []textLine

	ev     int           // the event drawn, -1 for none
	stream string        // the stream's id
	kind   emulator.Kind // the entry's kind and eventType
	wire   string
}

type textLine struct {
	Y     int
	Text  string
	Class string
}

// span is a stream's media: the bar on the emulator's lifeline from the
// first media frame to the stream's end.
type span struct{ Y, H, Color int }

// TextY is the baseline of the row's first line of text.
func (r *row) TextY() int { return r.Y + 14 }

// LineY is the height of an arrow's line.
func (r *row) LineY() int { return r.Y + 20 }

// DetailY is the baseline of an arrow's detail, under its line.
func (r *row) DetailY() int { return r.Y + 33 }

// Mid is the middle of the row's arrow or box, where its label is centred.
func (r *row) Mid() int { return (r.X1 + r.X2) / 2 }

// Head is the arrow's head, a triangle at X2.
func (r *row) Head() string {
	y, dir := r.LineY(), 1
	if r.X2 < r.X1 {
		dir = -1
	}
	return fmt.Sprintf("%d,%d %d,%d %d,%d", r.X2, y, r.X2-dir*9, y-4, r.X2-dir*9, y+4)
}

// BoxX and BoxW are a note's or failure's box.
func (r *row) BoxX() int { return min(r.X1, r.X2) }
func (r *row) BoxW() int { return max(r.X1, r.X2) - min(r.X1, r.X2) }
func (r *row) BoxY() int { return r.Y + 3 }
func (r *row) BoxH() int { return r.H - 6 }

// event is what a row draws: a journal entry, or one half of one (a
// webhook's request and its answer are two events, at the time each
// happened), or a run of like entries (frames) drawn once.
type event struct {
	e      emulator.Entry
	at     time.Time
	answer bool // the second half: the app's answer
	n      int  // the entries it stands for
	tracks []string
}

// streamInfo is what a diagram knows of a stream.
type streamInfo struct {
	id, name string
	color    int
	result   *emulator.StreamResult
	totals   []string // the media totals (KindMedia), in words
}

// callEvents are the events of one call of a case.
type callEvents struct {
	callID  string
	entries int
	events  []event
	t0      time.Time
}

// buildDiagrams draws each call of the case's journal, with each finding
// after the event it is about.
func buildDiagrams(c Case) []*diagram {
	if len(c.Journal) == 0 {
		return nil
	}
	streams := map[string]*streamInfo{}
	results := map[string]*emulator.StreamResult{}
	for _, s := range c.Streams {
		results[s.ID] = s.Result
	}
	var calls []*callEvents
	for _, g := range groupByCall(c.Journal) {
		calls = append(calls, newCallEvents(g, streams, results))
	}
	placed := make([]map[int][]Finding, len(calls))
	for i := range placed {
		placed[i] = map[int][]Finding{}
	}
	var loose []Finding // found no event to go with: the end of the last call
	for _, f := range c.Findings {
		ci, ei := anchor(f, calls, streams)
		if ci < 0 {
			loose = append(loose, f)
			continue
		}
		if f.StreamID == "" { // the box names the stream of the event it is drawn by
			f.StreamID = calls[ci].events[ei].e.StreamID
		}
		placed[ci][ei] = append(placed[ci][ei], f)
	}
	var out []*diagram
	for i, ce := range calls {
		var tail []Finding
		if i == len(calls)-1 {
			tail = loose
		}
		out = append(out, layout(ce, streams, placed[i], tail))
	}
	return out
}

// groupByCall splits entries by call, in the order the calls first
// appear. An entry without a call goes with its stream's call, or with
// the only call there is; otherwise into a group of its own.
func groupByCall(entries []emulator.Entry) [][]emulator.Entry {
	streamCall := map[string]string{}
	var order []string
	seen := map[string]bool{}
	for _, e := range entries {
		if e.CallID == "" {
			continue
		}
		if e.StreamID != "" {
			streamCall[e.StreamID] = e.CallID
		}
		if !seen[e.CallID] {
			seen[e.CallID] = true
			order = append(order, e.CallID)
		}
	}
	byCall := map[string][]emulator.Entry{}
	for _, e := range entries {
		id := e.CallID
		switch {
		case id != "":
		case streamCall[e.StreamID] != "":
			id = streamCall[e.StreamID]
		case len(order) == 1:
			id = order[0]
		}
		byCall[id] = append(byCall[id], e)
	}
	var out [][]emulator.Entry
	for _, id := range order {
		out = append(out, byCall[id])
	}
	if rest := byCall[""]; len(rest) > 0 {
		out = append(out, rest)
	}
	return out
}

// newCallEvents orders a call's entries by when each thing happened: a
// webhook or handshake is journaled once answered, with its latency, so
// its request is put back where it was sent. Runs of frames of one kind
// become one event.
func newCallEvents(entries []emulator.Entry, streams map[string]*streamInfo, results map[string]*emulator.StreamResult) *callEvents {
	ce := &callEvents{callID: entries[0].CallID, entries: len(entries)}
	var evs []event
	for _, e := range entries {
		if e.StreamID != "" && streams[e.StreamID] == nil {
			streams[e.StreamID] = &streamInfo{id: e.StreamID, name: cmp.Or(e.StreamName, e.StreamID), color: len(streams) % 6, result: results[e.StreamID]}
		}
		switch e.Kind {
		case emulator.KindMedia:
			if s := streams[e.StreamID]; s != nil {
				s.totals = append(s.totals, e.Message)
			}
			evs = append(evs, event{e: e, at: e.Time, n: 1})
		case emulator.KindWebhook, emulator.KindHandshake:
			sent := e.Time
			if e.Latency > 0 {
				sent = e.Time.Add(-e.Latency)
			}
			evs = append(evs, event{e: e, at: sent, n: 1}, event{e: e, at: e.Time, answer: true, n: 1})
		default:
			evs = append(evs, event{e: e, at: e.Time, n: 1})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	for _, ev := range evs {
		if k := len(ce.events) - 1; k >= 0 && sameRun(ce.events[k], ev) {
			ce.events[k].n++
			if ev.e.Track != "" && !slices.Contains(ce.events[k].tracks, ev.e.Track) {
				ce.events[k].tracks = append(ce.events[k].tracks, ev.e.Track)
			}
			continue
		}
		if ev.e.Track != "" {
			ev.tracks = []string{ev.e.Track}
		}
		ce.events = append(ce.events, ev)
	}
	if len(ce.events) > 0 {
		ce.t0 = ce.events[0].at
	}
	return ce
}

// sameRun says b continues a's run of frames: frames the app sent of one
// kind, or the emulator's media frames, on one stream.
func sameRun(a, b event) bool {
	if a.e.StreamID != b.e.StreamID || a.e.Kind != b.e.Kind || a.e.Event != b.e.Event {
		return false
	}
	switch a.e.Kind {
	case emulator.KindFrameIn:
		return true
	case emulator.KindFrameOut:
		return a.e.Event == "media"
	}
	return false
}

// anchor finds the event a finding is about: its call and event index,
// or -1 when the case has no event at all.
func anchor(f Finding, calls []*callEvents, streams map[string]*streamInfo) (int, int) {
	c := newCandidates(calls, findingStream(f, calls, streams))
	a, ok := c.named(f.Expectation)
	// Then what went wrong on the stream (or the call); then the stream's
	// ending; then its last event, or the call's.
	if !ok {
		a, ok = c.first(anomaly)
	}
	if !ok && c.sid != "" {
		a, ok = c.first(ofKind(emulator.KindEnding))
	}
	if !ok {
		a, ok = c.last(func(event) bool { return true })
	}
	if !ok {
		return -1, -1
	}
	return a.c, a.e
}

// eventAt is where an event is: its call and its index in the call.
type eventAt struct{ c, e int }

// candidates are the events a finding can be drawn after, in order, and
// the stream it is about ("": any).
type candidates struct {
	calls []*callEvents
	all   []eventAt
	sid   string
}

func newCandidates(calls []*callEvents, sid string) *candidates {
	c := &candidates{calls: calls, sid: sid}
	for ci, ce := range calls {
		for ei, ev := range ce.events {
			if ev.e.Kind != emulator.KindMedia { // said on the media row, not a row of its own
				c.all = append(c.all, eventAt{ci, ei})
			}
		}
	}
	return c
}

// named finds the event the expectation x names, if it names one.
func (c *candidates) named(x string) (eventAt, bool) {
	switch {
	case strings.Contains(x, "webhooks.within"):
		return c.slowestAnswer()
	case strings.Contains(x, "webhooks"):
		return c.first(func(e event) bool {
			return e.answer && e.e.Kind == emulator.KindWebhook && (e.e.Code != 204 || e.e.Error != "")
		})
	case strings.Contains(x, "started"):
		return c.first(answerTo("mediaStreamStarted"))
	case strings.Contains(x, "disconnect"):
		// The disconnect webhook is the call's, not a stream's: it and
		// the places tried after it are looked for on every stream.
		c.sid = ""
		return c.first(answerTo("disconnect"))
	case strings.Contains(x, "rejected"):
		if a, ok := c.first(answerTo("mediaStreamRejected")); ok {
			return a, true
		}
		return c.first(ofKind(emulator.KindRejected))
	case strings.Contains(x, "stopped"):
		return c.first(answerTo("mediaStreamStopped"))
	case strings.Contains(x, "violations"):
		return c.first(ofKind(emulator.KindViolation))
	case strings.Contains(x, "close"):
		return c.last(ofKind(emulator.KindClose))
	case strings.Contains(x, "playAudio"), strings.Contains(x, "reply"), strings.Contains(x, "bargeIn"), strings.Contains(x, "heard"):
		return c.last(ofKind(emulator.KindFrameIn))
	}
	return eventAt{}, false
}

func (c *candidates) ev(a eventAt) event { return c.calls[a.c].events[a.e] }

// mine says the event at a is on the finding's stream (any, when none).
func (c *candidates) mine(a eventAt) bool { return c.sid == "" || c.ev(a).e.StreamID == c.sid }

// first and last are the first and the last of the finding's events ok
// accepts.
func (c *candidates) first(ok func(event) bool) (eventAt, bool) {
	for _, a := range c.all {
		if c.mine(a) && ok(c.ev(a)) {
			return a, true
		}
	}
	return eventAt{}, false
}

func (c *candidates) last(ok func(event) bool) (eventAt, bool) {
	for i := len(c.all) - 1; i >= 0; i-- {
		if a := c.all[i]; c.mine(a) && ok(c.ev(a)) {
			return a, true
		}
	}
	return eventAt{}, false
}

// slowestAnswer is the answer to a webhook that came the longest after
// its request (the first of them, on a tie).
func (c *candidates) slowestAnswer() (eventAt, bool) {
	best, found := eventAt{}, false
	for _, a := range c.all {
		e := c.ev(a)
		if c.mine(a) && e.answer && e.e.Kind == emulator.KindWebhook && (!found || e.e.Latency > c.ev(best).e.Latency) {
			best, found = a, true
		}
	}
	return best, found
}

// answerTo accepts the app's answer to the webhook name.
func answerTo(name string) func(event) bool {
	return func(e event) bool { return e.answer && e.e.Kind == emulator.KindWebhook && e.e.Event == name }
}

// ofKind accepts the events of kind k.
func ofKind(k emulator.Kind) func(event) bool {
	return func(e event) bool { return e.e.Kind == k }
}

// findingStream is the stream a finding is about: the one it names, or
// the first whose id, then whose quoted name, its message mentions.
func findingStream(f Finding, calls []*callEvents, streams map[string]*streamInfo) string {
	if f.StreamID != "" && streams[f.StreamID] != nil {
		return f.StreamID
	}
	text := f.Expectation + "\n" + f.Message
	best, bestAt := "", -1
	var ids []string
	for _, ce := range calls {
		for _, ev := range ce.events {
			if id := ev.e.StreamID; id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	for _, id := range ids {
		if i := strings.Index(text, id); i >= 0 && (bestAt < 0 || i < bestAt) {
			best, bestAt = id, i
		}
	}
	if best != "" {
		return best
	}
	for _, id := range ids {
		if i := strings.Index(text, `"`+streams[id].name+`"`); i >= 0 && (bestAt < 0 || i < bestAt) {
			best, bestAt = id, i
		}
	}
	return best
}

// anomaly says the event is something the app got wrong or the network
// broke: a webhook answered otherwise than 2xx, a refused upgrade, a
// violation, an app's error close or a close handshake left unfinished.
func anomaly(ev event) bool {
	e := ev.e
	switch e.Kind {
	case emulator.KindWebhook:
		return ev.answer && (e.Error != "" || e.Code < 200 || e.Code > 299)
	case emulator.KindHandshake:
		return ev.answer && e.Code != 101
	case emulator.KindViolation:
		return true
	case emulator.KindClose: // the app's error close, or its connection ending without a close
		return e.By == emulator.ByApp && (e.Error != "" || e.Code != 1000)
	}
	return false
}

// bad says a journal entry records something that went wrong.
func bad(e emulator.Entry) bool {
	return anomaly(event{e: e, answer: true})
}

// layout turns a call's events into rows, places the failures and sizes
// the diagram.
func layout(ce *callEvents, streams map[string]*streamInfo, placed map[int][]Finding, tail []Finding) *diagram {
	d := &diagram{CallID: ce.callID, Entries: ce.entries, Width: diagramWidth, LaneE: laneEmulator, LaneA: laneApp}
	rows, media := eventRows(ce, streams, placed)
	spans := mediaSpans(rows, media, streams)
	rows, spans = elide(rows, spans)
	out := withFailures(rows, placed, tail, streams)
	d.Height = stack(out) + footerHeight
	for _, sp := range spans {
		top, bottom := out[sp.from].LineY(), out[sp.to].LineY()
		if sp.to == sp.from {
			bottom = top + 6
		}
		d.Spans = append(d.Spans, span{Y: top, H: bottom - top, Color: sp.color})
	}
	d.Rows = out
	return d
}

// eventRows draws each event of the call in a row, marking those a
// failure is about. A stream's media frames and totals are one row, that
// of its first media frame: media gives each stream's.
func eventRows(ce *callEvents, streams map[string]*streamInfo, placed map[int][]Finding) ([]*row, map[string]int) {
	media := map[string]int{} // stream id → its media row
	closed := map[string]emulator.Actor{}
	var rows []*row
	for i, ev := range ce.events {
		s := streams[ev.e.StreamID]
		if ev.e.Kind == emulator.KindMedia && s != nil {
			if _, ok := media[s.id]; ok {
				continue // said on the media row
			}
		}
		r := eventRow(ev, s, closed)
		r.ev, r.At, r.kind, r.wire = i, offset(ev.at, ce.t0), ev.e.Kind, ev.e.Event
		if s != nil {
			r.stream, r.Tag, r.Color = s.id, clip(s.name, tagChars), s.color
		}
		if ev.e.Kind == emulator.KindFrameOut && ev.e.Event == "media" && s != nil {
			if _, ok := media[s.id]; !ok {
				media[s.id] = len(rows)
				label, detail := mediaLabel(ev, s)
				r.Label, r.Detail = clip(label, labelChars), clip(detail, detailChars)
				if r.Detail != "" && r.H == arrowHeight {
					r.H += detailHeight
				}
			}
		}
		if _, ok := placed[i]; ok {
			r.Anchor = true
		}
		rows = append(rows, r)
	}
	return rows, media
}

// withFailures puts each failure's box right after the row of the event
// it is about, and the tail's at the end.
func withFailures(rows []*row, placed map[int][]Finding, tail []Finding, streams map[string]*streamInfo) []*row {
	var out []*row
	for _, r := range rows {
		out = append(out, r)
		if r.ev >= 0 {
			for _, f := range placed[r.ev] {
				out = append(out, failureRow(f, streams))
			}
		}
	}
	for _, f := range tail {
		out = append(out, failureRow(f, streams))
	}
	return out
}

// stack sets the rows one under the other, from under the lane headers,
// and returns where the last one ends.
func stack(rows []*row) int {
	y := headerHeight
	for _, r := range rows {
		r.Y = y
		if r.Kind == "failure" {
			for i := range r.Lines {
				r.Lines[i].Y = y + 16 + i*failLine
			}
		}
		y += r.H
	}
	return y
}

// eventRow draws one event. closed remembers, per stream, who sent the
// first close frame, so the second is drawn as its answer.
func eventRow(ev event, s *streamInfo, closed map[string]emulator.Actor) *row {
	e := ev.e
	var r *row
	switch e.Kind {
	case emulator.KindHandshake:
		r = handshakeRow(ev)
	case emulator.KindWebhook:
		r = webhookRow(ev)
	case emulator.KindFrameOut:
		r = toApp(e)
		r.Label = e.Message
		if e.Event == "media" {
			r.Class = "media"
		}
	case emulator.KindFrameIn:
		r = frameInRow(ev)
	case emulator.KindViolation:
		r = toEmulator(e)
		r.Class, r.Label = "bad", "protocol violation: "+e.Message
	case emulator.KindUndocumented:
		r = toEmulator(e)
		r.Class, r.Label = "warn", "undocumented: "+e.Message
	case emulator.KindClose:
		r = closeRow(e, closed)
	case emulator.KindCall, emulator.KindFault, emulator.KindEnding, emulator.KindMedia,
		emulator.KindRejected, emulator.KindPacing, emulator.KindPlayback:
		r = noteRow(e, s)
	default:
		r = otherRow(e)
	}
	r.Label, r.Detail = clip(r.Label, labelChars), clip(r.Detail, detailChars)
	if r.Detail != "" && r.Kind == "arrow" {
		r.H += detailHeight
	}
	if e.Error != "" && !strings.Contains(r.Title, e.Error) {
		r.Title += " — " + e.Error
	}
	return r
}

// toApp, toEmulator and across are the shapes of a row, for e: an arrow
// from the emulator to the app, one back, and a note across both lanes.
func toApp(e emulator.Entry) *row {
	return &row{Kind: "arrow", X1: laneEmulator, X2: laneApp, H: arrowHeight, Title: e.Message}
}

func toEmulator(e emulator.Entry) *row {
	return &row{Kind: "arrow", X1: laneApp, X2: laneEmulator, H: arrowHeight, Title: e.Message}
}

func across(e emulator.Entry) *row {
	return &row{Kind: "note", X1: laneEmulator - 40, X2: laneApp + 40, H: noteHeight, Class: "muted", Title: e.Message}
}

// handshakeRow draws the WebSocket upgrade when it was sent, or the
// app's answer, with how long it took.
func handshakeRow(ev event) *row {
	e := ev.e
	req, ans := splitAnswer(e.Message)
	if !ev.answer {
		r := toApp(e)
		r.Label, r.Detail = "WebSocket upgrade", req
		return r
	}
	r := toEmulator(e)
	r.Dashed, r.Label, r.Class = true, withLatency(cmp.Or(ans, e.Error, e.Message), e.Latency), "ok"
	if e.Code != 101 {
		r.Class = "bad"
	}
	return r
}

// webhookRow draws a webhook when it was sent, or the app's answer: bad
// when it failed, a warning when it is a 2xx other than 204.
func webhookRow(ev event) *row {
	e := ev.e
	req, ans := splitAnswer(e.Message)
	if !ev.answer {
		r := toApp(e)
		r.Label, r.Detail = webhookName(e), req
		return r
	}
	r := toEmulator(e)
	r.Dashed, r.Label = true, cmp.Or(ans, e.Error, e.Message)
	switch {
	case e.Error != "" || e.Code < 200 || e.Code > 299:
		r.Class = "bad"
	case e.Code != 204:
		r.Class = "warn"
	default:
		r.Class = "ok"
	}
	r.Detail = webhookName(e)
	return r
}

// frameInRow draws a frame the app sent, or a run of them once, with how
// many there were and the first.
func frameInRow(ev event) *row {
	e := ev.e
	r := toEmulator(e)
	r.Label = e.Message
	if ev.n > 1 {
		r.Label = fmt.Sprintf("%s ×%d", cmp.Or(e.Event, string(e.Kind)), ev.n)
		r.Detail = "the first: " + e.Message
	}
	return r
}

// noteRow draws what happened to the call or a stream rather than what
// one side sent the other: a note across the lanes, coloured by what it
// says of the app.
func noteRow(e emulator.Entry, s *streamInfo) *row {
	r := across(e)
	r.Label = e.Message
	switch e.Kind {
	case emulator.KindFault:
		r.Class, r.Label = "fault", "⚡ fault ("+string(e.By)+"): "+e.Message
	case emulator.KindEnding:
		if (s != nil && s.result != nil && s.result.AppFault) || (s != nil && s.result == nil && e.By == emulator.ByApp) {
			r.Class = "bad"
		}
	case emulator.KindRejected, emulator.KindPacing, emulator.KindPlayback:
		r.Class = "warn"
	}
	return r
}

// otherRow draws an entry of a kind the diagram does not know: from
// whoever it is by (a note when neither side), with its kind.
func otherRow(e emulator.Entry) *row {
	var r *row
	switch e.By {
	case emulator.ByApp:
		r = toEmulator(e)
	case emulator.ByEmulator:
		r = toApp(e)
	default:
		r = across(e)
	}
	r.Label = string(e.Kind) + ": " + e.Message
	switch {
	case e.Error != "":
		r.Class = "bad"
	case strings.Contains(string(e.Kind), "warn"):
		r.Class = "warn"
	}
	return r
}

// closeRow draws a close frame from whoever sent it, saying whether it
// was the first of the stream's or the answer to the other side's; a
// connection that ended without one is a note.
func closeRow(e emulator.Entry, closed map[string]emulator.Actor) *row {
	if e.Code == 0 || (e.By != emulator.ByApp && e.By != emulator.ByEmulator) {
		r := across(e)
		r.Label = e.Message
		switch e.By {
		case emulator.ByApp:
			r.Class = "bad"
		case emulator.ByNetwork:
			r.Class = "fault"
		default:
			r.Class = "warn"
		}
		return r
	}
	r := toApp(e)
	if e.By == emulator.ByApp {
		r = toEmulator(e)
	}
	r.Label = e.Message
	if first, ok := closed[e.StreamID]; ok && first != e.By {
		r.Detail = fmt.Sprintf("the answer to the %s's close", first)
	} else if !ok {
		closed[e.StreamID] = e.By
		r.Detail = fmt.Sprintf("the %s closed first", e.By)
	}
	r.Class = "ok"
	if e.By == emulator.ByApp && e.Code != 1000 {
		r.Class = "bad"
	}
	return r
}

// mediaLabel says what a stream's media was: the frames of each track
// (the journal's totals) and, when measured, how late they went out.
func mediaLabel(ev event, s *streamInfo) (string, string) {
	label := "media frames (" + strings.Join(ev.tracks, ", ") + ")"
	if len(s.totals) > 0 {
		label = strings.Join(s.totals, "; ")
	}
	var detail []string
	if r := s.result; r != nil {
		if r.LatenessP99 > 0 || r.LatenessP50 > 0 {
			detail = append(detail, fmt.Sprintf("lateness p50 %s, p99 %s", roundDuration(r.LatenessP50), roundDuration(r.LatenessP99)))
		}
		if r.Skipped > 0 {
			detail = append(detail, fmt.Sprintf("%d late frames skipped", r.Skipped))
		}
		if r.PlayAudio > 0 {
			detail = append(detail, fmt.Sprintf("%d playAudio back", r.PlayAudio))
		}
	}
	return "media ▸ " + label, strings.Join(detail, " · ")
}

// spanRows is a media span by row index, before layout.
type spanRows struct{ from, to, color int }

// mediaSpans runs from each stream's first media frame to the first row
// that ends its media: stop, a close, a fault, the ending; or to the
// stream's last row.
func mediaSpans(rows []*row, media map[string]int, streams map[string]*streamInfo) []spanRows {
	var out []spanRows
	ids := make([]string, 0, len(media))
	for id := range media {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return media[a] - media[b] })
	for _, id := range ids {
		from := media[id]
		to := from
		for i := from + 1; i < len(rows); i++ {
			if rows[i].stream != id {
				continue
			}
			to = i
			if ends(rows[i]) {
				break
			}
		}
		out = append(out, spanRows{from: from, to: to, color: streams[id].color})
	}
	return out
}

// ends says a row ends its stream's media.
func ends(r *row) bool {
	switch r.kind {
	case emulator.KindClose, emulator.KindFault, emulator.KindEnding:
		return true
	case emulator.KindFrameOut:
		return r.wire == "stop"
	}
	return false
}

// elide leaves out the middle of a diagram longer than maxRows: the
// first and last rows and those a failure is about stay, and a gap row
// says how many are missing. Spans are moved to the rows kept.
func elide(rows []*row, spans []spanRows) ([]*row, []spanRows) {
	if len(rows) <= maxRows {
		return rows, spans
	}
	keep := make([]bool, len(rows))
	for i := range rows {
		keep[i] = i < headRows || i >= len(rows)-tailRows || rows[i].Anchor
	}
	index := make([]int, len(rows)) // old row → new row (a gap stands for those left out)
	var out []*row
	for i := 0; i < len(rows); {
		if keep[i] {
			index[i] = len(out)
			out = append(out, rows[i])
			i++
			continue
		}
		j := i
		for j < len(rows) && !keep[j] {
			index[j] = len(out)
			j++
		}
		out = append(out, &row{Kind: "gap", Class: "muted", H: gapHeight, ev: -1, X1: laneEmulator, X2: laneApp,
			Label: fmt.Sprintf("… %d more rows of this call left out: the journal below has them", j-i)})
		i = j
	}
	moved := make([]spanRows, 0, len(spans))
	for _, sp := range spans {
		moved = append(moved, spanRows{from: index[sp.from], to: index[sp.to], color: sp.color})
	}
	return out, moved
}

// failureRow is a failed expectation's box: what failed, where it is
// written, the stream, then the start of the message.
func failureRow(f Finding, streams map[string]*streamInfo) *row {
	head := "✗ " + f.Expectation
	if f.Pos != "" {
		head += " · " + f.Pos
	}
	if s := streams[f.StreamID]; s != nil {
		head += fmt.Sprintf(" · stream %s (%s)", s.name, s.id)
	} else if f.StreamID != "" {
		head += " · stream " + f.StreamID
	}
	lines := []textLine{{Text: clip(head, failChars), Class: "expectation"}}
	// The message's headline (what was expected, what was seen), wrapped;
	// the record after it is in the findings above the diagram.
	headline, rest, _ := strings.Cut(strings.TrimSpace(f.Message), "\n")
	wrapped := wrap(headline, failChars)
	if len(wrapped) > failMessageLines {
		wrapped, rest = wrapped[:failMessageLines], "cut"
		wrapped[failMessageLines-1] = clip(wrapped[failMessageLines-1]+" …", failChars)
	}
	for _, l := range wrapped {
		lines = append(lines, textLine{Text: l})
	}
	if strings.TrimSpace(rest) != "" {
		lines = append(lines, textLine{Text: "… the whole message is above the diagram", Class: "more"})
	}
	return &row{Kind: "failure", Class: "fail", ev: -1, X1: tagX - 4, X2: diagramWidth - 6, H: 12 + len(lines)*failLine + 6,
		Expectation: f.Expectation, Lines: lines, Title: f.Message}
}

// wrap breaks s into lines of at most n characters, at spaces where it
// can.
func wrap(s string, n int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= n:
			line += " " + w
		default:
			out = append(out, clip(line, n))
			line = w
		}
	}
	if line != "" {
		out = append(out, clip(line, n))
	}
	return out
}

// splitAnswer splits "GET url → 101 Switching Protocols" into the
// request and the answer.
func splitAnswer(msg string) (string, string) {
	req, ans, ok := strings.Cut(msg, " → ")
	if !ok {
		return msg, ""
	}
	return req, ans
}

// webhookName is the webhook's event and cause: "mediaStreamStopped (closed)".
func webhookName(e emulator.Entry) string {
	name := cmp.Or(e.Event, "webhook")
	if e.Cause != "" {
		name += " (" + e.Cause + ")"
	}
	return name
}

func withLatency(s string, d time.Duration) string {
	if d <= 0 {
		return s
	}
	return s + " · " + roundDuration(d)
}

// clip cuts s to n characters (runes), ending with an ellipsis, and
// puts a multi-line text on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
