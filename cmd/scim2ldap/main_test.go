package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMappingCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "../../mappings.example.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "OK: User") {
		t.Errorf("output %q", out.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`resourceTypes:
  User:
    ldap: {base: "ou=people,dc=example,dc=org", objectClasses: [inetOrgPerson], rdn: uid}
    attributes:
      userName: {ldap: uid}
      displayNme: {ldap: displayName}
      title: {ldap: title, caseExact: sometimes}
`), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"mapping", "check", bad}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	want := []string{
		bad + `:6:7: unknown SCIM attribute "displayNme" in schema urn:ietf:params:scim:schemas:core:2.0:User (did you mean "displayName"?)`,
		bad + `:7:39: title.caseExact must be true or false`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", errOut.String(), strings.Join(want, "\n"))
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("SCIM2LDAP_LDAP_URL", "ldap://127.0.0.1:389")
	t.Setenv("SCIM2LDAP_BEARER_TOKENS", " a, b ,,")
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD_FILE", pw)
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8080" || c.MappingFile != "mappings.example.yaml" || c.LDAPBindPassword != "s3cret" ||
		strings.Join(c.BearerTokens, "|") != "a|b" {
		t.Errorf("config %+v", c)
	}
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", "x")
	if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("password and file: %v", err)
	}
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", "")
	t.Setenv("SCIM2LDAP_BEARER_TOKENS", "")
	if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "SCIM2LDAP_BEARER_TOKENS") {
		t.Errorf("no tokens: %v", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

func TestMappingExplain(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "user.json")
	os.WriteFile(in, []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jposix","password":"x-Secret-1",
		"name":{"givenName":"Jane","familyName":"Posix"},"emails":[{"type":"work","value":"Jane@Example.org"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"42","department":"Sales","manager":"m-1"}}`), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "explain", "--mapping", "../../docs/examples/openldap-posix.yaml", in}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"dn: uid=jposix,ou=sales,ou=people,dc=example,dc=org\n", "uidNumber: 10042\n", "cn: Jane Posix\n",
		"mail: jane@example.org\n", "homeDirectory: /home/jposix\n", "objectClass: posixAccount\n", "# password: set after the add"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "x-Secret-1") {
		t.Error("the password is printed")
	}
	// And back: the LDIF it printed, as SCIM.
	ldifFile := filepath.Join(dir, "user.ldif")
	os.WriteFile(ldifFile, out.Bytes(), 0o644)
	out.Reset()
	if code := run([]string{"mapping", "explain", "--mapping", "../../docs/examples/openldap-posix.yaml", ldifFile}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res["userName"] != "jposix" || res["name"].(map[string]any)["givenName"] != "Jane" {
		t.Errorf("LDIF → SCIM: %v %s", err, out.String())
	}
	// The example mapping's manager reference shows as a placeholder DN.
	out.Reset()
	os.WriteFile(in, []byte(`{"userName":"e1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m-1"}}`), 0o644)
	if code := run([]string{"mapping", "explain", "--mapping", "../../mappings.example.yaml", in}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "manager: <DN of User m-1>") {
		t.Errorf("exit %d: %s %s", code, out.String(), errOut.String())
	}
}
