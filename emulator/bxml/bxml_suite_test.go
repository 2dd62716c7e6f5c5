package bxml_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestBXML(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "BXML Suite")
}

var _ = apptest.LeakCheck()
