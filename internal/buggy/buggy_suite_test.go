package buggy_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestBuggy(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Buggy consumers against the conformance suite")
}

var _ = apptest.LeakCheck()
