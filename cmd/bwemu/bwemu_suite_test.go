package main

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestBwemu(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "bwemu CLI")
}

var _ = apptest.LeakCheck()
