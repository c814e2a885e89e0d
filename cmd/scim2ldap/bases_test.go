package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// A mapping whose base does not exist: mapping check --ldap-url names the DN
// at the resource type's line, start-up logs it, and /readyz fails saying
// why until the base is created.
func TestMissingBaseNamed(t *testing.T) {
	src, _ := os.ReadFile("../../mappings.example.yaml")
	file := filepath.Join(t.TempDir(), "mapping.yaml")
	text := strings.Replace(string(src), "base: ou=people,dc=example,dc=org", "base: ou=staff,dc=example,dc=org", 1)
	os.WriteFile(file, []byte(text), 0o644)
	t.Setenv("SCIM2LDAP_LDAP_BIND_DN", slapd.BindDN)
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", slapd.Password)
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "--ldap-url", slapd.URL, file}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := file + `:15:3: User base "ou=staff,dc=example,dc=org" does not exist in the directory (nearest existing entry: "dc=example,dc=org"), or the bind account may not read it`
	if strings.TrimSpace(errOut.String()) != want {
		t.Errorf("got\n%s\nwant\n%s", errOut.String(), want)
	}

	base, logs := startServe(t, map[string]string{"BEARER_TOKENS": "missing-base-test-token", "MAPPING_FILE": file})
	if !strings.Contains(logs.String(), `User base \"ou=staff,dc=example,dc=org\" does not exist`) {
		t.Errorf("start-up does not name the base:\n%s", logs.String())
	}
	readyz := func() (int, string) {
		res, err := http.Get(strings.TrimSuffix(base, "/scim/v2") + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := readyz(); code != 503 || !strings.Contains(body, `mapping: User base "ou=staff,dc=example,dc=org" does not exist`) {
		t.Errorf("readyz: %d %q", code, body)
	}
	// Once the base exists, the replica is ready.
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Bind(slapd.RootDN, slapd.RootPW)
	add := ldap.NewAddRequest("ou=staff,dc=example,dc=org", nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{"staff"})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	defer c.Del(ldap.NewDelRequest("ou=staff,dc=example,dc=org", nil))
	deadline := time.Now().Add(5 * time.Second)
	for code, body := readyz(); code != 200; code, body = readyz() {
		if time.Now().After(deadline) {
			t.Fatalf("readyz after creating the base: %d %q", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
