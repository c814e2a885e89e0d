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

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
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

	// doctor finds nothing that blocks serving it (overlays, rights, indexes).
	out.Reset()
	if code := run([]string{"doctor", "--mapping", file}, &out, &errOut); code != 0 {
		t.Errorf("doctor --mapping DRAFT: exit %d:\n%s%s", code, out.String(), errOut.String())
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
		scimtest.UserGroupSequence(t, &scimtest.Client{T: t, BaseURL: base, Token: token}, "init-slapd", true)
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
	if code := run([]string{"mapping", "init", "-o", existing}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "exists") {
		t.Errorf("-o an existing file: exit %d: %s", code, errOut.String())
	}
	// Refused before the directory is read (which may take minutes), as bad usage.
	errOut.Reset()
	if code := run([]string{"mapping", "init", "--ldap-url", "ldap://127.0.0.1:1", "-o", existing}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "exists") || strings.Contains(errOut.String(), "127.0.0.1:1") {
		t.Errorf("-o an existing file, the directory unreachable: exit %d: %s", code, errOut.String())
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

// On a directory that already has users and groups (a migration), mapping init
// finds them where they are: users in an OU per department under ou=staff
// (scope sub), groupOfUniqueNames groups in ou=teams; externalId is left
// unmapped because the existing users lack extensibleObject. The draft passes
// mapping check --ldap-url, and a gateway serving it finds an existing user,
// renders an existing group's members, and runs the user and group sequence.
func TestMappingInitOnAPopulatedDirectory(t *testing.T) {
	s, err := slapdtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.RootDN, s.RootPW); err != nil {
		t.Fatal(err)
	}
	add := func(dn string, attrs map[string][]string) {
		t.Helper()
		r := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			r.Attribute(k, v)
		}
		if err := c.Add(r); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	ou := func(dn string) {
		v, _, _ := strings.Cut(strings.TrimPrefix(dn, "ou="), ",")
		add(dn, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {v}})
	}
	ou("ou=staff," + s.BaseDN)
	ou("ou=eng,ou=staff," + s.BaseDN)
	ou("ou=sales,ou=staff," + s.BaseDN)
	ou("ou=teams," + s.BaseDN)
	person := func(uid, parent string) string {
		dn := "uid=" + uid + "," + parent + "," + s.BaseDN
		add(dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {uid}, "sn": {uid}, "mail": {uid + "@example.org"}})
		return dn
	}
	carol := person("carol", "ou=eng,ou=staff")
	person("dave", "ou=eng,ou=staff")
	person("erin", "ou=sales,ou=staff")
	person("frank", "ou=sales,ou=staff")
	add("cn=admins,ou=teams,"+s.BaseDN, map[string][]string{"objectClass": {"groupOfUniqueNames"}, "cn": {"admins"}, "uniqueMember": {carol}})
	add("cn=ops,ou=teams,"+s.BaseDN, map[string][]string{"objectClass": {"groupOfUniqueNames"}, "cn": {"ops"}, "uniqueMember": {carol}})

	t.Setenv("SCIM2LDAP_LDAP_URL", s.URL)
	t.Setenv("SCIM2LDAP_LDAP_BIND_DN", s.RootDN)
	t.Setenv("SCIM2LDAP_LDAP_BIND_PASSWORD", s.RootPW)
	file, _ := drafted(t)
	data, _ := os.ReadFile(file)
	for _, want := range []string{"base: ou=staff,dc=example,dc=org\n      scope: sub", "4 of the users found are here or in containers below",
		"base: ou=teams,dc=example,dc=org\n      scope: one", "filter: (objectClass=groupOfUniqueNames)",
		`{ldap: uniqueMember, reference: [User, Group], placeholder: ""}`, "objectClasses: [inetOrgPerson]\n",
		"# externalId:                    {ldap: uniqueIdentifier}", "# groups:                        {ldap: memberOf, reference: Group}"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the draft lacks %q:\n%s", want, data)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "--ldap-url", s.URL, file}, &out, &errOut); code != 0 {
		t.Fatalf("mapping check --ldap-url: exit %d: %s%s", code, out.String(), errOut.String())
	}
	const token = "mapping-init-test-token"
	base, _ := startServe(t, map[string]string{"BEARER_TOKENS": token, "MAPPING_FILE": file,
		"LDAP_URL": s.URL, "LDAP_BIND_DN": s.RootDN, "LDAP_BIND_PASSWORD": s.RootPW})
	cl := &scimtest.Client{T: t, BaseURL: base, Token: token}
	r := cl.Do("GET", "/Users"+scimtest.FilterQ(`userName eq "erin"`), nil)
	if r.Status != 200 || scimtest.Get(r.Body, "Resources", "0", "emails", "0", "value") != "erin@example.org" {
		t.Fatalf("an existing user in a sub-OU: %d %s", r.Status, r.Raw)
	}
	r = cl.Do("GET", "/Users"+scimtest.FilterQ(`userName eq "carol"`), nil)
	carolID, _ := scimtest.Get(r.Body, "Resources", "0", "id").(string)
	r = cl.Do("GET", "/Groups"+scimtest.FilterQ(`displayName eq "admins"`), nil)
	if carolID == "" || scimtest.Get(r.Body, "Resources", "0", "members", "0", "value") != carolID {
		t.Fatalf("an existing groupOfUniqueNames' member: %s", r.Raw)
	}
	scimtest.UserGroupSequence(t, cl, "init-populated", false)
}
