package scenarios_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bwemu/bwemu/scenarios"
)

const schemaPath = "../scenarios.schema.json"

// compileSchema compiles scenarios.schema.json.
func compileSchema() *jsonschema.Schema {
	GinkgoHelper()
	data, err := os.ReadFile(schemaPath)
	Expect(err).NotTo(HaveOccurred())
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	Expect(err).NotTo(HaveOccurred())
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	Expect(c.AddResource("https://github.com/bwemu/bwemu/scenarios.schema.json", doc)).To(Succeed())
	s, err := c.Compile("https://github.com/bwemu/bwemu/scenarios.schema.json")
	Expect(err).NotTo(HaveOccurred())
	return s
}

// validateYAML checks YAML source against the schema.
func validateYAML(s *jsonschema.Schema, src []byte) error {
	GinkgoHelper()
	js, err := yaml.YAMLToJSON(src)
	Expect(err).NotTo(HaveOccurred())
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	Expect(err).NotTo(HaveOccurred())
	return s.Validate(inst)
}

var _ = Describe("the JSON Schema", func() {
	var schema *jsonschema.Schema
	BeforeEach(func() { schema = compileSchema() })

	// agree checks that the schema and the loader both accept src when
	// valid, and both reject it otherwise; what names src in a failure.
	agree := func(src []byte, valid bool, what string) {
		GinkgoHelper()
		schemaErr := validateYAML(schema, src)
		_, loadErr := scenarios.Parse("t.yaml", src)
		if valid {
			Expect(schemaErr).NotTo(HaveOccurred(), "schema: %s", what)
			Expect(loadErr).NotTo(HaveOccurred(), "loader: %s", what)
		} else {
			Expect(schemaErr).To(HaveOccurred(), "schema: %s", what)
			Expect(loadErr).To(HaveOccurred(), "loader: %s", what)
		}
	}

	It("is draft 2020-12 and closes every object", func() {
		data, err := os.ReadFile(schemaPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring(`"$schema": "https://json-schema.org/draft/2020-12/schema"`))
		Expect(strings.Count(string(data), `"additionalProperties": false`)).To(BeNumerically(">=", 20))
	})

	DescribeTable("accepts valid files",
		func(path string) {
			src, err := os.ReadFile(path)
			Expect(err).NotTo(HaveOccurred())
			Expect(validateYAML(schema, src)).To(Succeed())
		},
		Entry("the example", "../scenarios.example.yaml"),
		Entry("every key and step form", "testdata/full.yaml"),
		Entry("bxml: and target.api", "testdata/bxml.yaml"),
	)

	It("accepts what Format writes", func() {
		f, err := scenarios.Load("testdata/full.yaml")
		Expect(err).NotTo(HaveOccurred())
		out, err := scenarios.Format(f)
		Expect(err).NotTo(HaveOccurred())
		Expect(validateYAML(schema, out)).To(Succeed())
	})

	It("rejects the broken files it can see, and accepts the ones only the loader can judge", func() {
		var rejected, accepted int
		for _, b := range brokenFiles {
			switch b.schema {
			case schemaRejects:
				Expect(validateYAML(schema, []byte(b.src))).NotTo(Succeed(), "the schema should reject %s", b.name)
				rejected++
			case schemaAccepts:
				Expect(validateYAML(schema, []byte(b.src))).To(Succeed(), "the schema should accept %s: the loader alone judges it", b.name)
				accepted++
			}
		}
		Expect(rejected).To(BeNumerically(">=", 25))
		Expect(accepted).To(BeNumerically(">=", 5))
	})

	It("accepts each short and long step form, and nothing else", func() {
		valid := []string{
			`hangup`, `stopStream`, `error`, `duplicateWebhooks`,
			`{media: 2s}`, `{media: {for: 1.5s, stream: s}}`, `{silence: 500ms}`, `{silence: {for: 1m}}`,
			`{stopStream: s}`, `{stopStream: {name: s, wait: true, timeout: 5s}}`, `{stopStream: }`,
			`{hangup: }`, `{abort: drop}`, `{abort: {fault: reset, stream: s}}`, `{error: }`, `{error: {stream: s}}`,
			`{start: {name: s, tracks: both}}`, `{start: {}}`, `{duplicateWebhooks: false}`, `{duplicateWebhooks: }`,
			`{wait: 500ms}`, `{say: testdata/audio/hello.wav}`, `{say: {file: testdata/audio/hello.wav, stream: s}}`,
			`{say: {file: testdata/audio/hello.wav}}`,
		}
		invalid := []string{
			`media`, `start`, `abort`, `hangUp`, `{media: 2}`, `{media: -1s}`, `{media: {stream: s}}`,
			`{media: 2s, stream: s}`, `{abort: kill}`, `{abort: {stream: s}}`, `{hangup: now}`, `{start: }`,
			`{start: {tracks: all}}`, `{error: {name: s}}`, `{duplicateWebhooks: yes}`, `{}`, `42`,
			`wait`, `waitForEnd`, `{wait: soon}`, `{wait: }`, `{waitForEnd: 0s}`,
			`say`, `{say: }`, `{say: 2s}`, `{say: hello.mp3}`, `{say: {stream: s}}`,
			`{say: {file: testdata/audio/hello.wav, for: 1s}}`, `{say: [testdata/audio/hello.wav]}`,
		}
		file := func(step string) []byte {
			return []byte("scenarios:\n  - name: a\n    stream: {name: s}\n    steps:\n      - " + step + "\n")
		}
		for _, st := range valid {
			agree(file(st), true, st)
		}
		for _, st := range invalid {
			agree(file(st), false, st)
		}
	})

	It("agrees with the loader on durations, audio specs and callback timeouts", func() {
		// A probe is a YAML line with %s for a value, the values both must
		// accept and the values both must reject.
		type probe struct {
			line           string
			valid, invalid []string
		}
		probes := []probe{
			{"timeouts: {handshake: %s}", []string{"10s", "1m30s", "1.5s", "250ms", "0.5h"}, []string{"0s", "0ms0s", "10", "-1s", "ten"}},
			{"timeouts: {callback: %s}", []string{"1s", "25s", "2500ms", "24.5s"}, []string{"25.5s", "900ms", "26s"}},
			{"stream: {audio: %s}", []string{"silence", "Silence", "'tone:440'", "'tone:440Hz'", "'tone: 12.5'"}, []string{"'tone:'", "'tone:abc'", "beep.mp3"}},
			{"speed: %s", []string{"0.25"}, []string{"0", "-1"}},
			{"expect: {webhooks: {status: %s}}", []string{"204", "'2xx'"}, []string{"200", "3xx"}},
			{"expect: {close: {code: %s}}", []string{"1000", "4999"}, []string{"5000"}},
			{"expect: {playAudio: {min: %s}}", nil, []string{"0"}},
			{"expect: {ending: %s}", []string{"connect-refused", "{is: app-close-code}"}, []string{"conect-refused", "{stream: agent}", "{is: reset, by: app}", "4001"}},
			{"expect: {reply: %s}", []string{"{within: 1s}", "{within: 800ms, min: 200ms}"}, []string{"{}", "{min: 1s}", "{within: 0s}", "{within: 1}", "1s", "{within: 1s, max: 2s}"}},
			{"expect: {bargeIn: %s}", []string{"{within: 300ms}"}, []string{"{}", "{within: -1s}", "{within: 1s, min: 1s}"}},
			{"expect: {heard: %s}", []string{"{}", "{tone: 440}", "{tone: 12.5, atLeast: 1s}", "{atLeast: 2s}"},
				[]string{"{tone: 0}", "{tone: 4000}", "{tone: '440'}", "{atLeast: 0s}", "{within: 1s}", "440"}},
			{"record: %s", []string{"recordings", "out/rec"}, []string{"''", "[rec]", "42"}},
		}
		check := func(line string, valid bool) {
			GinkgoHelper()
			src := []byte("defaults:\n  " + line + "\nscenarios:\n  - name: a\n    stream: {mode: bidirectional}\n    steps: [hangup]\n")
			if strings.HasPrefix(line, "stream:") {
				src = []byte("scenarios:\n  - name: a\n    " + line + "\n    steps: [hangup]\n")
			}
			agree(src, valid, line)
		}
		for _, p := range probes {
			for _, v := range p.valid {
				check(fmt.Sprintf(p.line, v), true)
			}
			for _, v := range p.invalid {
				check(fmt.Sprintf(p.line, v), false)
			}
		}
	})
})
