package main

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

func TestAgentCommand(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Voice Agent Command Suite")
}

// No goroutine may outlive a spec: the server, the agent and its backend
// stand-in all stop when run returns.
var _ = BeforeEach(func() {
	good := gleak.Goroutines()
	DeferCleanup(func() {
		Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
	})
})
