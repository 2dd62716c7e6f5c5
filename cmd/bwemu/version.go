package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

const versionSynopsis = "bwemu version"

// parseVersion reads the running binary's version. Arguments are ignored:
// `bwemu help version` asks for --help, and gets the version.
func parseVersion([]string) (buildVersion, error) {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok, version), nil
}

// runVersion prints the version line.
func runVersion(_ context.Context, v buildVersion, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, v)
	return exitPass
}

// version, when set at build time with -ldflags "-X main.version=v1.2.3",
// overrides the version in the build info.
var version string

// buildVersion is what `bwemu version` reports.
type buildVersion struct {
	Version  string // v1.2.3, a pseudo-version, or "dev"
	Commit   string // the VCS revision, empty when unknown
	Date     string // the revision's commit time (RFC 3339), empty when unknown
	Modified bool   // built from a tree with uncommitted changes
}

// versionOf reads the version from the build info: the main module's
// version (set by `go install …@vX` and, from a checkout, a pseudo-version
// of the commit), the VCS revision and its time. override (from -ldflags)
// wins over the module version; "(devel)" and nothing at all read as dev.
func versionOf(bi *debug.BuildInfo, ok bool, override string) buildVersion {
	v := buildVersion{Version: "dev"}
	if ok && bi != nil {
		if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.Date = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		v.Version = override
	}
	return v
}

// String is the one line `bwemu version` prints:
// "bwemu v1.2.3 (commit 0123456789ab, 2025-06-01T12:00:00Z)".
func (v buildVersion) String() string {
	var details []string
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if v.Modified {
			c += " with uncommitted changes"
		}
		details = append(details, "commit "+c)
	}
	if v.Date != "" {
		details = append(details, v.Date)
	}
	line := "bwemu " + v.Version
	if len(details) > 0 {
		line += " (" + strings.Join(details, ", ") + ")"
	}
	return line
}

// versionLine is the running binary's version line.
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok, version).String()
}
