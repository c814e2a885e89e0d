package mapping

import (
	"maps"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// meta under attributes and excludedAttributes (RFC 7644 §3.4.2.5, §3.9):
// naming meta keeps it whole, naming sub-attributes keeps ("attributes") or
// drops ("excludedAttributes") those only, with or without the core schema's
// URN and in any case (RFC 7644 §3.10); id is returned always.
func TestProjectMeta(t *testing.T) {
	rt := exampleUser(t)
	e := ldap.NewEntry("uid=bjensen,ou=people,dc=example,dc=org", map[string][]string{
		"entryUUID": {"2819c223-7f76-453a-919d-413861904646"}, "entryCSN": {"20260101000000.000000Z#000000#000#000000"},
		"createTimestamp": {"20110501184500Z"}, "modifyTimestamp": {"20260102030405Z"}, "uid": {"bjensen"}, "sn": {"Jensen"},
	})
	all := []string{"created", "lastModified", "location", "resourceType", "version"}
	for _, c := range []struct {
		attributes, excluded []string
		want                 []string // meta's sub-attributes; nil: no meta
	}{
		{nil, nil, all},
		{[]string{"meta"}, nil, all},
		{[]string{"meta.lastModified"}, nil, []string{"lastModified"}},
		{[]string{"META.LASTMODIFIED"}, nil, []string{"lastModified"}},
		{[]string{UserSchema + ":meta.lastModified"}, nil, []string{"lastModified"}},
		{[]string{"userName", "meta.version", "meta.created"}, nil, []string{"created", "version"}},
		{[]string{"meta.lastModified", "meta"}, nil, all},
		{[]string{"userName"}, nil, nil},
		{[]string{"meta.nothing"}, nil, nil},
		{nil, []string{"meta"}, nil},
		{nil, []string{"meta.version"}, []string{"created", "lastModified", "location", "resourceType"}},
		{nil, []string{UserSchema + ":meta.version", "meta.location"}, []string{"created", "lastModified", "resourceType"}},
		{nil, []string{"userName"}, all},
	} {
		res := rt.FromLDAP(e, nil, "https://h/scim/v2", rt.Project(c.attributes, c.excluded))
		meta, has := res["meta"].(map[string]any)
		var got []string
		if has {
			got = slices.Sorted(maps.Keys(meta))
		}
		if !slices.Equal(got, c.want) || has != (c.want != nil) || res["id"] != "2819c223-7f76-453a-919d-413861904646" {
			t.Errorf("attributes=%q excludedAttributes=%q: meta %v (present %v), id %v; want meta with %q", c.attributes, c.excluded, meta, has, res["id"], c.want)
		}
	}
}
