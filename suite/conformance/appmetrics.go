package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bwemu/bwemu/internal/weburl"
)

// MetricsGauge names a gauge of the app's live sessions (one per stream or
// call, say, to its AI backend) on its Prometheus text endpoint
// (Options.AppMetrics; bwemu conform's --app-metrics and --app-metric).
type MetricsGauge struct {
	// URL is the endpoint, http:// or https://: "http://127.0.0.1:9090/metrics".
	URL string
	// Name is the gauge's metric name: "agent_backend_sessions". A gauge
	// with labels counts as the sum of its series.
	Name string
}

// validate says what is wrong with the gauge, if anything; the zero value
// (no endpoint) is fine.
func (g MetricsGauge) validate() error {
	switch {
	case g.URL == "" && g.Name == "":
		return nil
	case g.URL == "":
		return fmt.Errorf("conformance: Options.AppMetrics.Name is %q but its URL is empty: give the app's Prometheus text endpoint too", g.Name)
	case g.Name == "":
		return fmt.Errorf("conformance: Options.AppMetrics.URL is %q but its Name is empty: give the name of the app's gauge of live sessions too", weburl.Redact(g.URL))
	}
	u, err := url.Parse(g.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("conformance: Options.AppMetrics.URL %q is not an http:// or https:// URL", weburl.Redact(g.URL))
	}
	return nil
}

// redactedURL is the endpoint as messages show it.
func (g MetricsGauge) redactedURL() string { return weburl.Redact(g.URL) }

// scrapeTimeout bounds one scrape of the endpoint.
const scrapeTimeout = 2 * time.Second

// maxScrape bounds what is read of one scrape.
const maxScrape = 32 << 20

// scraper reads the gauge from the endpoint.
type scraper struct {
	gauge     MetricsGauge
	transport *http.Transport
	client    *http.Client
}

func newScraper(g MetricsGauge, tlsConfig *tls.Config) *scraper {
	tr := weburl.NewTransport()
	// A connection kept alive between scrapes would be one more socket in
	// the app's process, the very thing 8.1 counts.
	tr.DisableKeepAlives = true
	if tlsConfig != nil {
		tr.TLSClientConfig = tlsConfig.Clone()
	}
	return &scraper{gauge: g, transport: tr, client: &http.Client{Transport: tr}}
}

func (s *scraper) close() { s.transport.CloseIdleConnections() }

// read scrapes the endpoint and returns the gauge's value. Its errors name
// the gauge and the endpoint, and say what was wrong.
func (s *scraper) read(ctx context.Context) (float64, error) {
	g := s.gauge
	where := fmt.Sprintf("the gauge %s at %s", g.Name, g.redactedURL())
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("could not read %s: %v", where, err)
	}
	// The text format, which the parser reads (not OpenMetrics, not protobuf).
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return 0, fmt.Errorf("could not read %s: no answer within %s", where, scrapeTimeout)
		}
		return 0, fmt.Errorf("could not read %s: %s", where, weburl.ErrorText(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return 0, fmt.Errorf("could not read %s: the endpoint answered %d, not 200", where, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, maxScrape))
	if err != nil {
		return 0, fmt.Errorf("could not read %s: the endpoint does not serve the Prometheus text format (%v)", where, err)
	}
	mf, ok := families[g.Name]
	if !ok {
		return 0, fmt.Errorf("could not read %s: the endpoint has no metric of that name (it has %s)", where, metricNames(families))
	}
	switch mf.GetType() {
	case dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
	default:
		return 0, fmt.Errorf("%s is a %s, not a gauge: only a gauge of live sessions comes back down as they end", where, strings.ToLower(mf.GetType().String()))
	}
	if len(mf.GetMetric()) == 0 {
		return 0, fmt.Errorf("could not read %s: the metric has no sample", where)
	}
	var sum float64
	for _, m := range mf.GetMetric() {
		switch {
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, nil
}

// metricNames lists some of the metrics an endpoint has, for a message.
func metricNames(families map[string]*dto.MetricFamily) string {
	if len(families) == 0 {
		return "none at all"
	}
	var names []string
	for n := range families {
		names = append(names, n)
	}
	slices.Sort(names)
	const shown = 8
	if len(names) > shown {
		return strings.Join(names[:shown], ", ") + fmt.Sprintf(" and %d more", len(names)-shown)
	}
	return strings.Join(names, ", ")
}

// formatValue writes a gauge's value as it would be read: 3, 0.5.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
