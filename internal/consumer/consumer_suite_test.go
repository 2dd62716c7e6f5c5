package consumer_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

func TestConsumer(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Reference consumer")
}

// good is the goroutines alive before each spec. The leak check is an
// AfterEach at the top level, so it runs after every nested AfterEach (where
// the specs close their servers and sockets, see cleanupLater). DeferCleanup
// would run too late: its callbacks come after every AfterEach.
var good []gleak.Goroutine

var _ = BeforeEach(func() {
	good = gleak.Goroutines()
})

var _ = AfterEach(func() {
	Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
})
