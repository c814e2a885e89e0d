package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/scim2ldap/scim2ldap/gateway"
)

// version and revision, when set at link time, name the build:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.revision=$(git rev-parse HEAD)" ./cmd/scim2ldap
//
// Unset, they come from the build information the Go toolchain embeds
// (runtime/debug.ReadBuildInfo): the main module's version — "v1.2.0" for
// `go install …@v1.2.0`, "(devel)" for a build from a checkout — and the
// vcs.revision setting, stamped when the build ran in a Git checkout with
// -buildvcs (the default when git is installed).
var version, revision string

// currentBuild is what `scim2ldap version`, the start-up log line and the
// scim2ldap_build_info metric say of this binary: Version is ldflags'
// main.version, else the module version, else "dev"; Revision is ldflags'
// main.revision, else vcs.revision (with "-dirty" when vcs.modified), else
// "unknown"; GoVersion is runtime.Version(), e.g. "go1.26.8".
func currentBuild() gateway.BuildInfo {
	b := gateway.BuildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		if b.Revision == "" {
			var rev string
			var modified bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if rev != "" && modified {
				rev += "-dirty"
			}
			b.Revision = rev
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}

// printVersion implements `scim2ldap version` and `scim2ldap --version`:
// "scim2ldap VERSION (revision REVISION, GOVERSION)".
func printVersion(stdout io.Writer) int {
	b := currentBuild()
	fmt.Fprintf(stdout, "scim2ldap %s (revision %s, %s)\n", b.Version, b.Revision, b.GoVersion)
	return 0
}
