package gateway_test

// The discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes
// and Schemas advertise what the mapping serves.

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiscoveryAdvertisesWhatIsMapped(t *testing.T) {
	e := newEnv(t)
	spc := e.Do("GET", "/ServiceProviderConfig", nil)
	if spc.Status != 200 || get(spc.Body, "filter", "supported") != true || get(spc.Body, "patch", "supported") != true ||
		get(spc.Body, "etag", "supported") != true || get(spc.Body, "authenticationSchemes", "0", "type") != "oauthbearertoken" {
		t.Errorf("ServiceProviderConfig: %s", spc.Raw)
	}
	rts := e.Do("GET", "/ResourceTypes", nil)
	if rts.Body["totalResults"] != 2.0 || get(rts.Body, "Resources", "0", "endpoint") != "/Users" ||
		get(rts.Body, "Resources", "0", "schemaExtensions", "0", "schema") != entSchema ||
		get(rts.Body, "Resources", "1", "endpoint") != "/Groups" {
		t.Errorf("ResourceTypes: %s", rts.Raw)
	}
	if r := e.Do("GET", "/ResourceTypes/User", nil); r.Status != 200 || r.Body["schema"] != userSchema {
		t.Errorf("ResourceTypes/User: %s", r.Raw)
	}
	wantError(t, e.Do("GET", "/ResourceTypes/Nope", nil), 404, "")
	s := e.Do("GET", "/Schemas/"+userSchema, nil)
	attrs := map[string]map[string]any{}
	for _, a := range s.Body["attributes"].([]any) {
		m := a.(map[string]any)
		attrs[m["name"].(string)] = m
	}
	if len(attrs) == 0 || attrs["nickName"] != nil || attrs["password"] != nil || attrs["addresses"] != nil {
		t.Errorf("only mapped attributes are advertised: %v", attrs)
	}
	un := attrs["userName"]
	if un["type"] != "string" || un["uniqueness"] != "server" || un["caseExact"] != false || un["required"] != true || un["mutability"] != "readWrite" || un["multiValued"] != false {
		t.Errorf("userName: %v", un)
	}
	em := attrs["emails"]
	if em["multiValued"] != true || em["type"] != "complex" {
		t.Errorf("emails: %v", em)
	}
	subs := map[string]any{}
	for _, sa := range em["subAttributes"].([]any) {
		subs[sa.(map[string]any)["name"].(string)] = sa
	}
	if len(subs) != 2 || subs["value"] == nil || fmt.Sprint(subs["type"].(map[string]any)["canonicalValues"]) != "[work]" {
		t.Errorf("emails sub-attributes: %v", subs)
	}
	if gr := attrs["groups"]; gr == nil || gr["mutability"] != "readOnly" {
		t.Errorf("groups must be advertised read-only: %v", gr)
	}
	if ac := attrs["active"]; ac == nil || ac["type"] != "boolean" {
		t.Errorf("active: %v", ac)
	}
	if sc := e.Do("GET", "/Schemas", nil); sc.Body["totalResults"] != 3.0 {
		t.Errorf("Schemas: %s", sc.Raw)
	}
	ent := e.Do("GET", "/Schemas/"+entSchema, nil)
	var names []string
	for _, a := range ent.Body["attributes"].([]any) {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "employeeNumber,department,manager" {
		t.Errorf("enterprise attributes: %v", names)
	}
}

// changePassword.supported (RFC 7643 §5) follows the mapping: true when a
// served resource type maps password, as docs/examples/openldap-posix.yaml does.
func TestChangePasswordIsAdvertisedWhenPasswordIsMapped(t *testing.T) {
	for file, want := range map[string]bool{"mappings.example.yaml": false, "docs/examples/openldap-posix.yaml": true} {
		e := newEnvWith(t, loadMapping(t, file))
		spc := e.Do("GET", "/ServiceProviderConfig", nil)
		if got := get(spc.Body, "changePassword", "supported"); got != want {
			t.Errorf("%s: changePassword.supported = %v, want %v", file, got, want)
		}
	}
}

// RFC 7644 §4: discovery endpoints ignore query parameters, and SHOULD answer a
// filter with 403 so that clients cannot assume its conditions hold.
func TestDiscoveryRefusesFilter(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/Schemas", "/ResourceTypes", "/ServiceProviderConfig", "/ResourceTypes/User", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"} {
		wantError(t, e.Do("GET", p+filterQ(`id eq "x"`), nil), 403, "")
		if r := e.Do("GET", p+"?startIndex=2&count=1", nil); r.Status != 200 { // other parameters are ignored
			t.Errorf("%s with paging: %d %s", p, r.Status, r.Raw)
		}
	}
}
