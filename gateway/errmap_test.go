package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// The answer to each LDAP result code (ldapCodes), without a directory: the
// errors are built as go-ldap and ldapstore build them.
func TestLDAPCodeAnswers(t *testing.T) {
	answer := func(code uint16, diag string) error { return &ldap.Error{ResultCode: code, Err: errors.New(diag)} }
	// ldapstore.slotConn: a failed redial (dial, StartTLS, bind) is a network error.
	redial := func(inner error) error {
		return &ldap.Error{ResultCode: ldap.ErrorNetwork, Err: fmt.Errorf("LDAP bind as %q: %w", "cn=gateway,dc=example,dc=org", inner)}
	}
	cases := []struct {
		err      error
		status   int
		scimType string
		mention  string // in the detail
	}{
		{answer(1, "operations error"), 500, "", "internal error"},
		{answer(2, "unsupported extended operation"), 500, "", "internal error"},
		{answer(3, "time limit exceeded"), 503, "", "retry later"},
		{answer(4, "size limit exceeded"), 400, "tooMany", "narrow"},
		{answer(7, ""), 503, "", "retry later"},
		{answer(8, "operation requires strong authentication"), 502, "", "SCIM2LDAP_LDAP_STARTTLS"},
		{answer(10, "ldap://replica.example.org/uid=x"), 502, "", "SCIM2LDAP_LDAP_URL"},
		{answer(11, "illegal pagedResults page size"), 400, "tooMany", "administrative limits"},
		{answer(12, "critical extension is unavailable"), 500, "", "internal error"},
		{answer(13, "confidentiality required for update"), 502, "", "ldaps://"},
		{answer(16, "modify/delete: mail: no such value"), 409, "", "changed meanwhile"},
		{answer(17, "description1: attribute type undefined"), 400, "invalidValue", "attribute type undefined"},
		{answer(18, ""), 400, "invalidFilter", "filter"},
		{answer(19, "some attributes not unique"), 400, "invalidValue", "not unique"},
		{answer(20, "mail: value #1 provided more than once"), 400, "invalidValue", "more than once"},
		{answer(21, "mail: value #0 invalid per syntax"), 400, "invalidValue", "invalid per syntax"},
		{answer(32, ""), 404, "", "User 42 not found"},
		{answer(33, ""), 500, "", "internal error"},
		{answer(34, "invalid DN"), 400, "invalidValue", "invalid DN"},
		{answer(36, ""), 500, "", "internal error"},
		{answer(48, ""), 503, "", "retry later"},
		{answer(49, ""), 503, "", "retry later"},
		{answer(50, ""), 403, "", "insufficient access rights"},
		{answer(51, "busy"), 503, "", "retry later"},
		{answer(52, "shutting down"), 503, "", "retry later"},
		{answer(53, "operation restricted"), 400, "invalidValue", "operation restricted"},
		{answer(54, ""), 502, "", "loop"},
		{answer(64, "naming attribute 'uid' is not present in entry"), 400, "invalidValue", "naming attribute"},
		{answer(65, "object class 'inetOrgPerson' requires attribute 'sn'"), 400, "invalidValue", "requires attribute"},
		{answer(66, "subordinate objects must be deleted first"), 409, "", "entries below it"},
		{answer(67, ""), 400, "invalidValue", "LDAP 67"},
		{answer(68, "Already exists"), 409, "uniqueness", "already holds"},
		{answer(69, ""), 500, "", "internal error"},
		{answer(71, "cannot rename between naming contexts"), 400, "invalidValue", "another part"},
		{answer(80, "entry store failed"), 500, "", "internal error"},
		{answer(122, ""), 412, "", "modified by someone else"},
		{answer(119, ""), 500, "", "internal error"},                                    // no such operation (RFC 3909): not in the table
		{answer(ldap.ErrorUnexpectedResponse, "unexpected"), 500, "", "internal error"}, // go-ldap's own
		{answer(ldap.ErrorNetwork, "connection closed"), 503, "", "retry later"},
		{&ldap.Error{ResultCode: ldap.ErrorNetwork, Err: context.DeadlineExceeded}, 503, "", "retry later"},
		{redial(answer(49, "")), 503, "", "retry later"},
		{redial(answer(13, "confidentiality required")), 502, "", "SCIM2LDAP_LDAP_STARTTLS"},
		{errors.New("something else"), 500, "", "internal error"},
	}
	for _, c := range cases {
		e := asSCIMError(c.err, "User 42")
		if e.Status != c.status || e.ScimType != c.scimType || !strings.Contains(e.Detail, c.mention) {
			t.Errorf("%v: %d %q %q; want %d %q mentioning %q", c.err, e.Status, e.ScimType, e.Detail, c.status, c.scimType, c.mention)
		}
		if !errors.Is(e, c.err) {
			t.Errorf("%v: the SCIM error does not carry it as its cause", c.err)
		}
		if c.status >= 500 && c.status != 502 && strings.Contains(e.Detail, "LDAP Result Code") {
			t.Errorf("%v: the detail tells the client the directory's error: %q", c.err, e.Detail)
		}
	}
	// A SCIM error stays as it is.
	own := errorf(412, "", "changed")
	if asSCIMError(fmt.Errorf("update: %w", own), "x") != own {
		t.Error("a wrapped SCIM error was not kept")
	}
}

// Every result code of RFC 4511 Appendix A.2 has its answer in the table, but
// those that are no errors of the operations the gateway sends.
func TestLDAPCodesComplete(t *testing.T) {
	notErrors := map[uint16]bool{0: true, 5: true, 6: true, 14: true} // success, compareFalse/True, saslBindInProgress
	rfc4511 := []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 32, 33, 34, 36,
		48, 49, 50, 51, 52, 53, 54, 64, 65, 66, 67, 68, 69, 71, 80}
	for _, code := range rfc4511 {
		if _, ok := ldapCodes[code]; ok == notErrors[code] {
			t.Errorf("LDAP %d %s: in the table %v", code, ldap.LDAPResultCodeMap[code], ok)
		}
	}
}

// The cause goes to the request log, never to the client.
func TestCauseNotSent(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, asSCIMError(&ldap.Error{ResultCode: 80, Err: errors.New("mdb_put failed: MDB_MAP_FULL")}, "User 42"))
	if strings.Contains(w.Body.String(), "MDB") || w.Code != 500 {
		t.Errorf("%d %s", w.Code, w.Body)
	}
}

// A directory's password-quality check may quote the password it refuses in
// its diagnostic (a check module's message is passed on as it is): the error
// setPassword returns never holds it, so neither the client's detail (400) nor
// the request log (5xx) does; the result code, which decides the answer, stays.
func TestPasswordScrubbedFromErrors(t *testing.T) {
	const pw = "Summer2024!"
	for _, err := range []error{
		&ldap.Error{ResultCode: ldap.LDAPResultConstraintViolation, Err: errors.New(`password "Summer2024!" is in the dictionary`)},
		&ldap.Error{ResultCode: ldap.LDAPResultOther, Err: errors.New("check module failed on Summer2024!")},
	} {
		got := scrubPassword(err, pw)
		want := asSCIMError(err, "the password")
		e := asSCIMError(got, "the password")
		if strings.Contains(got.Error(), pw) || strings.Contains(e.Detail, pw) || e.Status != want.Status || e.ScimType != want.ScimType {
			t.Errorf("%v: scrubbed to %v, answered %d %q %q", err, got, e.Status, e.ScimType, e.Detail)
		}
	}
	plain := &ldap.Error{ResultCode: ldap.LDAPResultConstraintViolation, Err: errors.New("Password fails quality checking policy")}
	if scrubPassword(plain, pw) != plain || scrubPassword(nil, pw) != nil {
		t.Error("an error without the password was changed")
	}
}
