package bxml

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// MaxDocument is Bandwidth's limit on a BXML document, in bytes.
const MaxDocument = 64 << 10

// Document is a parsed BXML document: the verbs to execute, in order, and
// what the parser noticed but Bandwidth would not refuse.
type Document struct {
	// Root is the root element, "Response" or "Bxml".
	Root  string
	Verbs []Verb
	// Warnings are unsupported verbs (skipped) and unknown attributes
	// (ignored); the engine journals them before it executes the document.
	Warnings []Warning
}

// Verb is one executable BXML verb.
type Verb interface {
	// VerbName is the element name, e.g. "StartStream".
	VerbName() string
	// Pos is the line of the verb's start tag in the document.
	Pos() int
}

// Warning is something in a document that Bandwidth accepts but that
// probably does not do what its author meant.
type Warning struct {
	Line    int
	Verb    string // the verb it concerns ("" for the document itself)
	Message string
}

func (w Warning) String() string {
	if w.Verb == "" {
		return fmt.Sprintf("line %d: %s", w.Line, w.Message)
	}
	return fmt.Sprintf("line %d: <%s>: %s", w.Line, w.Verb, w.Message)
}

// SyntaxError is a document Bandwidth answers as invalid BXML: malformed
// XML, a wrong root, a document over MaxDocument, or an attribute value a
// verb cannot take. Line is 0 when the error concerns the whole document.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "invalid BXML: " + e.Msg
	}
	return fmt.Sprintf("invalid BXML: line %d: %s", e.Line, e.Msg)
}

// StartStream is <StartStream>: open a media stream to Destination. See
// emulator.StreamSpec for what each attribute does; empty fields take
// Bandwidth's defaults.
type StartStream struct {
	Line                int
	Name                string
	Mode                protocol.Mode // unidirectional (default) or bidirectional
	Tracks              string        // inbound (default), outbound or both
	Destination         string
	DestinationUsername string
	DestinationPassword string
	StreamEventURL      string // may be relative to the URL that served the BXML
	StreamEventMethod   string // POST (default) or GET, upper case
	Username            string
	Password            string
	Params              []protocol.StreamParam
}

// StopStream is <StopStream>: stop the named stream, or with Wait block
// until it ends.
type StopStream struct {
	Line int
	Name string
	Wait bool
}

// Pause is <Pause>: wait Duration (Bandwidth's default: 1 s).
type Pause struct {
	Line     int
	Duration time.Duration
}

// SpeakSentence is <SpeakSentence>: text-to-speech to the caller. Text is
// the sentence with any SSML tags removed.
type SpeakSentence struct {
	Line   int
	Text   string
	Voice  string
	Locale string
	Gender string
}

// PlayAudio is <PlayAudio>: play the audio file at URL to the caller.
type PlayAudio struct {
	Line     int
	URL      string // may be relative to the URL that served the BXML
	Username string
	Password string
}

// Ring is <Ring>: play ringing to the caller for Duration (default 5 s).
type Ring struct {
	Line       int
	Duration   time.Duration
	AnswerCall bool // default true
}

// Redirect is <Redirect>: fetch new BXML from RedirectURL (eventType
// "redirect") and continue with it; on failure try the fallback URL.
type Redirect struct {
	Line             int
	RedirectURL      string
	RedirectMethod   string // POST (default) or GET, upper case
	Username         string
	Password         string
	Tag              string // the call's tag from now on, when not empty
	FallbackURL      string // redirectFallbackUrl
	FallbackMethod   string // redirectFallbackMethod
	FallbackUsername string
	FallbackPassword string
}

// Hangup is <Hangup>: end the call.
type Hangup struct{ Line int }

func (*StartStream) VerbName() string   { return "StartStream" }
func (*StopStream) VerbName() string    { return "StopStream" }
func (*Pause) VerbName() string         { return "Pause" }
func (*SpeakSentence) VerbName() string { return "SpeakSentence" }
func (*PlayAudio) VerbName() string     { return "PlayAudio" }
func (*Ring) VerbName() string          { return "Ring" }
func (*Redirect) VerbName() string      { return "Redirect" }
func (*Hangup) VerbName() string        { return "Hangup" }

func (v *StartStream) Pos() int   { return v.Line }
func (v *StopStream) Pos() int    { return v.Line }
func (v *Pause) Pos() int         { return v.Line }
func (v *SpeakSentence) Pos() int { return v.Line }
func (v *PlayAudio) Pos() int     { return v.Line }
func (v *Ring) Pos() int          { return v.Line }
func (v *Redirect) Pos() int      { return v.Line }
func (v *Hangup) Pos() int        { return v.Line }

// describe renders a verb for the journal, secrets redacted.
func describe(v Verb) string {
	b := &verbText{}
	b.WriteString("<" + v.VerbName())
	switch v := v.(type) {
	case *StartStream:
		b.startStream(v)
	case *StopStream:
		b.attr("name", v.Name)
		if v.Wait {
			b.attr("wait", "true")
		}
		b.WriteString("/>")
	case *Pause:
		b.attr("duration", seconds(v.Duration))
		b.WriteString("/>")
	case *SpeakSentence:
		b.attr("voice", v.Voice)
		b.attr("locale", v.Locale)
		b.attr("gender", v.Gender)
		fmt.Fprintf(b, ">%s", truncate(v.Text, 60))
	case *PlayAudio:
		b.attr("username", v.Username)
		b.secret("password", v.Password)
		fmt.Fprintf(b, ">%s", weburl.Redact(v.URL))
	case *Ring:
		b.attr("duration", seconds(v.Duration))
		if !v.AnswerCall {
			b.attr("answerCall", "false")
		}
		b.WriteString("/>")
	case *Redirect:
		b.redirect(v)
	default:
		b.WriteString("/>")
	}
	fmt.Fprintf(b, " (line %d)", v.Pos())
	return b.String()
}

// verbText renders a verb's attributes, empty ones left out.
type verbText struct{ strings.Builder }

func (b *verbText) attr(name, value string) {
	if value != "" {
		fmt.Fprintf(b, " %s=%q", name, value)
	}
}

// secret renders a set password as redacted.
func (b *verbText) secret(name, value string) {
	if value != "" {
		fmt.Fprintf(b, " %s=%q", name, weburl.Redacted)
	}
}

func (b *verbText) startStream(v *StartStream) {
	b.attr("name", v.Name)
	b.attr("mode", string(v.Mode))
	b.attr("tracks", v.Tracks)
	b.attr("destination", weburl.Redact(v.Destination))
	b.attr("destinationUsername", v.DestinationUsername)
	b.secret("destinationPassword", v.DestinationPassword)
	b.attr("streamEventUrl", weburl.Redact(v.StreamEventURL))
	b.attr("streamEventMethod", v.StreamEventMethod)
	b.attr("username", v.Username)
	b.secret("password", v.Password)
	if len(v.Params) > 0 {
		fmt.Fprintf(b, "> with %d StreamParam", len(v.Params))
	} else {
		b.WriteString("/>")
	}
}

func (b *verbText) redirect(v *Redirect) {
	b.attr("redirectUrl", weburl.Redact(v.RedirectURL))
	b.attr("redirectMethod", v.RedirectMethod)
	b.attr("username", v.Username)
	b.secret("password", v.Password)
	b.attr("tag", v.Tag)
	b.attr("redirectFallbackUrl", weburl.Redact(v.FallbackURL))
	b.WriteString("/>")
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
