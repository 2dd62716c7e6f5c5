package conformance_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Conformance Suite")
}

// No goroutine may outlive a spec: every app and emulator a spec (or a
// case) starts is closed before this check runs.
var _ = apptest.LeakCheck()
