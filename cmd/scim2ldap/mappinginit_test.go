package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/mapping/draft"
)

// initEnv points mapping init (and mapping check) at the test slapd, built by
// scripts/slapd-up.sh as `make dev` builds its own, through the SCIM2LDAP_*
// variables the gateway reads.
func initEnv(t *testing.T) {
	t.Setenv("SCIM2LDAP_LDAP_URL", slapd.URL)
	t.Setenv("SCIM2LDAP_LDAP_BIND_DN", slapd.BindDN)
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", slapd.Password)
}

// drafted runs `mapping init` with args and -o into a temp file, and returns
// the file and what went to stderr.
func drafted(t *testing.T, args ...string) (string, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "drafted.yaml")
	var out, errOut bytes.Buffer
	if code := run(append([]string{"mapping", "init", "-o", file}, args...), &out, &errOut); code != 0 {
		t.Fatalf("mapping init %v: exit %d: %s", args, code, errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("with -o nothing goes to stdout: %q", out.String())
	}
	return file, errOut.String()
}

// On make dev's directory, mapping init drafts the quick start's layout: users
// as inetOrgPerson in ou=people (RDN uid), groups as groupOfNames in ou=groups,
// active as the ppolicy lock, groups from memberOf; the draft passes mapping
// check --ldap-url; a gateway serving it runs README's "A first session" block
// (curl and jq, as scripts/readme-session.sh does) and a user and group
// sequence; with --map-all an extension attribute of each type round-trips.
func TestMappingInitServesTheFirstSession(t *testing.T) {
	initEnv(t)
	file, stderr := drafted(t, "--idp", "entra")
	data, _ := os.ReadFile(file)
	for _, want := range []string{"flavor: openldap", "base: ou=people,dc=example,dc=org", "base: ou=groups,dc=example,dc=org",
		"filter: (objectClass=groupOfNames)", "objectClasses: [inetOrgPerson, extensibleObject]", "rdn: uid",
		"userName:                      {ldap: uid, uniqueness: server}", "active:                        {accountState: ppolicy}",
		"groups:                        {ldap: memberOf, reference: Group}",
		`'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': {ldap: departmentNumber}`,
		"carLicense:", "# 'urn:scim2ldap:schemas:extension:ldap:2.0:User:carLicense': {ldap: carLicense}"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the draft lacks %q:\n%s", want, data)
		}
	}
	for _, want := range []string{"userPrincipalName (matching attribute)", "→ userName [uid]", `Switch([IsSoftDeleted]`, "→ members [member]"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("--idp entra's table lacks %q:\n%s", want, stderr)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "--ldap-url", slapd.URL, file}, &out, &errOut); code != 0 {
		t.Fatalf("mapping check --ldap-url: exit %d: %s%s", code, out.String(), errOut.String())
	}

	const token = "mapping-init-test-token"
	base, logs := startServe(t, map[string]string{"BEARER_TOKENS": token, "MAPPING_FILE": file})
	t.Run("ReadmeFirstSession", func(t *testing.T) {
		for _, c := range []string{"curl", "jq"} {
			if _, err := exec.LookPath(c); err != nil {
				t.Fatalf("README's first session needs %s (apt-get install curl jq; .ci/run installs them)", c)
			}
		}
		readme, err := os.ReadFile("../../README.md")
		if err != nil {
			t.Fatal(err)
		}
		block := regexp.MustCompile("(?s)\n## A first session\n.*?\n```sh\n(.*?)\n```\n").FindSubmatch(readme)
		if block == nil {
			t.Fatal("no sh block under README's ## A first session")
		}
		cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+string(block[1]))
		cmd.Env = append(os.Environ(), "SCIM="+base, "TOKEN="+token)
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README's first session failed: %v\n%s\n--- gateway log:\n%s", err, got, logs.String())
		}
		// What the block's comments promise (scripts/readme-session.sh checks the same).
		for _, re := range []string{`(?m)^Alice: [0-9a-f-]{36}$`, `(?m)^1$`, `(?m)^Engineer$`, `(?m)^false$`,
			`(?m)^engineering: [0-9a-f-]{36}$`, `(?m)^urn:ietf:params:scim:schemas:core:2.0:User$`} {
			if !regexp.MustCompile(re).Match(got) {
				t.Errorf("README's first session printed no line matching %s:\n%s", re, got)
			}
		}
	})
	t.Run("UserGroupSequence", func(t *testing.T) {
		scimtest.UserGroupSequence(t, &scimtest.Client{T: t, BaseURL: base, Token: token}, "init-slapd")
	})
}

// --map-all maps every offered attribute; the typed extension serves values
// of each SCIM type the slapd schema offers (string, binary, reference).
func TestMappingInitMapAll(t *testing.T) {
	initEnv(t)
	file, _ := drafted(t, "--map-all")
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "--ldap-url", slapd.URL, file}, &out, &errOut); code != 0 {
		t.Fatalf("mapping check --ldap-url: exit %d: %s%s", code, out.String(), errOut.String())
	}
	const token = "mapping-init-test-token"
	base, _ := startServe(t, map[string]string{"BEARER_TOKENS": token, "MAPPING_FILE": file})
	c := &scimtest.Client{T: t, BaseURL: base, Token: token}
	ext := draft.UserExtension
	id := c.MustCreate("/Users", map[string]any{"schemas": []string{scimtest.UserSchema, ext}, "userName": "init-mapall",
		ext: map[string]any{"carLicense": []string{"AB-1", "CD-2"}, "preferredDeliveryMethod": "telephone",
			"jpegPhoto": []string{"/9j/4AAQ"}, "seeAlso": []string{"cn=x,dc=example,dc=org"}}})
	defer c.Do("DELETE", "/Users/"+id, nil)
	r := c.Do("GET", "/Users"+scimtest.FilterQ(ext+`:carLicense eq "CD-2"`), nil)
	if r.Status != 200 || scimtest.Get(r.Body, "Resources", "0", "id") != id {
		t.Fatalf("filter on an extension attribute: %d %s", r.Status, r.Raw)
	}
	got := r.Body["Resources"].([]any)[0].(map[string]any)
	for _, want := range [][]string{{"carLicense", "1", "CD-2"}, {"jpegPhoto", "0", "/9j/4AAQ"}, {"preferredDeliveryMethod", "telephone"},
		{"seeAlso", "0", "cn=x,dc=example,dc=org"}} {
		if v := scimtest.Get(got, append([]string{ext}, want[:len(want)-1]...)...); v != want[len(want)-1] {
			t.Errorf("%s reads back %v, want %q", strings.Join(want[:len(want)-1], "."), v, want[len(want)-1])
		}
	}
	c.MustPatch("/Users/"+id, scimtest.PatchBody(scimtest.Op("replace", ext+":roomNumber", []string{"101"})))
	if r = c.Do("GET", "/Users/"+id, nil); scimtest.Get(r.Body, ext, "roomNumber", "0") != "101" {
		t.Fatalf("PATCH an extension attribute: %s", r.Raw)
	}
}

// The verb's usage errors: a missing URL, an unknown IdP, an existing -o file.
func TestMappingInitUsage(t *testing.T) {
	t.Setenv("SCIM2LDAP_LDAP_URL", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "init"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--ldap-url") {
		t.Errorf("without a URL: exit %d: %s", code, errOut.String())
	}
	initEnv(t)
	errOut.Reset()
	if code := run([]string{"mapping", "init", "--idp", "onelogin"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "entra or okta") {
		t.Errorf("--idp onelogin: exit %d: %s", code, errOut.String())
	}
	existing := filepath.Join(t.TempDir(), "mapping.yaml")
	os.WriteFile(existing, []byte("keep me"), 0o644)
	errOut.Reset()
	if code := run([]string{"mapping", "init", "-o", existing}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "exists") {
		t.Errorf("-o an existing file: exit %d: %s", code, errOut.String())
	}
	if data, _ := os.ReadFile(existing); string(data) != "keep me" {
		t.Errorf("the existing file was changed: %q", data)
	}
	out.Reset()
	if code := run([]string{"mapping", "init"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "# yaml-language-server") {
		t.Errorf("to stdout: exit %d: %s", code, errOut.String())
	}
}

// mapping init --help names each of its flags.
func TestMappingInitHelpDescribesEveryFlag(t *testing.T) {
	newInitFlags().fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		if !strings.Contains(initUsage, "  "+dash+f.Name+" ") {
			t.Errorf("mapping init --help does not describe %s%s", dash, f.Name)
		}
	})
}
