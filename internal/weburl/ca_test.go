package weburl

import (
	"crypto/tls"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCA(t *testing.T) {
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCA(good)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), c)
	if err != nil {
		t.Fatalf("the loaded CA is not trusted: %v", err)
	}
	conn.Close()

	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(bad); err == nil || err.Error() != bad+": no PEM certificate found" {
		t.Errorf("LoadCA(not PEM) error = %v", err)
	}
	if _, err := LoadCA(filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("LoadCA(missing) error = %v", err)
	}
}
