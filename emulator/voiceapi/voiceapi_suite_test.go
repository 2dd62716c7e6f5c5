package voiceapi_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bwemu/bwemu/internal/apptest"
)

func TestVoiceAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Voice API Suite")
}

var _ = apptest.LeakCheck()
