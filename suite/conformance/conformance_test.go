package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/buggy"
	"github.com/bwemu/bwemu/internal/consumer"
	"github.com/bwemu/bwemu/suite/conformance"
)

// startBuggy starts a consumer with defect d.
func startBuggy(d buggy.Defect) *buggy.Server {
	srv, err := buggy.Start(d, nil)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(srv.Close)
	return srv
}

// hook is one webhook request as the app's server saw it.
type hook struct {
	Path, Method, EventType string
}

// hookLog records every webhook request an app receives.
type hookLog struct {
	mu    sync.Mutex
	hooks []hook
}

func (l *hookLog) all() []hook {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hooks)
}

// recordingConsumer is the reference consumer behind a recorder of the
// webhook requests it gets (path, method, eventType), before it answers.
type recordedApp struct{ *httptest.Server }

func (a recordedApp) WebSocketURL() string {
	return "ws" + strings.TrimPrefix(a.URL, "http") + "/media"
}
func (a recordedApp) EventsURL() string     { return a.URL + "/events" }
func (a recordedApp) DisconnectURL() string { return a.URL + "/disconnect" }

func recordingConsumer(opts *consumer.Options) (recordedApp, *hookLog) {
	c := consumer.New(opts)
	log := &hookLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" || r.URL.Path == "/disconnect" {
			eventType := r.URL.Query().Get("eventType")
			if r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				var ev struct{ EventType string }
				_ = json.Unmarshal(body, &ev)
				eventType = ev.EventType
				r.Body = io.NopCloser(strings.NewReader(string(body)))
			}
			log.mu.Lock()
			log.hooks = append(log.hooks, hook{Path: r.URL.Path, Method: r.Method, EventType: eventType})
			log.mu.Unlock()
		}
		c.ServeHTTP(w, r)
	}))
	DeferCleanup(func() {
		_ = c.Close()
		srv.Close()
	})
	return recordedApp{srv}, log
}

// table renders results for failure messages and the progress log.
func table(results []conformance.Result) string {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%-5s %-10s %8s  %s\n", r.ID, r.Status, r.Duration.Round(time.Millisecond), r.Reason)
		if r.Journal != "" {
			fmt.Fprintf(&b, "%s\n", r.Journal)
		}
	}
	return b.String()
}

// statuses maps case IDs to their status.
func statuses(results []conformance.Result) map[string]conformance.Status {
	m := map[string]conformance.Status{}
	for _, r := range results {
		m[r.ID] = r.Status
	}
	return m
}

func resultOf(results []conformance.Result, id string) conformance.Result {
	for _, r := range results {
		if r.ID == id {
			return r
		}
	}
	Fail("no result for case " + id + "\n" + table(results))
	return conformance.Result{}
}

// runOne runs the one case o selects against t, and checks it ran with
// the verdict want.
func runOne(ctx context.Context, t conformance.Target, o conformance.Options, want conformance.Status) conformance.Result {
	GinkgoHelper()
	results, err := conformance.Run(ctx, t, o)
	Expect(err).NotTo(HaveOccurred())
	Expect(results).To(HaveLen(1))
	Expect(results[0].Status).To(Equal(want), table(results))
	return results[0]
}

// idLess orders "5.9" before "5.10".
func idLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, _ := strconv.Atoi(pa[i])
		nb, _ := strconv.Atoi(pb[i])
		if na != nb {
			return na < nb
		}
	}
	return len(pa) < len(pb)
}

var _ = Describe("Cases", func() {
	It("lists unique IDs in order, every group, titles and runs", func() {
		cases := conformance.Cases()
		Expect(len(cases)).To(BeNumerically(">=", 35))
		seen := map[string]bool{}
		groups := map[string]bool{}
		for i, c := range cases {
			Expect(c.ID).To(MatchRegexp(`^[1-9]\.[1-9][0-9]*$`), "case %d", i)
			Expect(seen[c.ID]).To(BeFalse(), "duplicate ID %s", c.ID)
			seen[c.ID] = true
			if i > 0 {
				Expect(idLess(cases[i-1].ID, c.ID)).To(BeTrue(), "%s comes after %s", c.ID, cases[i-1].ID)
			}
			Expect(conformance.Groups()).To(ContainElement(c.Group), "case %s", c.ID)
			Expect(strings.TrimSpace(c.Title)).NotTo(BeEmpty(), "case %s", c.ID)
			Expect(c.Title).NotTo(ContainSubstring("\n"), "case %s", c.ID)
			Expect(c.Run).NotTo(BeNil(), "case %s", c.ID)
			groups[c.Group] = true
		}
		for _, g := range conformance.Groups() {
			Expect(groups).To(HaveKey(g))
		}
		// The group is the ID's first number.
		for _, c := range cases {
			n, _ := strconv.Atoi(strings.Split(c.ID, ".")[0])
			Expect(conformance.Groups()[n-1]).To(Equal(c.Group), "case %s", c.ID)
		}
	})

	It("has the cases the suite promises", func() {
		var ids []string
		for _, c := range conformance.Cases() {
			ids = append(ids, c.ID)
		}
		Expect(ids).To(ContainElements("1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "3.1", "3.2", "3.3",
			"4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9",
			"5.10", "5.11", "5.12", "6.1", "6.2", "7.1", "7.2", "7.3", "8.1", "8.2"))
		serial := slices.IndexFunc(conformance.Cases(), func(c conformance.Case) bool { return c.ID == "3.1" })
		Expect(conformance.Cases()[serial].Serial).To(BeTrue())
	})

	It("marks the webhook cases, and the cases about undocumented behaviour as non-strict", func() {
		for _, c := range conformance.Cases() {
			Expect(c.Webhooks).To(Equal(c.Group == conformance.GroupWebhooks), "case %s", c.ID)
			Expect(c.Undocumented).To(Equal(c.ID == "2.6" || c.ID == "3.3"), "case %s", c.ID)
			if c.Undocumented {
				Expect(c.Title).To(HaveSuffix("(non-strict)"), "case %s", c.ID)
			}
		}
	})

	It("selects by --only and leaves out by --skip, by ID or title", func() {
		ids := func(cs []conformance.Case) []string {
			var out []string
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		Expect(ids(conformance.Select(regexp.MustCompile(`^4\.`), regexp.MustCompile(`^4\.[3-6]$`)))).To(Equal([]string{"4.1", "4.2"}))
		Expect(ids(conformance.Select(regexp.MustCompile(`^7\.`), regexp.MustCompile(`five concurrent`)))).To(Equal([]string{"7.1", "7.3"}))
		Expect(ids(conformance.Select(nil, regexp.MustCompile(`.`)))).To(BeEmpty())
		Expect(conformance.Select(nil, nil)).To(HaveLen(len(conformance.Cases())))
		Expect(ids(conformance.Selected(regexp.MustCompile(`^6\.`)))).To(Equal([]string{"6.1", "6.2"}))
	})
})

var _ = Describe("The reference consumer", func() {
	ctx := context.Background()

	// run runs every case against t and checks that each passed, but for
	// the info ones and, on a unidirectional target, the skipped 6.x.
	run := func(t conformance.Target, info ...string) []conformance.Result {
		GinkgoHelper()
		began := time.Now()
		results, err := conformance.Run(ctx, t, conformance.Options{})
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("suite ran in %s\n%s", time.Since(began).Round(time.Millisecond), table(results))
		Expect(results).To(HaveLen(len(conformance.Cases())))
		for i, r := range results {
			Expect(r.ID).To(Equal(conformance.Cases()[i].ID))
			Expect(r.Reason).To(HavePrefix(r.ID+": "), "the reason starts with the case ID")
			switch {
			case slices.Contains(info, r.ID), r.Group == conformance.GroupLeaks: // no app process or gauge given
				Expect(r.Status).To(Equal(conformance.Info), "case %s\n%s", r.ID, table(results))
			case !t.Bidirectional && strings.HasPrefix(r.ID, "6."):
				Expect(r.Status).To(Equal(conformance.Skip), "case %s\n%s", r.ID, table(results))
			case r.ID == "3.1": // info when the machine is too busy to keep the pace
				Expect(r.Status).To(BeElementOf(conformance.Pass, conformance.Info), "case %s\n%s", r.ID, table(results))
			default:
				Expect(r.Status).To(Equal(conformance.Pass), "case %s\n%s", r.ID, table(results))
			}
		}
		return results
	}

	It("passes every case without credentials (1.2, 5.10 and 5.11 info, 6.x skipped)", func() {
		app := apptest.NewConsumer(nil)
		results := run(conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL(), Disconnect: app.DisconnectURL()},
			"1.2", "5.10", "5.11")
		Expect(conformance.Passed(results, false)).To(BeTrue())
		Expect(resultOf(results, "5.8").Reason).To(ContainSubstring("disconnect (hangup) answered 204"))
	})

	It("passes every case with destination and webhook credentials configured", func() {
		app := apptest.NewConsumer(&consumer.Options{WSUser: "bw", WSPassword: "ws-secret", EventUser: "hooks", EventPassword: "ev-secret"})
		results := run(conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL(), Disconnect: app.DisconnectURL(),
			WSUser: "bw", WSPassword: "ws-secret", EventUser: "hooks", EventPassword: "ev-secret"}, "5.11")
		Expect(resultOf(results, "1.2").Reason).To(ContainSubstring("401"))
		Expect(resultOf(results, "5.10").Reason).To(ContainSubstring("401"))
	})

	It("passes every case as a bidirectional app (echo)", func() {
		app := apptest.NewConsumer(&consumer.Options{Echo: true})
		results := run(conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL(), Disconnect: app.DisconnectURL(), Bidirectional: true},
			"1.2", "5.10", "5.11")
		Expect(resultOf(results, "6.1").Reason).To(ContainSubstring("playAudio"))
	})

	It("passes every case against an app that closes first on stop, takes POST only and refuses events on the wrong endpoint", func() {
		app, hooks := recordingConsumer(&consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true})
		run(conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL(), Disconnect: app.DisconnectURL()},
			"1.2", "5.10", "5.11")
		By("sending stream events to the events URL only, disconnect to the disconnect URL only, and no GET")
		got := hooks.all()
		Expect(got).NotTo(BeEmpty())
		for _, h := range got {
			Expect(h.Method).To(Equal(http.MethodPost), "%+v", h)
			if h.EventType == "disconnect" {
				Expect(h.Path).To(Equal("/disconnect"), "%+v", h)
			} else {
				Expect(h.Path).To(Equal("/events"), "%+v", h)
				Expect(h.EventType).To(HavePrefix("mediaStream"), "%+v", h)
			}
		}
		Expect(got).To(ContainElement(HaveField("EventType", "disconnect")))
	})

	It("sends no disconnect at all without a disconnect URL (5.8 info), never to the events URL", func() {
		app, hooks := recordingConsumer(&consumer.Options{StrictEvents: true})
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()},
			conformance.Options{Only: regexp.MustCompile(`^(4\.2|5\.[1289])$`)})
		Expect(err).NotTo(HaveOccurred())
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"4.2": conformance.Pass, "5.1": conformance.Pass,
			"5.2": conformance.Pass, "5.8": conformance.Info, "5.9": conformance.Pass}), table(results))
		Expect(resultOf(results, "5.8").Reason).To(ContainSubstring("--disconnect"))
		Expect(hooks.all()).NotTo(ContainElement(HaveField("EventType", "disconnect")))
	})

	It("sends GET webhooks only when the app asks for them, and then judges them (5.11)", func() {
		app, hooks := recordingConsumer(nil)
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL(), EventMethod: "GET",
			Disconnect: app.DisconnectURL(), DisconnectMethod: "GET"}, conformance.Options{Only: regexp.MustCompile(`^5\.(1|2|8|11)$`)})
		Expect(err).NotTo(HaveOccurred())
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"5.1": conformance.Pass, "5.2": conformance.Pass,
			"5.8": conformance.Pass, "5.11": conformance.Pass}), table(results))
		Expect(resultOf(results, "5.11").Reason).To(And(ContainSubstring("mediaStreamStarted by GET answered 204"), ContainSubstring("disconnect (hangup) by GET answered 204")))
		for _, h := range hooks.all() {
			Expect(h.Method).To(Equal(http.MethodGet), "%+v", h)
		}

		By("and with the stream events by GET only, disconnect stays POST")
		app, hooks = recordingConsumer(nil)
		results, err = conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL(), EventMethod: "GET",
			Disconnect: app.DisconnectURL()}, conformance.Options{Only: regexp.MustCompile(`^5\.(8|11)$`)})
		Expect(err).NotTo(HaveOccurred())
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"5.8": conformance.Pass, "5.11": conformance.Pass}), table(results))
		for _, h := range hooks.all() {
			if h.EventType == "disconnect" {
				Expect(h.Method).To(Equal(http.MethodPost), "%+v", h)
			} else {
				Expect(h.Method).To(Equal(http.MethodGet), "%+v", h)
			}
		}
	})

	It("passes over a destination that already has a query string", func() {
		app := apptest.NewConsumer(&consumer.Options{Echo: true})
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL() + "?echo=1&token=abc", Events: app.EventsURL(), Bidirectional: true},
			conformance.Options{Only: regexp.MustCompile(`^(1\.3|6\.1)$`)})
		Expect(err).NotTo(HaveOccurred())
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"1.3": conformance.Pass, "6.1": conformance.Pass}), table(results))
	})

	It("skips the webhook cases when the target has no Events URL (5.8 and 5.11 info)", func() {
		app := apptest.NewConsumer(nil)
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL()}, conformance.Options{Only: regexp.MustCompile(`^[15]\.`)})
		Expect(err).NotTo(HaveOccurred())
		for _, r := range results {
			switch {
			case r.ID == "5.8" || r.ID == "5.11":
				Expect(r.Status).To(Equal(conformance.Info), table(results))
			case r.Group == conformance.GroupWebhooks:
				Expect(r.Status).To(Equal(conformance.Skip), table(results))
				Expect(r.Reason).To(ContainSubstring("Target.Events"))
			default:
				Expect(r.Status.Passing(false)).To(BeTrue(), table(results))
			}
		}
	})
})

// eventsApp is the reference consumer answering its stream events with
// status where it answers 204.
func eventsApp(status int) *httptest.Server {
	c := consumer.New(nil)
	mux := http.NewServeMux()
	mux.Handle("/events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.ServeHTTP(rewriter{ResponseWriter: w, status: status}, r)
	}))
	mux.Handle("/", c)
	srv := httptest.NewServer(mux)
	DeferCleanup(func() {
		_ = c.Close()
		srv.Close()
	})
	return srv
}

// rewriter sends status in place of a 204.
type rewriter struct {
	http.ResponseWriter
	status int
}

func (w rewriter) WriteHeader(code int) {
	if code == http.StatusNoContent {
		code = w.status
	}
	w.ResponseWriter.WriteHeader(code)
}

func targetOf(srv *httptest.Server) conformance.Target {
	return conformance.Target{WebSocket: "ws" + strings.TrimPrefix(srv.URL, "http") + "/media", Events: srv.URL + "/events"}
}

var _ = Describe("Run", func() {
	ctx := context.Background()

	It("runs only the cases Options.Only selects, by ID or title", func() {
		app := apptest.NewConsumer(nil)
		t := conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()}
		results, err := conformance.Run(ctx, t, conformance.Options{Only: regexp.MustCompile(`^4\.[12]$`)})
		Expect(err).NotTo(HaveOccurred())
		Expect(statuses(results)).To(Equal(map[string]conformance.Status{"4.1": conformance.Pass, "4.2": conformance.Pass}), table(results))

		results, err = conformance.Run(ctx, t, conformance.Options{Only: regexp.MustCompile(`idempotency`)})
		Expect(err).NotTo(HaveOccurred())
		Expect(results).To(HaveLen(1))
		Expect(results[0].ID).To(Equal("5.9"))
		Expect(results[0].Reason).To(ContainSubstring("copy 2 answered 204"))
	})

	It("reports a 200 as non-strict, passing only when lenient", func() {
		srv := eventsApp(http.StatusOK)
		results, err := conformance.Run(ctx, targetOf(srv), conformance.Options{Only: regexp.MustCompile(`^5\.(1|2)$`), Lenient: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(results).To(HaveLen(2))
		for _, r := range results {
			Expect(r.Status).To(Equal(conformance.NonStrict), table(results))
			Expect(r.Reason).To(HavePrefix(r.ID + ": "))
			Expect(r.Reason).To(ContainSubstring("answered 200"))
			Expect(r.Reason).To(ContainSubstring("204"))
			Expect(r.Journal).NotTo(BeEmpty())
		}
		Expect(conformance.Passed(results, false)).To(BeFalse())
		Expect(conformance.Passed(results, true)).To(BeTrue())
	})

	It("fails a 500 with the case ID, the event, the cause and the advice", func() {
		srv := eventsApp(http.StatusInternalServerError)
		r := runOne(ctx, targetOf(srv), conformance.Options{Only: regexp.MustCompile(`^5\.3$`)}, conformance.Fail)
		Expect(r.Reason).To(HavePrefix("5.3: "))
		Expect(r.Reason).To(ContainSubstring("mediaStreamStopped (connection-error)"))
		Expect(r.Reason).To(ContainSubstring("500"))
		Expect(r.Reason).To(ContainSubstring("answer every stream event with 204, whatever the cause"))
		Expect(r.Journal).To(ContainSubstring("journal of stream"))
		Expect(conformance.Passed([]conformance.Result{r}, true)).To(BeFalse())

		By("keeping every journal entry of the case, in time order, for reports that draw it, out of the JSON")
		Expect(r.Entries).NotTo(BeEmpty())
		Expect(slices.IsSortedFunc(r.Entries, func(a, b emulator.Entry) int { return a.Time.Compare(b.Time) })).To(BeTrue())
		Expect(r.Entries).To(ContainElement(And(HaveField("Kind", emulator.KindWebhook), HaveField("Event", "mediaStreamStopped"), HaveField("Code", 500))))
		raw, err := json.Marshal(r)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).NotTo(ContainSubstring(`"entries"`))
		Expect(string(raw)).NotTo(ContainSubstring(`"Entries"`))
	})

	It("judges an app that plays audio back on a unidirectional stream non-strict (undocumented), advising --bidirectional", func() {
		app := apptest.NewConsumer(nil)
		r := runOne(ctx, conformance.Target{WebSocket: app.WebSocketURL() + "?echo=1", Events: app.EventsURL()},
			conformance.Options{Only: regexp.MustCompile(`^2\.1$`)}, conformance.NonStrict)
		Expect(r.Reason).To(HavePrefix("2.1: "))
		Expect(r.Reason).To(ContainSubstring("playAudio on a unidirectional stream"))
		Expect(r.Reason).To(ContainSubstring("undocumented"))
		Expect(r.Reason).To(ContainSubstring("this app plays audio back: run with --bidirectional"))
		Expect(r.Journal).NotTo(BeEmpty())
		Expect(conformance.Passed([]conformance.Result{r}, true)).To(BeTrue())
	})

	It("judges webhooks answered slowly but inside the app's callbackTimeout non-strict, never failed; past it, failed", func(ctx SpecContext) {
		// Bandwidth takes an answer inside the callbackTimeout: 2.5s is
		// slower than WebhookLatencyLimit, inside a 4s callbackTimeout.
		app := apptest.NewWS()
		slow := apptest.NewHooks(apptest.Reply{Delay: conformance.WebhookLatencyLimit + 500*time.Millisecond})
		only := conformance.Options{Only: regexp.MustCompile(`^5\.[12]$`), Timeouts: emulator.Timeouts{Callback: 4 * time.Second}}
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.URL(), Events: slow.EventsURL()}, only)
		Expect(err).NotTo(HaveOccurred())
		Expect(results).To(HaveLen(2))
		for _, r := range results {
			Expect(r.Status).To(Equal(conformance.NonStrict), table(results))
			Expect(r.Reason).To(ContainSubstring("answered 204 No Content in 2.5"))
			Expect(r.Reason).To(ContainSubstring("inside the callbackTimeout (4s), but answer within 2s"))
		}
		Expect(conformance.Passed(results, true)).To(BeTrue())

		By("the same answers past a 2s callbackTimeout: failed deliveries")
		only.Timeouts.Callback = 2 * time.Second
		results, err = conformance.Run(ctx, conformance.Target{WebSocket: app.URL(), Events: slow.EventsURL()}, only)
		Expect(err).NotTo(HaveOccurred())
		for _, r := range results {
			Expect(r.Status).To(Equal(conformance.Fail), table(results))
			Expect(r.Reason).To(ContainSubstring("not answered within 2s"))
		}
	}, SpecTimeout(2*time.Minute))

	It("sends no webhooks in the socket cases once the app answered one slowly, so their deadline is not spent waiting on them", func(ctx SpecContext) {
		// 7.1's call makes five webhooks, one at a time: at 2.5s each
		// they would outlast a 6s case, though every one is answered
		// inside the callbackTimeout.
		app := apptest.NewWS()
		slow := apptest.NewHooks(apptest.Reply{Delay: conformance.WebhookLatencyLimit + 500*time.Millisecond})
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.URL(), Events: slow.EventsURL()},
			conformance.Options{Only: regexp.MustCompile(`^7\.1$`), CaseTimeout: 6 * time.Second, Timeouts: emulator.Timeouts{Callback: 4 * time.Second}})
		Expect(err).NotTo(HaveOccurred())
		Expect(results).To(ConsistOf(HaveField("Status", conformance.Pass)), table(results))
		Expect(results[0].Reason).To(MatchRegexp(`its streams carried no webhooks, since the app took 2\.5\d*s to answer the mediaStreamStarted webhook of a first stream \(more than 2s\)`))
		streams := map[string]bool{}
		for _, q := range slow.Requests() {
			streams[q.Stream()] = true
		}
		Expect(streams).To(HaveLen(1), "only the preflight's stream sent webhooks")
	}, SpecTimeout(time.Minute))

	It("fails a webhook case whose stream the app broke, though its webhooks were answered (an unexpected app fault)", func(ctx SpecContext) {
		srv := startBuggy(buggy.DropOnStop)
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: srv.WebSocketURL(), Events: srv.EventsURL()},
			conformance.Options{Only: regexp.MustCompile(`^5\.[12]$`), Timeouts: emulator.Timeouts{CloseHandshake: time.Second}})
		Expect(err).NotTo(HaveOccurred())
		for _, r := range results {
			Expect(r.Status).To(Equal(conformance.Fail), table(results))
			Expect(r.Reason).To(ContainSubstring("a fault of the app"))
			Expect(r.Reason).To(ContainSubstring("the app dropped the connection"))
			Expect(r.Reason).NotTo(ContainSubstring("webhook"), "its webhooks were answered")
		}
	}, SpecTimeout(time.Minute))

	It("calls OnResult once per case, one at a time, with Parallel 1", func() {
		app := apptest.NewConsumer(nil)
		var mu sync.Mutex
		var got []string
		results, err := conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()},
			conformance.Options{Only: regexp.MustCompile(`^[12]\.`), Parallel: 1, OnResult: func(r conformance.Result) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, r.ID)
			}})
		Expect(err).NotTo(HaveOccurred())
		var ids []string
		for _, r := range results {
			ids = append(ids, r.ID)
			Expect(r.Duration).To(BeNumerically(">", 0))
		}
		Expect(got).To(Equal(ids), "with Parallel 1 the cases run in ID order")
	})

	It("skips every case, as interrupted, when the context has ended", func() {
		app := apptest.NewConsumer(nil)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		results, err := conformance.Run(cctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()}, conformance.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(results).To(HaveLen(len(conformance.Cases())))
		for _, r := range results {
			Expect(r.Status).To(Equal(conformance.Skip))
			Expect(r.Interrupted).To(BeTrue())
			Expect(r.Reason).To(ContainSubstring("not run: interrupted"))
		}
		Expect(app.Streams()).To(BeEmpty(), "not even the reachability check ran")
	})

	It("stops within a couple of seconds when interrupted while the app keeps webhooks waiting", func(ctx SpecContext) {
		srv := startBuggy(buggy.HungWebhooks)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var mu sync.Mutex
		var finished []string
		type outcome struct {
			results []conformance.Result
			err     error
		}
		done := make(chan outcome, 1)
		go func() {
			r, err := conformance.Run(cctx, conformance.Target{WebSocket: srv.WebSocketURL(), Events: srv.EventsURL()},
				// A 2s callbackTimeout: the reachability check gives up on its
				// webhook after 2s, and the cases start waiting on theirs.
				conformance.Options{Only: regexp.MustCompile(`^5\.`), Timeouts: emulator.Timeouts{Callback: 2 * time.Second}, OnResult: func(r conformance.Result) {
					mu.Lock()
					defer mu.Unlock()
					finished = append(finished, r.ID)
				}})
			done <- outcome{r, err}
		}()
		// Interrupt while the first cases wait on their webhooks.
		Eventually(srv.Webhooks).WithTimeout(10 * time.Second).Should(BeNumerically(">=", 2))
		cancel()
		interrupted := time.Now()
		var out outcome
		Eventually(done).WithTimeout(5 * time.Second).Should(Receive(&out))
		Expect(time.Since(interrupted)).To(BeNumerically("<", emulator.InterruptGrace+time.Second))
		Expect(out.err).NotTo(HaveOccurred())
		interruptedCases := 0
		for _, r := range out.results {
			if r.Interrupted {
				interruptedCases++
				Expect(r.Status).To(Equal(conformance.Skip), table(out.results))
				Expect(r.Reason).To(ContainSubstring("interrupted"))
			}
		}
		Expect(interruptedCases).To(BeNumerically(">", 0), table(out.results))
	}, SpecTimeout(time.Minute))

	DescribeTable("refuses a bad target or options, running nothing",
		func(t conformance.Target, o conformance.Options, want string) {
			results, err := conformance.Run(ctx, t, o)
			Expect(err).To(MatchError(ContainSubstring(want)))
			Expect(results).To(BeNil())
		},
		Entry("no WebSocket", conformance.Target{}, conformance.Options{}, "Target.WebSocket is required"),
		Entry("an http WebSocket", conformance.Target{WebSocket: "http://127.0.0.1:1/media"}, conformance.Options{}, "not a ws:// or wss:// URL"),
		Entry("a ws Events", conformance.Target{WebSocket: "ws://127.0.0.1:1/media", Events: "ws://127.0.0.1:1/events"}, conformance.Options{}, "Target.Events"),
		Entry("negative Parallel", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"}, conformance.Options{Parallel: -1}, "Parallel"),
		Entry("a negative timeout", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"}, conformance.Options{Timeouts: emulator.Timeouts{Write: -time.Second}}, "Timeouts.Write"),
		Entry("a negative case timeout", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"}, conformance.Options{CaseTimeout: -time.Second}, "CaseTimeout"),
		Entry("a ws Disconnect", conformance.Target{WebSocket: "ws://127.0.0.1:1/media", Disconnect: "ws://127.0.0.1:1/disconnect"}, conformance.Options{}, "Target.Disconnect"),
		Entry("a PUT EventMethod", conformance.Target{WebSocket: "ws://127.0.0.1:1/media", EventMethod: "PUT"}, conformance.Options{}, "Target.EventMethod"),
		Entry("a PUT DisconnectMethod", conformance.Target{WebSocket: "ws://127.0.0.1:1/media", DisconnectMethod: "PUT"}, conformance.Options{}, "Target.DisconnectMethod"),
		Entry("a negative AppPID", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"}, conformance.Options{AppPID: -1}, "Options.AppPID is -1: want the app's process id, or 0 for none"),
		Entry("a negative LeakSettle", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"}, conformance.Options{LeakSettle: -time.Second}, "Options.LeakSettle is negative"),
		Entry("a ws metrics URL", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"},
			conformance.Options{AppMetrics: conformance.MetricsGauge{URL: "ws://127.0.0.1:1/metrics", Name: "sessions"}}, `Options.AppMetrics.URL "ws://127.0.0.1:1/metrics" is not an http:// or https:// URL`),
		Entry("a metrics URL without a gauge name", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"},
			conformance.Options{AppMetrics: conformance.MetricsGauge{URL: "http://127.0.0.1:1/metrics"}}, "its Name is empty: give the name of the app's gauge of live sessions too"),
		Entry("a gauge name without a metrics URL", conformance.Target{WebSocket: "ws://127.0.0.1:1/media"},
			conformance.Options{AppMetrics: conformance.MetricsGauge{Name: "sessions"}}, `Options.AppMetrics.Name is "sessions" but its URL is empty`),
	)

	Describe("reachability, checked once before any case", func() {
		It("reports an app that is down as unreachable, at once, running no case", func() {
			refused := apptest.RefusedAddr()
			var ran []string
			began := time.Now()
			results, err := conformance.Run(ctx, conformance.Target{WebSocket: "ws://" + refused + "/media", Events: "http://" + refused + "/events"},
				conformance.Options{OnResult: func(r conformance.Result) { ran = append(ran, r.ID) }})
			Expect(time.Since(began)).To(BeNumerically("<", 5*time.Second))
			var ue *conformance.UnreachableError
			Expect(errors.As(err, &ue)).To(BeTrue(), "%v", err)
			Expect(ue.Endpoint).To(Equal("WebSocket"))
			Expect(ue.Problem).To(Equal("nothing listens at " + refused))
			Expect(ue.Error()).To(ContainSubstring("nothing listens at " + refused))
			Expect(results).To(BeNil())
			Expect(ran).To(BeEmpty())
		})

		It("reports an app that never answers the upgrade after the handshake timeout", func() {
			silent := apptest.NewSilent()
			began := time.Now()
			_, err := conformance.Run(ctx, conformance.Target{WebSocket: silent.URL()},
				conformance.Options{Timeouts: emulator.Timeouts{Handshake: 500 * time.Millisecond}})
			Expect(time.Since(began)).To(BeNumerically("<", 3*time.Second))
			var ue *conformance.UnreachableError
			Expect(errors.As(err, &ue)).To(BeTrue(), "%v", err)
			Expect(ue.Problem).To(ContainSubstring("no answer to the WebSocket upgrade within 500ms"))
		})

		It("reports a webhook endpoint nothing listens at", func() {
			app := apptest.NewConsumer(nil)
			refused := apptest.RefusedAddr()
			_, err := conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: "http://" + refused + "/events"}, conformance.Options{})
			var ue *conformance.UnreachableError
			Expect(errors.As(err, &ue)).To(BeTrue(), "%v", err)
			Expect(ue.Endpoint).To(Equal("Events"))
			Expect(ue.Problem).To(Equal("nothing listens at " + refused))

			_, err = conformance.Run(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL(), Disconnect: "http://" + refused + "/disconnect"}, conformance.Options{})
			Expect(errors.As(err, &ue)).To(BeTrue(), "%v", err)
			Expect(ue.Endpoint).To(Equal("Disconnect"))
		})

		It("is what Preflight checks on its own", func() {
			app := apptest.NewConsumer(nil)
			Expect(conformance.Preflight(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()}, conformance.Options{})).To(Succeed())
			var ue *conformance.UnreachableError
			Expect(errors.As(conformance.Preflight(ctx, conformance.Target{WebSocket: apptest.RefusedURL()}, conformance.Options{}), &ue)).To(BeTrue())
		})
	})

	It("fails a case that outlives its deadline, with that as the reason and nothing it tripped over after", func() {
		app := apptest.NewConsumer(nil)
		r := runOne(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()},
			conformance.Options{Only: regexp.MustCompile(`^3\.1$`), CaseTimeout: 500 * time.Millisecond}, conformance.Fail)
		Expect(r.Reason).To(MatchRegexp(`^3\.1: the case did not finish within 500ms; the last thing seen, \d+ms into the case: .+ — an app that stops answering, or answers slowly, keeps a case waiting \(see the journal\)$`))
		Expect(r.Journal).To(ContainSubstring("journal of stream"))
		Expect(r.Duration).To(BeNumerically("<", 3*time.Second))
	})

	It("runs a single case with RunCase", func() {
		app := apptest.NewConsumer(nil)
		r, err := conformance.RunCase(ctx, conformance.Target{WebSocket: app.WebSocketURL(), Events: app.EventsURL()}, conformance.Cases()[0], conformance.Options{})
		Expect(err).NotTo(HaveOccurred())
		Expect(r.ID).To(Equal("1.1"))
		Expect(r.Status).To(Equal(conformance.Pass), r.Reason)
		Expect(r.Reason).To(ContainSubstring("101"))
	})
})

var _ = Describe("Passed", func() {
	res := func(ss ...conformance.Status) []conformance.Result {
		var out []conformance.Result
		for i, s := range ss {
			out = append(out, conformance.Result{ID: fmt.Sprintf("1.%d", i+1), Status: s})
		}
		return out
	}
	It("passes pass, info and skip; non-strict only when lenient; never fail", func() {
		Expect(conformance.Passed(nil, false)).To(BeTrue())
		Expect(conformance.Passed(res(conformance.Pass, conformance.Info, conformance.Skip), false)).To(BeTrue())
		Expect(conformance.Passed(res(conformance.Pass, conformance.NonStrict), false)).To(BeFalse())
		Expect(conformance.Passed(res(conformance.Pass, conformance.NonStrict), true)).To(BeTrue())
		Expect(conformance.Passed(res(conformance.Pass, conformance.Fail), true)).To(BeFalse())
		Expect(conformance.Passed(res(conformance.NonStrict, conformance.Fail), true)).To(BeFalse())
	})
})
