package agent_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"

	"github.com/bwemu/bwemu/suite/specs"
)

func TestAgent(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Voice Agent Suite")
}

var _ = BeforeSuite(specs.UseDefaults)

// No goroutine may outlive a spec: not the agent's speakers, not its
// backend sessions (leaked ones included, which Close reclaims as a process
// exit would), not the emulator's streams.
var _ = BeforeEach(func() {
	good := gleak.Goroutines()
	DeferCleanup(func() {
		Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
	})
})
