package mapping

import "strings"

// Schema URNs (RFC 7643 §8.7, §4.3).
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// Mutability is an attribute's mutability characteristic (RFC 7643 §2.2).
type Mutability string

// The values of Mutability (RFC 7643 §2.2).
const (
	MutabilityReadOnly  Mutability = "readOnly"  // clients cannot set it
	MutabilityReadWrite Mutability = "readWrite" // the default
	MutabilityImmutable Mutability = "immutable" // set once, when it has no value
	MutabilityWriteOnly Mutability = "writeOnly" // never returned (password)
)

// Uniqueness is an attribute's uniqueness characteristic (RFC 7643 §2.2).
type Uniqueness string

// The values of Uniqueness (RFC 7643 §2.2).
const (
	UniquenessNone   Uniqueness = "none"   // the default
	UniquenessServer Uniqueness = "server" // unique among the service provider's resources (checked before writes)
	UniquenessGlobal Uniqueness = "global" // unique in the world (custom schemas only; not checked)
)

// AttrDef is a SCIM attribute definition with its characteristics (RFC 7643 §2.2, §7).
// Field names and JSON tags are those of the /Schemas representation.
type AttrDef struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"` // string boolean decimal integer dateTime binary reference complex
	MultiValued     bool       `json:"multiValued"`
	Description     string     `json:"description,omitempty"`
	Required        bool       `json:"required"`
	CaseExact       bool       `json:"caseExact"`
	Mutability      Mutability `json:"mutability"`
	Returned        string     `json:"returned"` // always never default request
	Uniqueness      Uniqueness `json:"uniqueness"`
	CanonicalValues []string   `json:"canonicalValues,omitempty"`
	ReferenceTypes  []string   `json:"referenceTypes,omitempty"`
	SubAttributes   []*AttrDef `json:"subAttributes,omitempty"`
}

// SchemaDef is a SCIM schema (RFC 7643 §7).
type SchemaDef struct {
	ID          string
	Name        string
	Description string
	Attributes  []*AttrDef
}

// Attr returns the attribute named name (case-insensitive), or nil.
func (s *SchemaDef) Attr(name string) *AttrDef { return findAttr(s.Attributes, name) }

// Sub returns the sub-attribute named name (case-insensitive), or nil.
func (a *AttrDef) Sub(name string) *AttrDef { return findAttr(a.SubAttributes, name) }

func findAttr(list []*AttrDef, name string) *AttrDef {
	for _, a := range list {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// attr builds a readWrite, default-returned, non-unique, single-valued attribute.
func attr(name, typ, desc string, opts ...func(*AttrDef)) *AttrDef {
	a := &AttrDef{Name: name, Type: typ, Description: desc, Mutability: MutabilityReadWrite, Returned: "default", Uniqueness: UniquenessNone}
	for _, o := range opts {
		o(a)
	}
	return a
}

func multi(a *AttrDef)     { a.MultiValued = true }
func required(a *AttrDef)  { a.Required = true }
func caseExact(a *AttrDef) { a.CaseExact = true }
func readOnly(a *AttrDef)  { a.Mutability = MutabilityReadOnly }
func immutable(a *AttrDef) { a.Mutability = MutabilityImmutable }
func writeOnly(a *AttrDef) { a.Mutability = MutabilityWriteOnly; a.Returned = "never" }
func unique(a *AttrDef)    { a.Uniqueness = UniquenessServer }
func subs(s ...*AttrDef) func(*AttrDef) {
	return func(a *AttrDef) { a.SubAttributes = s }
}
func canonical(v ...string) func(*AttrDef) { return func(a *AttrDef) { a.CanonicalValues = v } }
func refTypes(v ...string) func(*AttrDef)  { return func(a *AttrDef) { a.ReferenceTypes = v } }

// multiValuedSubs are the sub-attributes of the RFC's typed multi-valued attributes
// (emails, phoneNumbers, …; RFC 7643 §2.4).
func multiValuedSubs(valueType string, types ...string) func(*AttrDef) {
	return subs(
		attr("value", valueType, "The attribute's value."),
		attr("display", "string", "A human-readable name, primarily used for display purposes.", readOnly),
		attr("type", "string", "A label indicating the attribute's function.", canonical(types...)),
		attr("primary", "boolean", "Indicates the preferred value of this attribute."),
	)
}

// The common attributes every resource has (RFC 7643 §3.1). externalId can be
// mapped; id and meta are the directory's (the entry's id, timestamps and
// version) and read-only for clients.
var (
	externalIDDef = attr("externalId", "string", "An identifier for the resource as defined by the provisioning client.", caseExact)
	idDef         = attr("id", "string", "A unique identifier for a SCIM resource as defined by the service provider.", caseExact, readOnly)
	metaDef       = attr("meta", "complex", "A complex attribute containing resource metadata.", readOnly, subs(
		attr("resourceType", "string", "The name of the resource type of the resource.", caseExact, readOnly),
		attr("created", "dateTime", "The DateTime that the resource was added to the service provider.", readOnly),
		attr("lastModified", "dateTime", "The most recent DateTime that the details of this resource were updated at the service provider.", readOnly),
		attr("location", "reference", "The URI of the resource being returned.", caseExact, readOnly),
		attr("version", "string", "The version of the resource being returned.", caseExact, readOnly),
	))
)

// builtinSchemas are the schemas of RFC 7643 §4 and §8.7 that a mapping can use.
var builtinSchemas = map[string]*SchemaDef{
	UserSchema: {ID: UserSchema, Name: "User", Description: "User Account", Attributes: []*AttrDef{
		attr("userName", "string", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.", required, unique),
		attr("name", "complex", "The components of the user's real name.", subs(
			attr("formatted", "string", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
			attr("familyName", "string", "The family name of the User, or last name."),
			attr("givenName", "string", "The given name of the User, or first name."),
			attr("middleName", "string", "The middle name(s) of the User."),
			attr("honorificPrefix", "string", "The honorific prefix(es) of the User."),
			attr("honorificSuffix", "string", "The honorific suffix(es) of the User."),
		)),
		attr("displayName", "string", "The name of the User, suitable for display to end-users."),
		attr("nickName", "string", "The casual way to address the user in real life."),
		attr("profileUrl", "reference", "A fully qualified URL pointing to a page representing the User's online profile.", refTypes("external")),
		attr("title", "string", "The user's title, such as \"Vice President\"."),
		attr("userType", "string", "Used to identify the relationship between the organization and the user."),
		attr("preferredLanguage", "string", "Indicates the User's preferred written or spoken language."),
		attr("locale", "string", "Used to indicate the User's default location for purposes of localizing items."),
		attr("timezone", "string", "The User's time zone in the 'Olson' time zone database format."),
		attr("active", "boolean", "A Boolean value indicating the User's administrative status."),
		attr("password", "string", "The User's cleartext password.", writeOnly),
		attr("emails", "complex", "Email addresses for the user.", multi, multiValuedSubs("string", "work", "home", "other")),
		attr("phoneNumbers", "complex", "Phone numbers for the User.", multi, multiValuedSubs("string", "work", "home", "mobile", "fax", "pager", "other")),
		attr("ims", "complex", "Instant messaging addresses for the User.", multi, multiValuedSubs("string", "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
		attr("photos", "complex", "URLs of photos of the User.", multi, multiValuedSubs("reference", "photo", "thumbnail")),
		attr("addresses", "complex", "A physical mailing address for this User.", multi, subs(
			attr("formatted", "string", "The full mailing address, formatted for display or use with a mailing label."),
			attr("streetAddress", "string", "The full street address component."),
			attr("locality", "string", "The city or locality component."),
			attr("region", "string", "The state or region component."),
			attr("postalCode", "string", "The zip code or postal code component."),
			attr("country", "string", "The country name component."),
			attr("type", "string", "A label indicating the attribute's function.", canonical("work", "home", "other")),
			attr("primary", "boolean", "Indicates the preferred mailing address."),
		)),
		attr("groups", "complex", "A list of groups to which the user belongs.", multi, readOnly, subs(
			attr("value", "string", "The identifier of the User's group.", readOnly),
			attr("$ref", "reference", "The URI of the corresponding 'Group' resource.", readOnly, refTypes("Group")),
			attr("display", "string", "A human-readable name, primarily used for display purposes.", readOnly),
			attr("type", "string", "A label indicating the attribute's function.", readOnly, canonical("direct", "indirect")),
		)),
		attr("entitlements", "complex", "A list of entitlements for the User.", multi, multiValuedSubs("string")),
		attr("roles", "complex", "A list of roles for the User.", multi, multiValuedSubs("string")),
		attr("x509Certificates", "complex", "A list of certificates issued to the User.", multi, multiValuedSubs("binary")),
	}},
	EnterpriseSchema: {ID: EnterpriseSchema, Name: "EnterpriseUser", Description: "Enterprise User", Attributes: []*AttrDef{
		attr("employeeNumber", "string", "Numeric or alphanumeric identifier assigned to a person."),
		attr("costCenter", "string", "Identifies the name of a cost center."),
		attr("organization", "string", "Identifies the name of an organization."),
		attr("division", "string", "Identifies the name of a division."),
		attr("department", "string", "Identifies the name of a department."),
		attr("manager", "complex", "The User's manager.", subs(
			attr("value", "string", "The id of the SCIM resource representing the User's manager.", required),
			attr("$ref", "reference", "The URI of the SCIM resource representing the User's manager.", refTypes("User")),
			attr("displayName", "string", "The displayName of the User's manager.", readOnly),
		)),
	}},
	GroupSchema: {ID: GroupSchema, Name: "Group", Description: "Group", Attributes: []*AttrDef{
		attr("displayName", "string", "A human-readable name for the Group.", required),
		attr("members", "complex", "A list of members of the Group.", multi, subs(
			attr("value", "string", "Identifier of the member of this Group.", immutable),
			attr("$ref", "reference", "The URI corresponding to a SCIM resource that is a member of this Group.", immutable, refTypes("User", "Group")),
			attr("type", "string", "A label indicating the type of resource, e.g., 'User' or 'Group'.", immutable, canonical("User", "Group")),
			attr("display", "string", "A human-readable name, primarily used for display purposes.", readOnly),
		)),
	}},
}
