package buggy_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

func TestBuggy(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Buggy consumers against the conformance suite")
}

// The leak check is registered first, so its cleanup runs last: after the
// specs' own DeferCleanup (servers closed) and every AfterEach.
var _ = BeforeEach(func() {
	good := gleak.Goroutines()
	DeferCleanup(func() {
		Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
	})
})
