package transcriber_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/bwemu/bwemu/suite/specs"
)

func TestTranscriber(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Transcriber Suite")
}

var _ = BeforeSuite(specs.UseDefaults)

// No goroutine may outlive a spec. Written out, not the project's own
// internal/apptest.LeakCheck: this suite shows what an app's suite writes.
var _ = BeforeEach(func() {
	good := gleak.Goroutines()
	DeferCleanup(func() {
		Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
	})
})
