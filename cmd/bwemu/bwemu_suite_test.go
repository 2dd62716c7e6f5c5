package main

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
	"github.com/bwemu/bwemu/internal/buggy"
)

// TestMain lets the leak specs run an app in a process of its own: this
// binary, started again by buggy.StartProcess, serves a consumer instead
// of running the specs.
func TestMain(m *testing.M) {
	buggy.ServeIfChild()
	os.Exit(m.Run())
}

func TestBwemu(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "bwemu CLI")
}

var _ = apptest.LeakCheck()
