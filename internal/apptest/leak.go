package apptest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

// LeakCheck makes every spec of the suite prove it leaves no goroutine
// behind. Call it once at the top level of a suite file:
//
//	var _ = apptest.LeakCheck()
//
// The check is a cleanup registered before any spec's own, so it runs last:
// after every AfterEach and every DeferCleanup that closes the spec's
// servers, emulators and streams.
func LeakCheck() bool {
	return BeforeEach(func() {
		good := gleak.Goroutines()
		DeferCleanup(func() {
			Eventually(gleak.Goroutines).WithTimeout(5 * time.Second).ShouldNot(gleak.HaveLeaked(good))
		})
	}, Offset(1))
}
