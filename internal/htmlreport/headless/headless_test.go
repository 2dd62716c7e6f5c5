package headless_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/htmlreport/headless"
)

// browser is the Chromium to run; the spec is skipped, saying how to get
// one, when there is none.
func browser() string {
	GinkgoHelper()
	p, err := headless.ExecPath()
	if err != nil {
		Skip("the browser check needs Chromium: " + err.Error())
	}
	return p
}

func page(src string) string {
	GinkgoHelper()
	path := filepath.Join(GinkgoT().TempDir(), "page.html")
	Expect(os.WriteFile(path, []byte(src), 0o644)).To(Succeed())
	return path
}

var _ = Describe("Open", func() {
	It("sees what is wrong with a page: console errors, exceptions and what it fetched", func(ctx SpecContext) {
		fetched := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case fetched <- r.URL.Path:
			default:
			}
			http.NotFound(w, r)
		}))
		DeferCleanup(srv.Close)
		path := page(`<!DOCTYPE html><html><head><title>bad page</title></head><body>
<img src="` + srv.URL + `/pixel.png">
<script>console.error("the page broke"); throw new Error("uncaught");</script>
</body></html>`)
		v, err := headless.Open(ctx, browser(), path, headless.Options{}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(v.Title).To(Equal("bad page"))
		Expect(strings.Join(v.Problems, "\n")).To(And(ContainSubstring("console.error: the page broke"), ContainSubstring("uncaught exception: Error: uncaught")))
		Expect(v.Fetched).To(ConsistOf(srv.URL + "/pixel.png"))
		Eventually(fetched).Should(Receive(Equal("/pixel.png")))
	}, SpecTimeout(60*time.Second))

	It("sees nothing wrong with a quiet page, and lets the caller look at it", func(ctx SpecContext) {
		path := page(`<!DOCTYPE html><html><head><title>quiet</title></head><body><p id="x">hello &lt;b&gt;</p></body></html>`)
		var text string
		v, err := headless.Open(ctx, browser(), path, headless.Options{Width: 800, Height: 600}, func(tab context.Context) error {
			var err error
			text, err = chromedp.Run(tab, chromedp.TextContent(chromedp.ID("x")))
			return err
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(v).To(Equal(headless.Visit{Title: "quiet", Fetched: []string{}}))
		Expect(text).To(Equal("hello <b>"))
	}, SpecTimeout(60*time.Second))

	It("says how to get a browser when the one named is not there", func() {
		GinkgoT().Setenv(headless.EnvChromium, filepath.Join(GinkgoT().TempDir(), "no-such-chromium"))
		_, err := headless.ExecPath()
		Expect(err).To(MatchError(ContainSubstring(headless.EnvChromium)))
		Expect(headless.ErrNoBrowser.Error()).To(ContainSubstring("apt-get install -y chromium"))
	})
})
