package headless_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestHeadless(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Headless browser")
}

var _ = apptest.LeakCheck()
