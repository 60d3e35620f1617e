// Package version reports the version and commit kinesisd was built from.
package version

import (
	"runtime/debug"
	"strings"
)

// Stamped by the release build (scripts/release.sh):
//
//	-ldflags "-X kinesisd/internal/version.version=v1.2.3 -X kinesisd/internal/version.commit=0123456789ab"
//
// They are the linker's to set and never change at run time; empty, the build information decides.
var (
	version string
	commit  string
)

// shortCommit is how many hex digits of a revision are shown, as scripts/release.sh stamps them.
const shortCommit = 12

// Version is the release version (a git tag such as v1.2.3, or v0.0.0-<commit> between releases), the
// module version of a `go install kinesisd/cmd/kinesisd@version`, or "dev" when nothing is known.
func Version() string {
	v, _ := resolve(version, commit, readBuildInfo())
	return v
}

// Commit is the git commit the binary was built from, with "-dirty" when the tree had changes, or
// "unknown".
func Commit() string {
	_, c := resolve(version, commit, readBuildInfo())
	return c
}

// String is the line `kinesisd version` prints: "kinesisd <version> (<commit>)".
func String() string {
	v, c := resolve(version, commit, readBuildInfo())
	return "kinesisd " + v + " (" + c + ")"
}

func readBuildInfo() *debug.BuildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return info
}

// resolve picks the version and commit: the stamped values first, then the build information's VCS
// settings (absent with -buildvcs=false or outside a git checkout) and main module version.
func resolve(stampedVersion, stampedCommit string, info *debug.BuildInfo) (v, c string) {
	var revision, modified, moduleVersion string
	if info != nil {
		moduleVersion = info.Main.Version
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	c = stampedCommit
	if c == "" && revision != "" {
		c = revision[:min(len(revision), shortCommit)]
		if modified == "true" {
			c += "-dirty"
		}
	}
	v = stampedVersion
	switch {
	case v != "":
	case moduleVersion != "" && moduleVersion != "(devel)":
		v = moduleVersion
	case c != "":
		v = "v0.0.0-" + strings.TrimSuffix(c, "-dirty")
	default:
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}
