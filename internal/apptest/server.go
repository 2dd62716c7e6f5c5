package apptest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// server is the listening half WS and Hooks share: an httptest server on
// 127.0.0.1:0, plain or with httptest's self-signed certificate.
type server struct {
	srv *httptest.Server

	caOnce sync.Once
	caFile string
}

func (s *server) start(h http.Handler, withTLS bool) {
	s.srv = httptest.NewUnstartedServer(h)
	if !withTLS {
		s.srv.Start()
		return
	}
	// Specs refuse this certificate on purpose: keep the refused TLS
	// handshakes out of the log.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
}

// startOn starts a plain server on a listener of the caller's.
func (s *server) startOn(h http.Handler, ln net.Listener) {
	s.srv = httptest.NewUnstartedServer(h)
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
}

// Addr is the server's host:port.
func (s *server) Addr() string { return s.srv.Listener.Addr().String() }

// CertPool trusts the server's certificate, for emulator.Options.TLSConfig
// (nil for a plain server).
func (s *server) CertPool() *x509.CertPool {
	if s.srv.TLS == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	return pool
}

// TLSConfig is a client configuration that trusts the server's certificate.
func (s *server) TLSConfig() *tls.Config { return &tls.Config{RootCAs: s.CertPool()} }

// CAFile is the server's certificate as a PEM file (--ca, target.ca), in
// the spec's temporary directory; "" for a plain server.
func (s *server) CAFile() string {
	GinkgoHelper()
	if s.srv.TLS == nil {
		return ""
	}
	s.caOnce.Do(func() {
		s.caFile = filepath.Join(GinkgoT().TempDir(), "ca.pem")
		block := &pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}
		Expect(os.WriteFile(s.caFile, pem.EncodeToMemory(block), 0o644)).To(Succeed())
	})
	return s.caFile
}
