package gateway

import (
	"fmt"
	"io"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// BenchmarkRenderManyGroups is the gateway's own work on the many-groups list
// page of docs/performance.md, without a directory: 100 users who are each in
// the same 300 groups, rendered from their entries (their distinct DNs noted,
// then resolved from a map instead of the directory) and encoded as a
// ListResponse. It reports ns per reference (30,000 per page).
//
//	go test -run '^$' -bench RenderManyGroups -benchmem ./gateway/
func BenchmarkRenderManyGroups(b *testing.B) {
	m, err := mapping.Load("../mappings.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	users := m.ResourceType("User")
	const nUsers, nGroups = 100, 300
	resolved := map[string]mapping.Ref{}
	var groups []string
	for g := range nGroups {
		dn := fmt.Sprintf("cn=mgroup%03d,ou=groups,dc=example,dc=org", g)
		groups = append(groups, dn)
		resolved[mapping.RefKey(dn)] = mapping.Ref{ID: fmt.Sprintf("8f4e4bf2-85c7-1041-%04x-abfed384aeae", g), Type: "Group", Endpoint: "/Groups"}
	}
	entries := make([]*ldap.Entry, nUsers)
	for u := range entries {
		uid := fmt.Sprintf("scale%07d", u)
		entries[u] = ldap.NewEntry("uid="+uid+",ou=people,dc=example,dc=org", map[string][]string{
			"uid": {uid}, "cn": {"Scale " + uid}, "sn": {uid}, "givenName": {"Scale"},
			"mail":            {uid + "@example.org"},
			"entryUUID":       {fmt.Sprintf("1d2c6e5a-85c7-1041-%04x-abfed384aeae", u)},
			"createTimestamp": {"20261206134705Z"}, "modifyTimestamp": {"20261206134705Z"},
			// each value its own string, as the directory's response decodes them
			"memberOf": func() []string {
				out := make([]string, len(groups))
				for i, g := range groups {
					out[i] = string([]byte(g))
				}
				return out
			}(),
		})
	}
	p := users.Project(nil, nil)
	base := "https://scim.example.org/scim/v2"
	b.ReportAllocs()
	for b.Loop() {
		refs := mapping.NewSharedRefs() // as the directory's render: note the distinct DNs, resolve, render
		for _, e := range entries {
			refs.NoteEntry(users, e, p, nil)
		}
		refs.Resolve(resolved)
		list := make([]any, len(entries))
		for i, e := range entries {
			list[i] = users.FromLDAP(e, refs, base, p)
		}
		if err := encodeJSON(io.Discard, map[string]any{"schemas": []string{listSchema}, "totalResults": 1000, "startIndex": 1, "itemsPerPage": len(list), "Resources": list}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(nUsers*nGroups), "ns/ref")
}
