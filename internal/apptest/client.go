package apptest

import (
	"io"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// NewClient is an HTTP client that keeps no connection alive between
// requests, its idle connections closed when the spec ends.
func NewClient() *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Fetch sends req with client and reads the whole answer, failing the
// spec when the request gets none.
func Fetch(client *http.Client, req *http.Request) Response {
	GinkgoHelper()
	resp, err := client.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}
