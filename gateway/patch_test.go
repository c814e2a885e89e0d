package gateway_test

// PATCH and Groups as Microsoft Entra ID and Okta send them, against a real
// slapd.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"

func (e *env) groupEntry(cn string) *ldap.Entry {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest("ou=groups,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
		"(cn="+ldap.EscapeFilter(cn)+")", []string{"*", "entryUUID"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		return nil
	}
	return res.Entries[0]
}

func (e *env) canBind(dn, pw string) bool {
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	return c.Bind(dn, pw) == nil
}

func peopleDN(uid string) string {
	return strings.ToLower("uid=" + uid + ",ou=people,dc=example,dc=org")
}

func (e *env) lockTime(dn string) string {
	e.t.Helper()
	res, err := e.ldap.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Entries[0].GetAttributeValue("pwdAccountLockedTime")
}

func TestPatchErrors(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("patch-err", nil))
	for name, c := range map[string]struct {
		body           any
		status         int
		scimType, text string
	}{
		"no operations":      {patchBody(), 400, "invalidValue", "Operations"},
		"bad op":             {patchBody(op("move", "title", "x")), 400, "invalidValue", "move"},
		"bad path":           {patchBody(op("replace", `emails[type eq`, "x")), 400, "invalidPath", "path"},
		"remove no path":     {patchBody(op("remove", "", nil)), 400, "noTarget", "path"},
		"no value":           {patchBody(op("add", "title", nil)), 400, "invalidValue", "value"},
		"no-path non-object": {patchBody(op("replace", "", "x")), 400, "invalidValue", "object"},
		"wrong schema":       {map[string]any{"schemas": []string{"urn:x"}, "Operations": []any{op("replace", "title", "x")}}, 400, "invalidValue", "PatchOp"},
		"bad type":           {patchBody(op("replace", "active", "maybe")), 400, "invalidValue", "active"},
		"not JSON":           {"{", 400, "invalidSyntax", "JSON"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.Do("PATCH", "/Users/"+id, c.body)
			wantError(t, r, c.status, c.scimType)
			if !strings.Contains(r.Raw, c.text) {
				t.Errorf("detail should mention %q: %s", c.text, r.Raw)
			}
		})
	}
	wantError(t, e.Do("PATCH", "/Users/00000000-0000-0000-0000-000000000000", patchBody(op("replace", "title", "x"))), 404, "")
	// Several operations are all or nothing: the bad second one leaves the first unwritten.
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T1"), op("replace", "active", 5))), 400, "invalidValue")
	if v := e.entry("(uid=patch-err)").GetAttributeValue("title"); v != "" {
		t.Errorf("half-written: title = %q", v)
	}
	// Stale If-Match → 412.
	g := e.Do("GET", "/Users/"+id, nil)
	e.MustPatch("/Users/"+id, patchBody(op("replace", "title", "T2")))
	wantError(t, e.Do("PATCH", "/Users/"+id, patchBody(op("replace", "title", "T3")), "If-Match", g.Header.Get("ETag")), 412, "")
}

// 20 workers adding and removing different members of one group at once: the
// final list is exactly right (membership changes are value adds and deletes).
func TestConcurrentMembershipChanges(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := 0; i < 40; i++ {
		ids = append(ids, e.MustCreate("/Users", user(fmt.Sprintf("cc-%02d", i), nil)))
	}
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "Concurrent"})
	// Users 20..39 are members at the start; workers add 0..19 and remove 20..39.
	var start []any
	for _, id := range ids[20:] {
		start = append(start, map[string]any{"value": id})
	}
	e.MustPatch("/Groups/"+gid, patchBody(op("add", "members", start)))
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for _, b := range []map[string]any{
				patchBody(op("Add", "members", []any{map[string]any{"value": ids[w]}})),
				patchBody(op("remove", fmt.Sprintf(`members[value eq "%s"]`, ids[20+w]), nil)),
			} {
				data, _ := json.Marshal(b)
				if r := e.Do("PATCH", "/Groups/"+gid, string(data), "Prefer", "return=minimal"); r.Status != 204 {
					errs <- fmt.Sprintf("worker %d: %d %s", w, r.Status, r.Raw)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []string
	for i := 0; i < 20; i++ {
		want = append(want, peopleDN(fmt.Sprintf("cc-%02d", i)))
	}
	if got := memberDNs(e.groupEntry("Concurrent")); !slices.Equal(got, want) {
		t.Errorf("final members (%d): %q", len(got), got)
	}
}
