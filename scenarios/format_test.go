package scenarios_test

import (
	"reflect"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/scenarios"
)

// withoutPositions clears every Pos and AudioSource in f (in place) so
// models can be compared by value.
func withoutPositions(f *scenarios.File) *scenarios.File {
	posType := reflect.TypeFor[scenarios.Pos]()
	var clear func(v reflect.Value)
	clear = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				clear(v.Elem())
			}
		case reflect.Slice:
			for i := range v.Len() {
				clear(v.Index(i))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				fv, ft := v.Field(i), v.Type().Field(i)
				switch {
				case ft.Type == posType, ft.Name == "AudioSource":
					fv.Set(reflect.Zero(ft.Type))
				default:
					clear(fv)
				}
			}
		}
	}
	clear(reflect.ValueOf(f))
	return f
}

// roundTrip loads path, formats it and parses the result as the same path.
func roundTrip(path string) (loaded, again *scenarios.File, out []byte) {
	GinkgoHelper()
	loaded, err := scenarios.Load(path)
	Expect(err).NotTo(HaveOccurred())
	out, err = scenarios.Format(loaded)
	Expect(err).NotTo(HaveOccurred())
	again, err = scenarios.Parse(path, out)
	Expect(err).NotTo(HaveOccurred(), "Format wrote:\n%s", out)
	return loaded, again, out
}

var _ = Describe("Format", func() {
	DescribeTable("round-trips a file to the same model",
		func(path string) {
			loaded, again, out := roundTrip(path)
			Expect(withoutPositions(again)).To(Equal(withoutPositions(loaded)), "Format wrote:\n%s", out)
		},
		Entry("the example", "../scenarios.example.yaml"),
		Entry("every key and step form", "testdata/full.yaml"),
		Entry("bxml:, target.api, wait, waitForEnd, api and bxmlWarnings", "testdata/bxml.yaml"),
	)

	It("resolves audio again on the way back", func() {
		_, again, _ := roundTrip("testdata/full.yaml")
		Expect(again.Defaults.Stream.AudioSource).NotTo(BeNil())
		Expect(again.Scenarios[1].Stream.AudioSource.String()).To(Equal("greeting.wav (100ms)"))
	})

	It("is stable: formatting the formatted file changes nothing", func() {
		_, again, out := roundTrip("testdata/full.yaml")
		out2, err := scenarios.Format(again)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out2)).To(Equal(string(out)))
	})

	It("writes only what a scenario changes from the defaults, and steps in their short forms", func() {
		f := mustParse(`defaults:
  pace: fast
  stream: {name: agent, tracks: both}
scenarios:
  - name: a
    stream: {tracks: inbound}
    steps:
      - media: {for: 2s}
      - stopStream: {name: agent}
      - duplicateWebhooks: true
      - hangup
    expect: {webhooks: {status: "204"}}
`)
		out, err := scenarios.Format(f)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(Equal(`defaults:
  stream:
    name: agent
    tracks: both
  pace: fast
scenarios:
  - name: a
    stream:
      tracks: inbound
    steps:
      - media: 2s
      - stopStream: agent
      - duplicateWebhooks
      - hangup
    expect:
      webhooks:
        status: 204
`))
	})

	It("quotes strings YAML would read as something else", func() {
		f := mustParse(`scenarios:
  - name: "true"
    call: {from: "+15551112222", tag: "204"}
    stream: {name: "null", params: {n: "1", b: "false"}}
    steps: [hangup]
`)
		_, err := scenarios.Format(f)
		Expect(err).NotTo(HaveOccurred())
		out, _ := scenarios.Format(f)
		again, err := scenarios.Parse("t.yaml", out)
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(withoutPositions(again)).To(Equal(withoutPositions(f)))
	})

	It("refuses a nil file and unknown step kinds", func() {
		_, err := scenarios.Format(nil)
		Expect(err).To(HaveOccurred())
		f := mustParse("scenarios: [{name: a, steps: [hangup]}]\n")
		f.Scenarios[0].Steps[0].Kind = "dance"
		_, err = scenarios.Format(f)
		Expect(err).To(MatchError(ContainSubstring(`unknown step kind "dance"`)))
	})
})
