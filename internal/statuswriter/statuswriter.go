// Package statuswriter remembers the status an HTTP handler answered with,
// for the servers that journal or report each answer (the Voice API mock,
// its control API, the reference consumer's webhooks).
package statuswriter

import "net/http"

// Writer passes everything to the ResponseWriter it wraps and remembers
// the first status written: an explicit WriteHeader, or 200 on the first
// Write without one, as net/http does.
type Writer struct {
	http.ResponseWriter
	status int
}

// New wraps w.
func New(w http.ResponseWriter) *Writer { return &Writer{ResponseWriter: w} }

// Status is the status written so far, 0 when nothing was.
func (w *Writer) Status() int { return w.status }

// WriteHeader records code when it is the first status.
func (w *Writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records 200 when no status was written before.
func (w *Writer) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the wrapped writer (to flush,
// or to set deadlines).
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
