package protocol

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ContentTypePCMU is playAudio's µ-law content type.
const ContentTypePCMU = "audio/pcmu"

// PlayAudio is a validated playAudio message.
type PlayAudio struct {
	ContentType string
	SampleRate  int // 8000 for PCMU
	Audio       []byte
}

// Samples is the number of whole samples in the audio.
func (p PlayAudio) Samples() int {
	if p.ContentType == ContentTypePCMU {
		return len(p.Audio)
	}
	return len(p.Audio) / 2
}

// ProtocolError is an app message that breaks the rules of PROTOCOL §4. The
// emulator journals it as a violation and keeps the stream going. An
// Undocumented one breaks no documented rule: Bandwidth documents nothing
// about such a message (an eventType other than playAudio and clear), so
// it is never held against the app as a violation.
type ProtocolError struct {
	Reason       string
	Undocumented bool
}

func (e *ProtocolError) Error() string { return e.Reason }

func violation(format string, args ...any) error {
	return &ProtocolError{Reason: fmt.Sprintf(format, args...)}
}

// ParseAppMessage validates one frame an app sent on a bidirectional stream.
// It returns the message and, for playAudio, the decoded audio. Every way a
// frame can be wrong is a *ProtocolError with a reason a developer can act on.
func ParseAppMessage(text bool, data []byte) (AppMessage, *PlayAudio, error) {
	var msg AppMessage
	if !text {
		return msg, nil, violation("binary frame of %d bytes: Bandwidth accepts JSON text frames only", len(data))
	}
	// json.Unmarshal, not a Decoder: a frame holds exactly one message, and
	// trailing data (a second object) must not pass unnoticed.
	if err := json.Unmarshal(data, &msg); err != nil {
		return msg, nil, violation("frame is not a JSON object: %v", err)
	}
	switch msg.EventType {
	case EventClear:
		return msg, nil, nil
	case EventPlayAudio:
	case "":
		return msg, nil, violation("message has no eventType")
	default:
		return msg, nil, &ProtocolError{Undocumented: true,
			Reason: fmt.Sprintf("unknown eventType %q (Bandwidth documents playAudio and clear)", msg.EventType)}
	}
	if msg.Media == nil {
		return msg, nil, violation("playAudio without media")
	}
	rate, err := parseContentType(msg.Media.ContentType)
	if err != nil {
		return msg, nil, err
	}
	audio, err := base64.StdEncoding.DecodeString(msg.Media.Payload)
	if err != nil {
		return msg, nil, violation("playAudio payload is not valid base64: %v", err)
	}
	if len(audio) == 0 {
		return msg, nil, violation("playAudio payload is empty")
	}
	if rate != 0 && len(audio)%2 != 0 {
		return msg, nil, violation("playAudio payload is %d bytes: 16-bit PCM needs whole 2-byte samples", len(audio))
	}
	pa := &PlayAudio{ContentType: ContentTypePCMU, SampleRate: 8000, Audio: audio}
	if rate != 0 {
		pa.ContentType, pa.SampleRate = msg.Media.ContentType, rate
	}
	return msg, pa, nil
}

var errNoContentType = errors.New("playAudio media has no contentType")

// parseContentType accepts audio/pcmu (rate 0 returned) and
// audio/pcm;rate=8000|16000|24000;channels=1;bit-depth=16;endian=little;encoding=signed.
func parseContentType(ct string) (int, error) {
	if ct == "" {
		return 0, &ProtocolError{Reason: errNoContentType.Error()}
	}
	if strings.EqualFold(ct, ContentTypePCMU) {
		return 0, nil
	}
	parts := strings.Split(strings.ReplaceAll(ct, " ", ""), ";")
	if !strings.EqualFold(parts[0], "audio/pcm") {
		return 0, violation("unsupported playAudio contentType %q (want audio/pcmu or audio/pcm;rate=8000|16000|24000;channels=1;bit-depth=16;endian=little;encoding=signed)", ct)
	}
	want := map[string]string{"channels": "1", "bit-depth": "16", "endian": "little", "encoding": "signed"}
	rate := 0
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		k = strings.ToLower(k)
		switch {
		case k == "rate":
			switch v {
			case "8000":
				rate = 8000
			case "16000":
				rate = 16000
			case "24000":
				rate = 24000
			default:
				return 0, violation("playAudio contentType %q: rate must be 8000, 16000 or 24000", ct)
			}
		case want[k] != "":
			if !strings.EqualFold(v, want[k]) {
				return 0, violation("playAudio contentType %q: %s must be %s", ct, k, want[k])
			}
			delete(want, k)
		default:
			return 0, violation("playAudio contentType %q: unknown parameter %q", ct, k)
		}
	}
	if rate == 0 {
		return 0, violation("playAudio contentType %q: missing rate", ct)
	}
	// Report the first missing parameter in the documented order, so the
	// message is the same on every run.
	for _, k := range []string{"channels", "bit-depth", "endian", "encoding"} {
		if v, missing := want[k]; missing {
			return 0, violation("playAudio contentType %q: missing %s=%s", ct, k, v)
		}
	}
	return rate, nil
}
