package scenarios

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"weak"

	"github.com/bwemu/bwemu/internal/consumer"
)

// effectiveTarget is the target a file's scenarios run against: the file's
// own, with what opts overrides. builtin is true when no WebSocket URL is
// left: the built-in reference consumer then takes the streams
// (useBuiltin), and when the target names no app URL at all (no events,
// no disconnect either) the webhooks too.
func effectiveTarget(t Target, opts RunOptions) (_ Target, builtin bool) {
	if opts.WebSocket != "" {
		t.WebSocket = opts.WebSocket
	}
	if opts.Events != "" {
		t.Events = opts.Events
	}
	if opts.Disconnect != "" {
		t.Disconnect = opts.Disconnect
	}
	if opts.CA != "" {
		t.CA = opts.CA
		if abs, err := filepath.Abs(opts.CA); err == nil {
			t.CA = abs // not relative to the file: the option's own place
		}
	}
	return t, t.WebSocket == ""
}

// useBuiltin points t at the built-in consumer srv: its WebSocket URL and,
// when t names no webhook URL of an app, its /events and /disconnect. A
// target that names an app's events URL (a bxml: file, say) keeps its
// webhooks with the app: the disconnect webhook then goes to
// target.disconnect only.
func useBuiltin(t Target, srv *consumer.Server) Target {
	t.WebSocket = srv.WebSocketURL()
	if t.Events == "" && t.Disconnect == "" {
		t.Events, t.Disconnect = srv.EventsURL(), srv.DisconnectURL()
	}
	return t
}

// Check reports the expectations of the selected scenarios that cannot
// hold for the target they run against under opts (the file's target with
// opts' overrides; with no WebSocket URL the built-in consumer, which
// takes every webhook): expect.webhooks and expect.started need an events
// URL (stream webhooks go nowhere else), expect.disconnect a disconnect
// URL. Without one, such an expectation would judge webhooks that were
// never sent. The problems are Errors at the expectations' places, as
// Parse reports them; nil when there are none. With bxml: the app's own
// <StartStream> names the stream's event URL, so only expect.disconnect
// is checked. Run checks its files this way before anything runs.
func Check(files []*File, opts RunOptions) error {
	var errs Errors
	seen := map[string]bool{}
	for _, f := range files {
		t, builtin := effectiveTarget(f.Target, opts)
		if builtin && t.Events == "" && t.Disconnect == "" {
			continue // the built-in consumer takes events and disconnect
		}
		add := func(pos Pos, msg string) {
			k := fmt.Sprintf("%s:%s", pos, msg)
			if seen[k] {
				return
			}
			seen[k] = true
			errs = append(errs, f.errorAt(pos, msg))
		}
		for _, sc := range f.Scenarios {
			if !opts.Selected(sc) {
				continue
			}
			x := sc.Expect
			if sc.BXML == nil && t.Events == "" {
				if x.Webhooks != nil {
					add(x.Webhooks.Pos, "expect.webhooks needs target.events: with no streamEventUrl no stream webhook is sent, so none can be judged (set target.events, or run with --events URL)")
				}
				if x.Started != nil {
					add(x.StartedPos, "expect.started needs target.events: mediaStreamStarted goes to the streamEventUrl, and none is set (set target.events, or run with --events URL)")
				}
			}
			if x.Disconnect != nil && t.Disconnect == "" {
				add(x.Disconnect.Pos, "expect.disconnect needs target.disconnect: the disconnect webhook goes to the call's disconnect URL only, and none is set (set target.disconnect, or run with --disconnect URL)")
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sortErrors(errs)
	return errs
}

// errorAt is an Error at pos of the file, with its source line when the
// file was parsed.
func (f *File) errorAt(pos Pos, msg string) *Error {
	e := &Error{Pos: pos, Msg: msg}
	lines := sourceOf(f)
	if pos.Line >= 1 && pos.Line <= len(lines) {
		e.Line = lines[pos.Line-1]
	}
	return e
}

// sources holds the source lines of the parsed files, for the errors Check
// finds after loading. They are kept beside the File rather than in it, so
// that a File stays a plain value (two parses of equal models are equal),
// and dropped when the File is collected.
var sources = struct {
	sync.Mutex
	m map[weak.Pointer[File]][]string
}{m: map[weak.Pointer[File]][]string{}}

func keepSource(f *File, lines []string) {
	wp := weak.Make(f)
	sources.Lock()
	sources.m[wp] = lines
	sources.Unlock()
	runtime.AddCleanup(f, func(wp weak.Pointer[File]) {
		sources.Lock()
		delete(sources.m, wp)
		sources.Unlock()
	}, wp)
}

func sourceOf(f *File) []string {
	sources.Lock()
	defer sources.Unlock()
	return sources.m[weak.Make(f)]
}
