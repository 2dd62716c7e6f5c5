package scenarios_test

import (
	"bytes"
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
			`{wait: 500ms}`,
		}
		invalid := []string{
			`media`, `start`, `abort`, `hangUp`, `{media: 2}`, `{media: -1s}`, `{media: {stream: s}}`,
			`{media: 2s, stream: s}`, `{abort: kill}`, `{abort: {stream: s}}`, `{hangup: now}`, `{start: }`,
			`{start: {tracks: all}}`, `{error: {name: s}}`, `{duplicateWebhooks: yes}`, `{}`, `42`,
			`wait`, `waitForEnd`, `{wait: soon}`, `{wait: }`, `{waitForEnd: 0s}`,
		}
		file := func(step string) []byte {
			return []byte("scenarios:\n  - name: a\n    stream: {name: s}\n    steps:\n      - " + step + "\n")
		}
		for _, st := range valid {
			Expect(validateYAML(schema, file(st))).To(Succeed(), "schema: %s", st)
			_, err := scenarios.Parse("t.yaml", file(st))
			Expect(err).NotTo(HaveOccurred(), "loader: %s", st)
		}
		for _, st := range invalid {
			Expect(validateYAML(schema, file(st))).NotTo(Succeed(), "schema: %s", st)
			_, err := scenarios.Parse("t.yaml", file(st))
			Expect(err).To(HaveOccurred(), "loader: %s", st)
		}
	})

	It("agrees with the loader on durations, audio specs and callback timeouts", func() {
		type probe struct {
			yaml  string
			valid bool
		}
		probes := []probe{
			{"timeouts: {handshake: 10s}", true}, {"timeouts: {handshake: 1m30s}", true},
			{"timeouts: {handshake: 1.5s}", true}, {"timeouts: {handshake: 250ms}", true},
			{"timeouts: {handshake: 0.5h}", true}, {"timeouts: {handshake: 0s}", false},
			{"timeouts: {handshake: 0ms0s}", false}, {"timeouts: {handshake: 10}", false},
			{"timeouts: {handshake: -1s}", false}, {"timeouts: {handshake: ten}", false},
			{"timeouts: {callback: 1s}", true}, {"timeouts: {callback: 25s}", true},
			{"timeouts: {callback: 2500ms}", true}, {"timeouts: {callback: 24.5s}", true},
			{"timeouts: {callback: 25.5s}", false}, {"timeouts: {callback: 900ms}", false},
			{"timeouts: {callback: 26s}", false},
			{"stream: {audio: silence}", true}, {"stream: {audio: Silence}", true},
			{"stream: {audio: 'tone:440'}", true}, {"stream: {audio: 'tone:440Hz'}", true},
			{"stream: {audio: 'tone: 12.5'}", true}, {"stream: {audio: 'tone:'}", false},
			{"stream: {audio: 'tone:abc'}", false}, {"stream: {audio: beep.mp3}", false},
			{"speed: 0.25", true}, {"speed: 0", false}, {"speed: -1", false},
			{"expect: {webhooks: {status: 204}}", true}, {"expect: {webhooks: {status: '2xx'}}", true},
			{"expect: {webhooks: {status: 200}}", false}, {"expect: {webhooks: {status: 3xx}}", false},
			{"expect: {close: {code: 1000}}", true}, {"expect: {close: {code: 4999}}", true},
			{"expect: {close: {code: 5000}}", false}, {"expect: {playAudio: {min: 0}}", false},
			{"expect: {ending: connect-refused}", true}, {"expect: {ending: {is: app-close-code}}", true},
			{"expect: {ending: conect-refused}", false}, {"expect: {ending: {stream: agent}}", false},
			{"expect: {ending: {is: reset, by: app}}", false}, {"expect: {ending: 4001}", false},
		}
		for _, p := range probes {
			src := []byte("defaults:\n  " + p.yaml + "\nscenarios:\n  - name: a\n    stream: {mode: bidirectional}\n    steps: [hangup]\n")
			if strings.HasPrefix(p.yaml, "stream:") {
				src = []byte("scenarios:\n  - name: a\n    " + p.yaml + "\n    steps: [hangup]\n")
			}
			_, loadErr := scenarios.Parse("t.yaml", src)
			schemaErr := validateYAML(schema, src)
			if p.valid {
				Expect(schemaErr).NotTo(HaveOccurred(), "schema: %s", p.yaml)
				Expect(loadErr).NotTo(HaveOccurred(), "loader: %s", p.yaml)
			} else {
				Expect(schemaErr).To(HaveOccurred(), "schema: %s", p.yaml)
				Expect(loadErr).To(HaveOccurred(), "loader: %s", p.yaml)
			}
		}
	})
})
