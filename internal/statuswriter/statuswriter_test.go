package statuswriter_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bwemu/bwemu/internal/statuswriter"
)

func TestStatus(t *testing.T) {
	cases := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  int
	}{
		{"nothing written", func(http.ResponseWriter) {}, 0},
		{"an explicit status", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }, http.StatusNoContent},
		{"a body without a status", func(w http.ResponseWriter) { _, _ = w.Write([]byte("ok")) }, http.StatusOK},
		{"the first status wins", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusUnauthorized)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("no"))
		}, http.StatusUnauthorized},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		w := statuswriter.New(rec)
		c.write(w)
		if got := w.Status(); got != c.want {
			t.Errorf("%s: Status() = %d, want %d", c.name, got, c.want)
		}
		if c.want != 0 && rec.Code != c.want {
			t.Errorf("%s: the wrapped writer got %d, want %d", c.name, rec.Code, c.want)
		}
	}
}

func TestUnwrapReachesTheWrappedWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := statuswriter.New(rec)
	if err := http.NewResponseController(w).Flush(); err != nil {
		t.Fatalf("Flush through the wrapper: %v", err)
	}
	if !rec.Flushed {
		t.Fatal("the wrapped recorder was not flushed")
	}
}
