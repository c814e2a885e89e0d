package directory

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// prefetchUsers makes three users, each in the groups "<prefix> A" and
// "<prefix> B" and one group of their own, and returns the SCIM filter that
// finds them.
func prefetchUsers(t *testing.T, e *testEnv, prefix string) string {
	t.Helper()
	var ids []string
	for i := range 3 {
		id, _ := e.create(t, "User", map[string]any{"userName": fmt.Sprintf("%s%d", prefix, i)})
		ids = append(ids, id)
		e.create(t, "Group", map[string]any{"displayName": fmt.Sprintf("%s own %d", prefix, i), "members": []any{map[string]any{"value": id}}})
	}
	var all []any
	for _, id := range ids {
		all = append(all, map[string]any{"value": id})
	}
	for _, g := range []string{"A", "B"} {
		e.create(t, "Group", map[string]any{"displayName": prefix + " " + g, "members": all})
	}
	return fmt.Sprintf("userName sw %q", prefix)
}

// A VLV page read alone resolves its first entry's references while the rest
// arrive, and the render resolves only what later entries add: two
// resolution searches for a window of two users (the first entry's three
// groups, then the second's own group), each user showing exactly its groups,
// as the same users read one by one show them.
func TestPagePrefetchesFirstEntryReferences(t *testing.T) {
	e := newTestEnv(t)
	if !e.snap.d.VirtualListViews() {
		t.Fatal("the test directory offers no VLV")
	}
	filter := prefetchUsers(t, e, "prefetch")
	users := e.m.ResourceType("User")
	var mu sync.Mutex // the early resolution searches beside the window's search
	var searches []string
	e.snap.d.store.SetObserver(func(op, _ string, _ time.Duration) { mu.Lock(); searches = append(searches, op); mu.Unlock() })
	page, err := e.snap.List(t.Context(), []*mapping.ResourceType{users}, &Query{Filter: filter, StartIndex: 2, Count: 2})
	e.snap.d.store.SetObserver(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Release()
	if len(page.Resources) != 2 || page.Total != 3 {
		t.Fatalf("page of %d of %d users, want 2 of 3", len(page.Resources), page.Total)
	}
	// connect, bind and VLV search of the window, then the two resolutions
	if want := []string{"connect", "search", "search", "search"}; !reflect.DeepEqual(searchesOnly(searches), want) {
		t.Errorf("operations %v, want %v", searches, want)
	}
	for _, res := range page.Resources {
		one, err := e.snap.Resources(users).Get(t.Context(), res["id"].(string), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res["groups"], one.Attributes["groups"]) {
			t.Errorf("%s: page shows groups %v, the user read alone %v", res["userName"], res["groups"], one.Attributes["groups"])
		}
		if n := len(res["groups"].([]any)); n != 3 {
			t.Errorf("%s: %d groups, want 3", res["userName"], n)
		}
	}
}

// searchesOnly drops the binds from ops (the order of the rest kept).
func searchesOnly(ops []string) []string {
	var out []string
	for _, op := range ops {
		if op != "bind" {
			out = append(out, op)
		}
	}
	return out
}

// A page read while another page is being read resolves nothing early: its
// references go to the shared flight (one resolution search).
func TestPageBesideAnotherSharesInsteadOfPrefetching(t *testing.T) {
	e := newTestEnv(t)
	e.snap.d.flights.wait = time.Millisecond // the other page never renders
	e.snap.d.flights.gatherFrom = 1
	filter := prefetchUsers(t, e, "beside")
	_, doneOther := e.snap.reading(t.Context())
	defer doneOther()
	var mu sync.Mutex // the early resolution searches beside the window's search
	var searches []string
	e.snap.d.store.SetObserver(func(op, _ string, _ time.Duration) { mu.Lock(); searches = append(searches, op); mu.Unlock() })
	page, err := e.snap.List(t.Context(), []*mapping.ResourceType{e.m.ResourceType("User")}, &Query{Filter: filter, StartIndex: 2, Count: 2})
	e.snap.d.store.SetObserver(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Release()
	if want := []string{"connect", "search", "search"}; !reflect.DeepEqual(searchesOnly(searches), want) {
		t.Errorf("operations %v, want %v (the window, then one resolution of all four groups)", searches, want)
	}
	for _, res := range page.Resources {
		if n := len(res["groups"].([]any)); n != 3 {
			t.Errorf("%s: %d groups, want 3", res["userName"], n)
		}
	}
}

// Only entries whose references the render resolves through a back-link are
// left to it: a group's members (users' memberOf) are, a user's groups (no
// type maps a back-link to users) are not, however many (users in 300
// groups are noted as they arrive).
func TestPrefetchLeavesOnlyBacklinkedEntries(t *testing.T) {
	e := newTestEnv(t)
	for typ, want := range map[string]bool{"User": false, "Group": true} {
		if got := e.snap.Resources(e.m.ResourceType(typ)).prefetch(t.Context(), nil).backlinked; got != want {
			t.Errorf("%s: backlinked %v, want %v", typ, got, want)
		}
	}
}

// An entry whose values came in ranges (AD's "member;range=0-1499") is left
// to the render, which completes the ranges first: noted as it arrived, its
// later values would name nothing resolved and vanish.
func TestPrefetchLeavesRangedEntries(t *testing.T) {
	e := newTestEnv(t)
	pre := e.snap.Resources(e.m.ResourceType("Group")).prefetch(t.Context(), nil)
	ranged := ldap.NewEntry("cn=big,ou=groups,dc=example,dc=org", map[string][]string{
		"entryUUID": {"6ad46250-8597-1041-88e8-dd740d9ca68c"}, "cn": {"big"},
		"member;range=0-1": {"uid=a,ou=people,dc=example,dc=org", "uid=b,ou=people,dc=example,dc=org"},
	})
	plain := ldap.NewEntry("cn=small,ou=groups,dc=example,dc=org", map[string][]string{
		"entryUUID": {"7ad46250-8597-1041-88e8-dd740d9ca68c"}, "cn": {"small"},
		"member": {"uid=a,ou=people,dc=example,dc=org"},
	})
	pre.each(ranged)
	pre.each(plain)
	if pre.refs.Noted(ranged) || !pre.refs.Noted(plain) {
		t.Errorf("noted: ranged %v (want false), plain %v (want true)", pre.refs.Noted(ranged), pre.refs.Noted(plain))
	}
}

// An entry that arrives after the early resolution ended, and names only DNs
// it resolved, is rendered as it arrives, as the page's render would have
// rendered it; one that names a DN noted later is left to the page's render.
func TestPrefetchRendersEntriesAsTheyArrive(t *testing.T) {
	e := newTestEnv(t)
	dns, _ := flightGroups(t, e, "Prefetch Render", 3)
	users := e.m.ResourceType("User")
	pre := e.snap.Resources(users).prefetch(t.Context(), nil)
	user := func(uid string, groups ...string) *ldap.Entry {
		return ldap.NewEntry("uid="+uid+",ou=people,dc=example,dc=org", map[string][]string{
			"entryUUID": {"6ad46250-8597-1041-88e8-dd740d9ca68c"}, "uid": {uid}, "memberOf": groups})
	}
	first := user("first", dns[0], dns[1])
	known := user("known", dns[1], strings.ToUpper(dns[0])) // another spelling: a DN noted after the early resolution began
	same := user("same", dns[1], dns[0])
	later := user("later", dns[0], dns[2])
	pre.each(first) // starts the early resolution of dns[0], dns[1]
	if pre.done == nil {
		t.Fatal("no early resolution for a page read alone")
	}
	<-pre.done
	for _, u := range []*ldap.Entry{known, same, later} {
		pre.each(u)
	}
	if pre.rendered[first] != nil || pre.rendered[known] != nil || pre.rendered[later] != nil {
		t.Errorf("rendered early: first %v, known %v, later %v; want none (resolution running, or a DN not in it)", pre.rendered[first] != nil, pre.rendered[known] != nil, pre.rendered[later] != nil)
	}
	got := pre.rendered[same]
	if got == nil {
		t.Fatal("an entry naming only resolved DNs was not rendered as it arrived")
	}
	refs, err := e.snap.refsOf(t.Context(), dns)
	if err != nil {
		t.Fatal(err)
	}
	if want := users.FromLDAP(same, mapping.NewRefs(refs), e.snap.base, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("rendered as it arrived %v, want %v", got, want)
	}
}

// A page whose entries did not all come through the prefetch (the window cut
// short by a size limit and read again by another search) is rendered
// without it: its early resolution may predate that search.
func TestRenderWithoutPrefetchOfOtherEntries(t *testing.T) {
	e := newTestEnv(t)
	dns, ids := flightGroups(t, e, "Prefetch Other", 1)
	users := e.snap.Resources(e.m.ResourceType("User"))
	pre := users.prefetch(t.Context(), nil)
	user := func(uid string) *ldap.Entry {
		return ldap.NewEntry("uid="+uid+",ou=people,dc=example,dc=org", map[string][]string{
			"entryUUID": {"6ad46250-8597-1041-88e8-dd740d9ca68c"}, "uid": {uid}, "memberOf": {dns[0]}})
	}
	seen, other := user("seen"), user("other")
	pre.each(seen)
	<-pre.done
	pre.out[mapping.RefKey(dns[0])] = mapping.Ref{ID: "stale-id", Type: "Group", Endpoint: "/Groups"} // as if the group changed since
	if !pre.covers([]*ldap.Entry{seen}) || pre.covers([]*ldap.Entry{seen, other}) {
		t.Fatal("covers: want true for the entry seen, false with one it never saw")
	}
	list, err := users.renderFetched(t.Context(), []*ldap.Entry{other}, nil, pre)
	if err != nil {
		t.Fatal(err)
	}
	groups, _ := list[0]["groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["value"] != ids[dns[0]] {
		t.Errorf("groups %v, want the group's id %s resolved anew, not the prefetch's", groups, ids[dns[0]])
	}
}
