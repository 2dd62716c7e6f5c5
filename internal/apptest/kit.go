package apptest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/emulator"
	"github.com/bwemu/bwemu/internal/consumer"
)

// NewConsumer starts the reference consumer, a correct app, on
// 127.0.0.1:0 with opts (nil for its defaults), closed when the spec ends.
func NewConsumer(opts *consumer.Options) *consumer.Server {
	GinkgoHelper()
	c, err := consumer.Start("127.0.0.1:0", opts)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Close)
	return c
}

// NewEmulator returns an emulator with options o (nil for the defaults),
// closed when the spec ends.
func NewEmulator(o *emulator.Options) *emulator.Emulator {
	e := emulator.New(o)
	DeferCleanup(e.Close)
	return e
}
