package htmlreport_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestHTMLReport(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "HTML report")
}

var _ = apptest.LeakCheck()
