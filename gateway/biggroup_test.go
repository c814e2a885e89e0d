package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// lastLog returns the gateway's last request log line.
func (e *env) lastLog() map[string]any {
	lines := strings.Split(strings.TrimSpace(e.logBuf.String()), "\n")
	var m map[string]any
	json.Unmarshal([]byte(lines[len(lines)-1]), &m)
	return m
}

// addPeople adds n inetOrgPerson entries straight to slapd (4 connections) and
// returns their DNs.
func addPeople(t testing.TB, prefix string, n int) []string {
	dns := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := ldap.DialURL(slapd.URL)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Bind(slapd.BindDN, slapd.Password); err != nil {
				errs <- err
				return
			}
			for i := w; i < n; i += 4 {
				uid := fmt.Sprintf("%s%05d", prefix, i)
				dns[i] = "uid=" + uid + ",ou=people,dc=example,dc=org"
				add := ldap.NewAddRequest(dns[i], nil)
				add.Attribute("objectClass", []string{"inetOrgPerson"})
				add.Attribute("uid", []string{uid})
				add.Attribute("cn", []string{uid})
				add.Attribute("sn", []string{uid})
				if err := c.Add(add); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return dns
}

func addGroup(t testing.TB, cn string, members []string) {
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(slapd.BindDN, slapd.Password); err != nil {
		t.Fatal(err)
	}
	add := ldap.NewAddRequest("cn="+cn+",ou=groups,dc=example,dc=org", nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{cn})
	add.Attribute("member", members)
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
}

// A 10,000-member group: adding or removing one member costs the same number of
// LDAP operations as on a 1-member group, excludedAttributes=members never reads
// the list, and a full GET returns every member.
func TestBigGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 10,000 entries")
	}
	e := newEnv(t)
	dns := addPeople(t, "big", 10001)
	addGroup(t, "Big", dns[:10000])
	addGroup(t, "Small", dns[:1])
	newcomer := e.entry("(uid=big10000)").GetAttributeValue("entryUUID")
	ids := map[string]string{}
	for _, name := range []string{"Big", "Small"} {
		l := e.Do("GET", "/Groups?excludedAttributes=members&filter="+strings.ReplaceAll(fmt.Sprintf(`displayName eq "%s"`, name), " ", "%20"), nil)
		ids[name] = get(l.Body, "Resources", "0", "id").(string)
	}

	ops := map[string][]float64{}
	for _, name := range []string{"Big", "Small"} {
		gid := ids[name]
		g := e.Do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil)
		if g.Status != 200 || g.Body["members"] != nil || g.Body["displayName"] != name {
			t.Fatalf("GET %s without members: %s", name, g.Raw)
		}
		ops[name] = append(ops[name], e.lastLog()["ldap_ops"].(float64))
		for _, b := range []map[string]any{
			patchBody(op("Add", "members", []any{map[string]any{"value": newcomer}})),
			patchBody(op("Remove", "members", []any{map[string]any{"value": newcomer}})),
		} {
			r := e.Do("PATCH", "/Groups/"+gid, b, "Prefer", "return=minimal")
			if r.Status != http.StatusNoContent {
				t.Fatalf("PATCH %s: %d %s", name, r.Status, r.Raw)
			}
			ops[name] = append(ops[name], e.lastLog()["ldap_ops"].(float64))
		}
	}
	// Without Prefer (as Entra and Okta send it): 204, and no read of the list.
	r := e.Do("PATCH", "/Groups/"+ids["Big"], patchBody(op("Add", "members", []any{map[string]any{"value": newcomer}})))
	if r.Status != http.StatusNoContent || e.lastLog()["ldap_ops"] != ops["Big"][1] {
		t.Errorf("PATCH add without Prefer: %d, %v LDAP operations; want 204 and %v", r.Status, e.lastLog()["ldap_ops"], ops["Big"][1])
	}
	e.MustPatch("/Groups/"+ids["Big"], patchBody(op("Remove", "members", []any{map[string]any{"value": newcomer}})))
	t.Logf("LDAP operations (GET without members, add one, remove one): big %v, small %v", ops["Big"], ops["Small"])
	if fmt.Sprint(ops["Big"]) != fmt.Sprint(ops["Small"]) || ops["Big"][0] != 1 || ops["Big"][1] > 4 || ops["Big"][2] > 3 {
		t.Errorf("operation counts depend on the group's size or are too many: big %v, small %v", ops["Big"], ops["Small"])
	}
	if got := len(e.groupEntry("Big").GetAttributeValues("member")); got != 10000 {
		t.Errorf("big group has %d members after add+remove, want 10000", got)
	}
	g := e.Do("GET", "/Groups/"+ids["Big"], nil)
	members, _ := g.Body["members"].([]any)
	seen := map[string]bool{}
	for _, m := range members {
		seen[m.(map[string]any)["value"].(string)] = true
	}
	if len(members) != 10000 || len(seen) != 10000 {
		t.Errorf("GET returned %d members (%d distinct), want 10000", len(members), len(seen))
	}
	t.Logf("GET with 10,000 members: %v LDAP operations", e.lastLog()["ldap_ops"])
}
