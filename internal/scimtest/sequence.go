package scimtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// UserGroupSequence is README's "A first session" and a little more, in Go:
// create a user, get her, find her by a userName filter in another letter
// case, PATCH her title and deactivate her, create a group with her as its
// member, read the membership from both sides, PATCH the group's members
// (remove, add), find the group by displayName, then delete the group and
// the user (204) and see them gone (404). It asserts each answer, so a
// mapping (one drafted by `scim2ldap mapping init`, for one) that passes it
// serves what an IdP does. name makes the user and group names unique; with
// groups, the user's groups attribute (a memberOf back-link) must name the group.
func UserGroupSequence(t *testing.T, c *Client, name string, groups bool) {
	t.Helper()
	userName := name + "@example.org"
	id := c.MustCreate("/Users", map[string]any{"schemas": []string{UserSchema}, "userName": userName,
		"name":   map[string]any{"givenName": "Alice", "familyName": "Smith"},
		"emails": []map[string]any{{"type": "work", "value": userName}}})
	r := c.Do("GET", "/Users/"+id, nil)
	if r.Status != 200 || r.Body["userName"] != userName || Get(r.Body, "name", "familyName") != "Smith" ||
		Get(r.Body, "emails", "0", "value") != userName {
		t.Fatalf("GET the new user: %d %s", r.Status, r.Raw)
	}
	r = c.Do("GET", "/Users"+FilterQ(fmt.Sprintf(`userName eq %q`, "X"+userName[1:])), nil)
	if r.Status != 200 || fmt.Sprint(r.Body["totalResults"]) != "0" {
		t.Fatalf("a filter on another name should find nothing: %d %s", r.Status, r.Raw)
	}
	r = c.Do("GET", "/Users"+FilterQ(fmt.Sprintf(`userName eq %q`, strings.ToUpper(userName))), nil)
	if r.Status != 200 || fmt.Sprint(r.Body["totalResults"]) != "1" || Get(r.Body, "Resources", "0", "id") != id {
		t.Fatalf("filter by userName (case-insensitive): %d %s", r.Status, r.Raw)
	}
	r = c.MustPatch("/Users/"+id, PatchBody(Op("replace", "title", "Engineer")))
	if r.Body["title"] != "Engineer" {
		t.Fatalf("PATCH title: %s", r.Raw)
	}
	r = c.MustPatch("/Users/"+id, PatchBody(Op("replace", "active", false)))
	if r.Body["active"] != false {
		t.Fatalf("PATCH active false: %s", r.Raw)
	}
	if r = c.Do("GET", "/Users"+FilterQ(fmt.Sprintf(`userName eq %q and active eq false`, userName)), nil); fmt.Sprint(r.Body["totalResults"]) != "1" {
		t.Fatalf("a deactivated user is still found: %d %s", r.Status, r.Raw)
	}
	gid := c.MustCreate("/Groups", map[string]any{"schemas": []string{GroupSchema}, "displayName": name + "-engineering",
		"members": []map[string]any{{"value": id}}})
	members := func() []string {
		r := c.Do("GET", "/Groups/"+gid, nil)
		if r.Status != 200 {
			t.Fatalf("GET the group: %d %s", r.Status, r.Raw)
		}
		var out []string
		for i := 0; Get(r.Body, "members", fmt.Sprint(i), "value") != nil; i++ {
			out = append(out, Get(r.Body, "members", fmt.Sprint(i), "value").(string))
		}
		return out
	}
	if m := members(); !slices.Equal(m, []string{id}) {
		t.Fatalf("the group's members are %v, want [%s]", m, id)
	}
	if r = c.Do("GET", "/Users/"+id, nil); groups && Get(r.Body, "groups", "0", "value") != gid {
		t.Fatalf("the user's groups should name the group %s: %s", gid, r.Raw)
	}
	c.MustPatch("/Groups/"+gid, PatchBody(Op("remove", fmt.Sprintf(`members[value eq %q]`, id), nil)))
	if m := members(); len(m) != 0 {
		t.Fatalf("after the remove the group's members are %v", m)
	}
	c.MustPatch("/Groups/"+gid, PatchBody(Op("add", "members", []map[string]any{{"value": id}})))
	if m := members(); !slices.Equal(m, []string{id}) {
		t.Fatalf("after the add the group's members are %v, want [%s]", m, id)
	}
	r = c.Do("GET", "/Groups"+FilterQ(fmt.Sprintf(`displayName eq %q`, name+"-engineering")), nil)
	if r.Status != 200 || fmt.Sprint(r.Body["totalResults"]) != "1" || Get(r.Body, "Resources", "0", "id") != gid {
		t.Fatalf("filter by displayName: %d %s", r.Status, r.Raw)
	}
	for _, p := range []string{"/Groups/" + gid, "/Users/" + id} {
		if r = c.Do("DELETE", p, nil); r.Status != 204 {
			t.Fatalf("DELETE %s: %d %s", p, r.Status, r.Raw)
		}
		if r = c.Do("GET", p, nil); r.Status != 404 {
			t.Fatalf("GET %s after DELETE: %d %s", p, r.Status, r.Raw)
		}
	}
}
