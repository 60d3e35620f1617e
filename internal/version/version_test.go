package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	const rev = "3adfbe2c0ffee0123456789abcdef0123456789a"
	vcs := func(modified string, main string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "kinesisd", Version: main}}
		info.Settings = []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}}
		if modified != "" {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: "vcs.modified", Value: modified})
		}
		return info
	}
	tests := []struct {
		name                    string
		stampedV, stampedC      string
		info                    *debug.BuildInfo
		wantVersion, wantCommit string
	}{
		{"stamped", "v1.2.3", "0123456789ab", vcs("false", "(devel)"), "v1.2.3", "0123456789ab"},
		{"stamped version only", "v1.2.3", "", vcs("false", "(devel)"), "v1.2.3", "3adfbe2c0ffe"},
		{"stamped commit only", "", "0123456789ab", nil, "v0.0.0-0123456789ab", "0123456789ab"},
		{"vcs clean", "", "", vcs("false", "(devel)"), "v0.0.0-3adfbe2c0ffe", "3adfbe2c0ffe"},
		{"vcs modified", "", "", vcs("true", "(devel)"), "v0.0.0-3adfbe2c0ffe", "3adfbe2c0ffe-dirty"},
		{"module version from go install", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0", "unknown"},
		{"module version with vcs", "", "", vcs("true", "v1.4.1-0.20261205152200-3adfbe2c0ffe+dirty"), "v1.4.1-0.20261205152200-3adfbe2c0ffe+dirty", "3adfbe2c0ffe-dirty"},
		{"no vcs (buildvcs=false)", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev", "unknown"},
		{"no build info", "", "", nil, "dev", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, c := resolve(tt.stampedV, tt.stampedC, tt.info)
			if v != tt.wantVersion || c != tt.wantCommit {
				t.Errorf("resolve = %q, %q; want %q, %q", v, c, tt.wantVersion, tt.wantCommit)
			}
		})
	}
}

func TestString(t *testing.T) {
	s := String()
	if !strings.HasPrefix(s, "kinesisd "+Version()+" (") || !strings.HasSuffix(s, Commit()+")") {
		t.Errorf("String() = %q; want kinesisd %s (%s)", s, Version(), Commit())
	}
}
