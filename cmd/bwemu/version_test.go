package main

import (
	"debug/buildinfo"
	"os/exec"
	"runtime/debug"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("bwemu version", func() {
	info := func(mainVersion string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/bwemu/bwemu", Version: mainVersion}}
		for _, kv := range settings {
			k, v, _ := strings.Cut(kv, "=")
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: k, Value: v})
		}
		return bi
	}
	const rev = "a34dc6e1f2b3c4d5e6f708192a3b4c5d6e7f8091"

	DescribeTable("reads the build info",
		func(bi *debug.BuildInfo, ok bool, override, want string) {
			Expect(versionOf(bi, ok, override).String()).To(Equal(want))
		},
		Entry("go install …@v1.2.3", info("v1.2.3", "vcs.revision="+rev, "vcs.time=2025-06-01T12:00:00Z", "vcs.modified=false"),
			true, "", "bwemu v1.2.3 (commit a34dc6e1f2b3, 2025-06-01T12:00:00Z)"),
		Entry("a module proxy build, without VCS settings", info("v1.2.3"), true, "", "bwemu v1.2.3"),
		Entry("a checkout: the pseudo-version of its commit",
			info("v0.0.0-20250601120000-a34dc6e1f2b3+dirty", "vcs.revision="+rev, "vcs.time=2025-06-01T12:00:00Z", "vcs.modified=true"), true, "",
			"bwemu v0.0.0-20250601120000-a34dc6e1f2b3+dirty (commit a34dc6e1f2b3 with uncommitted changes, 2025-06-01T12:00:00Z)"),
		Entry("(devel) reads as dev", info("(devel)", "vcs.revision="+rev), true, "", "bwemu dev (commit a34dc6e1f2b3)"),
		Entry("-ldflags -X main.version wins", info("v1.2.3", "vcs.revision="+rev, "vcs.time=2025-06-01T12:00:00Z"), true, "v9.9.9",
			"bwemu v9.9.9 (commit a34dc6e1f2b3, 2025-06-01T12:00:00Z)"),
		Entry("no build info at all", nil, false, "", "bwemu dev"),
		Entry("no build info, -ldflags set", nil, false, "v9.9.9", "bwemu v9.9.9"),
	)

	Describe("of a built binary", Ordered, ContinueOnFailure, func() {
		// -buildvcs=true as go build has it by default in a checkout (this
		// environment may turn it off in GOFLAGS).
		var plain, stamped, novcs string
		BeforeAll(func(ctx SpecContext) {
			plain = buildBwemu(ctx, "-buildvcs=true")
			stamped = buildBwemu(ctx, "-buildvcs=true", "-ldflags", "-X main.version=v9.8.7")
			novcs = buildBwemu(ctx, "-buildvcs=false")
		}, NodeTimeout(3*time.Minute))

		versionOfBinary := func(ctx SpecContext, bin string, arg string) string {
			GinkgoHelper()
			out, err := exec.CommandContext(ctx, bin, arg).Output()
			Expect(err).NotTo(HaveOccurred())
			return string(out)
		}

		It("prints the module version, commit and date the build recorded", func(ctx SpecContext) {
			bi, err := buildinfo.ReadFile(plain)
			Expect(err).NotTo(HaveOccurred())
			settings := map[string]string{}
			for _, s := range bi.Settings {
				settings[s.Key] = s.Value
			}
			want := "bwemu " + bi.Main.Version
			if bi.Main.Version == "(devel)" || bi.Main.Version == "" {
				want = "bwemu dev"
			}
			// Outside a git checkout (a source archive) the build records
			// no revision, and there is none to print.
			if rev := settings["vcs.revision"]; rev != "" {
				Expect(bi.Main.Version).To(MatchRegexp(`^v\d+\.\d+\.\d+-`), "a checkout's build has a pseudo-version")
				want += " (commit " + rev[:12]
				if settings["vcs.modified"] == "true" {
					want += " with uncommitted changes"
				}
				want += ", " + settings["vcs.time"] + ")"
			}
			out := versionOfBinary(ctx, plain, "version")
			Expect(out).To(Equal(want + "\n"))
			Expect(versionOfBinary(ctx, plain, "--version")).To(Equal(out))
		}, NodeTimeout(20*time.Second))

		It("says dev when the build recorded no version", func(ctx SpecContext) {
			Expect(versionOfBinary(ctx, novcs, "version")).To(Equal("bwemu dev\n"))
		}, NodeTimeout(20*time.Second))

		It("lets -ldflags -X main.version override the module version", func(ctx SpecContext) {
			out := versionOfBinary(ctx, stamped, "version")
			Expect(out).To(MatchRegexp(`^bwemu v9\.8\.7( \(commit [0-9a-f]{12}.*\))?\n$`))
		}, NodeTimeout(20*time.Second))
	})
})
