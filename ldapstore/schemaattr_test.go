package ldapstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// Attribute reads SYNTAX (a {length} bound dropped, quoted as AD quotes it,
// inherited through SUP), SINGLE-VALUE (the type's own, RFC 4512 §4.1.2),
// NO-USER-MODIFICATION, OBSOLETE and USAGE, from RFC 4519 and AD descriptions.
func TestSchemaAttribute(t *testing.T) {
	sc := ldapstore.ParseSchema([]string{
		"( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
		"( 2.5.4.4 NAME ( 'sn' 'surname' ) DESC 'RFC4519: last (family) name(s)' SUP name )",
		"( 2.16.840.1.113730.3.1.39 NAME 'preferredLanguage' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
		"( 1.2.840.113556.1.4.8 NAME 'userAccountControl' SYNTAX '1.3.6.1.4.1.1466.115.121.1.27' SINGLE-VALUE )",
		"( 2.5.18.1 NAME 'createTimestamp' EQUALITY generalizedTimeMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )",
		"( 9.9.9 NAME 'oldThing' OBSOLETE SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 )",
	}, nil)
	for _, c := range []struct {
		name string
		want ldapstore.AttributeType
	}{
		{"name", ldapstore.AttributeType{Name: "name", Syntax: "1.3.6.1.4.1.1466.115.121.1.15"}},
		{"SURNAME;lang-en", ldapstore.AttributeType{Name: "sn", Syntax: "1.3.6.1.4.1.1466.115.121.1.15"}},
		{"preferredlanguage", ldapstore.AttributeType{Name: "preferredLanguage", Syntax: "1.3.6.1.4.1.1466.115.121.1.15", SingleValue: true}},
		{"userAccountControl", ldapstore.AttributeType{Name: "userAccountControl", Syntax: "1.3.6.1.4.1.1466.115.121.1.27", SingleValue: true}},
		{"createTimestamp", ldapstore.AttributeType{Name: "createTimestamp", Syntax: "1.3.6.1.4.1.1466.115.121.1.24", SingleValue: true,
			NoUserModification: true, Operational: true}},
		{"oldThing", ldapstore.AttributeType{Name: "oldThing", Syntax: "1.3.6.1.4.1.1466.115.121.1.7", Obsolete: true}},
	} {
		got, ok := sc.Attribute(c.name)
		if !ok || got != c.want {
			t.Errorf("Attribute(%q) = %+v, %v; want %+v", c.name, got, ok, c.want)
		}
	}
	if _, ok := sc.Attribute("noSuchAttribute"); ok {
		t.Error("an undefined attribute was found")
	}
}

// ReadRootDSE on slapd: its naming context, subschema subentry and the
// OpenLDAProotDSE object class; no AD capability.
func TestReadRootDSE(t *testing.T) {
	s, err := ldapstore.Open(ldapstore.Config{URL: slapd.URL, BindDN: slapd.BindDN, BindPassword: slapd.Password, Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dse, err := s.ReadRootDSE(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(dse.NamingContexts, slapd.BaseDN) || dse.SubschemaSubentry != "cn=Subschema" ||
		!slices.Contains(dse.ObjectClasses, "OpenLDAProotDSE") || slices.Contains(dse.SupportedCapabilities, ldapstore.OIDActiveDirectory) {
		t.Errorf("root DSE %+v", dse)
	}
}
