package ldapstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// readRootDSE reads the root DSE's supportedControl (RFC 4512 §5.1) once, at
// Open. A directory that hides its root DSE simply supports nothing optional.
func readRootDSE(c *ldap.Conn) map[string]bool {
	return supportedControls(c.Search(rootDSEControlsRequest()))
}

func rootDSEControlsRequest() *ldap.SearchRequest {
	return ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"supportedControl"}, nil)
}

// supportedControls is the set of OIDs a root DSE search's result lists in
// supportedControl; nil when the search failed.
func supportedControls(res *ldap.SearchResult, err error) map[string]bool {
	out := map[string]bool{}
	if err != nil || len(res.Entries) == 0 {
		return nil
	}
	for _, oid := range res.Entries[0].GetEqualFoldAttributeValues("supportedControl") {
		out[strings.TrimSpace(oid)] = true
	}
	return out
}

// Supports reports whether the directory's root DSE lists the control oid in
// supportedControl, e.g. Supports(OIDServerSideSort). The root DSE is read once,
// when the Store opens or, if the directory was unreachable then, on the first
// call after it can be reached (on a live shared connection, or an idle one of
// Search's: Supports never dials).
func (s *Store) Supports(oid string) bool {
	ctls := s.controls.Load()
	if ctls == nil {
		for _, sl := range s.cur().slots {
			sl.mu.Lock()
			c := sl.conn
			sl.mu.Unlock()
			if c != nil && !c.IsClosing() {
				s.setControls(readRootDSE(c))
				break
			}
		}
		if s.controls.Load() == nil {
			s.setControls(s.idleRootDSE())
		}
		if ctls = s.controls.Load(); ctls == nil {
			return false
		}
	}
	return (*ctls)[oid]
}

func (s *Store) setControls(m map[string]bool) {
	if m != nil {
		s.controls.Store(&m)
	}
}

// RootDSE is what the root DSE (RFC 4512 §5.1) says about the directory: the
// standard attributes, and those Active Directory adds [MS-ADTS 3.1.1.3.2].
// A value the server does not publish is empty.
type RootDSE struct {
	NamingContexts        []string // RFC 4512 §5.1.2
	SubschemaSubentry     string   // RFC 4512 §5.1 (cn=Subschema on OpenLDAP)
	VendorName            string   // RFC 3045 ("389 Project" on 389 DS; OpenLDAP publishes none)
	VendorVersion         string   // RFC 3045
	ObjectClasses         []string // OpenLDAP: OpenLDAProotDSE
	SupportedControls     []string // OIDs
	SupportedCapabilities []string // AD: 1.2.840.113556.1.4.800 (LDAP_CAP_ACTIVE_DIRECTORY_OID) and others
	DefaultNamingContext  string   // AD: the domain's DN
	DNSHostName           string   // AD: the DC's DNS name
	IsGlobalCatalogReady  string   // AD: "TRUE" or "FALSE"
}

// OIDActiveDirectory is LDAP_CAP_ACTIVE_DIRECTORY_OID: a root DSE that lists it
// in supportedCapabilities is Active Directory (or Samba AD) [MS-ADTS 3.1.1.3.4.3].
const OIDActiveDirectory = "1.2.840.113556.1.4.800"

// ReadRootDSE reads the root DSE's published attributes (RootDSE lists them).
func (s *Store) ReadRootDSE(ctx context.Context) (*RootDSE, error) {
	res, err := s.Search(ctx, ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)",
		[]string{"namingContexts", "subschemaSubentry", "vendorName", "vendorVersion", "objectClass", "supportedControl",
			"supportedCapabilities", "defaultNamingContext", "dnsHostName", "isGlobalCatalogReady"}, nil))
	if err != nil {
		return nil, fmt.Errorf("reading the root DSE: %w", err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("reading the root DSE: the directory returned %d entries", len(res.Entries))
	}
	e := res.Entries[0]
	return &RootDSE{NamingContexts: e.GetEqualFoldAttributeValues("namingContexts"),
		SubschemaSubentry:     e.GetEqualFoldAttributeValue("subschemaSubentry"),
		VendorName:            e.GetEqualFoldAttributeValue("vendorName"),
		VendorVersion:         e.GetEqualFoldAttributeValue("vendorVersion"),
		ObjectClasses:         e.GetEqualFoldAttributeValues("objectClass"),
		SupportedControls:     e.GetEqualFoldAttributeValues("supportedControl"),
		SupportedCapabilities: e.GetEqualFoldAttributeValues("supportedCapabilities"),
		DefaultNamingContext:  e.GetEqualFoldAttributeValue("defaultNamingContext"),
		DNSHostName:           e.GetEqualFoldAttributeValue("dnsHostName"),
		IsGlobalCatalogReady:  e.GetEqualFoldAttributeValue("isGlobalCatalogReady")}, nil
}
