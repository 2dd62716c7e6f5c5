package media_test

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator/media"
)

var _ = Describe("Parse", func() {
	DescribeTable("builds synthetic sources",
		func(spec, name string) {
			a, err := media.Parse(spec)
			Expect(err).NotTo(HaveOccurred())
			Expect(a.String()).To(Equal(name))
		},
		Entry(nil, "silence", "silence"),
		Entry(nil, " SILENCE ", "silence"),
		Entry(nil, "tone:440", "tone:440Hz"),
		Entry(nil, "tone:1004.5", "tone:1004.5Hz"),
		Entry("String() round-trips", "tone:440Hz", "tone:440Hz"),
		Entry(nil, "Tone: 350 Hz", "tone:350Hz"),
	)

	It("loads WAV files, case-insensitively", func() {
		s := wavSpec{rate: 8000, bits: 16, channels: 1, format: 1}
		path := writeWAV("HELLO.WAV", s, sine(440, 0.5, s, 0.5))
		a, err := media.Parse(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(a.String()).To(Equal("HELLO.WAV (500ms)"))
	})

	DescribeTable("loads raw µ-law files",
		func(ext string) {
			path := filepath.Join(GinkgoT().TempDir(), "prompt"+ext)
			Expect(os.WriteFile(path, make([]byte, 4000), 0o600)).To(Succeed())
			a, err := media.Parse(path)
			Expect(err).NotTo(HaveOccurred())
			Expect(a.Duration()).To(Equal(500 * time.Millisecond))
			Expect(a.String()).To(Equal("prompt" + ext + " (500ms)"))
			Expect(frames(a, 25)).To(HaveEach(BeEquivalentTo(0)))
		},
		Entry(nil, ".pcmu"),
		Entry(nil, ".ulaw"),
		Entry(nil, ".raw"),
		Entry(nil, ".ULAW"),
	)

	DescribeTable("explains bad specs",
		func(spec string, want ...string) {
			a, err := media.Parse(spec)
			Expect(a).To(BeNil())
			for _, w := range want {
				Expect(err).To(MatchError(ContainSubstring(w)))
			}
		},
		Entry("not a number", "tone:abc", `audio spec "tone:abc": "abc" is not a frequency in Hz: use tone:HZ, e.g. tone:440`),
		Entry("empty frequency", "tone:", `is not a frequency`),
		Entry("above Nyquist", "tone:5000", `audio spec "tone:5000": tone frequency 5000Hz out of range`, "below 4000 Hz"),
		Entry("unknown format", "foo.mp3", `audio spec "foo.mp3" not understood`, `"silence"`, `"tone:HZ"`, ".wav", ".pcmu, .ulaw, .raw"),
		Entry("empty", "", `audio spec "" not understood`),
		Entry("missing WAV", "/nonexistent/a.wav", "/nonexistent/a.wav", "no such file"),
		Entry("missing raw", "/nonexistent/a.ulaw", "/nonexistent/a.ulaw", "no such file"),
	)

	It("rejects an empty raw file, whose duration would read as endless", func() {
		path := filepath.Join(GinkgoT().TempDir(), "empty.pcmu")
		Expect(os.WriteFile(path, nil, 0o600)).To(Succeed())
		_, err := media.Parse(path)
		Expect(err).To(MatchError(And(HavePrefix(path+": "), ContainSubstring("empty file"))))
	})
})
