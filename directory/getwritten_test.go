package directory

import (
	"errors"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// GetWritten answers with the resource the write made even when a concurrent
// rename moved its entry before the read-back: the DN then names nothing, or
// another entry, and the resource is read by its id; a deleted one is
// ErrNotFound.
func TestGetWrittenFollowsARename(t *testing.T) {
	e := newTestEnv(t)
	users := e.snap.Resources(e.m.ResourceType("User"))
	id, dn := e.create(t, "User", map[string]any{"userName": "gw.moved", "name": map[string]any{"familyName": "Moved"}})

	// Renamed away: the written DN names nothing.
	mr := ldap.NewModifyDNRequest(dn, "uid=gw.moved2", true, "")
	if err := e.conn.ModifyDN(mr); err != nil {
		t.Fatal(err)
	}
	res, err := users.GetWritten(t.Context(), Written{ID: id, DN: dn}, nil)
	if err != nil || res.ID != id || res.Attributes["userName"] != "gw.moved2" {
		t.Fatalf("after a rename: %v, %+v", err, res)
	}

	// Another entry took the old DN: not the resource written.
	otherID, otherDN := e.create(t, "User", map[string]any{"userName": "gw.moved", "name": map[string]any{"familyName": "Other"}})
	if otherDN != dn {
		t.Fatalf("the second user is at %s, want %s", otherDN, dn)
	}
	res, err = users.GetWritten(t.Context(), Written{ID: id, DN: dn}, nil)
	if err != nil || res.ID != id {
		t.Fatalf("with another entry at the old DN: %v, got id %v, want %s (not %s)", err, res, id, otherID)
	}

	// Deleted: not found.
	if err := e.conn.Del(ldap.NewDelRequest("uid=gw.moved2,ou=people,dc=example,dc=org", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := users.GetWritten(t.Context(), Written{ID: id, DN: dn + "x"}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a delete: %v, want ErrNotFound", err)
	}
	if err := e.conn.Del(ldap.NewDelRequest(otherDN, nil)); err != nil {
		t.Fatal(err)
	}
}
