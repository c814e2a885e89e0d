package draft

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// Facts is what Read learnt of a live directory; Draft turns it into a mapping.
type Facts struct {
	URL    string // the directory's URL, named in the draft's header
	DSE    *ldapstore.RootDSE
	Schema *ldapstore.Schema
	Flavor Flavor
	Why    string // why Flavor (Detect)
	// FlavorOK: the mapping package accepts Flavor as directory.flavor (the
	// 389ds flavor arrives with its own change; until then 389 DS is drafted
	// as openldap, said so in a comment).
	FlavorOK bool
	Base     string // the naming context searched (AD: defaultNamingContext)
	Users    Container
	Groups   Container
	// GroupClass is the group object class the directory uses most:
	// groupOfNames or groupOfUniqueNames (RFC 4519 §3.5, §3.6), group on AD.
	GroupClass string
	// CountedUsers counts the users found anywhere under Base; PosixUsers and
	// ExtensibleUsers those of them that also have the posixAccount (RFC 2307)
	// or extensibleObject (RFC 4512 §4.3) object class.
	CountedUsers, PosixUsers, ExtensibleUsers int
	// UserClasses counts, per object class (spelt as first met), the
	// counted users that have it.
	UserClasses map[string]int
}

// Container is where entries of one kind live.
type Container struct {
	DN    string
	Scope string // one | sub (sub when entries also sit in containers below DN)
	Count int    // entries of the kind directly in DN (Scope one) or below it (sub)
	How   string // how it was found, for the draft's comment
	// Others are the other containers holding such entries, most first: the
	// admin may want them too (bases:, or scope: sub on a common ancestor).
	Others []Counted
}

// Counted is a container and the number of entries of one kind directly in it.
type Counted struct {
	DN    string
	Count int
}

// countPage is the paged-results page size (RFC 2696) of the counting searches:
// under AD's MaxPageSize (1000) and slapd's default size limit (500).
const countPage = 500

// Read reads the root DSE and the subschema subentry, detects the flavor, and
// finds the user and group containers by counting the entries of the person
// and group object classes under the naming context (entries the directory
// itself needs — AD's isCriticalSystemObject — are not counted). With none
// found it falls back on the usual names: ou=people, ou=users, cn=Users (AD's
// well-known Users container) and ou=groups. Errors are the directory's
// (unreachable, refused) or "no naming context".
func Read(ctx context.Context, store *ldapstore.Store, url string) (*Facts, error) {
	dse, err := store.ReadRootDSE(ctx)
	if err != nil {
		return nil, err
	}
	sc, err := store.ReadSchema(ctx)
	if err != nil {
		return nil, err
	}
	f := &Facts{URL: url, DSE: dse, Schema: sc}
	f.Flavor, f.Why = Detect(dse)
	f.FlavorOK = flavorAccepted(f.Flavor)
	f.Base = dse.DefaultNamingContext
	if f.Base == "" {
		for _, nc := range dse.NamingContexts {
			// Not the configuration, log and monitoring databases (slapd's cn=config,
			// cn=accesslog, cn=monitor; 389 DS's o=NetscapeRoot, cn=changelog).
			if !containsFold([]string{"cn=config", "cn=accesslog", "cn=monitor", "cn=changelog", "cn=schema", "o=netscaperoot"}, nc) {
				f.Base = nc
				break
			}
		}
	}
	if f.Base == "" {
		return nil, fmt.Errorf("the root DSE names no naming context (namingContexts): nothing to draft a mapping for")
	}
	ad := f.Flavor == ActiveDirectory
	userFilter, groupFilter := "(objectClass=inetOrgPerson)", "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
	if ad {
		userFilter = "(&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE)))"
		groupFilter = "(&(objectClass=group)(!(isCriticalSystemObject=TRUE)))"
	}
	f.UserClasses = map[string]int{}
	spelt := map[string]string{}
	users, err := count(ctx, store, f.Base, userFilter, func(e *ldap.Entry) {
		f.CountedUsers++
		ocs := e.GetEqualFoldAttributeValues("objectClass")
		for _, oc := range ocs {
			k := strings.ToLower(oc)
			if spelt[k] == "" {
				spelt[k] = oc
			}
			f.UserClasses[spelt[k]]++
		}
		if containsFold(ocs, "posixAccount") {
			f.PosixUsers++
		}
		if containsFold(ocs, "extensibleObject") {
			f.ExtensibleUsers++
		}
	})
	if err != nil {
		return nil, err
	}
	unique, names := 0, 0
	groups, err := count(ctx, store, f.Base, groupFilter, func(e *ldap.Entry) {
		ocs := e.GetEqualFoldAttributeValues("objectClass")
		if containsFold(ocs, "groupOfUniqueNames") {
			unique++
		} else if containsFold(ocs, "groupOfNames") {
			names++
		}
	})
	if err != nil {
		return nil, err
	}
	f.GroupClass = "groupOfNames"
	switch {
	case ad:
		f.GroupClass = "group"
	case unique > names:
		f.GroupClass = "groupOfUniqueNames"
	}
	userNames, groupNames := []string{"ou=people", "ou=users", "cn=users"}, []string{"ou=groups", "ou=group", "cn=groups"}
	if ad {
		userNames, groupNames = []string{"cn=Users"}, []string{"cn=Users"} // AD's well-known Users container holds both
	}
	if f.Users, err = pick(ctx, store, f.Base, users, userNames, "users"); err != nil {
		return nil, err
	}
	if f.Groups, err = pick(ctx, store, f.Base, groups, groupNames, "groups"); err != nil {
		return nil, err
	}
	return f, nil
}

// count walks filter under base (paged) and counts the matching entries by
// parent DN; each entry also goes to see.
func count(ctx context.Context, store *ldapstore.Store, base, filter string, see func(*ldap.Entry)) (map[string]int, error) {
	out := map[string]int{}
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"objectClass"}, nil)
	err := store.SearchPages(ctx, req, countPage, func(es []*ldap.Entry) bool {
		for _, e := range es {
			out[ParentDN(e.DN)]++
			see(e)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("counting %s under %s: %w", filter, base, err)
	}
	return out, nil
}

// Choose picks the container of entries counted by parent DN (counts): the
// deepest container whose subtree holds at least 80 % of them, with scope sub
// when some are in containers below it; when only the naming context does,
// the container whose subtree holds the most (or the naming context's own
// entries, scope one, when they are the most). The containers it leaves out
// are Others. kind ("users") words How.
func Choose(base string, counts map[string]int, kind string) Container {
	var all []Counted
	for dn, n := range counts {
		all = append(all, Counted{DN: dn, Count: n})
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].Count > all[j].Count || (all[i].Count == all[j].Count && len(all[i].DN) < len(all[j].DN))
	})
	// The deepest container whose subtree holds most (≥ 80 %) of the entries,
	// its own or those of containers below it (ou=staff over ou=eng,ou=staff
	// and ou=sales,ou=staff; ou=people over one stray entry elsewhere);
	// never above the naming context.
	under := map[string]int{}
	spell := map[string]string{}
	total := 0
	for _, c := range all {
		total += c.Count
		for p := c.DN; p != "" && !isBelow(base, p); p = ParentDN(p) {
			under[strings.ToLower(p)] += c.Count
			spell[strings.ToLower(p)] = p
			if strings.EqualFold(p, base) {
				break
			}
		}
	}
	best := ""
	for k, n := range under {
		if 5*n < 4*total {
			continue
		}
		if best == "" || depth(k) > depth(best) || (depth(k) == depth(best) && (n > under[best] || n == under[best] && k < best)) {
			best = k
		}
	}
	if best == "" { // not reached: the naming context holds them all
		best, spell[strings.ToLower(base)] = strings.ToLower(base), base
	}
	// Only the naming context holds 80 % (its subtree holds them all): serving
	// all of it would take in every such entry, the service and administrator
	// accounts among them, and create new entries at its top, where the
	// gateway's account may not write. Take the container holding the most
	// instead (the naming context's own entries, scope one, when they are
	// the most), and name the others for the admin to add.
	flat := false
	if kb := strings.ToLower(base); best == kb {
		direct := 0
		for _, c := range all {
			if strings.EqualFold(c.DN, base) {
				direct += c.Count
			}
		}
		if 5*direct < 4*total {
			most := ""
			for k, n := range under {
				if k != kb && (most == "" || n > under[most] || n == under[most] && (depth(k) > depth(most) || depth(k) == depth(most) && k < most)) {
					most = k
				}
			}
			if most != "" && under[most] > direct {
				best = most
			} else {
				flat, under[kb] = true, direct
			}
		}
	}
	c := Container{DN: spell[best], Scope: "one", Count: under[best]}
	for _, o := range all {
		switch {
		case isBelow(o.DN, c.DN) && !flat:
			c.Scope = "sub"
		case !strings.EqualFold(o.DN, c.DN):
			c.Others = append(c.Others, o)
		}
	}
	c.How = fmt.Sprintf("%d of the %s found are here", c.Count, kind)
	if c.Scope == "sub" {
		c.How = fmt.Sprintf("%d of the %s found are here or in containers below", c.Count, kind)
	}
	if len(c.Others) > 0 && 5*c.Count < 4*total {
		c.How += fmt.Sprintf(" (of %d: no container holds 80 %% of them, and the whole naming context would serve every one, service and administrator accounts included)", total)
	}
	return c
}

// pick chooses the container of the counted entries (Choose); with none, the
// first of names (RDNs tried one level below base, then anywhere below it)
// that exists; with none of those either, base itself with scope sub.
func pick(ctx context.Context, store *ldapstore.Store, base string, counts map[string]int, names []string, kind string) (Container, error) {
	if len(counts) > 0 {
		return Choose(base, counts, kind), nil
	}
	for _, scope := range []int{ldap.ScopeSingleLevel, ldap.ScopeWholeSubtree} {
		for _, rdn := range names {
			attr, val, _ := strings.Cut(rdn, "=")
			res, err := store.Search(ctx, ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 1, 0, false,
				"("+attr+"="+ldap.EscapeFilter(val)+")", []string{"1.1"}, nil))
			if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
				return Container{}, fmt.Errorf("looking for %s under %s: %w", rdn, base, err)
			}
			if res != nil && len(res.Entries) > 0 {
				return Container{DN: res.Entries[0].DN, Scope: "one",
					How: fmt.Sprintf("no %s yet; %s is where %s usually live", kind, res.Entries[0].DN, kind)}, nil
			}
		}
	}
	return Container{DN: base, Scope: "sub", How: fmt.Sprintf("no %s and no container named %s found: the whole naming context", kind, strings.Join(names, ", "))}, nil
}

// ParentDN is dn without its first RDN (RFC 4514 §2: a comma not escaped by a
// backslash ends it); "" for a one-RDN DN.
func ParentDN(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return strings.TrimSpace(dn[i+1:])
		}
	}
	return ""
}

// depth is the number of RDNs of dn.
func depth(dn string) int {
	n := 0
	for ; dn != ""; dn = ParentDN(dn) {
		n++
	}
	return n
}

// isBelow reports whether dn is a descendant of base (case-insensitively, as
// the attribute types of DNs in practice compare).
func isBelow(dn, base string) bool {
	for p := ParentDN(dn); p != ""; p = ParentDN(p) {
		if strings.EqualFold(p, base) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
