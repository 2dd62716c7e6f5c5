package protocol_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/protocol"
)

const pcmTail = ";channels=1;bit-depth=16;endian=little;encoding=signed"

// audioBytes is n bytes of recognisable audio.
func audioBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

func playAudio(contentType string, audio []byte) []byte {
	return fmt.Appendf(nil, `{"eventType":"playAudio","media":{"contentType":%q,"payload":%q}}`,
		contentType, base64.StdEncoding.EncodeToString(audio))
}

var _ = Describe("ParseAppMessage", func() {
	DescribeTable("accepts valid playAudio",
		func(contentType string, n int, wantType string, wantRate, wantSamples int) {
			audio := audioBytes(n)
			msg, pa, err := protocol.ParseAppMessage(true, playAudio(contentType, audio))
			Expect(err).NotTo(HaveOccurred())
			Expect(msg.EventType).To(Equal(protocol.EventPlayAudio))
			Expect(msg.Media).NotTo(BeNil())
			Expect(msg.Media.ContentType).To(Equal(contentType))
			Expect(pa).NotTo(BeNil())
			Expect(pa.ContentType).To(Equal(wantType))
			Expect(pa.SampleRate).To(Equal(wantRate))
			Expect(pa.Audio).To(Equal(audio))
			Expect(pa.Samples()).To(Equal(wantSamples))
		},
		Entry("audio/pcmu, 20 ms", "audio/pcmu", 160, protocol.ContentTypePCMU, 8000, 160),
		Entry("audio/pcmu, odd byte count is fine for 8-bit", "audio/pcmu", 161, protocol.ContentTypePCMU, 8000, 161),
		Entry("audio/PCMU in upper case", "audio/PCMU", 160, protocol.ContentTypePCMU, 8000, 160),
		Entry("pcm 8000", "audio/pcm;rate=8000"+pcmTail, 320, "audio/pcm;rate=8000"+pcmTail, 8000, 160),
		Entry("pcm 16000", "audio/pcm;rate=16000"+pcmTail, 640, "audio/pcm;rate=16000"+pcmTail, 16000, 320),
		Entry("pcm 24000", "audio/pcm;rate=24000"+pcmTail, 960, "audio/pcm;rate=24000"+pcmTail, 24000, 480),
		Entry("pcm, parameters in another order",
			"audio/pcm;encoding=signed;endian=little;bit-depth=16;channels=1;rate=16000", 4,
			"audio/pcm;encoding=signed;endian=little;bit-depth=16;channels=1;rate=16000", 16000, 2),
		Entry("pcm, spaces after semicolons",
			"audio/pcm; rate=8000; channels=1; bit-depth=16; endian=little; encoding=signed", 2,
			"audio/pcm; rate=8000; channels=1; bit-depth=16; endian=little; encoding=signed", 8000, 1),
	)

	DescribeTable("accepts clear",
		func(frame string) {
			msg, pa, err := protocol.ParseAppMessage(true, []byte(frame))
			Expect(err).NotTo(HaveOccurred())
			Expect(msg.EventType).To(Equal(protocol.EventClear))
			Expect(pa).To(BeNil())
		},
		Entry("bare", `{"eventType":"clear"}`),
		Entry("with whitespace", " {\n \"eventType\" : \"clear\" }\n"),
		Entry("with unknown extra fields", `{"eventType":"clear","extra":1}`),
	)

	var pcmuFrame = playAudio("audio/pcmu", audioBytes(160))

	DescribeTable("reports every violation as a *ProtocolError saying what is wrong",
		func(text bool, frame []byte, reasons ...string) {
			_, pa, err := protocol.ParseAppMessage(text, frame)
			Expect(err).To(HaveOccurred())
			Expect(pa).To(BeNil())
			var pe *protocol.ProtocolError
			Expect(errors.As(err, &pe)).To(BeTrue(), "%T is not a *ProtocolError", err)
			Expect(pe.Reason).To(Equal(err.Error()))
			for _, r := range reasons {
				Expect(err.Error()).To(ContainSubstring(r))
			}
		},
		Entry("a binary frame", false, pcmuFrame, "binary frame", fmt.Sprintf("%d bytes", len(pcmuFrame)), "JSON text frames only"),
		Entry("a binary frame of raw audio", false, audioBytes(160), "binary frame of 160 bytes"),
		Entry("not JSON", true, []byte("playAudio please"), "not a JSON object"),
		Entry("empty", true, []byte(""), "not a JSON object"),
		Entry("a JSON array", true, []byte(`[{"eventType":"clear"}]`), "not a JSON object"),
		Entry("a JSON string", true, []byte(`"clear"`), "not a JSON object"),
		Entry("truncated JSON", true, pcmuFrame[:len(pcmuFrame)-2], "not a JSON object"),
		Entry("two messages in one frame", true, []byte(`{"eventType":"clear"}{"eventType":"playAudio"}`), "not a JSON object"),
		Entry("trailing garbage", true, []byte(`{"eventType":"clear"} x`), "not a JSON object"),
		Entry("eventType not a string", true, []byte(`{"eventType":1}`), "not a JSON object"),
		Entry("no eventType", true, []byte(`{"media":{"contentType":"audio/pcmu","payload":"AA=="}}`), "no eventType"),
		Entry("an empty eventType", true, []byte(`{"eventType":""}`), "no eventType"),
		Entry("an unknown eventType", true, []byte(`{"eventType":"mark","name":"x"}`), `unknown eventType "mark"`, "playAudio and clear"),
		Entry("a Bandwidth-side eventType", true, []byte(`{"eventType":"media"}`), `unknown eventType "media"`),
		Entry("eventType in the wrong case", true, []byte(`{"eventType":"playaudio"}`), `unknown eventType "playaudio"`),
		Entry("playAudio without media", true, []byte(`{"eventType":"playAudio"}`), "playAudio without media"),
		Entry("playAudio with null media", true, []byte(`{"eventType":"playAudio","media":null}`), "playAudio without media"),
		Entry("a missing contentType", true, []byte(`{"eventType":"playAudio","media":{"payload":"AAAA"}}`), "no contentType"),
		Entry("an unknown contentType", true, playAudio("audio/wav", audioBytes(160)), `unsupported playAudio contentType "audio/wav"`, "audio/pcmu"),
		Entry("audio/mpeg", true, playAudio("audio/mpeg", audioBytes(160)), "unsupported playAudio contentType"),
		Entry("rate 44100", true, playAudio("audio/pcm;rate=44100"+pcmTail, audioBytes(4)), "rate must be 8000, 16000 or 24000"),
		Entry("an empty rate", true, playAudio("audio/pcm;rate="+pcmTail, audioBytes(4)), "rate must be 8000, 16000 or 24000"),
		Entry("a missing rate", true, playAudio("audio/pcm"+pcmTail, audioBytes(4)), "missing rate"),
		Entry("bare audio/pcm", true, playAudio("audio/pcm", audioBytes(4)), "missing rate"),
		Entry("two channels", true, playAudio("audio/pcm;rate=8000;channels=2;bit-depth=16;endian=little;encoding=signed", audioBytes(4)), "channels must be 1"),
		Entry("8-bit pcm", true, playAudio("audio/pcm;rate=8000;channels=1;bit-depth=8;endian=little;encoding=signed", audioBytes(4)), "bit-depth must be 16"),
		Entry("big endian", true, playAudio("audio/pcm;rate=8000;channels=1;bit-depth=16;endian=big;encoding=signed", audioBytes(4)), "endian must be little"),
		Entry("unsigned", true, playAudio("audio/pcm;rate=8000;channels=1;bit-depth=16;endian=little;encoding=unsigned", audioBytes(4)), "encoding must be signed"),
		Entry("a missing channels", true, playAudio("audio/pcm;rate=8000;bit-depth=16;endian=little;encoding=signed", audioBytes(4)), "missing channels=1"),
		Entry("a missing encoding", true, playAudio("audio/pcm;rate=8000;channels=1;bit-depth=16;endian=little", audioBytes(4)), "missing encoding=signed"),
		Entry("an unknown parameter", true, playAudio("audio/pcm;rate=8000"+pcmTail+";codec=opus", audioBytes(4)), `unknown parameter "codec"`),
		Entry("an odd byte count for pcm", true, playAudio("audio/pcm;rate=16000"+pcmTail, audioBytes(321)), "321 bytes", "2-byte samples"),
		Entry("bad base64", true, []byte(`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"not base64!"}}`), "not valid base64"),
		Entry("unpadded base64", true, []byte(`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":"AAA"}}`), "not valid base64"),
		Entry("an empty payload", true, []byte(`{"eventType":"playAudio","media":{"contentType":"audio/pcmu","payload":""}}`), "payload is empty"),
		Entry("no payload", true, []byte(`{"eventType":"playAudio","media":{"contentType":"audio/pcmu"}}`), "payload is empty"),
	)

	It("says everything about a binary frame without decoding it", func() {
		frame := bytes.Repeat([]byte{0xff}, 7)
		_, _, err := protocol.ParseAppMessage(false, frame)
		Expect(err).To(MatchError("binary frame of 7 bytes: Bandwidth accepts JSON text frames only"))
	})
})

var _ = Describe("ParseAppMessage on what Bandwidth documents nothing about", func() {
	It("marks an unknown eventType Undocumented, and a broken message not", func() {
		var pe *protocol.ProtocolError
		_, _, err := protocol.ParseAppMessage(true, []byte(`{"eventType":"mark"}`))
		Expect(errors.As(err, &pe)).To(BeTrue())
		Expect(pe.Undocumented).To(BeTrue(), "Bandwidth documents playAudio and clear; what it does with others is undocumented")
		_, _, err = protocol.ParseAppMessage(true, []byte(`{"eventType":"playAudio"}`))
		Expect(errors.As(err, &pe)).To(BeTrue())
		Expect(pe.Undocumented).To(BeFalse(), "a playAudio without media breaks a documented rule")
	})
})
