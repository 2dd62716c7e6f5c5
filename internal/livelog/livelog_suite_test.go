package livelog_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestLivelog(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Live log")
}

var _ = apptest.LeakCheck()
