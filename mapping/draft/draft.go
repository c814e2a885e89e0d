// Package draft drafts a mapping file from a live directory, for `scim2ldap
// mapping init`: Read learns the directory's flavor (root DSE, RFC 4512 §5.1),
// its schema (the subschema subentry, RFC 4512 §4.2) and where its users and
// groups live; Draft writes a commented mapping that maps the well-known LDAP
// attributes (RFC 2798 inetOrgPerson, RFC 4519; Active Directory's user and
// group) to their RFC 7643 paths as mappings.example.yaml and
// mappings.ad.example.yaml do, and offers the remaining attributes the object
// classes allow as an extension schema typed from their LDAP syntaxes
// (SCIMType). The draft is loaded with package mapping and checked against the
// same schema before it is handed out.
package draft

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// Options change what Draft writes.
type Options struct {
	// IdP is "entra", "okta" or "": the IdP whose attribute table IdPTable holds.
	IdP string
	// MapAll maps every offered attribute of the generated extension schemas;
	// by default their mapping lines are written commented out, for the admin
	// to pick (each one mapped is writable by every read-write SCIM client).
	MapAll bool
	// File names the draft in problems (default "mapping-init.yaml").
	File string
}

// Result is a drafted mapping.
type Result struct {
	YAML []byte
	// IdPTable is the attribute table to configure in the IdP (Options.IdP),
	// one line per mapped SCIM attribute; "" without an IdP.
	IdPTable string
	// Mapping is the draft as package mapping loaded it.
	Mapping *mapping.Mapping
}

// The generated extension schemas' URNs (RFC 7643 §3.3: any URN the service
// provider defines). Entra ID takes custom attributes under any URN.
const (
	UserExtension  = "urn:scim2ldap:schemas:extension:ldap:2.0:User"
	GroupExtension = "urn:scim2ldap:schemas:extension:ldap:2.0:Group"
)

// IdPs are the values Options.IdP takes.
var IdPs = []string{"entra", "okta"}

// Draft writes the mapping for what Read found, loads it with package mapping
// and checks it against f.Schema as `mapping check --ldap-url` does
// (Mapping.CheckSchema); a draft with problems is an error listing them (a
// bug of this package, never the admin's).
func Draft(f *Facts, opts Options) (*Result, error) {
	if opts.IdP != "" && !slices.Contains(IdPs, opts.IdP) {
		return nil, fmt.Errorf("unknown IdP %q (entra or okta)", opts.IdP)
	}
	if opts.File == "" {
		opts.File = "mapping-init.yaml"
	}
	d := &drafter{f: f, opts: opts}
	d.user = d.userType()
	d.group = d.groupType()
	out := d.render()
	m, problems := mapping.ParseAll(opts.File, out)
	if m != nil {
		problems = append(problems, m.CheckSchema(f.Schema)...)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the drafted mapping has problems (please report this):\n%v\n--- the draft:\n%s", problems, out)
	}
	res := &Result{YAML: out, Mapping: m}
	if opts.IdP != "" {
		res.IdPTable = d.idpTable()
	}
	return res, nil
}

// flavorAccepted reports whether package mapping takes fl as directory.flavor.
func flavorAccepted(fl Flavor) bool {
	_, problems := mapping.ParseAll("flavor", []byte("directory:\n  flavor: "+string(fl)+"\nresourceTypes: {}\n"))
	for _, p := range problems {
		if p.Line == 2 {
			return false
		}
	}
	return true
}

// line is one attribute of a resource type's attributes section.
type line struct {
	key, value string   // value: the flow map, e.g. {ldap: uid, uniqueness: server}
	comment    []string // lines above it
	commented  bool     // written as a comment (offered, not mapped)
}

// resType is a resource type as the draft writes it.
type resType struct {
	name, endpoint, schema string
	extensions             []string
	base, scope, filter    string
	classes                []string
	rdn                    string
	computed, defaults     [][2]string // LDAP attribute, YAML value (already quoted)
	notes                  []string    // comment lines above ldap:
	attrs                  []line
	ext                    *extSchema
	withheld               []string // attributes the classes allow that offer left out as security-relevant
}

// extSchema is a generated extension schema.
type extSchema struct {
	id, name, alias, desc string
	attrs                 []extAttr
}

type extAttr struct {
	name, ldap, typ, syntax string
	multi                   bool
}

type drafter struct {
	f           *Facts
	opts        Options
	user, group *resType
}

// has reports whether the schema defines attr.
func (d *drafter) has(attr string) bool { return d.f.Schema.HasAttribute(attr) }

// allowedBy is every attribute the classes require or allow.
func (d *drafter) allowedBy(classes []string) []string {
	var out []string
	for _, c := range classes {
		out = append(out, d.f.Schema.Must(c)...)
		out = append(out, d.f.Schema.May(c)...)
	}
	return out
}

func (d *drafter) ad() bool { return d.f.Flavor == ActiveDirectory }

// userType drafts the User resource type.
func (d *drafter) userType() *resType {
	f := d.f
	rt := &resType{name: "User", endpoint: "/Users", schema: "urn:ietf:params:scim:schemas:core:2.0:User",
		extensions: []string{Enterprise}, base: f.Users.DN, scope: f.Users.Scope}
	rt.notes = append(rt.notes, f.Users.How+".")
	for _, o := range first(f.Users.Others, 5) {
		rt.notes = append(rt.notes, fmt.Sprintf("Also %d in %s: add it with bases: [...] or a common base with scope: sub.", o.Count, o.DN))
	}
	if d.ad() {
		rt.filter = "(&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE)))"
		rt.notes = append(rt.notes, "objectCategory=person leaves out computer accounts (computer is a subclass of user);",
			"isCriticalSystemObject leaves out the accounts the domain needs (Administrator, krbtgt, Guest).")
		rt.classes = []string{"top", "person", "organizationalPerson", "user"}
		rt.rdn = "cn"
		rt.computed = append(rt.computed, [2]string{"cn", "userName"})
		if dns := dnsDomain(f.Base); dns != "" {
			rt.computed = append(rt.computed, [2]string{"userPrincipalName",
				yamlSingle(`IIF(Replace(userName, "@", "") == userName, Append(userName, "@` + dns + `"), userName)`)})
		}
	} else {
		rt.filter = "(objectClass=inetOrgPerson)"
		rt.classes = []string{"inetOrgPerson"}
		rt.rdn = "uid"
		if f.PosixUsers > 0 {
			rt.notes = append(rt.notes, fmt.Sprintf("%d of the users are also posixAccount entries: docs/examples/openldap-posix.yaml", f.PosixUsers),
				"shows how to compute uidNumber, gidNumber and homeDirectory for new ones.")
		}
	}
	allowed := d.allowedBy(rt.classes)
	mapped := map[string]bool{}
	add := func(l line, ldapAttr string) {
		rt.attrs = append(rt.attrs, l)
		mapped[strings.ToLower(ldapAttr)] = true
	}
	for _, w := range userTable(f.Flavor) {
		if !d.has(w.ldap) {
			continue
		}
		var comment []string
		if w.comment != "" {
			comment = strings.Split(w.comment, "\n")
		}
		if w.path == "externalId" {
			// inetOrgPerson does not allow uniqueIdentifier: mappings.example.yaml adds
			// extensibleObject. The gateway never changes an existing entry's object
			// classes, so on a directory whose users lack it, writing externalId to
			// them would fail: leave it unmapped there (IdPs then keep their own).
			why := ""
			switch {
			case !d.f.Schema.HasObjectClass("extensibleObject"):
				why = "which the directory's schema lacks."
			case f.ExtensibleUsers < f.CountedUsers:
				why = fmt.Sprintf("which %d of the %d existing users lack (the gateway never adds object classes to an entry).",
					f.CountedUsers-f.ExtensibleUsers, f.CountedUsers)
			}
			if why != "" {
				rt.attrs = append(rt.attrs, line{key: w.path, value: "{ldap: uniqueIdentifier}", commented: true, comment: []string{
					"externalId is left unmapped: uniqueIdentifier needs extensibleObject, " + why,
					"Map it to an attribute inetOrgPerson allows, or add extensibleObject to every user first."}})
				continue
			}
			rt.classes = append(rt.classes, "extensibleObject")
			comment = []string{"extensibleObject lets uniqueIdentifier (externalId) sit on an inetOrgPerson."}
		} else if !d.ad() && !containsFold(allowed, w.ldap) {
			continue
		}
		v := "{ldap: " + d.name(w.ldap)
		if w.opts != "" {
			v += ", " + w.opts
		}
		add(line{key: w.path, value: v + "}", comment: comment}, w.ldap)
	}
	if !d.ad() {
		d.ownClasses(rt)
	}
	// Account state, password, groups.
	switch {
	case d.ad():
		add(line{key: "active", value: "{accountState: adUserAccountControl}", comment: []string{
			"active = the ACCOUNTDISABLE bit (0x2) of userAccountControl; every other bit is kept.",
			"New users are added disabled, then get their password, then are enabled."}}, "userAccountControl")
		add(line{key: "password", value: `{ldap: unicodePwd, pwdLastSet: "-1"}`, comment: []string{
			"unicodePwd, over LDAPS/StartTLS only. pwdLastSet: \"0\" makes the user change it at",
			"next logon, \"-1\" marks it as set now."}}, "unicodePwd")
	case f.Flavor == DS389 && d.has("nsAccountLock"):
		add(line{key: "active", value: "{accountState: nsAccountLock}", comment: []string{
			"Deactivation = nsAccountLock: true (389 DS's account lock; the user can no longer bind)."}}, "nsAccountLock")
	case d.has("pwdAccountLockedTime"):
		add(line{key: "active", value: "{accountState: ppolicy}", comment: []string{
			"Deactivation = a ppolicy lock (pwdAccountLockedTime): a locked user can no longer bind and is",
			"still found by GET and filters; active: true removes the lock. Needs the ppolicy overlay",
			"(scim2ldap doctor checks it)."}}, "pwdAccountLockedTime")
	default:
		rt.attrs = append(rt.attrs, line{key: "active", value: "{accountState: ppolicy}", commented: true, comment: []string{
			"The directory's schema has no pwdAccountLockedTime (the ppolicy overlay) nor nsAccountLock:",
			"map active to an attribute of your own (docs/mapping.md, \"Account state\")."}})
	}
	if !d.ad() && d.has("userPassword") && containsFold(allowed, "userPassword") {
		rt.attrs = append(rt.attrs, line{key: "password", value: "{ldap: userPassword}", commented: true, comment: []string{
			"Uncomment to store passwords the IdP sends: set with the Password Modify operation (RFC 3062),",
			"hashed by the directory, never returned or logged."}})
		mapped["userpassword"] = true
	}
	switch {
	case !d.has("memberOf"):
	case d.ad():
		add(line{key: "groups", value: "{ldap: memberOf, reference: Group}", comment: []string{
			"Read-only: the groups a user is in (AD's own memberOf)."}}, "memberOf")
	case f.Flavor == DS389 && f.GroupClass == "groupOfUniqueNames":
		// 389 DS's MemberOf plugin follows the group attributes its entry
		// (cn=MemberOf Plugin,cn=plugins,cn=config) lists in memberOfGroupAttr,
		// member by default (389 DS 2.3); dsconf's --groupattr sets them.
		rt.attrs = append(rt.attrs, line{key: "groups", value: "{ldap: memberOf, reference: Group}", commented: true, comment: []string{
			"Read-only: the groups a user is in, from the MemberOf plugin, which by default follows",
			"groupOfNames' member only: add uniqueMember to its memberOfGroupAttr",
			"(dsconf INSTANCE plugin memberof set --groupattr member uniqueMember), then uncomment."}})
		mapped["memberof"] = true
	case f.Flavor == DS389:
		add(line{key: "groups", value: "{ldap: memberOf, reference: Group}", comment: []string{
			"Read-only: the groups a user is in, from the MemberOf plugin (scim2ldap doctor checks it)."}}, "memberOf")
	case f.GroupClass == "groupOfUniqueNames":
		// slapd's memberof overlay keeps memberOf for groupOfNames' member unless
		// told otherwise (slapo-memberof(5): olcMemberOfGroupOC, olcMemberOfMemberAD).
		rt.attrs = append(rt.attrs, line{key: "groups", value: "{ldap: memberOf, reference: Group}", commented: true, comment: []string{
			"Read-only: the groups a user is in, from the memberOf overlay, which by default follows",
			"groupOfNames' member only: set olcMemberOfGroupOC: groupOfUniqueNames and",
			"olcMemberOfMemberAD: uniqueMember on it (slapo-memberof(5)), then uncomment."}})
		mapped["memberof"] = true
	default:
		add(line{key: "groups", value: "{ldap: memberOf, reference: Group}", comment: []string{
			"Read-only: the groups a user is in, from the memberOf overlay (scim2ldap doctor checks it)."}}, "memberOf")
	}
	if !d.ad() {
		d.defaults(rt)
	}
	rt.ext = d.offer(rt, UserExtension, "LDAPUser", "ldapUser", mapped)
	return rt
}

// ownClasses adds to rt's object classes those every counted user has
// besides inetOrgPerson and its superclasses (a structural subclass such as
// acmePerson, or an auxiliary class): new users are then made like the
// existing ones, and offer offers the attributes those classes allow. A class
// only some users have is left out (the gateway never adds an object class
// to an entry, so its attributes could be written to those users only), and
// so is one that requires an attribute inetOrgPerson does not (defaults could
// not fill it); posixAccount and shadowAccount have their own example
// (docs/examples/openldap-posix.yaml). Each left out is named in a comment.
func (d *drafter) ownClasses(rt *resType) {
	f := d.f
	known := map[string]bool{"extensibleobject": true, "posixaccount": true, "shadowaccount": true}
	for _, c := range f.Schema.Superclasses("inetOrgPerson") {
		known[strings.ToLower(c)] = true
	}
	must := map[string]bool{}
	for _, a := range f.Schema.Must("inetOrgPerson") {
		must[strings.ToLower(a)] = true
	}
	names := slices.SortedFunc(maps.Keys(f.UserClasses), func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	for _, c := range names {
		n := f.UserClasses[c]
		if known[strings.ToLower(c)] || !f.Schema.HasObjectClass(c) || containsFold(rt.classes, c) {
			continue
		}
		var extra []string
		for _, a := range f.Schema.Must(c) {
			if !must[strings.ToLower(a)] {
				extra = append(extra, a)
			}
		}
		switch {
		case n < f.CountedUsers:
			rt.notes = append(rt.notes, fmt.Sprintf("%s (on %d of the %d users) is left out of objectClasses: the gateway never adds an object class to an entry.", c, n, f.CountedUsers))
		case len(extra) > 0:
			rt.notes = append(rt.notes, fmt.Sprintf("%s is left out of objectClasses: it requires %s, which nothing fills for new users (add defaults, then the class).", c, strings.Join(extra, ", ")))
		default:
			rt.classes = append(rt.classes, c)
		}
	}
}

// defaults fills the object classes' MUST attributes other than the RDN, as
// mappings.example.yaml does for inetOrgPerson's cn and sn: a client may leave
// out the SCIM attribute mapped to one (name is not required by RFC 7643), and
// the directory would refuse the entry.
func (d *drafter) defaults(rt *resType) {
	for _, c := range rt.classes {
		for _, must := range d.f.Schema.Must(c) {
			k := strings.ToLower(must)
			if k == "objectclass" || strings.EqualFold(must, rt.rdn) ||
				slices.ContainsFunc(rt.defaults, func(x [2]string) bool { return strings.EqualFold(x[0], must) }) {
				continue
			}
			v := `"{userName}"`
			if k == "cn" || k == "commonname" {
				v = "\n          - \"{name.givenName} {name.familyName}\"\n          - \"{displayName}\"\n          - \"{userName}\""
			}
			rt.defaults = append(rt.defaults, [2]string{d.name(must), v})
		}
	}
	sort.SliceStable(rt.defaults, func(i, j int) bool { return strings.ToLower(rt.defaults[i][0]) < strings.ToLower(rt.defaults[j][0]) })
}

// groupType drafts the Group resource type.
func (d *drafter) groupType() *resType {
	f := d.f
	rt := &resType{name: "Group", endpoint: "/Groups", schema: "urn:ietf:params:scim:schemas:core:2.0:Group",
		base: f.Groups.DN, scope: f.Groups.Scope, rdn: "cn"}
	rt.notes = append(rt.notes, f.Groups.How+".")
	for _, o := range first(f.Groups.Others, 5) {
		rt.notes = append(rt.notes, fmt.Sprintf("Also %d in %s: add it with bases: [...] or a common base with scope: sub.", o.Count, o.DN))
	}
	mapped := map[string]bool{"cn": true}
	if d.ad() {
		rt.filter = "(&(objectClass=group)(!(isCriticalSystemObject=TRUE)))"
		rt.notes = append(rt.notes, "isCriticalSystemObject leaves out the groups the domain needs (Domain Admins…).")
		rt.classes = []string{"top", "group"}
		rt.computed = append(rt.computed, [2]string{"sAMAccountName", "displayName"})
		rt.attrs = append(rt.attrs, line{key: "displayName", value: "{ldap: cn, uniqueness: server}"},
			line{key: "members", value: "{ldap: member, reference: [User, Group]}",
				comment: []string{"An AD group may be empty: no placeholder. Long member lists are read in ranges."}})
		mapped["member"], mapped["samaccountname"] = true, true
	} else {
		member := "member"
		if f.GroupClass == "groupOfUniqueNames" {
			member = "uniqueMember"
		}
		rt.filter = "(objectClass=" + f.GroupClass + ")"
		rt.classes = []string{f.GroupClass}
		rt.attrs = append(rt.attrs, line{key: "displayName", value: "{ldap: cn, uniqueness: server}"},
			line{key: "members", value: "{ldap: " + member + `, reference: [User, Group], placeholder: ""}`,
				comment: []string{f.GroupClass + " MUST have a " + member + ": an empty group keeps an empty-DN placeholder",
					"value, which SCIM clients never see."}})
		mapped[strings.ToLower(member)] = true
	}
	rt.ext = d.offer(rt, GroupExtension, "LDAPGroup", "ldapGroup", mapped)
	return rt
}

// offer builds the extension schema of the attributes rt's object classes
// allow that nothing maps: typed by SCIMType from their syntax, multi-valued
// unless SINGLE-VALUE. Left out: attributes only the directory writes
// (NO-USER-MODIFICATION, operational USAGE), OBSOLETE ones, objectClass, and
// the security-relevant ones (securityRelevant; named in rt.withheld).
func (d *drafter) offer(rt *resType, id, name, alias string, mapped map[string]bool) *extSchema {
	for _, c := range rt.computed {
		mapped[strings.ToLower(c[0])] = true
	}
	for _, c := range rt.defaults {
		mapped[strings.ToLower(c[0])] = true
	}
	mapped[strings.ToLower(rt.rdn)] = true
	ext := &extSchema{id: id, name: name, alias: alias,
		desc: "The other attributes " + strings.Join(rt.classes, ", ") + " allow (drafted from the directory's schema)"}
	seen := map[string]bool{}
	for _, a := range d.allowedBy(rt.classes) {
		at, ok := d.f.Schema.Attribute(a)
		k := strings.ToLower(at.Name)
		if !ok || seen[k] || mapped[k] || mapped[strings.ToLower(a)] || k == "objectclass" || at.NoUserModification || at.Operational || at.Obsolete {
			continue
		}
		seen[k] = true
		if securityRelevant(k) {
			rt.withheld = append(rt.withheld, at.Name)
			continue
		}
		ldapName := at.Name
		if binaryTransfer(at.Syntax) {
			ldapName += ";binary"
		}
		ext.attrs = append(ext.attrs, extAttr{name: at.Name, ldap: ldapName, typ: SCIMType(at.Syntax), syntax: at.Syntax, multi: !at.SingleValue})
	}
	slices.SortFunc(rt.withheld, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	if len(ext.attrs) == 0 {
		return nil
	}
	sort.Slice(ext.attrs, func(i, j int) bool { return strings.ToLower(ext.attrs[i].name) < strings.ToLower(ext.attrs[j].name) })
	rt.extensions = append(rt.extensions, id)
	return ext
}

// withheldAttributes are the attributes (lower case) offer never offers,
// whatever --map-all says: every mapped attribute is readable by every SCIM
// client and writable by every read-write one, and these decide who may log
// on, as what, and with which rights. Active Directory: the security
// descriptor and what the drafted filter and lock rely on (MS-ADTS §6.1.1.2
// isCriticalSystemObject, objectCategory; MS-ADA3 userAccountControl),
// delegation and service principal names (MS-SFU; Kerberos), certificate
// and key mappings (altSecurityIdentities, msDS-KeyCredentialLink), SID
// history, the primary group, logon scripts and restrictions, group type and
// manager (who may edit a group's members); any directory: passwords and
// their hashes (names with "password" or "pwd"), PKCS #12 private keys
// (RFC 2798 userPKCS12).
var withheldAttributes = map[string]bool{
	"ntsecuritydescriptor": true, "objectcategory": true, "instancetype": true, "iscriticalsystemobject": true,
	"showinadvancedviewonly": true, "systemflags": true, "isdeleted": true, "isrecycled": true, "admincount": true,
	"primarygroupid": true, "serviceprincipalname": true, "msds-allowedtodelegateto": true,
	"msds-allowedtoactonbehalfofotheridentity": true, "msds-keycredentiallink": true, "altsecurityidentities": true,
	"sidhistory": true, "scriptpath": true, "userparameters": true, "userworkstations": true, "logonhours": true,
	"accountexpires": true, "lockouttime": true, "useraccountcontrol": true, "msds-user-account-control-computed": true,
	"msds-supportedencryptiontypes": true, "msds-assignedauthnpolicy": true, "msds-assignedauthnpolicysilo": true,
	"grouptype": true, "managedby": true, "msds-groupmsamembership": true, "msds-hostserviceaccount": true,
	"supplementalcredentials": true, "userpkcs12": true,
}

// securityRelevant reports whether the attribute (lower case) is one offer
// never offers (withheldAttributes, or a password or its hash).
func securityRelevant(k string) bool {
	return withheldAttributes[k] || strings.Contains(k, "password") || strings.Contains(k, "pwd")
}

// name spells attr as the directory's schema does.
func (d *drafter) name(attr string) string {
	if at, ok := d.f.Schema.Attribute(attr); ok {
		return at.Name
	}
	return attr
}

// dnsDomain is the DNS name of an AD domain from its DN (DC=example,DC=test →
// example.test), "" when the DN is not all DC= components.
func dnsDomain(dn string) string {
	var parts []string
	for _, rdn := range strings.Split(dn, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(rdn), "=")
		if !ok || !strings.EqualFold(k, "dc") {
			return ""
		}
		parts = append(parts, strings.ToLower(v))
	}
	return strings.Join(parts, ".")
}

func first[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}
