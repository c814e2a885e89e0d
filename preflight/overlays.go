package preflight

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// configReader holds what was read of OpenLDAP's cn=config (slapd-config(5)):
// the database whose olcSuffix holds the mapping's bases, its overlays, and
// the frontend (global limits).
type configReader struct {
	store    *ldapstore.Store // nil when the main connection read it
	db       *ldap.Entry
	overlays []*ldap.Entry // olcOverlay entries under db
	frontend *ldap.Entry
}

func (c *configReader) close() {
	if c.store != nil {
		c.store.Close()
	}
}

// openConfigReader prepares to read cn=config with the config bind of opts,
// or else with the gateway's own bind (some sites grant it); nil when the
// directory has no cn=config (Active Directory) or the config bind fails (err).
func openConfigReader(opts Options, cfg ldapstore.Config) (*configReader, error) {
	if opts.Mapping.Dialect.IsAD() || opts.Mapping.Dialect.Flavor == mapping.Flavor389DS { // 389 DS: checkDS389
		return nil, nil
	}
	c := &configReader{}
	if opts.ConfigBindDN != "" {
		cc := cfg
		cc.BindDN, cc.BindPassword = opts.ConfigBindDN, opts.ConfigBindPassword
		s, err := ldapstore.Open(cc)
		if err != nil {
			return nil, err
		}
		c.store = s
	}
	return c, nil
}

// load reads the config entries with store (the config bind's, or the main one).
func (c *configReader) load(ctx context.Context, main *ldapstore.Store, m *mapping.Mapping) bool {
	s := c.store
	if s == nil {
		s = main
	}
	res, err := s.Search(ctx, ldap.NewSearchRequest("cn=config", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(|(objectClass=olcDatabaseConfig)(objectClass=olcOverlayConfig))", []string{"*"}, nil))
	if err != nil || len(res.Entries) == 0 || len(m.Types) == 0 {
		return false
	}
	base, _ := ldap.ParseDN(m.Types[0].Base)
	best := -1
	for _, e := range res.Entries {
		if strings.HasPrefix(strings.ToLower(e.DN), "olcdatabase={-1}frontend,") {
			c.frontend = e
		}
		for _, suffix := range e.GetEqualFoldAttributeValues("olcSuffix") {
			sd, err := ldap.ParseDN(suffix)
			if err == nil && base != nil && (sd.EqualFold(base) || sd.AncestorOfFold(base)) && len(sd.RDNs) > best {
				c.db, best = e, len(sd.RDNs)
			}
		}
	}
	if c.db == nil {
		return false
	}
	for _, e := range res.Entries {
		if strings.HasSuffix(strings.ToLower(e.DN), ","+strings.ToLower(c.db.DN)) && e.GetEqualFoldAttributeValue("olcOverlay") != "" {
			c.overlays = append(c.overlays, e)
		}
	}
	return true
}

var indexPrefix = regexp.MustCompile(`^\{-?\d+\}`)

// overlay returns the database's overlay named name (memberof, refint,
// ppolicy, sssvlv), or nil.
func (c *configReader) overlay(name string) *ldap.Entry {
	for _, e := range c.overlays {
		if strings.EqualFold(indexPrefix.ReplaceAllString(e.GetEqualFoldAttributeValue("olcOverlay"), ""), name) {
			return e
		}
	}
	return nil
}

// needs says which of the directory's features the mapping depends on.
type needs struct {
	memberOf   bool     // a read-only reference attribute memberOf (the groups a user is in)
	references []string // LDAP attributes holding DNs the gateway writes (member, manager)
	ppolicy    bool     // the account lock is ppolicy's pwdAccountLockedTime
	searched   []string // attributes the gateway searches by equality
}

func mappingNeeds(m *mapping.Mapping) needs {
	var n needs
	add := func(list *[]string, a string) {
		if !slices.ContainsFunc(*list, func(b string) bool { return strings.EqualFold(a, b) }) {
			*list = append(*list, a)
		}
	}
	add(&n.searched, m.Dialect.ID)
	add(&n.searched, "objectClass")
	for _, rt := range m.Types {
		for _, a := range rt.Attrs {
			switch {
			case a.IsReference() && !a.Writable() && strings.EqualFold(a.LDAP, "memberOf"):
				n.memberOf = true
				add(&n.searched, a.LDAP)
			case a.IsReference():
				add(&n.references, a.LDAP)
				add(&n.searched, a.LDAP)
			case a.Uniqueness == mapping.UniquenessServer:
				add(&n.searched, a.LDAP)
			case strings.EqualFold(a.LDAP, "pwdAccountLockedTime"):
				n.ppolicy = true
			}
		}
	}
	return n
}

// overlayLDIF is the cn=config change that adds an overlay to the database db.
func overlayLDIF(db, module, body string) string {
	return fmt.Sprintf("as cn=config's administrator:\nldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\ndn: cn=module{0},cn=config\nchangetype: modify\nadd: olcModuleLoad\nolcModuleLoad: %s\n\n"+
		"dn: olcOverlay=%s,%s\nchangetype: add\n%s\nEOF\n(skip the first change if the module is loaded already; on slapd.conf: moduleload %s.la and overlay %s)",
		module, module, db, body, module, module)
}

func (r *run) dbDN() string {
	if r.config != nil && r.config.db != nil {
		return r.config.db.DN
	}
	return "olcDatabase={1}mdb,cn=config"
}

// checkOverlays reports the OpenLDAP overlays the mapping depends on, read
// from cn=config when it can be read, otherwise inferred from the schema and
// the root DSE; and sssvlv/VLV, which sorting and deep paging need, from the
// root DSE on any directory.
func (r *run) checkOverlays() {
	n := mappingNeeds(r.m)
	haveConfig := r.config != nil
	if !r.m.Dialect.IsAD() && r.m.Dialect.Flavor != mapping.Flavor389DS { // 389 DS's plugins: checkDS389
		r.checkMemberOf(n, haveConfig)
		r.checkRefint(n, haveConfig)
		r.checkPPolicy(n, haveConfig)
	}
	sort, vlv := r.store.Supports(ldapstore.OIDServerSideSort), r.store.Supports(ldapstore.OIDVLVRequest)
	switch {
	case sort && vlv:
		r.add(Finding{Check: "overlay.sssvlv", Severity: OK, Message: "the directory supports server-side sorting (RFC 2891) and VLV: sortBy and deep pages work"})
	case r.m.Dialect.IsAD():
		r.add(Finding{Check: "overlay.sssvlv", Severity: Warning, Message: "the directory does not advertise server-side sorting and VLV: sortBy answers 400"})
	default:
		r.add(Finding{Check: "overlay.sssvlv", Severity: Warning, Subject: "sssvlv",
			Message: "the directory does not advertise server-side sorting (RFC 2891) and VLV: sortBy answers 400, and pages past the directory's size limit answer 400 tooMany",
			Fix: overlayLDIF(r.dbDN(), "sssvlv", "objectClass: olcOverlayConfig\nobjectClass: olcSssVlvConfig\nolcOverlay: sssvlv\n"+
				"olcSssVlvMax: 16\nolcSssVlvMaxKeys: 5\nolcSssVlvMaxPerConn: 16")})
	}
}

const needConfig = "give --config-bind-dn (e.g. cn=admin,cn=config) so doctor can read cn=config"

func (r *run) checkMemberOf(n needs, haveConfig bool) {
	if !n.memberOf {
		return
	}
	fix := overlayLDIF(r.dbDN(), "memberof", "objectClass: olcOverlayConfig\nobjectClass: olcMemberOf\nolcOverlay: memberof\n"+
		"olcMemberOfDangling: ignore\nolcMemberOfRefInt: TRUE\nolcMemberOfGroupOC: groupOfNames\nolcMemberOfMemberAD: member\nolcMemberOfMemberOfAD: memberOf")
	switch {
	case haveConfig && r.config.overlay("memberof") == nil:
		r.add(Finding{Check: "overlay.memberof", Severity: Error, Subject: r.config.db.DN,
			Message: "the mapping reads the groups of a user from memberOf, but the memberof overlay is not configured on " + r.config.db.DN + ": every user's groups would be empty", Fix: fix})
	case haveConfig:
		o := r.config.overlay("memberof")
		dangling := o.GetEqualFoldAttributeValue("olcMemberOfDangling")
		if dangling == "" {
			dangling = "ignore"
		}
		msg := fmt.Sprintf("the memberof overlay maintains memberOf (dangling: %s, refint: %s)", dangling, orDefault(o.GetEqualFoldAttributeValue("olcMemberOfRefInt"), "FALSE"))
		if !strings.EqualFold(dangling, "error") && !strings.EqualFold(dangling, "drop") && !strings.EqualFold(dangling, "ignore") {
			msg += "; unknown dangling policy"
		}
		r.add(Finding{Check: "overlay.memberof", Severity: OK, Subject: o.DN, Message: msg})
	case r.schema != nil && !r.schema.HasAttribute("memberOf"):
		r.add(Finding{Check: "overlay.memberof", Severity: Error, Subject: "memberof",
			Message: "the mapping reads the groups of a user from memberOf, but the directory's schema has no memberOf: the memberof overlay is not loaded", Fix: fix})
	default:
		r.add(Finding{Check: "overlay.memberof", Severity: OK, Subject: "memberof",
			Message: "memberOf is in the directory's schema (the memberof module is loaded); whether the overlay is on this database was not read: " + needConfig})
	}
}

func (r *run) checkRefint(n needs, haveConfig bool) {
	if len(n.references) == 0 {
		return
	}
	var attrs strings.Builder
	for _, a := range append(slices.Clone(n.references), map[bool]string{true: "memberOf", false: ""}[n.memberOf]) {
		if a != "" {
			attrs.WriteString("\nolcRefintAttribute: " + a)
		}
	}
	fix := overlayLDIF(r.dbDN(), "refint", "objectClass: olcOverlayConfig\nobjectClass: olcRefintConfig\nolcOverlay: refint"+attrs.String())
	switch {
	case !haveConfig:
		r.add(Finding{Check: "overlay.refint", Severity: Skipped, Subject: "refint", Message: "whether refint keeps " + strings.Join(n.references, ", ") + " consistent was not read: " + needConfig})
	case r.config.overlay("refint") == nil:
		r.add(Finding{Check: "overlay.refint", Severity: Warning, Subject: r.config.db.DN,
			Message: "the refint overlay is not configured: the gateway keeps the references it writes (" + strings.Join(n.references, ", ") + ") itself, but an entry deleted or renamed by another LDAP client leaves stale DNs behind",
			Fix:     fix})
	default:
		have := r.config.overlay("refint").GetEqualFoldAttributeValues("olcRefintAttribute")
		var lacking []string
		for _, a := range n.references {
			if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, a) }) {
				lacking = append(lacking, a)
			}
		}
		if len(lacking) > 0 {
			r.add(Finding{Check: "overlay.refint", Severity: Warning, Subject: r.config.overlay("refint").DN,
				Message: "refint does not keep " + strings.Join(lacking, ", ") + " consistent",
				Fix:     fmt.Sprintf("ldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\ndn: %s\nchangetype: modify\nadd: olcRefintAttribute\nolcRefintAttribute: %s\nEOF", r.config.overlay("refint").DN, strings.Join(lacking, "\nolcRefintAttribute: "))})
		} else {
			r.add(Finding{Check: "overlay.refint", Severity: OK, Subject: r.config.overlay("refint").DN, Message: "refint keeps " + strings.Join(n.references, ", ") + " consistent"})
		}
	}
}

func (r *run) checkPPolicy(n needs, haveConfig bool) {
	if !n.ppolicy {
		return
	}
	suffix := ""
	if haveConfig {
		suffix = r.config.db.GetEqualFoldAttributeValue("olcSuffix")
	}
	fix := overlayLDIF(r.dbDN(), "ppolicy", "objectClass: olcOverlayConfig\nobjectClass: olcPPolicyConfig\nolcOverlay: ppolicy\n"+
		"olcPPolicyDefault: cn=default,ou=policies,"+orDefault(suffix, "<suffix>")+"\nolcPPolicyHashCleartext: TRUE\nolcPPolicyUseLockout: TRUE")
	switch {
	case haveConfig && r.config.overlay("ppolicy") == nil:
		r.add(Finding{Check: "overlay.ppolicy", Severity: Error, Subject: r.config.db.DN,
			Message: "the mapping deactivates users with ppolicy's pwdAccountLockedTime, but the ppolicy overlay is not configured on " + r.config.db.DN + ": a deactivated user could still bind", Fix: fix})
	case haveConfig:
		o := r.config.overlay("ppolicy")
		if o.GetEqualFoldAttributeValue("olcPPolicyDefault") == "" {
			r.add(Finding{Check: "overlay.ppolicy", Severity: Warning, Subject: o.DN,
				Message: "ppolicy has no default policy (olcPPolicyDefault): a lock applies only to entries with a pwdPolicySubentry",
				Fix:     fmt.Sprintf("ldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\ndn: %s\nchangetype: modify\nreplace: olcPPolicyDefault\nolcPPolicyDefault: cn=default,ou=policies,%s\nEOF\n(and add that pwdPolicy entry)", o.DN, orDefault(suffix, "<suffix>"))})
		} else {
			r.add(Finding{Check: "overlay.ppolicy", Severity: OK, Subject: o.DN, Message: "the ppolicy overlay enforces the lock (default policy " + o.GetEqualFoldAttributeValue("olcPPolicyDefault") + ")"})
		}
	case r.schema != nil && !r.schema.HasAttribute("pwdAccountLockedTime"):
		r.add(Finding{Check: "overlay.ppolicy", Severity: Error, Subject: "ppolicy",
			Message: "the mapping deactivates users with pwdAccountLockedTime, but the directory's schema lacks it: the ppolicy overlay is not loaded", Fix: fix})
	default:
		r.add(Finding{Check: "overlay.ppolicy", Severity: Skipped, Subject: "ppolicy",
			Message: "pwdAccountLockedTime is in the schema, but whether the ppolicy overlay enforces it on this database (or a deactivated user can still bind) was not read: " + needConfig})
	}
}

// checkIndexes reports attributes the gateway searches by equality that the
// database does not index (olcDbIndex): each such search reads every entry
// under the base.
func (r *run) checkIndexes(context.Context) {
	if r.m.Dialect.IsAD() || r.m.Dialect.Flavor == mapping.Flavor389DS { // 389 DS: docs/directory.md lists the indexes
		return
	}
	n := mappingNeeds(r.m)
	if r.config == nil {
		r.add(Finding{Check: "index", Severity: Skipped, Message: "the database's indexes (olcDbIndex) were not read: " + needConfig})
		return
	}
	eq := map[string]bool{}
	for _, line := range r.config.db.GetEqualFoldAttributeValues("olcDbIndex") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		kinds := "eq" // an index line without types means the default, eq (slapd-mdb(5))
		if len(f) > 1 {
			kinds = strings.ToLower(f[1])
		}
		for _, a := range strings.Split(f[0], ",") {
			if slices.Contains(strings.Split(kinds, ","), "eq") || slices.Contains(strings.Split(kinds, ","), "equality") {
				eq[strings.ToLower(a)] = true
			}
		}
	}
	if eq["default"] {
		eq = map[string]bool{} // "default" only sets the types for lines without any
	}
	var lacking []string
	for _, a := range n.searched {
		if !eq[strings.ToLower(a)] {
			lacking = append(lacking, a)
		}
	}
	if len(lacking) == 0 {
		r.add(Finding{Check: "index", Severity: OK, Subject: r.config.db.DN, Message: "every attribute the gateway searches by is indexed for equality: " + strings.Join(n.searched, ", ")})
		return
	}
	r.add(Finding{Check: "index", Severity: Warning, Subject: r.config.db.DN,
		Message: "no equality index on " + strings.Join(lacking, ", ") + ": the gateway searches by them (ids, uniqueness, references), and each such search reads every entry",
		Fix: fmt.Sprintf("ldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\ndn: %s\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: %s eq\nEOF",
			r.config.db.DN, strings.Join(lacking, ","))})
}

// limitRE matches one limit of an olcSizeLimit, olcTimeLimit or olcLimits
// value (slapd-config(5), slapd.conf(5) "limits"): "500", "size=500",
// "size.soft=500", "time.hard=unlimited"… The kind (size, time) is checked by
// the caller: a bare number counts for the attribute it stands in.
var limitRE = regexp.MustCompile(`(?i)(?:^|\s)(?:(size|time)(?:\.(soft|hard|pr|prtotal|unchecked))?=)?(unlimited|-?\d+)(?:\s|$)`)

// softLimit reads the soft limit of kind ("size" or "time") from v: -1 for
// unlimited; ok is false when v names none. bare says whether a number
// without a kind counts (olcSizeLimit, olcTimeLimit; not olcLimits).
func softLimit(v, kind string, bare bool) (int, bool) {
	for _, m := range limitRE.FindAllStringSubmatch(v, -1) {
		if (m[1] == "" && !bare) || (m[1] != "" && !strings.EqualFold(m[1], kind)) || (m[2] != "" && !strings.EqualFold(m[2], "soft")) {
			continue
		}
		if strings.EqualFold(m[3], "unlimited") || m[3] == "-1" {
			return -1, true
		}
		n, err := strconv.Atoi(m[3])
		return n, err == nil
	}
	return 0, false
}

// configLimit is the soft limit of kind that slapd applies to the bind
// account: the first olcLimits rule naming it (or users, or *) that sets one,
// else the database's, else the frontend's olcSizeLimit/olcTimeLimit, else
// slapd's default (500 entries, 3600 s). ok is false for the rootDN, which
// no limit applies to.
func (c *configReader) limit(bindDN, kind string) (limit int, from string, ok bool) {
	if strings.EqualFold(c.db.GetEqualFoldAttributeValue("olcRootDN"), bindDN) {
		return 0, "", false
	}
	for _, l := range c.db.GetEqualFoldAttributeValues("olcLimits") {
		l = indexPrefix.ReplaceAllString(l, "")
		lower := strings.ToLower(l)
		if strings.Contains(lower, strings.ToLower(`"`+bindDN+`"`)) || strings.HasPrefix(lower, "users ") || strings.HasPrefix(l, "* ") {
			if v, ok := softLimit(l, kind, false); ok {
				return v, "olcLimits: " + l, true
			}
		}
	}
	attr := map[string]string{"size": "olcSizeLimit", "time": "olcTimeLimit"}[kind]
	for _, e := range []*ldap.Entry{c.db, c.frontend} {
		if e == nil {
			continue
		}
		if v, ok := softLimit(e.GetEqualFoldAttributeValue(attr), kind, true); ok {
			return v, attr + " of " + e.DN, true
		}
	}
	return map[string]int{"size": 500, "time": 3600}[kind], "slapd's default", true
}

// checkLimits compares the directory's limits for the bind account with the
// gateway's: the size limit with SCIM2LDAP_MAX_PAGE_SIZE, the time limit with
// the per-operation timeout (SCIM2LDAP_LDAP_TIMEOUT). From cn=config when it
// can be read; otherwise the size limit is measured by asking for
// MaxPageSize+1 entries and seeing the directory stop earlier.
func (r *run) checkLimits(ctx context.Context) {
	max := r.opts.MaxPageSize
	if r.config != nil {
		limit, from, ok := r.config.limit(r.opts.LDAP.BindDN, "size")
		if !ok {
			r.add(Finding{Check: "limits.size", Severity: OK, Message: "the bind account is the database's rootDN: no size or time limit applies (a least-privilege service account is safer)"})
			return
		}
		r.limitFinding(limit, from)
		timeout := r.opts.LDAP.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		switch secs, from, _ := r.config.limit(r.opts.LDAP.BindDN, "time"); {
		case secs >= 0 && time.Duration(secs)*time.Second < timeout:
			r.add(Finding{Check: "limits.time", Severity: Warning,
				Message: fmt.Sprintf("the bind account's time limit is %d s (%s), below SCIM2LDAP_LDAP_TIMEOUT (%s): a long search (a big group, an unindexed filter) ends with 3 timeLimitExceeded first", secs, from, timeout),
				Fix: fmt.Sprintf("ldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\ndn: %s\nchangetype: modify\nadd: olcLimits\n"+
					"olcLimits: dn.exact=\"%s\" time.soft=%d time.hard=%d\nEOF", r.dbDN(), orDefault(r.opts.LDAP.BindDN, "<service account DN>"), int(timeout.Seconds()), int(timeout.Seconds()))})
		default:
			r.add(Finding{Check: "limits.time", Severity: OK, Message: fmt.Sprintf("the time limit (%s) allows operations of SCIM2LDAP_LDAP_TIMEOUT (%s)", from, timeout)})
		}
		return
	}
	if len(r.m.Types) == 0 {
		return
	}
	rt := r.m.Types[0]
	res, err := r.store.Search(ctx, ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, max+1, 0, false, rt.Filter, []string{"1.1"}, nil))
	switch {
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil:
		r.limitFinding(len(res.Entries), "the directory stopped a search there")
	case err != nil:
		r.add(Finding{Check: "limits.size", Severity: Skipped, Message: fmt.Sprintf("could not measure the size limit: %v", err)})
	default:
		r.add(Finding{Check: "limits.size", Severity: OK, Message: fmt.Sprintf("no size limit below SCIM2LDAP_MAX_PAGE_SIZE (%d) was hit (%d %s entries read)", max, len(res.Entries), rt.Name)})
	}
}

func (r *run) limitFinding(limit int, from string) {
	max := r.opts.MaxPageSize
	if limit < 0 || limit >= max {
		r.add(Finding{Check: "limits.size", Severity: OK, Message: fmt.Sprintf("the size limit (%s) allows pages of SCIM2LDAP_MAX_PAGE_SIZE (%d)", orDefault(map[bool]string{true: "unlimited"}[limit < 0], strconv.Itoa(limit)), max)})
		return
	}
	who := orDefault(r.opts.LDAP.BindDN, "<service account DN>")
	r.add(Finding{Check: "limits.size", Severity: Warning,
		Message: fmt.Sprintf("the bind account's size limit is %d (%s), below SCIM2LDAP_MAX_PAGE_SIZE (%d): larger pages come back shorter, or 400 tooMany without VLV", limit, from, max),
		Fix: fmt.Sprintf("raise it for the service account:\nldapmodify -Y EXTERNAL -H ldapi:/// <<'EOF'\ndn: %s\nchangetype: modify\nadd: olcLimits\n"+
			"olcLimits: dn.exact=\"%s\" size.soft=%d size.hard=%d size.pr=unlimited\nEOF\nor lower SCIM2LDAP_MAX_PAGE_SIZE to %d", r.dbDN(), who, max, max, limit)})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkAD reads Active Directory's constructed effective rights (MS-ADTS
// §3.1.1.4.5.7 allowedChildClassesEffective, §3.1.1.4.5.8
// allowedAttributesEffective) on each base and on one entry of each type: may
// the account create the type's object class, and write the mapped attributes,
// userAccountControl (deactivation) and unicodePwd (passwords).
func (r *run) checkAD(ctx context.Context, missing map[string]bool) {
	for _, rt := range r.m.Types {
		if missing[rt.Name] || len(rt.ObjectClasses) == 0 {
			continue
		}
		class := rt.ObjectClasses[len(rt.ObjectClasses)-1]
		res, err := r.store.Search(ctx, ldap.NewSearchRequest(rt.Base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)",
			[]string{"allowedChildClassesEffective"}, nil))
		if err != nil || len(res.Entries) == 0 {
			r.add(Finding{Check: "ad.rights", Severity: Skipped, Subject: rt.Base, Message: fmt.Sprintf("could not read allowedChildClassesEffective of %s: %v", rt.Base, err)})
			continue
		}
		if !slices.ContainsFunc(res.Entries[0].GetEqualFoldAttributeValues("allowedChildClassesEffective"), func(c string) bool { return strings.EqualFold(c, class) }) {
			r.add(Finding{Check: "ad.rights", Severity: Error, Subject: rt.Base,
				Message: fmt.Sprintf("%s: the service account may not create %s objects under %s", rt.Name, class, rt.Base),
				Fix:     fmt.Sprintf("delegate it on the OU: dsacls \"%s\" /I:T /G \"<DOMAIN>\\<account>:CCDC;%s\" (or Delegate Control…: Create, delete, and manage %s accounts)", rt.Base, class, class)})
		} else {
			r.add(Finding{Check: "ad.rights", Severity: OK, Subject: rt.Base, Message: fmt.Sprintf("%s: may create %s objects under %s", rt.Name, class, rt.Base)})
		}
		one, err := r.store.Search(ctx, ldap.NewSearchRequest(rt.Base, rt.Scope, ldap.NeverDerefAliases, 1, 0, false, rt.Filter,
			[]string{"allowedAttributesEffective"}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || one == nil || len(one.Entries) == 0 {
			r.add(Finding{Check: "ad.rights", Severity: Skipped, Subject: rt.Base, Message: fmt.Sprintf("%s: no entry under %s to read allowedAttributesEffective of", rt.Name, rt.Base)})
			continue
		}
		have := one.Entries[0].GetEqualFoldAttributeValues("allowedAttributesEffective")
		var lacking []string
		for _, a := range rt.Attrs {
			if !a.Writable() || a.Password || slices.Contains(lacking, a.LDAP) {
				continue
			}
			if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, a.LDAP) }) {
				lacking = append(lacking, a.LDAP)
			}
		}
		if len(lacking) > 0 {
			var grants []string
			for _, a := range lacking {
				grants = append(grants, fmt.Sprintf("dsacls \"%s\" /I:S /G \"<DOMAIN>\\<account>:RPWP;%s;%s\"", rt.Base, a, class))
			}
			r.add(Finding{Check: "ad.rights", Severity: Error, Subject: one.Entries[0].DN,
				Message: fmt.Sprintf("%s: the service account may not write %s (allowedAttributesEffective of %s)", rt.Name, strings.Join(lacking, ", "), one.Entries[0].DN),
				Fix:     strings.Join(grants, "\n")})
		} else {
			r.add(Finding{Check: "ad.rights", Severity: OK, Subject: rt.Base, Message: fmt.Sprintf("%s: may write every mapped attribute (userAccountControl included, if mapped)", rt.Name)})
		}
		for _, a := range rt.Attrs {
			if a.Password {
				r.add(Finding{Check: "ad.rights", Severity: Skipped, Subject: rt.Base,
					Message: fmt.Sprintf("%s: the Reset Password right (unicodePwd) is a control access right that allowedAttributesEffective does not show", rt.Name),
					Fix:     fmt.Sprintf("grant it: dsacls \"%s\" /I:S /G \"<DOMAIN>\\<account>:CA;Reset Password;%s\"; scim2ldap doctor --write-probe does not prove it on AD", rt.Base, class)})
				break
			}
		}
	}
}
