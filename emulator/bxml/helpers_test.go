package bxml_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/internal/apptest"
)

// newBXMLApp is the HTTP side of the app under test: BXML per path (Serve,
// Route), 204 for the webhooks to /events, 404 for any other path.
func newBXMLApp() *apptest.Hooks {
	app := apptest.NewHooks(apptest.NotFound)
	app.Route("/events", apptest.Reply{})
	return app
}

// audible counts the messages whose payload is not µ-law silence.
func audible(ms []protocol.MediaMessage) int {
	n := 0
	for _, m := range ms {
		pcm, err := base64.StdEncoding.DecodeString(m.Payload)
		Expect(err).NotTo(HaveOccurred())
		if len(bytes.Trim(pcm, "\xff")) > 0 {
			n++
		}
	}
	return n
}

// wav is a 16-bit mono 8 kHz WAV file of a 1 kHz tone lasting d.
func wav(d time.Duration) []byte {
	n := int(d.Seconds() * 8000)
	var pcm bytes.Buffer
	for i := range n {
		_ = binary.Write(&pcm, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*1000*float64(i)/8000)))
	}
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + pcm.Len()))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))    // PCM
	w(uint16(1))    // mono
	w(uint32(8000)) // sample rate
	w(uint32(16000))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(pcm.Len()))
	b.Write(pcm.Bytes())
	return b.Bytes()
}

// entries returns the journal entries that match.
func entries(e *emulator.Emulator, match func(emulator.Entry) bool) []emulator.Entry {
	var out []emulator.Entry
	for _, en := range e.Journal().Entries() {
		if match(en) {
			out = append(out, en)
		}
	}
	return out
}

// one returns the only journal entry that matches.
func one(e *emulator.Emulator, match func(emulator.Entry) bool) emulator.Entry {
	found := entries(e, match)
	ExpectWithOffset(1, found).To(HaveLen(1))
	return found[0]
}

// verbEntry matches the entry journaled as the verb starts.
func verbEntry(verb string) func(emulator.Entry) bool {
	return func(en emulator.Entry) bool {
		return en.Kind == "bxml" && en.Event == verb && strings.HasPrefix(en.Message, "<"+verb)
	}
}

func callEnded(en emulator.Entry) bool {
	return en.Kind == emulator.KindCall && strings.HasPrefix(en.Message, "call ended")
}

func callAnswered(en emulator.Entry) bool {
	return en.Kind == emulator.KindCall && strings.HasSuffix(en.Message, "answered")
}
