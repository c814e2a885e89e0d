package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// rootConn is a connection to the test slapd bound as its rootDN, closed at the
// end of the test.
func rootConn(t *testing.T) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(slapd.RootDN, slapd.RootPW); err != nil {
		t.Fatal(err)
	}
	return c
}

// With SCIM2LDAP_MODE=plan in the environment (a plan-mode gateway's), doctor
// --write-probe, which creates, changes, renames and deletes an entry, is
// refused (exit 2) before it connects; doctor without it runs.
func TestDoctorWriteProbeRefusedInPlanMode(t *testing.T) {
	setenv(t, map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.RootDN, "LDAP_BIND_PASSWORD": slapd.RootPW,
		"MAPPING_FILE": "../../mappings.example.yaml", "MODE": "plan"})
	var out, errOut bytes.Buffer
	if code := run([]string{"doctor", "--write-probe"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "SCIM2LDAP_MODE=plan") {
		t.Errorf("doctor --write-probe with SCIM2LDAP_MODE=plan: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"doctor"}, &out, &errOut); code == 2 {
		t.Errorf("doctor (read-only) with SCIM2LDAP_MODE=plan: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// With SCIM2LDAP_MODE=plan in the environment (a plan-mode gateway's), reconcile
// --fix-dangling is refused (exit 2) before anything is written: the planted
// dangling member is still there. Without --fix-dangling the report runs.
func TestReconcileFixDanglingRefusedInPlanMode(t *testing.T) {
	c := rootConn(t)
	add := func(dn string, attrs map[string][]string) {
		t.Helper()
		req := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
		t.Cleanup(func() { _ = c.Del(ldap.NewDelRequest(dn, nil)) })
	}
	ghost := "uid=ghost,ou=pm-people,dc=example,dc=org"
	group := "cn=pm-ops,ou=pm-groups,dc=example,dc=org"
	add("ou=pm-people,dc=example,dc=org", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"pm-people"}})
	add("ou=pm-groups,dc=example,dc=org", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"pm-groups"}})
	add(group, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"pm-ops"}, "member": {ghost}})
	src, err := os.ReadFile("../../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(t.TempDir(), "m.yaml")
	s := strings.ReplaceAll(strings.ReplaceAll(string(src), "ou=people,", "ou=pm-people,"), "ou=groups,", "ou=pm-groups,")
	if err := os.WriteFile(mf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	setenv(t, map[string]string{"LDAP_URL": slapd.URL, "LDAP_BIND_DN": slapd.RootDN, "LDAP_BIND_PASSWORD": slapd.RootPW, "MAPPING_FILE": mf, "MODE": "plan"})

	var out, errOut bytes.Buffer
	if code := run([]string{"reconcile", "--fix-dangling"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "SCIM2LDAP_MODE=plan") {
		t.Errorf("reconcile --fix-dangling with SCIM2LDAP_MODE=plan: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	res, err := c.Search(ldap.NewSearchRequest(group, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"member"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("member") != ghost {
		t.Fatalf("the dangling member was removed in plan mode: %v %v", err, res)
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"reconcile"}, &out, &errOut); code != 1 || !strings.Contains(out.String(), ghost) {
		t.Errorf("reconcile (a report) with SCIM2LDAP_MODE=plan: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// serve with SCIM2LDAP_MODE=plan: a create is answered 201, marked planned, and
// not made.
func TestServePlanMode(t *testing.T) {
	const token = "plan-mode-serve-token"
	base, logs := startServe(t, map[string]string{"BEARER_TOKENS": token, "MAPPING_FILE": "../../mappings.example.yaml", "MODE": "plan"})
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"serve-planned","name":{"givenName":"S","familyName":"P"}}`
	req, _ := http.NewRequest("POST", base+"/Users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-SCIM2LDAP-Planned") != "true" {
		t.Fatalf("planned create: %d %v %s\n%s", resp.StatusCode, resp.Header, raw, logs.String())
	}
	c := rootConn(t)
	res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(uid=serve-planned)", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Errorf("the planned create was made: %v %v", err, res)
	}
}
