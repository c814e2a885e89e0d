package ds389test

// `scim2ldap mapping check --ldap-url` and `scim2ldap doctor` against 389 DS
// with mappings.389ds.example.yaml, as an operator runs them.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/preflight"
)

// The example mapping passes `mapping check --ldap-url` (the command itself,
// built from ./cmd/scim2ldap) against the instance, bound as the gateway's
// service account.
func TestMappingCheck389DS(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(t.TempDir(), "scim2ldap")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "scim2ldap")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(ds.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "mapping", "check", "--ldap-url", ds.LDAPSURL, "--bind-dn", ds.BindDN, "--bind-password-file", pw,
		"--ca-file", ds.CAFile, filepath.Join(root, "mappings.389ds.example.yaml"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK (checked against "+ds.LDAPSURL+")") {
		t.Errorf("mapping check: %v\n%s", err, out)
	}
}

// doctor finds nothing that blocks serving, reads the USN plugin from the
// root DSE with the service account, and the MemberOf and Referential
// Integrity plugins from cn=plugins with the Directory Manager as the config
// bind (Skipped without it: the service account may not read cn=config).
func TestDoctor389DS(t *testing.T) {
	checks := func(cfgDN, cfgPW string) map[string]preflight.Severity {
		t.Helper()
		rep := preflight.Run(context.Background(), preflight.Options{Mapping: dsMapping(t),
			LDAP:         ldapstore.Config{URL: ds.LDAPSURL, BindDN: ds.BindDN, BindPassword: ds.Password, CAFile: ds.CAFile},
			ConfigBindDN: cfgDN, ConfigBindPassword: cfgPW})
		if !rep.OK {
			t.Errorf("doctor: %s", rep.Text(true))
		}
		out := map[string]preflight.Severity{}
		for _, f := range rep.Findings {
			if strings.HasPrefix(f.Check, "plugin.") || strings.HasPrefix(f.Check, "overlay.") || f.Check == "index" {
				out[f.Check] = f.Severity
			}
		}
		return out
	}
	got := checks("", "")
	for c, want := range map[string]preflight.Severity{"plugin.usn": preflight.OK, "plugin.memberof": preflight.Skipped, "plugin.refint": preflight.Skipped} {
		if got[c] != want {
			t.Errorf("%s: %q, want %q (all: %v)", c, got[c], want, got)
		}
	}
	for c := range got { // OpenLDAP's overlays and olcDbIndex are not 389 DS's
		if slices.Contains([]string{"overlay.memberof", "overlay.refint", "overlay.ppolicy", "index"}, c) {
			t.Errorf("an OpenLDAP check on 389 DS: %s", c)
		}
	}
	got = checks(ds.RootDN, ds.RootPW)
	for c, want := range map[string]preflight.Severity{"plugin.usn": preflight.OK, "plugin.memberof": preflight.OK, "plugin.refint": preflight.OK} {
		if got[c] != want {
			t.Errorf("with the config bind, %s: %q, want %q (all: %v)", c, got[c], want, got)
		}
	}
}
