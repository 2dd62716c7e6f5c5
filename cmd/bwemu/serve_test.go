package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/emulator/protocol"
	"github.com/bwemu/bwemu/emulator/voiceapi"
	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/consumer"
)

// voiceApp is an app's HTTP side for bwemu serve: BXML per path (Serve),
// 204 for any other request, and what every request was.
type voiceApp struct{ *apptest.Hooks }

func newVoiceApp() voiceApp { return voiceApp{apptest.NewHooks()} }

// newTLSVoiceApp is a voiceApp on https with httptest's self-signed
// certificate, which CAFile holds as PEM.
func newTLSVoiceApp() voiceApp { return voiceApp{apptest.NewTLSHooks()} }

// Slow makes requests to path wait until the spec ends: an app slower than
// any callback timeout.
func (a voiceApp) Slow(path string) { a.Route(path, apptest.Reply{Hang: true}) }

// Whats is every webhook, as "eventType (cause) streamName", in order.
func (a voiceApp) Whats() []string { return streamWhats(a.Requests()) }

// WhatsAt is every webhook that went to path, in order.
func (a voiceApp) WhatsAt(path string) []string { return streamWhats(a.RequestsTo(path)) }

// streamWhats is What() of each request, with the stream's name for a
// stream webhook.
func streamWhats(qs []apptest.Request) []string {
	var out []string
	for _, q := range qs {
		what := q.What()
		if q.Event != nil && q.Event.MediaStream != nil {
			what += " " + q.Event.MediaStream.Name
		}
		out = append(out, what)
	}
	return out
}

// serving runs `bwemu serve` with args until the returned stop is called;
// stop cancels its context and returns the exit code. It finds where the
// server listens in its banner: on stdout, or on stderr with the JSON log.
func serving(ctx context.Context, args ...string) (base string, stdout, stderr *gbytes.Buffer, stop func() int) {
	GinkgoHelper()
	b := inBackground(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	var code int
	stopped := false
	stop = func() int {
		if !stopped {
			b.interrupt()
			Eventually(b.done).WithContext(ctx).Should(Receive(&code))
			stopped = true
			b.report("bwemu serve", code)
		}
		return code
	}
	DeferCleanup(stop)
	where := regexp.MustCompile(`voice api\s+(http://127\.0\.0\.1:\d+)/api/v2`)
	banner := func() []string {
		return where.FindStringSubmatch(string(b.stdout.Contents()) + string(b.stderr.Contents()))
	}
	Eventually(banner).WithContext(ctx).Should(HaveLen(2))
	return banner()[1], b.stdout, b.stderr, stop
}

// httpDo makes a request and returns the status and body.
func httpDo(ctx context.Context, client *http.Client, method, url, contentType, body string, edit ...func(*http.Request)) (int, []byte) {
	GinkgoHelper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	Expect(err).NotTo(HaveOccurred())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, e := range edit {
		e(req)
	}
	r := apptest.Fetch(client, req)
	return r.Status, r.Body
}

func decodeJSON(data []byte) map[string]any {
	GinkgoHelper()
	var m map[string]any
	Expect(json.Unmarshal(data, &m)).To(Succeed(), "body %s", data)
	return m
}

var _ = Describe("bwemu serve", func() {
	var client *http.Client
	BeforeEach(func() { client = apptest.NewClient() })

	It("serves the Voice API, OAuth and the control API, then hangs up live calls and exits 0", func(ctx SpecContext) {
		app := newVoiceApp()
		cons := apptest.NewConsumer(nil)
		app.Serve("/answer", fmt.Sprintf(`<Response>
  <StartStream name="agent" destination="%[1]s" streamEventUrl="/events"/>
  <StartStream name="backup" destination="%[1]s" streamEventUrl="/events"/>
  <Pause duration="600"/>
</Response>`, cons.WebSocketURL()))
		app.Serve("/initiate", fmt.Sprintf(`<Response><StartStream name="caller" destination="%s" streamEventUrl="/events"/><Pause duration="600"/></Response>`, cons.WebSocketURL()))

		base, stdout, stderr, stop := serving(ctx, "--account-id", "5551234", "--username", "api-user", "--password", "api-pa55",
			"--client-id", "cid", "--client-secret", "client-s3cret", "--pace", "fast")
		out := string(stdout.Contents())
		Expect(out).To(ContainSubstring("oauth      " + base + "/api/v1/oauth2/token"))
		Expect(out).To(ContainSubstring("control    " + base + "/control/"))
		Expect(out).To(ContainSubstring(`auth       Basic user "api-user", or Bearer tokens for OAuth client "cid"`))
		Expect(out).NotTo(ContainSubstring("api-pa55"))
		Expect(out).NotTo(ContainSubstring("client-s3cret"))

		By("getting a token and creating a call with it, as an SDK does")
		status, body := httpDo(ctx, client, http.MethodPost, base+"/api/v1/oauth2/token", "application/x-www-form-urlencoded",
			"grant_type=client_credentials", func(r *http.Request) { r.SetBasicAuth("cid", "client-s3cret") })
		Expect(status).To(Equal(http.StatusOK), "body %s", body)
		token := decodeJSON(body)["access_token"].(string)
		bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
		create, _ := json.Marshal(map[string]any{"to": "+19195551234", "from": "+19195554321", "applicationId": "app-1",
			"answerUrl": app.URL("/answer"), "disconnectUrl": app.URL("/events")})
		status, body = httpDo(ctx, client, http.MethodPost, base+"/api/v2/accounts/5551234/calls", "application/json", string(create), bearer)
		Expect(status).To(Equal(http.StatusCreated), "body %s", body)
		outbound := decodeJSON(body)["callId"].(string)
		Eventually(ctx, app.Whats).Should(ConsistOf("answer", "mediaStreamStarted agent", "mediaStreamStarted backup"))
		status, _ = httpDo(ctx, client, http.MethodGet, base+"/api/v2/accounts/5551234/calls/"+outbound, "", "")
		Expect(status).To(Equal(http.StatusUnauthorized))
		status, body = httpDo(ctx, client, http.MethodGet, base+"/api/v2/accounts/5551234/calls/"+outbound, "", "",
			func(r *http.Request) { r.SetBasicAuth("api-user", "api-pa55") })
		Expect(status).To(Equal(http.StatusOK))
		Expect(decodeJSON(body)["state"]).To(Equal("answered"))

		By("letting media through and resetting a stream from the control API")
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls/"+outbound+"/streams/agent/media", "application/json", `{"duration":"200ms"}`)
		Expect(status).To(Equal(http.StatusOK), "body %s", body)
		Expect(decodeJSON(body)["progress"]).To(Equal("200ms"))
		_, err := cons.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.StreamName == "agent" && r.FramesByTrack["inbound"] == 10 })
		Expect(err).NotTo(HaveOccurred())
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls/"+outbound+"/streams/agent/fault", "application/json", `{"fault":"reset"}`)
		Expect(status).To(Equal(http.StatusOK), "body %s", body)
		Expect(decodeJSON(body)).To(HaveKeyWithValue("cause", protocol.CauseConnectionError))
		Expect(app.Whats()).To(ContainElement("mediaStreamStopped (connection-error) agent"))
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls/"+outbound+"/streams/agent/fault", "application/json", `{"fault":"reset"}`)
		Expect(status).To(Equal(http.StatusNotFound), "the stream has ended: body %s", body)
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls/"+outbound+"/streams/backup/fault", "application/json", `{"fault":"boom"}`)
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(decodeJSON(body)["error"]).To(Equal(`"fault" "boom": want reset, drop or error`))

		By("placing an inbound call, then hanging up as the caller")
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls", "application/json",
			fmt.Sprintf(`{"url":%q,"from":"+15550001111","to":"+15550002222","disconnectUrl":%q}`, app.URL("/initiate"), app.URL("/events")))
		Expect(status).To(Equal(http.StatusCreated), "body %s", body)
		inbound := decodeJSON(body)["callId"].(string)
		Expect(protocol.IsCallID(inbound)).To(BeTrue())
		Eventually(ctx, app.Whats).Should(ContainElements("initiate", "mediaStreamStarted caller"))
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls/"+inbound+"/hangup", "", "")
		Expect(status).To(Equal(http.StatusOK), "body %s", body)
		Expect(decodeJSON(body)).To(And(HaveKeyWithValue("state", "disconnected"), HaveKeyWithValue("disconnectCause", "hangup")))
		Expect(app.Whats()).To(ContainElements("mediaStreamStopped (closed) caller", "disconnect (hangup)"))
		status, _ = httpDo(ctx, client, http.MethodPost, base+"/control/calls/"+inbound+"/hangup", "", "")
		Expect(status).To(Equal(http.StatusConflict))
		status, _ = httpDo(ctx, client, http.MethodPost, base+"/control/calls/c-nope/hangup", "", "")
		Expect(status).To(Equal(http.StatusNotFound))

		By("reading the journal as JSON Lines, with no secret in it")
		status, body = httpDo(ctx, client, http.MethodGet, base+"/control/journal", "", "")
		Expect(status).To(Equal(http.StatusOK))
		entries, err := emulator.ReadJSONLines(bytes.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		kinds := map[emulator.Kind]bool{}
		for _, e := range entries {
			kinds[e.Kind] = true
		}
		Expect(kinds).To(HaveKey(voiceapi.KindAPI))
		Expect(kinds).To(HaveKey(voiceapi.KindControl))
		Expect(kinds).To(HaveKey(emulator.KindWebhook))
		Expect(string(body)).NotTo(ContainSubstring("api-pa55"))
		Expect(string(body)).NotTo(ContainSubstring("client-s3cret"))
		Expect(string(body)).NotTo(ContainSubstring(token))

		By("shutting down: the live outbound call is hung up with its webhooks")
		before := len(app.Whats())
		Expect(stop()).To(Equal(exitPass))
		Expect(app.Whats()[before:]).To(Equal([]string{"mediaStreamStopped (closed) backup", "disconnect (hangup)"}))
		Expect(string(stdout.Contents())).To(ContainSubstring("shutting down: hanging up 1 live calls\n"))
		Expect(string(stdout.Contents())).To(HaveSuffix("stopped\n"))
		Expect(stderr.Contents()).To(BeEmpty())
	}, timeout)

	It("accepts any request without credentials, and answers unknown control paths with 404", func(ctx SpecContext) {
		base, stdout, _, stop := serving(ctx)
		Expect(string(stdout.Contents())).To(ContainSubstring("auth       none: every request is accepted"))
		Expect(string(stdout.Contents())).To(ContainSubstring("account    " + emulator.DefaultAccountID))
		status, body := httpDo(ctx, client, http.MethodGet, base+"/api/v2/accounts/"+emulator.DefaultAccountID+"/calls", "", "")
		Expect(status).To(Equal(http.StatusOK))
		Expect(string(body)).To(Equal("[]"))
		status, body = httpDo(ctx, client, http.MethodGet, base+"/api/v2/accounts/1/calls", "", "")
		Expect(status).To(Equal(http.StatusForbidden), "body %s", body)
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/frobnicate", "", "")
		Expect(status).To(Equal(http.StatusNotFound))
		Expect(decodeJSON(body)["error"]).To(Equal("no control operation POST /control/frobnicate"))
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls", "application/json", `{"from":"+1"}`)
		Expect(status).To(Equal(http.StatusBadRequest))
		Expect(decodeJSON(body)["error"]).To(ContainSubstring(`"url" is required`))
		status, body = httpDo(ctx, client, http.MethodPost, base+"/control/calls", "application/json", `{"url":"ftp://x/"}`)
		Expect(status).To(Equal(http.StatusBadRequest), "body %s", body)
		Expect(stop()).To(Equal(exitPass))
		Expect(string(stdout.Contents())).To(ContainSubstring("shutting down: hanging up 0 live calls\n"))
	}, timeout)

	DescribeTable("exits 2 for bad usage",
		func(ctx SpecContext, args []string, complaint string) {
			out := bwemu(ctx, append([]string{"serve"}, args...)...)
			Expect(out.code).To(Equal(exitUsage))
			Expect(out.stdout).To(BeEmpty())
			Expect(lines(out.stderr)[0]).To(Equal("bwemu: " + complaint))
		},
		entry("an unknown flag", []string{"--port", "1"}, "flag provided but not defined: -port"),
		entry("an argument", []string{"extra"}, `unexpected argument "extra"`),
		entry("--username without --password", []string{"--username", "u"}, "--username and --password go together"),
		entry("--client-secret without --client-id", []string{"--client-secret", "s"}, "--client-id and --client-secret go together"),
		entry("--pace slow", []string{"--pace", "slow"}, `invalid value "slow" for flag -pace: want one of realtime, fast`),
		entry("an empty --account-id", []string{"--account-id", ""}, "--account-id must not be empty"),
		entry("an empty --listen, which would listen on every interface", []string{"--listen", ""}, `--listen: want HOST:PORT such as 127.0.0.1:8080 (port 0 picks a free one), got ""`),
		entry("a --username no client could send", []string{"--username", "a:b", "--password", "p"}, `--username: a Basic auth user cannot contain ':' (RFC 7617), got "a:b"`),
	)

	It("exits 2 when it cannot listen", func(ctx SpecContext) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(ln.Close)
		out := bwemu(ctx, "serve", "--listen", ln.Addr().String())
		Expect(out.code).To(Equal(exitUsage))
		Expect(out.stderr).To(HavePrefix("bwemu: cannot listen on " + ln.Addr().String()))
	}, timeout)

	It("lists its flags for --help", func(ctx SpecContext) {
		out := bwemu(ctx, "help", "serve")
		Expect(out.code).To(Equal(exitPass))
		Expect(out.stdout).To(HavePrefix("usage: bwemu serve"))
		for _, f := range []string{"-listen", "-account-id", "-username", "-password", "-client-id", "-client-secret", "-pace"} {
			Expect(out.stdout).To(MatchRegexp(`(?m)^  ` + regexp.QuoteMeta(f) + `\b`))
		}
		Expect(bwemu(ctx, "--help").stdout).To(ContainSubstring("bwemu serve [--listen ADDR]"))
	}, timeout)
})

var _ = Describe("bwemu serve webhook routing, trust and interrupts", func() {
	var client *http.Client
	BeforeEach(func() { client = apptest.NewClient() })

	// place places an inbound call through the control API and returns its id.
	place := func(ctx context.Context, base string, req map[string]any) string {
		GinkgoHelper()
		body, _ := json.Marshal(req)
		status, data := httpDo(ctx, client, http.MethodPost, base+"/control/calls", "application/json", string(body))
		Expect(status).To(Equal(http.StatusCreated), "body %s", data)
		return decodeJSON(data)["callId"].(string)
	}
	hangup := func(ctx context.Context, base, callID string) {
		GinkgoHelper()
		status, data := httpDo(ctx, client, http.MethodPost, base+"/control/calls/"+callID+"/hangup", "", "")
		Expect(status).To(Equal(http.StatusOK), "body %s", data)
	}
	// streamingApp answers /initiate and /answer with a stream, whose
	// events go to eventsPath, to a reference consumer started with opts,
	// and returns that consumer.
	streamingApp := func(app voiceApp, opts *consumer.Options, eventsPath string) *consumer.Server {
		cons := apptest.NewConsumer(opts)
		doc := fmt.Sprintf(`<Response><StartStream name="caller" destination="%s" streamEventUrl="%s"/><Pause duration="600"/></Response>`,
			cons.WebSocketURL(), eventsPath)
		app.Serve("/initiate", doc)
		app.Serve("/answer", doc)
		return cons
	}

	It("sends stream events to the streamEventUrl only, and disconnect to the disconnectUrl only, none without one", func(ctx SpecContext) {
		app := newVoiceApp()
		streamingApp(app, &consumer.Options{CloseOnStop: true, PostOnly: true, StrictEvents: true}, "/events")
		base, _, _, stop := serving(ctx, "--pace", "fast")

		By("a call placed without a disconnectUrl")
		id := place(ctx, base, map[string]any{"url": app.URL("/initiate")})
		Eventually(ctx, app.Whats).Should(ContainElement("mediaStreamStarted caller"))
		hangup(ctx, base, id)
		Expect(app.Whats()).To(Equal([]string{"initiate", "mediaStreamStarted caller", "mediaStreamStopped (closed) caller"}))

		By("a call placed with one")
		id = place(ctx, base, map[string]any{"url": app.URL("/initiate"), "disconnectUrl": app.URL("/hangups")})
		Eventually(ctx, func() []string { return app.WhatsAt("/events") }).Should(HaveLen(3))
		hangup(ctx, base, id)
		Expect(app.WhatsAt("/hangups")).To(Equal([]string{"disconnect (hangup)"}))

		By("a call created through the Voice API without a disconnectUrl")
		create, _ := json.Marshal(map[string]any{"to": "+19195551234", "from": "+19195554321", "applicationId": "app-1",
			"answerUrl": app.URL("/answer")})
		status, body := httpDo(ctx, client, http.MethodPost, base+"/api/v2/accounts/"+emulator.DefaultAccountID+"/calls", "application/json", string(create))
		Expect(status).To(Equal(http.StatusCreated), "body %s", body)
		Eventually(ctx, func() []string { return app.WhatsAt("/events") }).Should(HaveLen(5))
		Expect(stop()).To(Equal(exitPass))

		Expect(app.WhatsAt("/events")).To(HaveEach(HavePrefix("mediaStream")))
		Expect(app.WhatsAt("/events")).To(HaveLen(6))
		Expect(app.WhatsAt("/hangups")).To(HaveLen(1))
		Expect(app.WhatsAt("/initiate")).To(HaveLen(2))
		Expect(app.WhatsAt("/answer")).To(HaveLen(1))
		Expect(app.Whats()).To(HaveLen(2+1+6+1), "no webhook went anywhere else")
	}, timeout)

	Describe("--ca", func() {
		It("trusts the CA for https:// BXML fetches and webhooks", func(ctx SpecContext) {
			app := newTLSVoiceApp()
			streamingApp(app, nil, "/events")
			base, _, _, stop := serving(ctx, "--pace", "fast", "--ca", app.CAFile())
			id := place(ctx, base, map[string]any{"url": app.URL("/initiate"), "disconnectUrl": app.URL("/hangups")})
			Eventually(ctx, app.Whats).Should(Equal([]string{"initiate", "mediaStreamStarted caller"}))
			hangup(ctx, base, id)
			Expect(app.Whats()).To(Equal([]string{"initiate", "mediaStreamStarted caller", "mediaStreamStopped (closed) caller", "disconnect (hangup)"}))
			Expect(stop()).To(Equal(exitPass))
		}, timeout)

		It("without it, an https:// app is not trusted and the journal says why", func(ctx SpecContext) {
			app := newTLSVoiceApp()
			base, _, _, stop := serving(ctx, "--pace", "fast")
			place(ctx, base, map[string]any{"url": app.URL("/initiate")})
			Eventually(ctx, func() string {
				_, body := httpDo(ctx, client, http.MethodGet, base+"/control/calls", "", "")
				return string(body)
			}).Should(ContainSubstring(`"state":"disconnected"`))
			_, body := httpDo(ctx, client, http.MethodGet, base+"/control/journal", "", "")
			Expect(string(body)).To(ContainSubstring("x509: certificate signed by unknown authority"))
			Expect(app.Whats()).To(BeEmpty())
			Expect(stop()).To(Equal(exitPass))
		}, timeout)

		It("exits 2 for a --ca file with no certificate", func(ctx SpecContext) {
			path := filepath.Join(GinkgoT().TempDir(), "empty.pem")
			Expect(os.WriteFile(path, []byte("not a certificate\n"), 0o644)).To(Succeed())
			out := bwemu(ctx, "serve", "--listen", "127.0.0.1:0", "--ca", path)
			Expect(out.code).To(Equal(exitUsage))
			Expect(lines(out.stderr)[0]).To(Equal("bwemu: --ca: " + path + ": no PEM certificate found"))
		}, timeout)
	})

	Describe("when stopped", func() {
		It("ends a live call whose webhooks hang within the grace, and exits 0", func(ctx SpecContext) {
			app := newVoiceApp()
			cons := streamingApp(app, nil, "/slow-events")
			app.Slow("/slow-events")
			base, stdout, _, stop := serving(ctx)
			place(ctx, base, map[string]any{"url": app.URL("/initiate"), "disconnectUrl": app.URL("/slow-events")})
			Eventually(ctx, app.Whats).Should(ContainElement("mediaStreamStarted caller"))
			_, err := cons.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.StreamName == "caller" })
			Expect(err).NotTo(HaveOccurred())

			began := time.Now()
			Expect(stop()).To(Equal(exitPass))
			Expect(time.Since(began)).To(BeNumerically("<", grace))
			Expect(string(stdout.Contents())).To(ContainSubstring("shutting down: hanging up 1 live calls\n"))
			Expect(string(stdout.Contents())).To(HaveSuffix("stopped\n"))
			By("the app's socket was stopped and closed properly")
			rec, err := cons.WaitStream(ctx, func(r consumer.StreamRecord) bool { return r.StreamName == "caller" && r.Closed })
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.StopSeen).To(BeTrue())
			Expect(rec.CloseCode).To(Equal(1000))
		}, timeout)

		It("ends a call whose BXML fetch hangs within the grace, and exits 0", func(ctx SpecContext) {
			app := newVoiceApp()
			app.Slow("/initiate")
			base, _, _, stop := serving(ctx)
			place(ctx, base, map[string]any{"url": app.URL("/initiate")})
			Eventually(ctx, app.Whats).Should(ContainElement("initiate"))

			began := time.Now()
			Expect(stop()).To(Equal(exitPass))
			Expect(time.Since(began)).To(BeNumerically("<", grace))
		}, timeout)
	})
})

// logLine is the pattern of a text log line: the time, the kind, the
// subject, then what.
func logLine(kind, subject, what string) string {
	return `(?m)^\d\d:\d\d:\d\d\.\d{3}  ` + kind + ` +` + subject + ` +` + what
}

const (
	callSubject   = `c-[0-9a-f]{8}`
	streamSubject = `s-[0-9a-f]{8} agent`
	// ansi is the start of any colour code.
	ansi = "\033["
)

var _ = Describe("bwemu serve's live log", func() {
	var client *http.Client
	BeforeEach(func() { client = apptest.NewClient() })

	// streamingApp answers /initiate with a stream named agent to a
	// reference consumer that requires the destination credentials
	// ws-user/ws-pa55, and returns the app and the consumer.
	streamingApp := func() (voiceApp, *consumer.Server) {
		app := newVoiceApp()
		cons := apptest.NewConsumer(&consumer.Options{WSUser: "ws-user", WSPassword: "ws-pa55"})
		app.Serve("/initiate", fmt.Sprintf(`<Response><StartStream name="agent" destination="%s" streamEventUrl="/events"
  destinationUsername="ws-user" destinationPassword="ws-pa55"/><Pause duration="600"/></Response>`, cons.WebSocketURL()))
		return app, cons
	}
	control := func(ctx context.Context, method, url, body string) (int, []byte) {
		GinkgoHelper()
		return httpDo(ctx, client, method, url, "application/json", body)
	}
	// call places a call to app's /initiate whose webhooks carry the
	// credentials hook-user/hook-pa55, lets 200ms of media through and
	// returns its id once mediaStreamStarted was answered.
	call := func(ctx context.Context, base string, app voiceApp) string {
		GinkgoHelper()
		status, body := control(ctx, http.MethodPost, base+"/control/calls", fmt.Sprintf(
			`{"url":%q,"from":"+15550001111","to":"+15550002222","disconnectUrl":%q,"username":"hook-user","password":"hook-pa55"}`,
			app.URL("/initiate"), app.URL("/events")))
		Expect(status).To(Equal(http.StatusCreated), "body %s", body)
		id := decodeJSON(body)["callId"].(string)
		Eventually(ctx, app.Whats).Should(ContainElement("mediaStreamStarted agent"))
		status, body = control(ctx, http.MethodPost, base+"/control/calls/"+id+"/streams/agent/media", `{"duration":"200ms"}`)
		Expect(status).To(Equal(http.StatusOK), "body %s", body)
		return id
	}
	hangup := func(ctx context.Context, base, id string) {
		GinkgoHelper()
		status, body := control(ctx, http.MethodPost, base+"/control/calls/"+id+"/hangup", "")
		Expect(status).To(Equal(http.StatusOK), "body %s", body)
	}
	// noSecrets checks that no credential of the specs' reached out.
	noSecrets := func(out string) {
		GinkgoHelper()
		for _, secret := range []string{"api-pa55", "ws-pa55", "hook-pa55", "Authorization: Basic ", "Bearer ",
			base64.StdEncoding.EncodeToString([]byte("api-user:api-pa55")), base64.StdEncoding.EncodeToString([]byte("ws-user:ws-pa55"))} {
			Expect(out).NotTo(ContainSubstring(secret))
		}
	}

	It("prints a line per call, stream, frame summary, close and webhook as they happen, with no secret", func(ctx SpecContext) {
		app, _ := streamingApp()
		base, stdout, stderr, stop := serving(ctx, "--pace", "fast", "--username", "api-user", "--password", "api-pa55")
		id := call(ctx, base, app)
		Eventually(stdout).WithContext(ctx).Should(gbytes.Say(logLine("call   ", callSubject, regexp.QuoteMeta(
			`started +15550001111 → +15550002222 (inbound), id `+id))))
		hangup(ctx, base, id)
		Eventually(ctx, func() string { return string(stdout.Contents()) }).Should(MatchRegexp(logLine("webhook", callSubject, `disconnect \(hangup\) → 204 in \S+\n`)))
		By("an API request refused for its credentials")
		status, _ := httpDo(ctx, client, http.MethodPost, base+"/api/v2/accounts/"+emulator.DefaultAccountID+"/calls", "application/json", `{}`,
			func(r *http.Request) { r.SetBasicAuth("api-user", "wrong") })
		Expect(status).To(Equal(http.StatusUnauthorized))
		Eventually(ctx, func() string { return string(stdout.Contents()) }).Should(MatchRegexp(logLine("api    ", callSubject+`|-`, `\S+ → 401 in \S+`)))
		Expect(stop()).To(Equal(exitPass))

		out := string(stdout.Contents())
		for _, line := range []string{
			logLine("webhook", callSubject, `initiate → 200 in \S+$`),
			logLine("stream ", streamSubject, `connected \(101 in \S+\)$`),
			logLine("webhook", streamSubject, `mediaStreamStarted → 204 in \S+$`),
			logLine("control", callSubject, `POST /control/calls/`+id+`/streams/agent/media → 200 OK$`),
		} {
			Expect(out).To(MatchRegexp(line))
		}
		By("the stream's end, in the order it happened")
		Expect(out).To(MatchRegexp(`(?s)` + strings.Join([]string{
			logLine("stream ", streamSubject, `10 frames inbound, 0 skipped\n`),
			// Which close frame went first is a race the app may win.
			logLine("stream ", streamSubject, `closed by (emulator|app) 1000 ⇄ 1000 \(hangup\)\n`),
			logLine("webhook", streamSubject, `mediaStreamStopped \(closed\) → 204 in \S+\n`),
			logLine("call   ", callSubject, `ended: hangup\n`),
			logLine("webhook", callSubject, `disconnect \(hangup\) → 204 in \S+\n`),
		}, ".*")))
		Expect(out).NotTo(MatchRegexp(`control .* GET `), "reads of the control API are not events")
		Expect(out).NotTo(ContainSubstring(ansi), "no colour off a terminal")
		noSecrets(out + string(stderr.Contents()))
		Expect(out).To(HaveSuffix("shutting down: hanging up 0 live calls\nstopped\n"))
	}, timeout)

	It("--log-format json prints one JSON object per line with stable keys, alone on stdout", func(ctx SpecContext) {
		app, _ := streamingApp()
		base, stdout, stderr, stop := serving(ctx, "--pace", "fast", "--log-format", "json", "--color", "always")
		Expect(string(stderr.Contents())).To(ContainSubstring("bwemu serve: Bandwidth's Voice API, emulated"))
		id := call(ctx, base, app)
		hangup(ctx, base, id)
		Eventually(ctx, func() string { return string(stdout.Contents()) }).Should(ContainSubstring(`"event":"disconnect"`))
		Expect(stop()).To(Equal(exitPass))
		Expect(string(stderr.Contents())).To(HaveSuffix("shutting down: hanging up 0 live calls\nstopped\n"))

		var logged []map[string]any
		for _, l := range lines(string(stdout.Contents())) {
			logged = append(logged, decodeJSON([]byte(l)))
		}
		find := func(kind, what string) map[string]any {
			GinkgoHelper()
			for _, l := range logged {
				if l["kind"] == kind && l["what"] == what {
					return l
				}
			}
			Fail(fmt.Sprintf("no %s %s line in %s", kind, what, stdout.Contents()))
			return nil
		}
		for _, l := range logged {
			Expect(l).To(HaveKey("time"))
			Expect(l).To(HaveKey("level"))
			Expect(l).To(HaveKey("kind"))
			Expect(l).To(HaveKey("what"))
			Expect(l).To(HaveKey("message"))
		}
		Expect(find("call", "started")).To(And(HaveKeyWithValue("callId", id), HaveKeyWithValue("from", "+15550001111"),
			HaveKeyWithValue("to", "+15550002222"), HaveKeyWithValue("direction", "inbound")))
		Expect(find("stream", "connected")).To(And(HaveKeyWithValue("callId", id), HaveKeyWithValue("streamName", "agent"),
			HaveKeyWithValue("status", 101.0), HaveKey("latencyMs")))
		Expect(find("stream", "frames")).To(HaveKeyWithValue("frames", map[string]any{"inbound": 10.0}))
		Expect(find("stream", "closed")).To(And(HaveKeyWithValue("closedBy", BeElementOf("emulator", "app")), HaveKeyWithValue("closeCode", 1000.0),
			HaveKeyWithValue("closeAnswer", 1000.0), HaveKeyWithValue("ending", "hangup"), HaveKeyWithValue("cause", "closed")))
		Expect(find("call", "ended")).To(HaveKeyWithValue("cause", "hangup"))
		var webhooks []string
		for _, l := range logged {
			if l["kind"] == "webhook" {
				Expect(l).To(And(HaveKeyWithValue("what", "answered"), HaveKeyWithValue("level", "info"), HaveKey("latencyMs")))
				webhooks = append(webhooks, fmt.Sprintf("%s %v", l["event"], l["status"]))
			}
		}
		Expect(webhooks).To(Equal([]string{"initiate 200", "mediaStreamStarted 204", "mediaStreamStopped 204", "disconnect 204"}))
		Expect(string(stdout.Contents())).NotTo(ContainSubstring(ansi), "never colour in JSON")
		noSecrets(string(stdout.Contents()) + string(stderr.Contents()))
	}, timeout)

	It("--quiet prints no log, only where it serves and that it stopped", func(ctx SpecContext) {
		app, _ := streamingApp()
		base, stdout, stderr, stop := serving(ctx, "--pace", "fast", "--quiet")
		banner := string(stdout.Contents())
		hangup(ctx, base, call(ctx, base, app))
		Expect(stop()).To(Equal(exitPass))
		Expect(string(stdout.Contents())).To(Equal(banner + "shutting down: hanging up 0 live calls\nstopped\n"))
		Expect(stderr.Contents()).To(BeEmpty())
	}, timeout)

	Describe("colour", func() {
		// logged runs serve with args, makes it log a line (a refused
		// control request) and returns its stdout once stopped.
		logged := func(ctx context.Context, args ...string) string {
			GinkgoHelper()
			base, stdout, _, stop := serving(ctx, args...)
			status, _ := control(ctx, http.MethodPost, base+"/control/calls", `{"url":"ftp://x/"}`)
			Expect(status).To(Equal(http.StatusBadRequest))
			Expect(stop()).To(Equal(exitPass))
			plain := regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(string(stdout.Contents()), "")
			Expect(plain).To(MatchRegexp(logLine("control", "-", `POST /control/calls → 400 Bad Request`)))
			return string(stdout.Contents())
		}
		// onTerminal makes serve's stdout count as a terminal for the spec.
		onTerminal := func() {
			was := writesToTerminal
			writesToTerminal = func(io.Writer) bool { return true }
			DeferCleanup(func() { writesToTerminal = was })
		}

		It("is off when stdout is not a terminal, and on with --color always", func(ctx SpecContext) {
			Expect(logged(ctx)).NotTo(ContainSubstring(ansi))
			Expect(logged(ctx, "--color", "always")).To(ContainSubstring(ansi))
		}, timeout)

		It("is on on a terminal, but not with NO_COLOR or --color never", func(ctx SpecContext) {
			onTerminal()
			Expect(logged(ctx)).To(ContainSubstring(ansi))
			Expect(logged(ctx, "--color", "never")).NotTo(ContainSubstring(ansi))
			GinkgoT().Setenv("NO_COLOR", "1")
			Expect(logged(ctx)).NotTo(ContainSubstring(ansi))
			Expect(logged(ctx, "--color", "always")).To(ContainSubstring(ansi), "a flag given for the run overrides NO_COLOR")
		}, timeout)
	})

	It("GET /control/calls/{callId} shows the call, its streams and its webhooks; an unknown call is 404", func(ctx SpecContext) {
		app, _ := streamingApp()
		base, _, _, stop := serving(ctx, "--pace", "fast", "--quiet")
		id := call(ctx, base, app)
		get := func(id string) (int, map[string]any) {
			GinkgoHelper()
			status, body := control(ctx, http.MethodGet, base+"/control/calls/"+id, "")
			return status, decodeJSON(body)
		}
		status, live := get(id)
		Expect(status).To(Equal(http.StatusOK))
		Expect(live).To(And(HaveKeyWithValue("callId", id), HaveKeyWithValue("state", "answered"), HaveKeyWithValue("from", "+15550001111")))
		Expect(live["streams"]).To(ConsistOf(And(HaveKeyWithValue("name", "agent"), HaveKeyWithValue("state", "live"),
			HaveKeyWithValue("media", "200ms"), Not(HaveKey("result")))))

		hangup(ctx, base, id)
		status, ended := get(id)
		Expect(status).To(Equal(http.StatusOK))
		Expect(ended).To(And(HaveKeyWithValue("state", "disconnected"), HaveKeyWithValue("disconnectCause", "hangup")))
		Expect(ended["streams"]).To(ConsistOf(And(HaveKeyWithValue("state", "ended"),
			HaveKeyWithValue("result", And(HaveKeyWithValue("ending", "hangup"), HaveKeyWithValue("cause", "closed"))))))
		var events []string
		for _, w := range ended["webhooks"].([]any) {
			ev := w.(map[string]any)["event"].(map[string]any)["eventType"].(string)
			// The call's credentials go with its own webhooks; the
			// stream's would come from its StartStream.
			events = append(events, fmt.Sprintf("%s %v", ev, w.(map[string]any)["authenticated"]))
		}
		Expect(events).To(Equal([]string{"initiate true", "mediaStreamStarted <nil>", "mediaStreamStopped <nil>", "disconnect true"}))
		noSecrets(fmt.Sprint(ended))

		status, missing := get("c-nope")
		Expect(status).To(Equal(http.StatusNotFound))
		Expect(missing).To(Equal(map[string]any{"error": "no call c-nope"}))
		Expect(stop()).To(Equal(exitPass))
	}, timeout)
})
