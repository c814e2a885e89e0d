package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/preflight"
)

// doctor against make dev's directory and mapping exits 0; against a mapping
// with a missing base it names the DN with its fix and exits 1, as text and
// as JSON.
func TestDoctorExitCodes(t *testing.T) {
	setenv(t, map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.BindDN, "LDAP_BIND_PASSWORD": slapd.Password})
	var out, errOut bytes.Buffer
	if code := run([]string{"doctor", "--mapping", "../../mappings.example.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "0 errors") || !strings.Contains(out.String(), "nothing blocks serving") {
		t.Errorf("output:\n%s", out.String())
	}

	src, _ := os.ReadFile("../../mappings.example.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(src), "base: ou=groups,dc=example,dc=org", "base: ou=teams,dc=example,dc=org", 1)), 0o644)
	out.Reset()
	if code := run([]string{"doctor", "--mapping", bad}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	for _, want := range []string{`ERROR   base: Group base "ou=teams,dc=example,dc=org" does not exist`, "  fix:\ncreate it as a directory administrator:\nldapadd ", "dn: ou=teams,dc=example,dc=org"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"doctor", "--json", "--mapping", bad}, &out, &errOut); code != 1 {
		t.Fatalf("--json exit %d", code)
	}
	var rep preflight.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.OK {
		t.Fatalf("JSON %v: %s", err, out.String())
	}
	found := false
	for _, f := range rep.Findings {
		found = found || (f.Check == "base" && f.Severity == "error" && f.Subject == "ou=teams,dc=example,dc=org" && f.Fix != "")
	}
	if !found {
		t.Errorf("JSON lacks the base finding: %s", out.String())
	}
	// A mapping that doesn't load is a finding too; bad usage is 2.
	os.WriteFile(bad, []byte("resourceTypes: {User: {ldap: {}}}\n"), 0o644)
	out.Reset()
	if code := run([]string{"doctor", "--json", "--mapping", bad}, &out, &errOut); code != 1 || !strings.Contains(out.String(), `"check": "mapping"`) {
		t.Errorf("broken mapping: exit %d: %s", code, out.String())
	}
	if code := run([]string{"doctor", "--frobnicate"}, &out, &errOut); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	if strings.Contains(out.String()+errOut.String(), slapd.Password) && slapd.Password != "" {
		t.Error("the password is in the output")
	}
}

// doctor names a mistyped variable with the nearest setting, as serve does,
// before what it causes (an anonymous bind).
func TestDoctorNamesMistypedVariables(t *testing.T) {
	setenv(t, map[string]string{"LDAP_URL": slapd.URL, "LDAP_BINDDN": slapd.BindDN, "LDAP_BIND_PASSWORD": slapd.Password})
	var out, errOut bytes.Buffer
	run([]string{"doctor", "--mapping", "../../mappings.example.yaml"}, &out, &errOut)
	if !strings.Contains(out.String(), `SCIM2LDAP_LDAP_BINDDN is not a setting of scim2ldap and is ignored (did you mean "SCIM2LDAP_LDAP_BIND_DN"?)`) {
		t.Errorf("output:\n%s", out.String())
	}
}
