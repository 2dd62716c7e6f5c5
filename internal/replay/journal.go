// Package replay runs a stream recorded in a journal again against an app
// and compares what the app did then with what it does now.
//
// A journal (emulator.WriteEntries, docs/JOURNAL.md) is read line by line
// (Read, ReadFile), so that a bad line is reported as FILE:LINE. Its
// streams are listed (Journal.Streams) and one is chosen (Journal.Select).
// Journal.Plan makes of it what a replay does — the start message, the
// media, the ending, the webhooks — and the outcome it had then; Run does
// it against a Target and returns the outcome now, drawn from the
// replay's own journal by the same function (OutcomeOf), and Compare lays
// the two side by side, row by row. The package gives no exit codes and
// prints nothing: the CLI does.
package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/prose"
)

// maxLine bounds one journal line: a line holds one frame or one webhook
// payload, far below this, so a longer one is not a journal.
const maxLine = 16 << 20

// Error is what is wrong with a journal file: at a line (from 1) of it,
// or, with Line 0, with the whole file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Journal is a journal file, read for replay.
type Journal struct {
	File string
	// Version is the format version of its lines (emulator.JournalVersion
	// for a journal written now; 0 for one written before "v" existed).
	Version int
	Entries []emulator.Entry
	// lines are the line numbers of Entries, for messages.
	lines []int
}

// ReadFile reads the journal at path.
func ReadFile(path string) (*Journal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the journal: %v", errText(err))}
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads a journal from r; name is the file name its errors give.
// It refuses a line that is not a journal entry, and a journal written in
// a newer version of the format than this package knows.
func Read(r io.Reader, name string) (*Journal, error) {
	j := &Journal{File: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue // a blank line says nothing: hand-edited journals keep working
		}
		e, err := decodeLine(raw)
		if err != nil {
			return nil, &Error{File: name, Line: line, Msg: err.Error()}
		}
		if len(j.Entries) > 0 && e.Version != j.Version {
			return nil, &Error{File: name, Line: line, Msg: fmt.Sprintf(
				"format version %d, but the lines before it are version %d: a journal is written in one version", e.Version, j.Version)}
		}
		j.Version = e.Version
		j.Entries = append(j.Entries, e)
		j.lines = append(j.lines, line)
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, &Error{File: name, Line: line + 1, Msg: fmt.Sprintf("a line longer than %d MiB is no journal entry", maxLine>>20)}
		}
		return nil, &Error{File: name, Msg: fmt.Sprintf("cannot read the journal: %v", errText(err))}
	}
	if len(j.Entries) == 0 {
		return nil, &Error{File: name, Msg: "no journal entries: the file is empty"}
	}
	return j, nil
}

// decodeLine reads one line into an entry: the version first, since a
// newer format may not even decode into today's Entry.
func decodeLine(raw []byte) (emulator.Entry, error) {
	var e emulator.Entry
	var head struct {
		Version *json.RawMessage `json:"v"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return e, fmt.Errorf("not a journal entry (a JSON object per line): %s", jsonProblem(err))
	}
	if head.Version != nil {
		var v int
		if err := json.Unmarshal(*head.Version, &v); err != nil || v < 1 {
			return e, fmt.Errorf(`"v": %s is not a journal format version (a whole number from 1)`, *head.Version)
		}
		if v > emulator.JournalVersion {
			return e, fmt.Errorf("the journal is in format version %d, newer than this bwemu reads (%d and older): replay it with a bwemu as new as the one that wrote it",
				v, emulator.JournalVersion)
		}
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("not a journal entry: %s", jsonProblem(err))
	}
	switch {
	case e.Kind == "":
		return e, fmt.Errorf(`not a journal entry: it has no "kind"`)
	case e.Seq <= 0:
		return e, fmt.Errorf(`not a journal entry: "seq" is missing or not positive`)
	}
	return e, nil
}

// jsonProblem says what encoding/json found wrong, without its package
// prefix, and names the field when it was a field of the wrong type.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%q: a JSON %s where %s is wanted", te.Field, te.Value, te.Type)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// errText is an os error without the operation and path the FILE: prefix
// already says.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// at is the journal position of entry i, for messages.
func (j *Journal) at(i int, format string, args ...any) *Error {
	return &Error{File: j.File, Line: j.lines[i], Msg: fmt.Sprintf(format, args...)}
}

// Stream is a stream the journal recorded.
type Stream struct {
	ID, Name, CallID string
	// Ending is how it ended ("" when the journal holds no ending for it).
	Ending emulator.Ending
	// Rejected is true for a StartStream the emulator refused (duplicate,
	// track limit): it never reached the app.
	Rejected bool
	// first is the index of its first entry.
	first int
}

// String names the stream for lists: id, name, call and ending.
func (s Stream) String() string {
	name := ""
	if s.Name != "" && s.Name != s.ID {
		name = fmt.Sprintf(" %q", s.Name)
	}
	ending := string(s.Ending)
	switch {
	case s.Rejected:
		ending = "rejected (" + ending + ")"
	case ending == "":
		ending = "no ending journaled"
	}
	return fmt.Sprintf("%s%s on call %s: %s", s.ID, name, s.CallID, ending)
}

// Streams lists the journal's streams in the order they began: every
// stream with a handshake (dialled) or refused by the emulator.
func (j *Journal) Streams() []Stream {
	var out []Stream
	index := map[string]int{}
	for i, e := range j.Entries {
		if e.StreamID == "" {
			continue
		}
		k, seen := index[e.StreamID]
		if !seen && e.Kind != emulator.KindHandshake && e.Kind != emulator.KindRejected {
			continue
		}
		if !seen {
			k = len(out)
			index[e.StreamID] = k
			out = append(out, Stream{ID: e.StreamID, Name: e.StreamName, CallID: e.CallID, first: i})
		}
		switch e.Kind {
		case emulator.KindRejected:
			out[k].Rejected = true
			out[k].Ending = endingOf(e)
		case emulator.KindEnding:
			if end := endingOf(e); end != "" {
				out[k].Ending = end
			}
		}
	}
	return out
}

// SelectError is a choice of stream that cannot be made: none matches,
// several share the name asked for, or the journal has several and none
// was named. Streams are the candidates it lists.
type SelectError struct {
	File, Want string
	Streams    []Stream
	// Ambiguous is true when Streams all bear the name Want.
	Ambiguous bool
}

func (e *SelectError) Error() string {
	var b strings.Builder
	switch {
	case len(e.Streams) == 0:
		return fmt.Sprintf("%s: no stream in the journal: nothing to replay", e.File)
	case e.Ambiguous:
		fmt.Fprintf(&b, "%s: %d streams are named %q: name one by its id with --stream ID:", e.File, len(e.Streams), e.Want)
	case e.Want == "":
		fmt.Fprintf(&b, "%s holds %d streams: name the one to replay with --stream ID or NAME:", e.File, len(e.Streams))
	default:
		fmt.Fprintf(&b, "%s: --stream %s matches none of its %s:", e.File, e.Want, prose.Plural(len(e.Streams), "stream", "streams"))
	}
	for _, s := range e.Streams {
		b.WriteString("\n  " + s.String())
	}
	return b.String()
}

// Select returns the stream with the id or name want ("" when the journal
// holds exactly one stream). A name several streams share is ambiguous:
// their ids tell them apart.
func (j *Journal) Select(want string) (Stream, error) {
	all := j.Streams()
	if want == "" {
		if len(all) == 1 {
			return all[0], nil
		}
		return Stream{}, &SelectError{File: j.File, Streams: all}
	}
	var named []Stream
	for _, s := range all {
		if s.ID == want {
			return s, nil
		}
		if s.Name == want {
			named = append(named, s)
		}
	}
	if len(named) > 1 {
		// A duplicate StartStream shares its name with the stream it
		// collided with, but never reached the app: the name means the other.
		var live []Stream
		for _, s := range named {
			if !s.Rejected {
				live = append(live, s)
			}
		}
		if len(live) == 1 {
			return live[0], nil
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
		return Stream{}, &SelectError{File: j.File, Want: want, Streams: all}
	}
	return Stream{}, &SelectError{File: j.File, Want: want, Streams: named, Ambiguous: true}
}

// endingOf is the ending an ending or rejected entry records: its Ending
// field, or in a journal older than the field the name in its message
// ("stream ended (hangup): …"), the only place such a journal kept it.
func endingOf(e emulator.Entry) emulator.Ending {
	if e.Ending != "" {
		return e.Ending
	}
	if e.Kind == emulator.KindRejected {
		return emulator.Ending(e.Cause) // duplicate and track-limit are both cause and ending
	}
	rest, ok := strings.CutPrefix(e.Message, "stream ended (")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, ")")
	if _, known := emulator.TerminationOf(emulator.Ending(name)); !ok || !known {
		return ""
	}
	return emulator.Ending(name)
}
