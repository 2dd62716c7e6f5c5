package agent

import (
	"fmt"
	"net/http"
)

// serveMetrics writes the agent's counters in Prometheus's text format.
// Written by hand: four numbers do not need a client library.
func (a *Agent) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	st := a.Stats()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	for _, m := range []struct {
		name, kind, help string
		value            int64
	}{
		{"agent_streams", "gauge", "Media streams connected now.", int64(st.Streams)},
		{"agent_backend_sessions", "gauge", "Backend sessions open now: one per live call, more when sessions leaked.", int64(st.BackendSessions)},
		{"agent_replies_total", "counter", "Replies begun.", st.Replies},
		{"agent_barge_ins_total", "counter", "Replies cut short because the caller spoke (each sent clear).", st.BargeIns},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.kind, m.name, m.value)
	}
}
