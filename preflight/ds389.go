package preflight

import (
	"context"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// 389 Directory Server keeps its configuration under cn=config too, but as
// plugin entries (cn=<plugin>,cn=plugins,cn=config, nsslapd-pluginEnabled),
// not OpenLDAP's olc* objects; a new instance has the USN, MemberOf and
// Referential Integrity plugins off (Red Hat Directory Server 12,
// "Configuration and schema reference", plugin entries). dsconf changes them:
// `dsconf INSTANCE plugin usn enable` and a restart (`dsctl INSTANCE restart`).

// ds389Plugin is a plugin the gateway may depend on.
type ds389Plugin struct {
	check, dn, dsconf string
}

var (
	ds389USN      = ds389Plugin{"plugin.usn", "cn=USN,cn=plugins,cn=config", "usn"}
	ds389MemberOf = ds389Plugin{"plugin.memberof", "cn=MemberOf Plugin,cn=plugins,cn=config", "memberof"}
	ds389Refint   = ds389Plugin{"plugin.refint", "cn=referential integrity postoperation,cn=plugins,cn=config", "referential-integrity"}
)

func (p ds389Plugin) fix() string {
	return "as the Directory Manager, on the directory's host:\ndsconf INSTANCE plugin " + p.dsconf + " enable\ndsctl INSTANCE restart"
}

// checkDS389 reports the 389 DS plugins the mapping depends on. The USN
// plugin is read from the root DSE, which shows lastusn only while it is on
// (entryusn is the ETag: without it every version is empty and If-Match can
// never hold). MemberOf and Referential Integrity are read from their plugin
// entries, with the config bind (--config-bind-dn, e.g. cn=Directory Manager)
// or else the gateway's; Skipped when neither may read them.
func (r *run) checkDS389(ctx context.Context) {
	res, err := r.store.Search(ctx, ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"lastusn"}, nil))
	usn := err == nil && len(res.Entries) == 1 && len(res.Entries[0].Attributes) > 0
	if usn {
		r.add(Finding{Check: ds389USN.check, Severity: OK, Subject: ds389USN.dn, Message: "the USN plugin is on: entryusn changes on every write (the ETag)"})
	} else {
		r.add(Finding{Check: ds389USN.check, Severity: Error, Subject: ds389USN.dn,
			Message: "the root DSE shows no lastusn: the USN plugin is off, so entries have no entryusn, the version (ETag) of every resource would be empty and every If-Match would fail",
			Fix:     ds389USN.fix()})
	}
	n := mappingNeeds(r.m)
	store := r.store
	if r.opts.ConfigBindDN != "" {
		cfg := r.opts.LDAP
		cfg.BindDN, cfg.BindPassword, cfg.Conns, cfg.StartUnreachable = r.opts.ConfigBindDN, r.opts.ConfigBindPassword, 1, false
		s, err := ldapstore.Open(cfg)
		if err != nil {
			r.add(Finding{Check: "config", Severity: Warning, Subject: r.opts.ConfigBindDN,
				Message: "could not bind as " + r.opts.ConfigBindDN + ": " + err.Error() + "; the plugins are read with the gateway's bind instead",
				Fix:     "check --config-bind-dn and --config-password-file (e.g. cn=Directory Manager)"})
		} else {
			defer s.Close()
			store = s
		}
	}
	enabled := func(p ds389Plugin) (on, read bool) {
		res, err := store.Search(ctx, ldap.NewSearchRequest(p.dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"nsslapd-pluginEnabled"}, nil))
		if err != nil || len(res.Entries) != 1 || res.Entries[0].GetEqualFoldAttributeValue("nsslapd-pluginEnabled") == "" {
			return false, false
		}
		return strings.EqualFold(res.Entries[0].GetEqualFoldAttributeValue("nsslapd-pluginEnabled"), "on"), true
	}
	const unread = " was not read (the bind may not read cn=plugins,cn=config): give --config-bind-dn (e.g. cn=Directory Manager), or run `dsconf INSTANCE plugin %s status`"
	if n.memberOf {
		switch on, read := enabled(ds389MemberOf); {
		case !read:
			r.add(Finding{Check: ds389MemberOf.check, Severity: Skipped, Subject: ds389MemberOf.dn,
				Message: "whether the MemberOf plugin maintains memberOf" + strings.Replace(unread, "%s", ds389MemberOf.dsconf, 1)})
		case on:
			r.add(Finding{Check: ds389MemberOf.check, Severity: OK, Subject: ds389MemberOf.dn, Message: "the MemberOf plugin maintains memberOf"})
		default:
			r.add(Finding{Check: ds389MemberOf.check, Severity: Error, Subject: ds389MemberOf.dn,
				Message: "the mapping reads the groups of a user from memberOf, but the MemberOf plugin is off: every user's groups would be empty",
				Fix:     ds389MemberOf.fix()})
		}
	}
	if len(n.references) > 0 {
		refs := strings.Join(n.references, ", ")
		switch on, read := enabled(ds389Refint); {
		case !read:
			r.add(Finding{Check: ds389Refint.check, Severity: Skipped, Subject: ds389Refint.dn,
				Message: "whether the Referential Integrity plugin keeps " + refs + " consistent" + strings.Replace(unread, "%s", ds389Refint.dsconf, 1)})
		case on:
			r.add(Finding{Check: ds389Refint.check, Severity: OK, Subject: ds389Refint.dn,
				Message: "the Referential Integrity plugin is on (it and the gateway both remove and rename the references they find; the gateway's " + refs + " upkeep does not depend on it)"})
		default:
			r.add(Finding{Check: ds389Refint.check, Severity: Warning, Subject: ds389Refint.dn,
				Message: "the Referential Integrity plugin is off: the gateway keeps the references it writes (" + refs + ") itself, but an entry deleted or renamed by another LDAP client leaves stale DNs behind",
				Fix:     ds389Refint.fix() + "\n(its referint-membership-attr values must include " + refs + ")"})
		}
	}
}
