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
	targetKeys = []string{"websocket", "events", "eventMethod", "disconnect", "disconnectMethod", "wsUser", "wsPassword", "eventUser", "eventPassword", "ca",
		"api", "apiUsername", "apiPassword", "apiClientId", "apiClientSecret"}
	settingKeys  = []string{"call", "stream", "streams", "pace", "speed", "timeouts", "duplicateWebhooks", "rejectOnConnectError", "appCloseAsError", "expect", "bxml", "record"}
	callKeys     = []string{"from", "to", "direction", "tag"}
	bxmlKeys     = []string{"url", "method", "event", "username", "password"}
	streamKeys   = []string{"name", "mode", "tracks", "params", "destination", "query", "audio"}
	timeoutKeys  = []string{"handshake", "write", "closeHandshake", "callback", "deadPeer"}
	scenarioKeys = append(append([]string{"name"}, settingKeys...), "steps")
)

// The values of each enumerated key.
var (
	modes        = []string{string(protocol.ModeUnidirectional), string(protocol.ModeBidirectional)}
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
	doc, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		l.syntax(err)
		return nil
	}
	body := l.body(doc)
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
	f := &File{Path: l.path}
	o := l.obj(top, "the file", fileKeys)
	o.read(map[string]func(*field){
		"target":    func(v *field) { f.Target = l.target(v) },
		"defaults":  func(v *field) { f.Defaults = l.settings(l.obj(v, "defaults", settingKeys)) },
		"scenarios": func(v *field) { f.Scenarios = l.scenarios(v) },
	})
	l.require(o, "scenarios", "missing key \"scenarios\": a file needs at least one scenario")
	for _, s := range f.Scenarios {
		s.Settings = merge(f.Defaults, s.Settings)
		l.checkBXML(f, s)
		l.checkRefs(s)
		l.checkTurns(s)
	}
	l.reportProblems()
	return f
}

// body is the file's one YAML document; every further document is an
// error, and nil means the file holds none.
func (l *loader) body(doc *ast.File) ast.Node {
	var body ast.Node
	for _, d := range doc.Docs {
		if d == nil || isNull(d.Body) {
			continue
		}
		if _, comment := d.Body.(*ast.CommentGroupNode); comment {
			continue
		}
		if body == nil {
			body = d.Body
			continue
		}
		l.errorf(l.pos(d), "a scenario file holds one YAML document; put every scenario under the first document's scenarios:")
	}
	return body
}

// scenarios reads the list of scenarios: at least one, each name unique.
func (l *loader) scenarios(f *field) []*Scenario {
	items, ok := l.list(f)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		l.errorf(f.pos, "scenarios: want at least one scenario, got none")
		return nil
	}
	var out []*Scenario
	names := map[string]Pos{}
	for i, it := range items {
		if s := l.scenario(l.item("scenarios", i, it), names); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (l *loader) target(f *field) Target {
	var t Target
	l.obj(f, "target", targetKeys).read(map[string]func(*field){
		"websocket":        into(&t.WebSocket, l.wsURL),
		"events":           into(&t.Events, l.httpURL),
		"eventMethod":      into(&t.EventMethod, l.oneOf(eventMethods)),
		"disconnect":       into(&t.Disconnect, l.httpURL),
		"disconnectMethod": into(&t.DisconnectMethod, l.oneOf(eventMethods)),
		"wsUser":           into(&t.WSUser, l.basicUser),
		"wsPassword":       into(&t.WSPassword, l.text),
		"eventUser":        into(&t.EventUser, l.basicUser),
		"eventPassword":    into(&t.EventPassword, l.text),
		"ca":               into(&t.CA, l.caFile),
		"api": func(v *field) {
			t.API, _ = l.hostPort(v)
			l.api = v.pos // the shared emulator's rules name it
		},
		"apiUsername":     into(&t.APIUsername, l.basicUser),
		"apiPassword":     into(&t.APIPassword, l.text),
		"apiClientId":     into(&t.APIClientID, l.text),
		"apiClientSecret": into(&t.APIClientSecret, l.text),
	})
	return t
}

// hostPort reads target.api: a host:port to listen on, port required.
func (l *loader) hostPort(f *field) (string, bool) {
	return checked(l, f, l.str, func(s string) bool {
		host, port, err := net.SplitHostPort(s)
		n, perr := strconv.Atoi(port)
		return err == nil && host != "" && perr == nil && n >= 0 && n <= 65535
	}, func(s string) string {
		return fmt.Sprintf("api: %q is not a host:port to serve the Voice API on (e.g. 127.0.0.1:8090)", s)
	})
}

// bxml reads bxml: where the call gets its first BXML.
func (l *loader) bxml(f *field) *BXML {
	o := l.obj(f, "bxml", bxmlKeys)
	if o == nil {
		return nil
	}
	b := &BXML{Pos: o.pos}
	l.require(o, "url", "bxml: missing key \"url\" (the app's URL that serves the call's first BXML)")
	o.read(map[string]func(*field){
		"url": into(&b.URL, func(v *field) (string, bool) {
			return l.urlOf(v, "http", "https", "the app's URL that serves the call's first BXML")
		}),
		"method":   into(&b.Method, l.oneOf(eventMethods)),
		"event":    into(&b.Event, l.oneOf(bxmlEvents)),
		"username": into(&b.Username, l.basicUser),
		"password": into(&b.Password, l.text),
	})
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
	o.read(map[string]func(*field){
		"call": func(v *field) { s.Call = l.call(v) },
		"stream": func(v *field) {
			if st := l.stream(v, "stream"); st != nil {
				s.Stream = *st
			}
		},
		"streams": func(v *field) { s.Extra = l.streamList(v) },
		"pace": func(v *field) {
			s.Pace, _ = l.enum(v, paces...)
			s.PacePos = v.pos
		},
		"speed":                into(&s.Speed, l.speed),
		"timeouts":             func(v *field) { s.Timeouts = l.timeouts(v) },
		"duplicateWebhooks":    func(v *field) { s.Options.DuplicateWebhooks = l.optBool(v) },
		"rejectOnConnectError": func(v *field) { s.Options.RejectOnConnectError = l.optBool(v) },
		"appCloseAsError":      func(v *field) { s.Options.AppCloseAsError = l.optBool(v) },
		"expect":               func(v *field) { s.Expect = l.expect(v) },
		"bxml":                 func(v *field) { s.BXML = l.bxml(v) },
		"record":               into(&s.Record, l.recordDir),
	})
	return s
}

// recordDir reads record:, a directory relative to the file's directory
// that the run creates when it is missing; it must not be a file.
func (l *loader) recordDir(f *field) (string, bool) {
	s, ok := l.str(f)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		l.errorf(f.pos, "record: want a directory for the recordings, e.g. record: recordings")
		return "", false
	}
	if fi, err := os.Stat(l.resolve(s)); err == nil && !fi.IsDir() {
		l.errorf(f.pos, "record: %q is a file, not a directory (the recordings go into a directory of each scenario's own in it)", s)
		return "", false
	}
	return s, true
}

// streamList reads streams:, the streams started with the first.
func (l *loader) streamList(f *field) []Stream {
	items, _ := l.list(f)
	out := []Stream{}
	for i, it := range items {
		item := l.item("streams", i, it)
		if st := l.stream(item, item.label); st != nil {
			out = append(out, *st)
		}
	}
	return out
}

// speed reads the realtime speed factor: a number above 0.
func (l *loader) speed(f *field) (float64, bool) {
	return checked(l, f, l.number, func(x float64) bool { return x > 0 }, func(float64) string {
		return fmt.Sprintf("speed: %s is not above 0 (want a factor such as 2 for twice real time, 0.5 for half)", f.node.GetToken().Value)
	})
}

func (l *loader) call(f *field) Call {
	var c Call
	l.obj(f, "call", callKeys).read(map[string]func(*field){
		"from":      into(&c.From, l.text),
		"to":        into(&c.To, l.text),
		"direction": into(&c.Direction, l.oneOf(directions)),
		"tag":       into(&c.Tag, l.text),
	})
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
	o.read(map[string]func(*field){
		"name":        into(&s.Name, l.str),
		"mode":        into(&s.Mode, oneOfAs[protocol.Mode](l, modes)),
		"tracks":      into(&s.Tracks, l.oneOf(trackValues)),
		"params":      func(v *field) { s.Params = l.params(v, true) },
		"destination": into(&s.Destination, l.wsURL),
		"query":       func(v *field) { s.Query = l.params(v, false) },
		"audio": func(v *field) {
			if spec, ok := l.str(v); ok {
				s.Audio = spec
				s.AudioSource = l.audioSource(v, spec)
			}
		},
	})
	return s
}

// params reads a mapping of names to scalar values, in order. As
// <StreamParam>s (limits true) Bandwidth's limits apply.
func (l *loader) params(f *field, limits bool) []protocol.StreamParam {
	es, ok := l.mapping(f, "a mapping of names to values")
	if !ok {
		return nil
	}
	out := []protocol.StreamParam{}
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
	l.obj(f, "timeouts", timeoutKeys).read(map[string]func(*field){
		"handshake":      into(&t.Handshake, l.duration),
		"write":          into(&t.Write, l.duration),
		"closeHandshake": into(&t.CloseHandshake, l.duration),
		"callback":       into(&t.Callback, l.callbackTimeout),
		"deadPeer":       into(&t.DeadPeer, l.duration),
	})
	return t
}

// callbackTimeout reads timeouts.callback: within Bandwidth's range.
func (l *loader) callbackTimeout(f *field) (time.Duration, bool) {
	return checked(l, f, l.duration, func(d time.Duration) bool { return d >= minCallback && d <= maxCallback }, func(d time.Duration) string {
		return fmt.Sprintf("callback: %s is out of range (Bandwidth's callbackTimeout is %s to %s)", d, minCallback, maxCallback)
	})
}

// audioResult caches a resolved audio spec.
type audioResult struct {
	audio media.Audio
	err   string
}

// audioFiles are the extensions of the audio files a file may name.
var audioFiles = []string{".wav", ".pcmu", ".ulaw", ".raw"}

func isAudioFile(path string) bool {
	return contains(audioFiles, strings.ToLower(filepath.Ext(path)))
}

// audioSource resolves an audio: spec with media.Parse, file paths
// relative to the file's directory.
func (l *loader) audioSource(f *field, spec string) media.Audio {
	s := strings.TrimSpace(spec)
	lower := strings.ToLower(s)
	if lower == "silence" || strings.HasPrefix(lower, "tone:") {
		return l.loadAudio(f, "audio", s, false)
	}
	if !isAudioFile(s) {
		l.errorf(f.pos, "audio: %q is not silence, tone:HZ (e.g. tone:440), or a .wav, .pcmu, .ulaw or .raw file", spec)
		return nil
	}
	return l.loadAudio(f, "audio", s, true)
}

// loadAudio resolves spec (a file path relative to the file's directory
// when isFile) once per run of the loader; a problem is reported at f,
// after key.
func (l *loader) loadAudio(f *field, key, spec string, isFile bool) media.Audio {
	resolved := spec
	if isFile {
		resolved = l.resolve(spec)
	}
	r, cached := l.audio[resolved]
	if !cached {
		if isFile {
			if _, err := os.Stat(resolved); os.IsNotExist(err) {
				r.err = fmt.Sprintf("file %q not found (looked for %s)", spec, resolved)
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
		l.errorf(f.pos, "%s: %s", key, r.err)
	}
	return r.audio
}

// speech loads the clip a say: step names: a .wav or µ-law file, relative
// to the file's directory, that holds speech (audio loud enough to be
// heard as the caller speaking, as Stream.Say requires).
func (l *loader) speech(f *field) (string, media.Audio, bool) {
	spec, ok := l.str(f)
	if !ok {
		return "", nil, false
	}
	s := strings.TrimSpace(spec)
	if !isAudioFile(s) {
		l.errorf(f.pos, "say: %q is not a .wav, .pcmu, .ulaw or .raw file (the caller's speech)", spec)
		return spec, nil, false
	}
	a := l.loadAudio(f, "say", s, true)
	if a == nil {
		return spec, nil, false
	}
	if !media.HoldsSpeech(a) {
		l.errorf(f.pos, "say: %s holds no speech: its level never reaches %g dBFS", spec, media.SpeechOnLevel)
		return spec, nil, false
	}
	return spec, a, true
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
var emulatorKeys = []string{"timeouts", "duplicateWebhooks", "rejectOnConnectError", "appCloseAsError", "record"}

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
	if x.Heard != nil && s.Record == "" {
		l.problem(x.Heard.Pos, "heard: {S} has bxml:: its streams are the app's BXML's, started unrecorded; set record: DIR to record them", s.Name, "")
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
