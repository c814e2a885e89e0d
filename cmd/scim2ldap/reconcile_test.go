package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/reconcile"
)

// reconcile's exit codes and formats, on a branch of its own (ou=rc-people,
// ou=rc-groups) bound as the rootDN, whose writes then count as the
// gateway's (--gateway-dn): a dangling member is found (exit 1) in the table,
// JSON and CSV; --fix-dangling removes it and exits 0, auditing on stderr; the
// next run is clean (exit 0). Bad usage and an unreachable directory exit 2.
func TestReconcileCommand(t *testing.T) {
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
		t.Fatal(err)
	}
	addEntry := func(dn string, attrs map[string][]string) {
		t.Helper()
		req := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	addEntry("ou=rc-people,dc=example,dc=org", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"rc-people"}})
	addEntry("ou=rc-groups,dc=example,dc=org", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"rc-groups"}})
	addEntry("uid=ann,ou=rc-people,dc=example,dc=org", map[string][]string{"objectClass": {"inetOrgPerson", "extensibleObject"},
		"uid": {"ann"}, "cn": {"Ann"}, "sn": {"Ann"}, "uniqueIdentifier": {"ext-ann"}})
	ghost := "uid=ghost,ou=rc-people,dc=example,dc=org"
	addEntry("cn=ops,ou=rc-groups,dc=example,dc=org", map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"ops"},
		"member": {"uid=ann,ou=rc-people,dc=example,dc=org", ghost}})
	src, err := os.ReadFile("../../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(t.TempDir(), "m.yaml")
	s := strings.ReplaceAll(strings.ReplaceAll(string(src), "ou=people,", "ou=rc-people,"), "ou=groups,", "ou=rc-groups,")
	os.WriteFile(mf, []byte(s), 0o644)
	setenv(t, map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.RootDN, "LDAP_BIND_PASSWORD": slapd.RootPW, "MAPPING_FILE": mf})

	reconcileRun := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"reconcile"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, _ := reconcileRun()
	if code != 1 || !strings.Contains(out, "dangling") || !strings.Contains(out, ghost) || !strings.HasPrefix(out, "KIND") ||
		!strings.Contains(out, "1 dangling") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	code, out, _ = reconcileRun("--json")
	var rep struct {
		Findings []reconcile.Finding `json:"findings"`
		Summary  reconcile.Summary   `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || len(rep.Findings) != 1 || rep.Findings[0].Kind != reconcile.Dangling ||
		rep.Findings[0].Value != ghost || rep.Summary.Clean || rep.Summary.Scanned["User"] != 1 {
		t.Errorf("--json: exit %d, %v\n%s", code, err, out)
	}
	code, out, _ = reconcileRun("--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != 1 || len(rows) != 2 || strings.Join(rows[0], ",") != "kind,resourceType,dn,id,attribute,ldapAttribute,value,detail" ||
		rows[1][0] != "dangling" || rows[1][6] != ghost {
		t.Errorf("--csv: exit %d, %v\n%s", code, err, out)
	}
	// Audit events on stdout would corrupt a --json or --csv report there: refused, nothing removed.
	t.Setenv("SCIM2LDAP_AUDIT_LOG", "stdout")
	for _, format := range []string{"--json", "--csv"} {
		if code, out, errOut := reconcileRun("--fix-dangling", format); code != 2 || out != "" || !strings.Contains(errOut, "SCIM2LDAP_AUDIT_LOG") {
			t.Errorf("--fix-dangling %s with the audit log on stdout: exit %d\n%s\n%s", format, code, out, errOut)
		}
	}
	t.Setenv("SCIM2LDAP_AUDIT_LOG", "")
	code, out, errOut := reconcileRun("--fix-dangling")
	if code != 0 || !strings.Contains(out, "Removed (--fix-dangling):") || !strings.Contains(errOut, `"event":"scim.reference"`) ||
		!strings.Contains(errOut, `"old_value":"`+ghost+`"`) {
		t.Errorf("--fix-dangling: exit %d\n%s\n%s", code, out, errOut)
	}
	// Bound as the gateway's own account, the removals make ops look written by the gateway from now
	// on (the writer test of unmanaged): said on stderr.
	if !strings.Contains(errOut, "cn=ops,ou=rc-groups,dc=example,dc=org") || !strings.Contains(errOut, "--gateway-dn") {
		t.Errorf("--fix-dangling as the gateway's account: no warning on stderr\n%s", errOut)
	}
	if code, out, _ = reconcileRun(); code != 0 || !strings.Contains(out, "entries: clean.") {
		t.Errorf("after the fix: exit %d\n%s", code, out)
	}
	// Usage and connection errors are 2.
	for _, args := range [][]string{{"--json", "--csv"}, {"--skip", "everything"}, {"extra"}, {"--page-size", "0"},
		{"--ldap-url", "ldap://127.0.0.1:1"}, {"--mapping", "/nonexistent.yaml"}, {"--page-size", "5000000000"}} {
		if code, _, errOut := reconcileRun(args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, %s", args, code, errOut)
		}
	}
	if code, out, errOut := reconcileRun("--help"); code != 0 || !strings.Contains(out, "usage: scim2ldap reconcile") || errOut != "" {
		t.Errorf("--help: exit %d", code)
	}
	newReconcileFlags().fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(reconcileUsage, "--"+f.Name+" ") {
			t.Errorf("reconcile --help does not describe --%s", f.Name)
		}
	})
}
