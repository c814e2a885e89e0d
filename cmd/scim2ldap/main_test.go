package main

import (
	"bytes"
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
