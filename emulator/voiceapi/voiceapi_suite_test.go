package voiceapi_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

func TestVoiceAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Voice API Suite")
}

// No goroutine may outlive a spec: every server, run and emulator a spec
// starts is closed by its DeferCleanup before this check runs.
var _ = BeforeEach(func() {
	good := gleak.Goroutines()
	DeferCleanup(func() {
		Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
	})
})
