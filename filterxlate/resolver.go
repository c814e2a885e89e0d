package filterxlate

// AttrType is the SCIM data type of an attribute (RFC 7643 §2.3), which decides
// how a comparison value is encoded in the LDAP filter.
type AttrType int

const (
	String    AttrType = iota // directoryString & co.; escaped with ldap.EscapeFilter
	Boolean                   // SCIM true/false ↔ Target.TrueValue / Target.FalseValue
	Integer                   // decimal digits
	DateTime                  // RFC 3339 ↔ LDAP generalizedTime (RFC 4517 §3.3.13), always UTC "YYYYMMDDHHMMSSZ"
	Reference                 // a SCIM id of another resource; stored in LDAP as that resource's DN
	Binary                    // base64 in SCIM, raw bytes in LDAP (escaped \xx per byte)
)

// Target is one LDAP attribute that a SCIM attribute (or sub-attribute) is stored in.
type Target struct {
	// LDAPAttr is the LDAP attribute description, e.g. "mail".
	LDAPAttr string
	Type     AttrType
	// CaseExact is the SCIM caseExact characteristic (RFC 7643 §2.2). When true and
	// Type is String, equality uses the extensible match "(attr:caseExactMatch:=v)"
	// because most LDAP attributes compare case-insensitively.
	CaseExact bool
	// TrueValue and FalseValue are the LDAP values of a Boolean (default "TRUE"/"FALSE").
	TrueValue, FalseValue string
	// TrueAbsent: a Boolean whose false is exactly FalseValue and true anything
	// else, absence included (e.g. ppolicy's pwdAccountLockedTime for active,
	// whose other values are lockouts after failed binds): "eq false" becomes
	// (a=FalseValue), "eq true" (!(a=FalseValue)), and pr matches every entry.
	TrueAbsent bool
	// NoSubstrings: the directory has no SUBSTR matching rule for the attribute
	// (slapd's uniqueIdentifier, entryUUID), so "(a=*v*)" would be Undefined and
	// silently match nothing (RFC 4511 §4.5.1.7); co, sw and ew are refused
	// with invalidFilter instead. Set from the live schema (mapping.LearnSchema).
	NoSubstrings bool
	// Placeholder, when set, is a value kept only to satisfy the directory (an
	// empty groupOfNames member): presence tests ignore it.
	Placeholder *string
	// RefTypes lists the SCIM resource types a Reference may point to (e.g. ["User"]).
	RefTypes []string
	// Ordering names the ordering matching rule for gt/ge/lt/le, e.g.
	// "caseIgnoreOrderingMatch". Set it for attributes whose schema has no
	// ORDERING rule (OpenLDAP's uid, cn, sn, mail…): there "(uid>=m)" is
	// Undefined and silently matches nothing, so the comparison becomes an
	// extensible match "(uid:caseIgnoreOrderingMatch:=m)", which is TRUE when a
	// value is less than m (RFC 4517 §4.2.4). Empty: plain ">=" and "<=".
	Ordering string
	// FalseBits: a Boolean stored as bits of an integer attribute, false when
	// any of them is set (AD's userAccountControl ACCOUNTDISABLE, 2): "eq false"
	// becomes the bitwise match (a:1.2.840.113556.1.4.803:=2)
	// (LDAP_MATCHING_RULE_BIT_AND, MS-ADTS §3.1.1.3.4.4) and "eq true" its negation.
	FalseBits uint32
	// EqualityValue, when set, encodes eq/ne values itself and returns them
	// escaped for the filter, e.g. a GUID's string form as its 16 stored bytes
	// `'f…` (AD's objectGUID); ok false means no entry can hold the value.
	// Only eq, ne and pr are allowed then.
	EqualityValue func(v string) (escaped string, ok bool)
}

// Slot is one way a multi-valued complex attribute is laid out in LDAP: e.g. SCIM
// emails of type "work" → LDAP mail is the slot {Fixed: {"type": "work"}, Sub: {"value": mail}}.
type Slot struct {
	// Fixed are sub-attributes whose value is a constant for this slot (lower-cased
	// sub-attribute name → value), e.g. {"type": "work"} or {"primary": "true"}.
	Fixed map[string]string
	// Sub maps a lower-cased sub-attribute name to its LDAP target.
	Sub map[string]Target
}

// Attribute is what a SCIM attribute path resolves to.
//   - a simple attribute (userName, active, id, meta.lastModified, enterprise employeeNumber):
//     Simple is set, Slots is nil;
//   - a single-valued complex attribute's sub-attribute (name.givenName) is simple too;
//   - a complex attribute with sub-attributes stored separately (emails, phoneNumbers,
//     manager, members): Slots is set, one per layout (for manager/members a single slot
//     whose Sub["value"] is a Reference target).
type Attribute struct {
	Simple *Target
	Slots  []Slot
}

// Resolver maps SCIM attribute paths to LDAP. The mapping package implements it.
type Resolver interface {
	// Resolve resolves an attribute path without its sub-attribute for complex
	// multi-valued attributes ("emails") or with it for single-valued complex ones
	// ("name.givenName"). The path's URN, if any, is in p.URN; names compare
	// case-insensitively. An unmapped attribute returns an error (its message names it).
	Resolve(p AttrPath) (*Attribute, error)
}

// DNLookup turns SCIM ids of the given resource types into LDAP DNs (one batched
// directory search). Ids that match nothing are simply absent from the result.
type DNLookup func(refTypes []string, ids []string) (map[string]string, error)
