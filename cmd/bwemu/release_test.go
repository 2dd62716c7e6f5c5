package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Installing anywhere: the release archives `make release` builds, and the
// script the GitHub Action runs.
var _ = Describe("installing bwemu", Ordered, func() {
	var dist, binary string
	var targets []string

	BeforeAll(func(ctx SpecContext) {
		dist = GinkgoT().TempDir()
		targets = []string{"linux/amd64"}
		if _, err := exec.LookPath("zip"); err == nil {
			targets = append(targets, "windows/arm64") // windows archives are zip files
		} else {
			AddReportEntry("zip is not installed: the windows archive is not built here")
		}
		make := exec.CommandContext(ctx, "make", "-C", "../..", "release", "TARGETS="+strings.Join(targets, " "), "VERSION=v9.9.9-spec", "DIST="+dist)
		make.Stdout, make.Stderr = GinkgoWriter, GinkgoWriter
		Expect(make.Run()).To(Succeed())
		binary = extract(filepath.Join(dist, "bwemu_v9.9.9-spec_linux_amd64.tar.gz"), "bwemu_v9.9.9-spec_linux_amd64/bwemu", GinkgoT().TempDir())
	}, NodeTimeout(10*time.Minute))

	It("builds an archive a platform, with its checksum, and a static bwemu that says its version", func(ctx SpecContext) {
		sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
		Expect(lines).To(HaveLen(len(targets)))
		for _, l := range lines {
			sum, name, ok := strings.Cut(l, "  ")
			Expect(ok).To(BeTrue(), l)
			data, err := os.ReadFile(filepath.Join(dist, name))
			Expect(err).NotTo(HaveOccurred())
			got := sha256.Sum256(data)
			Expect(hex.EncodeToString(got[:])).To(Equal(sum), name)
		}
		if len(targets) > 1 {
			Expect(filepath.Join(dist, "bwemu_v9.9.9-spec_windows_arm64.zip")).To(BeAnExistingFile())
		}

		out, err := exec.CommandContext(ctx, binary, "version").Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).To(HavePrefix("bwemu v9.9.9-spec"))
		// Built where the go command could stamp the commit (a checkout),
		// the line names it.
		info, err := buildinfo.ReadFile(binary)
		Expect(err).NotTo(HaveOccurred())
		for _, setting := range info.Settings {
			if setting.Key == "vcs.revision" {
				Expect(string(out)).To(ContainSubstring("(commit "+setting.Value[:12]), "the commit it was built from")
			}
		}
	})

	Describe("the GitHub Action's script", func() {
		// action runs action/run.sh as the Action does, with the release's
		// bwemu, and returns its exit code and the reports directory.
		action := func(ctx SpecContext, command, args string) (int, string, string) {
			dir := GinkgoT().TempDir()
			output := filepath.Join(dir, "github-output")
			script := exec.CommandContext(ctx, "../../action/run.sh")
			script.Env = append(os.Environ(), "BWEMU="+binary, "BWEMU_COMMAND="+command, "BWEMU_ARGS="+args,
				"BWEMU_REPORTS="+filepath.Join(dir, "reports"), "GITHUB_OUTPUT="+output)
			var stderr strings.Builder
			script.Stdout, script.Stderr = GinkgoWriter, io.MultiWriter(GinkgoWriter, &stderr)
			err := script.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else {
				Expect(err).NotTo(HaveOccurred())
			}
			if data, err := os.ReadFile(output); err == nil {
				Expect(string(data)).To(Equal("exit-code=" + strconv.Itoa(code) + "\n"))
			}
			return code, filepath.Join(dir, "reports"), stderr.String()
		}

		It("runs the command with its reports and passes its exit code on", func(ctx SpecContext) {
			code, reports, _ := action(ctx, "stream", "--pace fast --for 200ms")
			Expect(code).To(Equal(exitPass))
			Expect(filepath.Join(reports, "stream.json")).To(BeAnExistingFile())
			Expect(filepath.Join(reports, "journal.jsonl")).To(BeAnExistingFile())

			code, _, _ = action(ctx, "stream", "ws://127.0.0.1:9/media --pace fast")
			Expect(code).To(Equal(exitFail), "nothing listens there: the app failed")

			code, reports, _ = action(ctx, "run", "../../scenarios.example.yaml --pace fast")
			Expect(code).To(Equal(exitPass))
			for _, f := range []string{"junit.xml", "report.json", "report.html"} {
				Expect(filepath.Join(reports, f)).To(BeAnExistingFile())
			}
		}, SpecTimeout(time.Minute))

		It("refuses a command it does not know, as bad input", func(ctx SpecContext) {
			code, _, stderr := action(ctx, "bogus", "")
			Expect(code).To(Equal(exitUsage))
			Expect(stderr).To(ContainSubstring("command must be one of run, conform, load, stream, validate; got 'bogus'"))
		}, SpecTimeout(time.Minute))
	})
})

// extract writes the file name of the tar.gz archive into dir, executable,
// and returns its path.
func extract(archive, name, dir string) string {
	GinkgoHelper()
	f, err := os.Open(archive)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	gz, err := gzip.NewReader(f)
	Expect(err).NotTo(HaveOccurred())
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		Expect(err).NotTo(HaveOccurred(), "%s not in %s", name, archive)
		if h.Name != name {
			continue
		}
		path := filepath.Join(dir, filepath.Base(name))
		out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
		Expect(err).NotTo(HaveOccurred())
		_, err = io.Copy(out, tr)
		Expect(err).NotTo(HaveOccurred())
		Expect(out.Close()).To(Succeed())
		return path
	}
}
