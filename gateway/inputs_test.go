package gateway_test

// Input the directory cannot hold or name: refused with a precise SCIM error
// before anything reaches it.

import (
	"testing"
)

// slapd cuts an assertion value at a NUL: `emails.value co "\u0000"` became
// (mail=**), which every user with a mail matches.
func TestNULInAFilterValueIsRefusedNotAWiderSearch(t *testing.T) {
	e := newEnv(t)
	e.MustCreate("/Users", user("nul-f1", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "nul-f1@x.org"}}}))
	e.MustCreate("/Users", user("nul-f2", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "nul-f2@x.org"}}}))
	for filter, names := range map[string]string{
		`emails.value co "\u0000"`:                  "emails.value",
		`emails co "x\u0000"`:                       "emails",
		`userName eq "nul-f1\u0000"`:                "userName",
		`emails[value sw "\u0000"]`:                 "emails.value",
		`emails[type eq "work"].value ew "\u0000"`:  "emails.value",
		`userName pr and not (title eq "a\u0000b")`: "title",
	} {
		t.Run(filter, func(t *testing.T) {
			for _, r := range []response{
				e.Do("GET", "/Users"+filterQ(filter), nil),
				e.Do("POST", "/Users/.search", map[string]any{"filter": filter}),
				e.Do("POST", "/.search", map[string]any{"filter": filter}),
			} {
				wantError(t, r, 400, "invalidFilter", names, "U+0000")
			}
		})
	}
}

func TestNULInAPatchPathFilterIsRefused(t *testing.T) {
	e := newEnv(t)
	id := e.MustCreate("/Users", user("nul-pp", map[string]any{"emails": []any{map[string]any{"type": "work", "value": "nul-pp@x.org"}}}))
	r := e.Do("PATCH", "/Users/"+id, patchBody(op("remove", `emails[value eq "\u0000"]`, nil)))
	wantError(t, r, 400, "invalidPath", "emails.value", "U+0000")
	if m := e.entry("(uid=nul-pp)").GetAttributeValues("mail"); len(m) != 1 || m[0] != "nul-pp@x.org" {
		t.Errorf("mail after the refused PATCH: %q", m)
	}
}
