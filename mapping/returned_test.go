package mapping

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// returned: request (RFC 7643 §7) on a user's groups: not read or shown unless a
// request names it, advertised so in /Schemas; the schema's always and never
// stay as they are.
func TestReturnedRequest(t *testing.T) {
	data, err := os.ReadFile("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const line = "groups:                        {ldap: memberOf, reference: Group}"
	if !strings.Contains(string(data), line) {
		t.Fatalf("mappings.example.yaml no longer maps groups as %q", line)
	}
	edited := strings.Replace(string(data), line, "groups: {ldap: memberOf, reference: Group, returned: request}", 1)
	m, err := Parse("edited.yaml", []byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	u := m.ResourceType("User")
	if got := u.LDAPAttributes(nil); slices.Contains(got, "memberOf") {
		t.Errorf("by default the user read asks for %v; want no memberOf", got)
	}
	if got := u.LDAPAttributes(u.Project([]string{"groups"}, nil)); !slices.Contains(got, "memberOf") {
		t.Errorf("attributes=groups reads %v; want memberOf", got)
	}
	if got := u.LDAPAttributes(u.Project(nil, []string{"title"})); slices.Contains(got, "memberOf") {
		t.Errorf("excludedAttributes=title reads %v; want no memberOf (groups waits to be asked for)", got)
	}
	if adv := u.Advertised(UserSchema, u.Schema.Attr("groups")); adv == nil || adv.Returned != "request" {
		t.Errorf("/Schemas shows groups as %+v; want returned request", adv)
	}
	if adv := u.Advertised(UserSchema, u.Schema.Attr("userName")); adv == nil || adv.Returned != "default" {
		t.Errorf("/Schemas shows userName as %+v; want returned default", adv)
	}

	for _, c := range []struct{ old, new, want string }{
		{line, "groups: {ldap: memberOf, reference: Group, returned: sometimes}", `groups.returned is "sometimes"; want one of: default, request`},
		{line, line + "\n      password: {ldap: userPassword, returned: request}", `returned "never" by its schema`},
	} {
		if !strings.Contains(string(data), c.old) {
			t.Fatalf("mappings.example.yaml no longer has %q", c.old)
		}
		_, err := Parse("edited.yaml", []byte(strings.Replace(string(data), c.old, c.new, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error naming %q", c.new, err, c.want)
		}
	}
}

// The projection keys computed at load are those includes would compute, for
// every mapped attribute of every shipped mapping (the 389 DS and AD ones
// too); an AttrMap built elsewhere (zero keys) is projected alike.
func TestProjectionKeysAtLoad(t *testing.T) {
	for _, file := range []string{"../mappings.example.yaml", "../mappings.389ds.example.yaml", "../mappings.ad.example.yaml",
		"../deploy/kubernetes/mappings.yaml", "../deploy/helm/scim2ldap/files/mappings.yaml"} {
		m, err := Load(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, rt := range m.Types {
			var projections []*Projection
			for _, a := range rt.Attrs {
				if a.proj == (projKeys{}) || a.proj != a.computeProjKeys() {
					t.Errorf("%s: %s %s: keys at load %+v, want %+v", file, rt.Name, a.Key, a.proj, a.computeProjKeys())
				}
				path := a.Def.Name
				if a.Sub != nil {
					path += "." + a.Sub.Name
				}
				projections = append(projections, rt.Project([]string{path}, nil), rt.Project(nil, []string{path}),
					rt.Project([]string{a.SchemaURN}, nil), rt.Project(nil, []string{a.SchemaURN + ":" + a.Def.Name}))
			}
			for _, a := range rt.Attrs {
				elsewhere := *a
				elsewhere.proj = projKeys{}
				for _, p := range projections {
					if p.includes(rt, a) != p.includes(rt, &elsewhere) {
						t.Errorf("%s: %s %s: included %v with the keys of the load, %v without", file, rt.Name, a.Key, p.includes(rt, a), p.includes(rt, &elsewhere))
					}
				}
			}
		}
	}
}
