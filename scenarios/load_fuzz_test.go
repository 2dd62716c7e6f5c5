package scenarios_test

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/bwemu/bwemu/scenarios"
)

// FuzzParse checks that Parse never panics, that every error it reports
// points into the file, and that every file it accepts survives Format.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"../scenarios.example.yaml", "testdata/full.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, b := range brokenFiles {
		f.Add([]byte(b.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := scenarios.Parse("f.yaml", data)
		if err != nil {
			var es scenarios.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("want Errors, got %T: %v", err, err)
			}
			for _, e := range es {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		out, err := scenarios.Format(file)
		if err != nil {
			t.Fatalf("Format: %v", err)
		}
		again, err := scenarios.Parse("f.yaml", out)
		if err != nil {
			t.Fatalf("Parse(Format(file)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(withoutPositions(again), withoutPositions(file)) {
			t.Fatalf("the round trip changed the model:\n%s", out)
		}
	})
}
