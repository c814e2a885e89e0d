package gateway

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// Every kind of directory error has its HTTP status (RFC 7644 §3.12), and the
// SCIM error keeps the directory's scimType and detail.
func TestDirectoryErrorStatuses(t *testing.T) {
	want := map[directory.Kind]int{directory.Internal: 500, directory.NotFound: 404, directory.Invalid: 400,
		directory.Forbidden: 403, directory.Conflict: 409, directory.Uniqueness: 409, directory.Precondition: 412,
		directory.Unavailable: 503, directory.Upstream: 502}
	for k := directory.Internal; k <= directory.Upstream; k++ {
		e := asSCIMError(&directory.Error{Kind: k, ScimType: scimerr.InvalidValue, Detail: "d"})
		if e.Status != want[k] || e.ScimType != scimerr.InvalidValue || e.Detail != "d" {
			t.Errorf("%v: %d %q %q; want %d", k, e.Status, e.ScimType, e.Detail, want[k])
		}
	}
	// A SCIM error stays as it is.
	own := errorf(412, "", "changed")
	if asSCIMError(errors.Join(errors.New("update"), own)) != own {
		t.Error("a wrapped SCIM error was not kept")
	}
}

// The cause goes to the request log, never to the client.
func TestCauseNotSent(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, asSCIMError(&directory.Error{Kind: directory.Internal, Detail: "internal error; see the gateway's log", Err: errors.New("mdb_put failed: MDB_MAP_FULL")}))
	if strings.Contains(w.Body.String(), "MDB") || w.Code != 500 {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}
