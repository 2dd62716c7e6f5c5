package bxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/weburl"
)

// Default durations of the verbs that have one, from Bandwidth's BXML reference.
const (
	DefaultPauseDuration = time.Second
	DefaultRingDuration  = 5 * time.Second
)

// The attributes each verb takes, in Bandwidth's spelling.
var verbAttrs = map[string][]string{
	"StartStream": {"name", "mode", "tracks", "destination", "destinationUsername", "destinationPassword",
		"streamEventUrl", "streamEventMethod", "username", "password"},
	"StreamParam":   {"name", "value"},
	"StopStream":    {"name", "wait"},
	"Pause":         {"duration"},
	"SpeakSentence": {"voice", "locale", "gender"},
	"PlayAudio":     {"username", "password"},
	"Ring":          {"duration", "answerCall"},
	"Redirect": {"redirectUrl", "redirectMethod", "username", "password", "tag",
		"redirectFallbackUrl", "redirectFallbackMethod", "fallbackUsername", "fallbackPassword"},
	"Hangup": {},
}

// bandwidthVerbs are the other verbs of Bandwidth's BXML, which the engine
// skips with a warning.
var bandwidthVerbs = []string{"Bridge", "Conference", "Forward", "Gather", "PauseRecording", "Record",
	"ResumeRecording", "SendDtmf", "StartGather", "StartRecording", "StartTranscription", "StopGather",
	"StopRecording", "StopTranscription", "Tag", "Transfer"}

// Parse reads a BXML document. A document Bandwidth would answer as invalid
// BXML is a *SyntaxError; unsupported verbs and unknown attributes are
// Document.Warnings.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxDocument {
		return nil, &SyntaxError{Msg: fmt.Sprintf("the document is %d bytes: Bandwidth accepts at most %d (64 KB)", len(data), MaxDocument)}
	}
	p := &parser{d: xml.NewDecoder(bytes.NewReader(data)), doc: &Document{}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.doc, nil
}

type parser struct {
	d   *xml.Decoder
	doc *Document
}

// next returns the next token and the line it starts on. Whitespace is a
// token of its own, so the position before reading is the token's start.
func (p *parser) next() (xml.Token, int, error) {
	line, _ := p.d.InputPos()
	tok, err := p.d.Token()
	if err != nil {
		return nil, line, p.xmlError(err, line)
	}
	return tok, line, nil
}

func (p *parser) xmlError(err error, line int) error {
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return &SyntaxError{Line: se.Line, Msg: "malformed XML: " + se.Msg}
	case errors.Is(err, io.EOF):
		return &SyntaxError{Line: line, Msg: "the document ends before its root element closes"}
	}
	return &SyntaxError{Line: line, Msg: "malformed XML: " + err.Error()}
}

func (p *parser) warn(line int, verb, format string, args ...any) {
	p.doc.Warnings = append(p.doc.Warnings, Warning{Line: line, Verb: verb, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) parse() error {
	// Prolog: an XML declaration, comments and whitespace, then the root.
	for p.doc.Root == "" {
		line, _ := p.d.InputPos()
		tok, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			return &SyntaxError{Line: line, Msg: "empty document: want a <Response> or <Bxml> root element"}
		}
		if err != nil {
			return p.xmlError(err, line)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return &SyntaxError{Line: textLine(line, t), Msg: "text before the root element: want a <Response> or <Bxml> root element"}
			}
		case xml.StartElement:
			if t.Name.Local != "Response" && t.Name.Local != "Bxml" {
				return &SyntaxError{Line: line, Msg: fmt.Sprintf("root element <%s>: want <Response> or <Bxml>", t.Name.Local)}
			}
			p.doc.Root = t.Name.Local
		}
	}
	if err := p.verbs(); err != nil {
		return err
	}
	// Epilog: nothing but comments and whitespace may follow the root.
	for {
		line, _ := p.d.InputPos()
		tok, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return p.xmlError(err, line)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return &SyntaxError{Line: line, Msg: fmt.Sprintf("a second root element <%s> after </%s>", t.Name.Local, p.doc.Root)}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return &SyntaxError{Line: textLine(line, t), Msg: fmt.Sprintf("text after </%s>", p.doc.Root)}
			}
		}
	}
}

// verbs reads the root's children up to its end tag.
func (p *parser) verbs() error {
	warnedText := false
	return p.content(func(t xml.CharData, line int) {
		if !warnedText && len(bytes.TrimSpace(t)) > 0 {
			warnedText = true
			p.warn(textLine(line, t), "", "text directly inside <%s> is ignored: only verbs are executed", p.doc.Root)
		}
	}, func(se xml.StartElement, line int) error {
		v, err := p.verb(se, line)
		if err == nil && v != nil {
			p.doc.Verbs = append(p.doc.Verbs, v)
		}
		return err
	})
}

// content reads an element's content up to its end tag, handing character
// data to text and each child element to child, which must consume it.
func (p *parser) content(text func(xml.CharData, int), child func(xml.StartElement, int) error) error {
	for {
		tok, line, err := p.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			text(t, line)
		case xml.StartElement:
			if err := child(t, line); err != nil {
				return err
			}
		}
	}
}

func (p *parser) verb(se xml.StartElement, line int) (Verb, error) {
	name := se.Name.Local
	if _, ok := verbAttrs[name]; !ok || name == "StreamParam" {
		p.unsupported(name, line)
		return nil, p.skip()
	}
	a := p.attrs(se, name, line)
	switch name {
	case "StartStream":
		return p.startStream(a, line)
	case "StopStream":
		return p.stopStream(a, line)
	case "Pause":
		d, err := parseSeconds(a, "duration", DefaultPauseDuration, name, line)
		if err != nil {
			return nil, err
		}
		return &Pause{Line: line, Duration: d}, p.empty(name)
	case "SpeakSentence":
		var text strings.Builder
		if err := p.ssml(&text); err != nil {
			return nil, err
		}
		return &SpeakSentence{Line: line, Text: strings.Join(strings.Fields(text.String()), " "),
			Voice: a["voice"], Locale: a["locale"], Gender: a["gender"]}, nil
	case "PlayAudio":
		return p.playAudio(a, line)
	case "Ring":
		d, err := parseSeconds(a, "duration", DefaultRingDuration, name, line)
		if err != nil {
			return nil, err
		}
		answer, err := parseBool(a, "answerCall", true, name, line)
		if err != nil {
			return nil, err
		}
		return &Ring{Line: line, Duration: d, AnswerCall: answer}, p.empty(name)
	case "Redirect":
		return p.redirect(a, line)
	case "Hangup":
		return &Hangup{Line: line}, p.empty(name)
	}
	return nil, nil // unreachable: every name of verbAttrs is handled
}

func (p *parser) stopStream(a map[string]string, line int) (Verb, error) {
	v := &StopStream{Line: line, Name: a["name"]}
	if v.Name == "" {
		return nil, &SyntaxError{Line: line, Msg: "<StopStream> needs a name: the stream to stop"}
	}
	var err error
	if v.Wait, err = parseBool(a, "wait", false, "StopStream", line); err != nil {
		return nil, err
	}
	return v, p.empty("StopStream")
}

func (p *parser) playAudio(a map[string]string, line int) (Verb, error) {
	var text strings.Builder
	if err := p.body("PlayAudio", &text, nil); err != nil {
		return nil, err
	}
	v := &PlayAudio{Line: line, URL: strings.TrimSpace(text.String()), Username: a["username"], Password: a["password"]}
	if v.URL == "" {
		return nil, &SyntaxError{Line: line, Msg: "<PlayAudio> needs the URL of the audio file as its content"}
	}
	if _, err := url.Parse(v.URL); err != nil {
		return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("<PlayAudio> URL %q is not a URL", v.URL)}
	}
	return v, nil
}

func (p *parser) startStream(a map[string]string, line int) (Verb, error) {
	v := &StartStream{Line: line, Name: a["name"], Mode: protocol.Mode(a["mode"]), Tracks: a["tracks"], Destination: a["destination"],
		DestinationUsername: a["destinationUsername"], DestinationPassword: a["destinationPassword"],
		StreamEventURL: a["streamEventUrl"], StreamEventMethod: strings.ToUpper(a["streamEventMethod"]),
		Username: a["username"], Password: a["password"]}
	err := p.body("StartStream", nil, func(se xml.StartElement, cl int) error {
		if se.Name.Local != "StreamParam" {
			p.warn(cl, "StartStream", "<%s> inside <StartStream> is ignored: only <StreamParam> belongs there", se.Name.Local)
			return p.skip()
		}
		pa := p.attrs(se, "StreamParam", cl)
		if _, ok := pa["name"]; !ok {
			return &SyntaxError{Line: cl, Msg: "<StreamParam> needs a name"}
		}
		v.Params = append(v.Params, protocol.StreamParam{Name: pa["name"], Value: pa["value"]})
		return p.empty("StreamParam")
	})
	if err != nil {
		return nil, err
	}
	if v.StreamEventURL != "" {
		if err := checkHTTPURL(v.StreamEventURL); err != nil {
			// Redacted: this message reaches the journal and the disconnect webhook.
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("<StartStream> streamEventUrl %q: %s", weburl.Redact(v.StreamEventURL), err)}
		}
	}
	// The emulator's own validation is Bandwidth's: destination, mode,
	// tracks, method and the StreamParam limits.
	spec := emulator.StreamSpec{Name: v.Name, Mode: v.Mode, Tracks: v.Tracks, Destination: v.Destination,
		StreamEventMethod: v.StreamEventMethod, Params: v.Params}
	if err := spec.Validate(); err != nil {
		var se *emulator.SpecError
		if errors.As(err, &se) {
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("<StartStream> %s: %s", se.Field, se.Reason)}
		}
		return nil, &SyntaxError{Line: line, Msg: "<StartStream>: " + err.Error()}
	}
	return v, nil
}

func (p *parser) redirect(a map[string]string, line int) (Verb, error) {
	v := &Redirect{Line: line, RedirectURL: a["redirectUrl"], RedirectMethod: strings.ToUpper(a["redirectMethod"]),
		Username: a["username"], Password: a["password"], Tag: a["tag"],
		FallbackURL: a["redirectFallbackUrl"], FallbackMethod: strings.ToUpper(a["redirectFallbackMethod"]),
		FallbackUsername: a["fallbackUsername"], FallbackPassword: a["fallbackPassword"]}
	if v.RedirectURL == "" {
		return nil, &SyntaxError{Line: line, Msg: "<Redirect> needs a redirectUrl"}
	}
	for _, u := range []struct{ attr, value string }{{"redirectUrl", v.RedirectURL}, {"redirectFallbackUrl", v.FallbackURL}} {
		if u.value == "" {
			continue
		}
		if err := checkHTTPURL(u.value); err != nil {
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("<Redirect> %s %q: %s", u.attr, weburl.Redact(u.value), err)}
		}
	}
	for _, m := range []struct{ attr, value string }{{"redirectMethod", v.RedirectMethod}, {"redirectFallbackMethod", v.FallbackMethod}} {
		if m.value != "" && m.value != "GET" && m.value != "POST" {
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("<Redirect> %s %q: want POST or GET", m.attr, m.value)}
		}
	}
	return v, p.empty("Redirect")
}

// checkHTTPURL accepts an http(s) URL or a relative one.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.IsAbs() && u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("want an http:// or https:// URL, or one relative to the BXML's URL")
	}
	return nil
}

// attrs returns the attributes Bandwidth knows for verb and warns about the others.
func (p *parser) attrs(se xml.StartElement, verb string, line int) map[string]string {
	known := verbAttrs[verb]
	out := map[string]string{}
	for _, at := range se.Attr {
		name := at.Name.Local
		if at.Name.Space != "" || name == "xmlns" {
			continue // namespace declarations and namespaced attributes (xsi:…) are not BXML
		}
		if slices.Contains(known, name) {
			out[name] = at.Value
			continue
		}
		p.warn(line, verb, "%s", unknownAttr(verb, name, known))
	}
	return out
}

// unknownAttr explains an unknown attribute, naming the one its author
// probably meant (destination_username → destinationUsername).
func unknownAttr(verb, name string, known []string) string {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	for _, k := range known {
		if norm(k) != norm(name) {
			continue
		}
		lower := strings.ToLower(k)
		if strings.Contains(lower, "username") || strings.Contains(lower, "password") {
			return fmt.Sprintf("unknown attribute %s is ignored (Bandwidth ignores attributes it does not know), "+
				"so these credentials will never be sent: the attribute is %s, in camelCase", name, k)
		}
		return fmt.Sprintf("unknown attribute %s is ignored: the attribute is %s, in camelCase", name, k)
	}
	if len(known) == 0 {
		return fmt.Sprintf("unknown attribute %s is ignored: <%s> takes no attributes", name, verb)
	}
	return fmt.Sprintf("unknown attribute %s is ignored: <%s> takes %s", name, verb, strings.Join(known, ", "))
}

func (p *parser) unsupported(name string, line int) {
	for v := range verbAttrs {
		if v != "StreamParam" && strings.EqualFold(v, name) {
			p.warn(line, name, "not a BXML verb (names are case-sensitive): did you mean <%s>? Skipped", v)
			return
		}
	}
	if slices.Contains(bandwidthVerbs, name) {
		p.warn(line, name, "a Bandwidth verb the emulator does not execute: skipped, so what follows runs earlier than on Bandwidth")
		return
	}
	p.warn(line, name, "not a BXML verb: skipped (Bandwidth may answer such a document as invalid BXML)")
}

// body reads a verb's content up to its end tag. Character data goes to
// text (nil: non-blank text is warned about); each child element goes to
// child, which must consume it (nil: children are warned about and skipped).
func (p *parser) body(verb string, text *strings.Builder, child func(xml.StartElement, int) error) error {
	warnedText := false
	onText := func(t xml.CharData, line int) {
		switch {
		case text != nil:
			text.Write(t)
		case !warnedText && len(bytes.TrimSpace(t)) > 0:
			warnedText = true
			p.warn(textLine(line, t), verb, "text inside <%s> is ignored", verb)
		}
	}
	if child == nil {
		child = func(se xml.StartElement, line int) error {
			p.warn(line, verb, "<%s> inside <%s> is ignored", se.Name.Local, verb)
			return p.skip()
		}
	}
	return p.content(onText, child)
}

// empty reads a verb that takes no content.
func (p *parser) empty(verb string) error { return p.body(verb, nil, nil) }

// ssml collects the text of a SpeakSentence with its SSML tags (<break/>,
// <emphasis>, <lang>…) removed.
func (p *parser) ssml(text *strings.Builder) error {
	var child func(xml.StartElement, int) error
	child = func(se xml.StartElement, _ int) error {
		// A break, a paragraph or a sentence separates words; inline
		// elements (emphasis, prosody, say-as…) do not.
		boundary := se.Name.Local == "break" || se.Name.Local == "p" || se.Name.Local == "s"
		if boundary {
			text.WriteByte(' ')
		}
		err := p.body("SpeakSentence", text, child)
		if boundary {
			text.WriteByte(' ')
		}
		return err
	}
	return p.body("SpeakSentence", text, child)
}

// textLine is the line of the first non-blank character of text that
// starts on line.
func textLine(line int, text []byte) int {
	blank := len(text) - len(bytes.TrimLeft(text, " \t\r\n"))
	return line + bytes.Count(text[:blank], []byte("\n"))
}

func (p *parser) skip() error {
	line, _ := p.d.InputPos()
	if err := p.d.Skip(); err != nil {
		return p.xmlError(err, line)
	}
	return nil
}

// parseSeconds reads a duration in (possibly fractional) seconds.
func parseSeconds(a map[string]string, attr string, def time.Duration, verb string, line int) (time.Duration, error) {
	raw, ok := a[attr]
	if !ok {
		return def, nil
	}
	s, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || math.IsNaN(s) || math.IsInf(s, 0) {
		return 0, &SyntaxError{Line: line, Msg: fmt.Sprintf("<%s> %s %q is not a number of seconds", verb, attr, raw)}
	}
	if s < 0 {
		return 0, &SyntaxError{Line: line, Msg: fmt.Sprintf("<%s> %s %q is negative", verb, attr, raw)}
	}
	if s > float64(math.MaxInt64)/float64(time.Second) {
		return 0, &SyntaxError{Line: line, Msg: fmt.Sprintf("<%s> %s %q is too long", verb, attr, raw)}
	}
	return time.Duration(s * float64(time.Second)), nil
}

func parseBool(a map[string]string, attr string, def bool, verb string, line int) (bool, error) {
	raw, ok := a[attr]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &SyntaxError{Line: line, Msg: fmt.Sprintf("<%s> %s %q: want true or false", verb, attr, raw)}
}
