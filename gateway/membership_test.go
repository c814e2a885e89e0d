package gateway_test

// Group membership: members added and removed concurrently, and members in
// filters.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

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

func TestEmptyGroupIsNotPresentInFilters(t *testing.T) {
	e := newEnv(t)
	gid := e.MustCreate("/Groups", map[string]any{"displayName": "rv-empty"})
	uid := e.MustCreate("/Users", user("rv-member", nil))
	full := e.MustCreate("/Groups", map[string]any{"displayName": "rv-full", "members": []any{map[string]any{"value": uid}}})
	ids := func(f string) string {
		l := e.Do("GET", "/Groups"+filterQ(`displayName sw "rv-" and `+f), nil)
		var out []string
		for _, r := range l.Body["Resources"].([]any) {
			out = append(out, r.(map[string]any)["id"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := ids("members pr"); got != full {
		t.Errorf("members pr: %s, want only %s", got, full)
	}
	if got := ids("not (members pr)"); got != gid {
		t.Errorf("not (members pr): %s, want only %s", got, gid)
	}
}
