package gateway_test

import (
	"fmt"
	"testing"
)

// A list page of users who are each in many groups: every group is resolved to
// its id once per page, so the page's LDAP operations do not grow with the
// number of users on it (or with their memberships past the batch size), and
// every user lists every group, each once, with the group's id and $ref.
func TestListPageOfUsersInManyGroups(t *testing.T) {
	e := newEnv(t)
	const users, groups = 30, 250 // 250 groups: two batches of the DN → id lookup (200 a batch)
	dns := addPeople(t, "manyg", users)
	for g := range groups {
		addGroup(t, fmt.Sprintf("manyg-group-%03d", g), dns)
	}
	groupIDs := map[string]bool{}
	r := e.Do("GET", "/Groups"+filterQ(`displayName sw "manyg-group-"`)+"&count=1000&attributes=id", nil)
	for _, g := range r.Body["Resources"].([]any) {
		groupIDs[g.(map[string]any)["id"].(string)] = true
	}
	if len(groupIDs) != groups {
		t.Fatalf("%d groups listed, want %d: %s", len(groupIDs), groups, r.Raw)
	}
	opsFor := map[int]any{}
	for _, count := range []int{1, 10, users - 1} { // short of the whole result, as IdPs page
		r := e.Do("GET", "/Users"+filterQ(`userName sw "manyg"`)+fmt.Sprintf("&count=%d", count), nil)
		list, _ := r.Body["Resources"].([]any)
		if r.Status != 200 || len(list) != count {
			t.Fatalf("count=%d: %d, %d resources", count, r.Status, len(list))
		}
		opsFor[count] = e.lastLog()["ldap_ops"]
		for _, res := range list {
			u := res.(map[string]any)
			gs, _ := u["groups"].([]any)
			seen := map[string]bool{}
			for _, g := range gs {
				ref := g.(map[string]any)
				id := ref["value"].(string)
				if !groupIDs[id] || seen[id] || ref["$ref"] != e.BaseURL+"/Groups/"+id {
					t.Fatalf("%s: group %v unknown, repeated or with a wrong $ref", u["userName"], ref)
				}
				seen[id] = true
			}
			if len(seen) != groups {
				t.Fatalf("%s lists %d groups, want %d", u["userName"], len(seen), groups)
			}
		}
	}
	if opsFor[1] != opsFor[10] || opsFor[10] != opsFor[users-1] {
		t.Errorf("LDAP operations of a page of 1, 10 and %d users in %d groups: %v; want the same for each", users-1, groups, opsFor)
	}
	t.Logf("LDAP operations per page: %v", opsFor)
}
