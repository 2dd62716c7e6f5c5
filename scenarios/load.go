package scenarios

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/bwemu/bwemu/emulator/media"
	"github.com/bwemu/bwemu/emulator/protocol"
)

// The keys of each part of a file, in the order messages list them.
var (
	fileKeys   = []string{"target", "defaults", "scenarios"}
	targetKeys = []string{"websocket", "events", "eventMethod", "disconnect", "wsUser", "wsPassword", "eventUser", "eventPassword", "ca",
		"api", "apiUsername", "apiPassword", "apiClientId", "apiClientSecret"}
	settingKeys  = []string{"call", "stream", "streams", "pace", "speed", "timeouts", "duplicateWebhooks", "rejectOnConnectError", "appCloseAsError", "expect", "bxml"}
	callKeys     = []string{"from", "to", "direction", "tag"}
	bxmlKeys     = []string{"url", "method", "event", "username", "password"}
	streamKeys   = []string{"name", "mode", "tracks", "params", "destination", "query", "audio"}
	timeoutKeys  = []string{"handshake", "write", "closeHandshake", "callback", "deadPeer"}
	scenarioKeys = append(append([]string{"name"}, settingKeys...), "steps")
)

// The values of each enumerated key.
var (
	modes        = []string{"unidirectional", "bidirectional"}
	trackValues  = []string{"inbound", "outbound", "both"}
	directions   = []string{"inbound", "outbound"}
	paces        = []string{"realtime", "fast"}
	eventMethods = []string{"POST", "GET"}
	bxmlEvents   = []string{BXMLInitiate, BXMLAnswer}
)

// Bandwidth's limits on <StreamParam> and callbackTimeout.
const (
	maxStreamParams = 12
	maxParamName    = 256
	maxParamValue   = 2048
	minCallback     = 1 * time.Second
	maxCallback     = 25 * time.Second
)

// Load reads the scenario file at path and validates it; see Parse.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse validates a scenario file read from path (used for positions and to
// resolve relative paths such as audio files and the CA). Every problem is
// reported, as Errors sorted by position; a valid file gives a File whose
// scenarios carry their settings already merged with the file's defaults.
func Parse(path string, data []byte) (*File, error) {
	l := &loader{
		path:     path,
		dir:      filepath.Dir(path),
		seen:     map[string]bool{},
		aliases:  map[Pos]bool{},
		anchors:  map[string][]*ast.AnchorNode{},
		audio:    map[string]audioResult{},
		refs:     map[Pos]ref{},
		problems: map[string]*problem{},

		perScenario: map[Pos][]*field{},
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // a UTF-8 byte order mark
	for _, line := range strings.Split(string(data), "\n") {
		l.lines = append(l.lines, strings.TrimSuffix(line, "\r"))
	}
	f := l.file(data)
	if len(l.errs) > 0 {
		sortErrors(l.errs)
		return nil, l.errs
	}
	keepSource(f, l.lines)
	return f, nil
}

func (l *loader) file(data []byte) *File {
	f := &File{Path: l.path}
	doc, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		l.syntax(err)
		return nil
	}
	var body ast.Node
	var docs int
	for _, d := range doc.Docs {
		if d == nil || isNull(d.Body) {
			continue
		}
		if _, comment := d.Body.(*ast.CommentGroupNode); comment {
			continue
		}
		docs++
		if docs == 1 {
			body = d.Body
			continue
		}
		l.errorf(l.pos(d), "a scenario file holds one YAML document; put every scenario under the first document's scenarios:")
	}
	if body == nil {
		l.errorf(Pos{File: l.path, Line: 1, Col: 1}, "the file is empty: want scenarios: with at least one scenario (and optionally target: and defaults:)")
		return nil
	}
	l.collectAnchors(body)

	top := l.newField("the file", "", l.pos(body), body)
	if _, ok := l.entries(top.node); !ok {
		l.errorf(top.pos, "the file: want a mapping with scenarios: (and optionally target: and defaults:), got %s", describe(top.node))
		return nil
	}
	o := l.obj(top, "the file", fileKeys)
	if t, ok := o.get("target"); ok {
		f.Target = l.target(t)
	}
	if d, ok := o.get("defaults"); ok {
		if do := l.obj(d, "defaults", settingKeys); do != nil {
			f.Defaults = l.settings(do)
		}
	}
	sf, ok := o.get("scenarios")
	if !ok {
		l.missing(o, "scenarios", "missing key \"scenarios\": a file needs at least one scenario")
		return f
	}
	items, ok := l.list(sf)
	if !ok {
		return f
	}
	if len(items) == 0 {
		l.errorf(sf.pos, "scenarios: want at least one scenario, got none")
		return f
	}
	names := map[string]Pos{}
	for i, it := range items {
		s := l.scenario(l.item("scenarios", i, it), names)
		if s == nil {
			continue
		}
		f.Scenarios = append(f.Scenarios, s)
	}
	for _, s := range f.Scenarios {
		s.Settings = merge(f.Defaults, s.Settings)
		l.checkBXML(f, s)
		l.checkRefs(s)
	}
	l.reportProblems()
	return f
}

func (l *loader) target(f *field) Target {
	var t Target
	o := l.obj(f, "target", targetKeys)
	if o == nil {
		return t
	}
	if v, ok := o.get("websocket"); ok {
		t.WebSocket, _ = l.wsURL(v)
	}
	if v, ok := o.get("events"); ok {
		t.Events, _ = l.httpURL(v)
	}
	if v, ok := o.get("eventMethod"); ok {
		t.EventMethod, _ = l.enum(v, eventMethods...)
	}
	if v, ok := o.get("disconnect"); ok {
		t.Disconnect, _ = l.httpURL(v)
	}
	for key, dst := range map[string]*string{
		"wsUser": &t.WSUser, "wsPassword": &t.WSPassword,
		"eventUser": &t.EventUser, "eventPassword": &t.EventPassword,
	} {
		if v, ok := o.get(key); ok {
			*dst, _ = l.text(v)
		}
	}
	if v, ok := o.get("ca"); ok {
		t.CA, _ = l.caFile(v)
	}
	if v, ok := o.get("api"); ok {
		t.API, _ = l.hostPort(v)
		l.api = v.pos
	}
	for key, dst := range map[string]*string{
		"apiUsername": &t.APIUsername, "apiPassword": &t.APIPassword,
		"apiClientId": &t.APIClientID, "apiClientSecret": &t.APIClientSecret,
	} {
		if v, ok := o.get(key); ok {
			*dst, _ = l.text(v)
		}
	}
	return t
}

// hostPort reads target.api: a host:port to listen on, port required.
func (l *loader) hostPort(f *field) (string, bool) {
	s, ok := l.str(f)
	if !ok {
		return "", false
	}
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 0 || n > 65535 {
		l.errorf(f.pos, "api: %q is not a host:port to serve the Voice API on (e.g. 127.0.0.1:8090)", s)
		return "", false
	}
	return s, true
}

// bxml reads bxml: where the call gets its first BXML.
func (l *loader) bxml(f *field) *BXML {
	o := l.obj(f, "bxml", bxmlKeys)
	if o == nil {
		return nil
	}
	b := &BXML{Pos: o.pos}
	if v, ok := o.get("url"); ok {
		b.URL, _ = l.urlOf(v, "http", "https", "the app's URL that serves the call's first BXML")
	} else {
		l.missing(o, "url", "bxml: missing key \"url\" (the app's URL that serves the call's first BXML)")
	}
	if v, ok := o.get("method"); ok {
		b.Method, _ = l.enum(v, eventMethods...)
	}
	if v, ok := o.get("event"); ok {
		b.Event, _ = l.enum(v, bxmlEvents...)
	}
	if v, ok := o.get("username"); ok {
		b.Username, _ = l.text(v)
	}
	if v, ok := o.get("password"); ok {
		b.Password, _ = l.text(v)
	}
	return b
}

// caFile reads the ca: path, resolved against the file's directory (and
// made absolute, so it stays right whatever the working directory); the
// file must hold at least one PEM certificate.
func (l *loader) caFile(f *field) (string, bool) {
	s, ok := l.str(f)
	if !ok {
		return "", false
	}
	p := l.resolve(s)
	data, err := os.ReadFile(p)
	switch {
	case os.IsNotExist(err):
		l.errorf(f.pos, "ca: file %q not found (looked for %s)", s, p)
		return "", false
	case err != nil:
		l.errorf(f.pos, "ca: cannot read %q: %v", s, err)
		return "", false
	case !x509.NewCertPool().AppendCertsFromPEM(data):
		l.errorf(f.pos, "ca: %q holds no PEM certificate (want the CA certificate that signed the app's wss:// certificate)", s)
		return "", false
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p, true
}

// resolve makes a path from the file relative to the file's directory.
func (l *loader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

// settings reads the keys defaults and scenarios share.
func (l *loader) settings(o *object) Settings {
	var s Settings
	if v, ok := o.get("call"); ok {
		s.Call = l.call(v)
	}
	if v, ok := o.get("stream"); ok {
		if st := l.stream(v, "stream"); st != nil {
			s.Stream = *st
		}
	}
	if v, ok := o.get("streams"); ok {
		items, _ := l.list(v)
		s.Extra = []Stream{}
		for i, it := range items {
			f := l.item("streams", i, it)
			if st := l.stream(f, f.label); st != nil {
				s.Extra = append(s.Extra, *st)
			}
		}
	}
	if v, ok := o.get("pace"); ok {
		s.Pace, _ = l.enum(v, paces...)
	}
	if v, ok := o.get("speed"); ok {
		if x, ok := l.number(v); ok {
			if x > 0 {
				s.Speed = x
			} else {
				l.errorf(v.pos, "speed: %s is not above 0 (want a factor such as 2 for twice real time, 0.5 for half)", v.node.GetToken().Value)
			}
		}
	}
	if v, ok := o.get("timeouts"); ok {
		s.Timeouts = l.timeouts(v)
	}
	s.Options = Options{
		DuplicateWebhooks:    l.boolPtr(o, "duplicateWebhooks"),
		RejectOnConnectError: l.boolPtr(o, "rejectOnConnectError"),
		AppCloseAsError:      l.boolPtr(o, "appCloseAsError"),
	}
	if v, ok := o.get("expect"); ok {
		s.Expect = l.expect(v)
	}
	if v, ok := o.get("bxml"); ok {
		s.BXML = l.bxml(v)
	}
	return s
}

func (l *loader) call(f *field) Call {
	var c Call
	o := l.obj(f, "call", callKeys)
	if o == nil {
		return c
	}
	if v, ok := o.get("from"); ok {
		c.From, _ = l.text(v)
	}
	if v, ok := o.get("to"); ok {
		c.To, _ = l.text(v)
	}
	if v, ok := o.get("direction"); ok {
		c.Direction, _ = l.enum(v, directions...)
	}
	if v, ok := o.get("tag"); ok {
		c.Tag, _ = l.text(v)
	}
	return c
}

// stream reads a stream's <StartStream> attributes; what names it in
// messages.
func (l *loader) stream(f *field, what string) *Stream {
	o := l.obj(f, what, streamKeys)
	if o == nil {
		return nil
	}
	s := &Stream{Pos: o.pos}
	if v, ok := o.get("name"); ok {
		s.Name, _ = l.str(v)
	}
	if v, ok := o.get("mode"); ok {
		s.Mode, _ = l.enum(v, modes...)
	}
	if v, ok := o.get("tracks"); ok {
		s.Tracks, _ = l.enum(v, trackValues...)
	}
	if v, ok := o.get("params"); ok {
		s.Params = l.params(v, true)
	}
	if v, ok := o.get("destination"); ok {
		s.Destination, _ = l.wsURL(v)
	}
	if v, ok := o.get("query"); ok {
		s.Query = l.params(v, false)
	}
	if v, ok := o.get("audio"); ok {
		if spec, ok := l.str(v); ok {
			s.Audio = spec
			s.AudioSource = l.audioSource(v, spec)
		}
	}
	return s
}

// params reads a mapping of names to scalar values, in order. As
// <StreamParam>s (limits true) Bandwidth's limits apply.
func (l *loader) params(f *field, limits bool) []protocol.StreamParam {
	out := []protocol.StreamParam{}
	if isNull(f.node) {
		return out
	}
	es, ok := l.entries(f.node)
	if !ok {
		l.errorf(f.pos, "%s: want a mapping of names to values, got %s", f.label, describe(f.node))
		return nil
	}
	for i, e := range es {
		vf := l.newField(f.label+"."+e.key, e.key, e.kpos, e.value)
		v, ok := l.text(vf)
		if !ok {
			continue
		}
		if e.key == "" {
			l.errorf(e.kpos, "%s: a parameter name must not be empty", f.label)
		}
		if limits {
			if i == maxStreamParams {
				l.errorf(e.kpos, "params: %d parameters, but Bandwidth allows at most %d <StreamParam>s", len(es), maxStreamParams)
			}
			if n := len([]rune(e.key)); n > maxParamName {
				l.errorf(e.kpos, "params: the name %.20q… is %d characters long (at most %d)", e.key, n, maxParamName)
			}
			if n := len([]rune(v)); n > maxParamValue {
				l.errorf(vf.pos, "%s: the value is %d characters long (at most %d)", vf.label, n, maxParamValue)
			}
		}
		out = append(out, protocol.StreamParam{Name: e.key, Value: v})
	}
	return out
}

func (l *loader) timeouts(f *field) Timeouts {
	var t Timeouts
	o := l.obj(f, "timeouts", timeoutKeys)
	if o == nil {
		return t
	}
	for key, dst := range map[string]*time.Duration{
		"handshake": &t.Handshake, "write": &t.Write, "closeHandshake": &t.CloseHandshake,
		"deadPeer": &t.DeadPeer,
	} {
		if v, ok := o.get(key); ok {
			*dst, _ = l.duration(v)
		}
	}
	if v, ok := o.get("callback"); ok {
		if d, ok := l.duration(v); ok {
			if d < minCallback || d > maxCallback {
				l.errorf(v.pos, "callback: %s is out of range (Bandwidth's callbackTimeout is %s to %s)", d, minCallback, maxCallback)
			} else {
				t.Callback = d
			}
		}
	}
	return t
}

// audioResult caches a resolved audio spec.
type audioResult struct {
	audio media.Audio
	err   string
}

// audioSource resolves an audio: spec with media.Parse, file paths
// relative to the file's directory.
func (l *loader) audioSource(f *field, spec string) media.Audio {
	s := strings.TrimSpace(spec)
	lower := strings.ToLower(s)
	resolved := s
	isFile := lower != "silence" && !strings.HasPrefix(lower, "tone:")
	if isFile {
		switch strings.ToLower(filepath.Ext(s)) {
		case ".wav", ".pcmu", ".ulaw", ".raw":
		default:
			l.errorf(f.pos, "audio: %q is not silence, tone:HZ (e.g. tone:440), or a .wav, .pcmu, .ulaw or .raw file", spec)
			return nil
		}
		resolved = l.resolve(s)
	}
	r, cached := l.audio[resolved]
	if !cached {
		if isFile {
			if _, err := os.Stat(resolved); os.IsNotExist(err) {
				r.err = fmt.Sprintf("file %q not found (looked for %s)", s, resolved)
			}
		}
		if r.err == "" {
			a, err := media.Parse(resolved)
			if err != nil {
				msg := err.Error()
				msg = strings.TrimPrefix(msg, "audio spec ")
				msg = strings.TrimPrefix(msg, "audio file: ")
				r.err = msg
			} else {
				r.audio = a
			}
		}
		l.audio[resolved] = r
	}
	if r.err != "" {
		l.errorf(f.pos, "audio: %s", r.err)
	}
	return r.audio
}

// scenario reads one scenario; names holds the names seen so far.
func (l *loader) scenario(f *field, names map[string]Pos) *Scenario {
	o := l.obj(f, "scenario", scenarioKeys)
	if o == nil {
		return nil
	}
	if isNull(f.node) {
		l.errorf(f.pos, "%s: empty scenario: want name: and steps:", f.label)
		return nil
	}
	s := &Scenario{Pos: o.pos}
	if v, ok := o.get("name"); ok {
		if name, ok := l.text(v); ok {
			switch first, dup := names[name]; {
			case strings.TrimSpace(name) == "":
				l.errorf(v.pos, "name: must not be empty")
			case dup:
				l.errorf(v.pos, "name: %q is already the name of the scenario at line %d (names must be unique in a file)", name, first.Line)
			default:
				names[name] = v.pos
			}
			s.Name = name
		}
	} else {
		l.missing(o, "name", "%s: missing key \"name\" (every scenario needs a unique name)", f.label)
	}
	s.Settings = l.settings(o)
	if l.api.Line > 0 {
		l.sharedEmulator(o)
	}
	if v, ok := o.get("steps"); ok {
		s.Steps = l.steps(v)
		if items, isList := v.node.(*ast.SequenceNode); isNull(v.node) || (isList && len(items.Values) == 0) {
			l.errorf(v.pos, "steps: want at least one step, got none")
		}
	} else {
		l.missing(o, "steps", "%s: missing key \"steps\" (want a list such as [media: 2s, hangup])", f.label)
	}
	return s
}

// emulatorKeys are the settings that configure a whole emulator.
var emulatorKeys = []string{"timeouts", "duplicateWebhooks", "rejectOnConnectError", "appCloseAsError"}

// sharedEmulator refuses, in a file with target.api, per-scenario settings
// of the one emulator its bxml: scenarios share (timeouts.callback is the
// call's own and stays allowed). Whether the scenario uses bxml: is only
// known after the merge, so the candidates are kept for checkBXML.
func (l *loader) sharedEmulator(o *object) {
	for _, key := range emulatorKeys {
		v, ok := o.get(key)
		if !ok {
			continue
		}
		if key == "timeouts" {
			if to, isMap := l.entries(v.node); isMap && len(to) == 1 && to[0].key == "callback" {
				continue
			}
		}
		l.perScenario[o.pos] = append(l.perScenario[o.pos], v)
	}
}

// checkBXML checks a merged scenario's bxml: against its streams, steps
// and the target.
func (l *loader) checkBXML(f *File, s *Scenario) {
	b := s.BXML
	x := s.Expect
	if b == nil {
		if x.API != nil {
			l.problem(x.API.Pos, "api: {S} has no bxml:: only calls that run the app's BXML are driven through the Voice API", s.Name, "")
		}
		if x.BXMLWarnings != nil {
			l.problem(s.Pos, "bxmlWarnings: {S} has no bxml:: there is no BXML to warn about", s.Name, "")
		}
		for _, st := range s.Steps {
			if st.Kind == StepWaitForEnd {
				l.errorf(st.Pos, "waitForEnd: only a call that runs the app's BXML (bxml:) ends by itself; use wait: or hangup")
			}
		}
		return
	}
	if x.AcceptsNewStream != nil {
		l.problem(s.Pos, "acceptsNewStream: {S} has bxml:: its streams are the app's BXML's, so there is no stream spec to start again", s.Name, "")
	}
	if x.API != nil && f.Target.API == "" {
		l.problem(x.API.Pos, "api: {S} expects Voice API requests, but the file serves no Voice API: set target.api (e.g. 127.0.0.1:8090)", s.Name, "")
	}
	other := Pos{}
	switch {
	case s.Stream.Pos.Line > 0:
		other = s.Stream.Pos
	case len(s.Extra) > 0:
		other = s.Extra[0].Pos
	}
	if other.Line > 0 {
		// Either may come from defaults:, so the message names both places.
		l.errorf(b.Pos, "bxml: (at %d:%d) and stream:/streams: (at %d:%d) exclude each other: with bxml: the app's <StartStream> verbs start the streams",
			b.Pos.Line, b.Pos.Col, other.Line, other.Col)
	}
	if f.Target.API != "" {
		if b.Event == BXMLAnswer {
			l.errorf(b.Pos, "bxml: event answer cannot be used with target.api (at %d:%d): the Voice API knows only calls it places inbound (event initiate) or the app creates", l.api.Line, l.api.Col)
		}
		for _, v := range l.perScenario[s.Pos] {
			l.errorf(v.kpos, "%s: scenarios with bxml: share the file's emulator when target.api is set (at %d:%d): set %s in defaults:", v.key, l.api.Line, l.api.Col, v.key)
		}
		for _, st := range s.Steps {
			if st.Kind == StepDuplicateWebhooks {
				l.errorf(st.Pos, "duplicateWebhooks: scenarios with bxml: share the file's emulator when target.api is set (at %d:%d): set duplicateWebhooks in defaults:", l.api.Line, l.api.Col)
			}
		}
	}
	for _, st := range s.Steps {
		if st.Kind == StepStart {
			l.errorf(st.Pos, "start: a scenario with bxml: starts its streams with the app's <StartStream> verbs, not start steps")
		}
	}
}
