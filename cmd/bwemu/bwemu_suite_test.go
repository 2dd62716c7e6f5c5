package main

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

func TestBwemu(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "bwemu CLI")
}

// Every spec must leave no goroutine behind: not the CLI's (emulator,
// built-in consumer, HTTP transport) and not the fixtures'. This cleanup is
// registered first, so it runs last, after the specs' own DeferCleanups
// have closed their servers.
var _ = BeforeEach(func() {
	good := gleak.Goroutines()
	DeferCleanup(func() {
		Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
	})
})
