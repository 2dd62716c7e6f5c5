package media_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

func TestMedia(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Media Suite")
}

// Every spec must leave no goroutine behind (the concurrency specs start some).
var good []gleak.Goroutine

var _ = BeforeEach(func() {
	good = gleak.Goroutines()
})

var _ = AfterEach(func() {
	Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(good))
})
