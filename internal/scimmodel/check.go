package scimmodel

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"pgregory.net/rapid"
)

// --- checking the directory against the model --------------------------------------

type dirEntry struct {
	dn    string
	id    string              // the SCIM id (Directory.Dialect.EntryID)
	attrs map[string][]string // lower-cased attribute name → values
}

// readTree reads the entries of tree (its base itself left out) with attrs
// and their ids, by DN as the directory spells it.
func (w *world) readTree(tree Tree, attrs ...string) (map[string]*dirEntry, error) {
	res, err := w.search(ldap.NewSearchRequest(tree.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		tree.Filter, append(attrs, w.dir.Dialect.ID), nil))
	if err != nil {
		return nil, err
	}
	out := map[string]*dirEntry{}
	for _, e := range res.Entries {
		if strings.EqualFold(e.DN, tree.Base) {
			continue
		}
		d := &dirEntry{dn: e.DN, id: w.dir.Dialect.EntryID(e), attrs: map[string][]string{}}
		for _, a := range e.Attributes {
			d.attrs[strings.ToLower(a.Name)] = a.Values
		}
		out[e.DN] = d
	}
	return out, nil
}

// owner describes, for a problem report, which model object an entry is.
type owner struct {
	client int
	handle int
	user   bool
}

func (o owner) String() string {
	kind := "g"
	if o.user {
		kind = "u"
	}
	return fmt.Sprintf("c%d/%s%d", o.client+1, kind, o.handle)
}

// checkAll compares the directory with the models (xs: their ids), then GETs
// every resource and binds as every user with a known password; it fails the
// test with every difference found.
func (w *world) checkAll(t *rapid.T, models []*model, xs []ids) {
	t.Helper()
	var problems []problem
	bad := func(kind, format string, args ...any) {
		problems = append(problems, problem{kind, fmt.Sprintf(format, args...)})
	}
	idAttr := w.dir.Dialect.ID
	userAttrs := []string{"displayName", "title", "mail", "manager", w.dir.LockAttr}
	people, err := w.readTree(w.dir.Users, append(slices.Clone(w.dir.UserNameAttrs), userAttrs...)...)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := w.readTree(w.dir.Groups, append(slices.Clone(w.dir.GroupNameAttrs), "member")...)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]owner{} // every id the models gave out, deleted ones too
	for c, m := range models {
		for h := range m.users {
			byID[xs[c].of(uref(h))] = owner{c, h, true}
		}
		for g := range m.groups {
			byID[xs[c].of(gref(g))] = owner{c, g, false}
		}
	}
	// entryAt is the entry a DN names as LDAP matches DNs (uid and cn ignore
	// case; AD's DNs too), or nil.
	entryAt := func(dn string) *dirEntry {
		for _, tree := range []map[string]*dirEntry{people, groups} {
			if e := tree[dn]; e != nil {
				return e
			}
			if e := foldLookup(tree, dn); e != nil {
				return e
			}
		}
		return nil
	}
	// describe says what a DN names: which model object the entry there is.
	describe := func(dn string) string {
		e := entryAt(dn)
		if e == nil {
			return "names no entry"
		}
		id := e.id
		if e.dn != dn {
			dn = " " + e.dn
		} else {
			dn = ""
		}
		if o, ok := byID[id]; ok {
			state := "live"
			if o.user && !models[o.client].users[o.handle].live || !o.user && !models[o.client].groups[o.handle].live {
				state = "deleted"
			}
			return fmt.Sprintf("names %s%s (%s %s, %s in the model)", o, dn, idAttr, id, state)
		}
		return "names an entry no request created" + dn + " (" + idAttr + " " + id + ")"
	}
	// refs compares a reference attribute's values with the model's DNs, value
	// by value, and names what each wrong value is.
	has := func(list []string, v string) bool {
		if w.dir.FoldedReferences {
			return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
		}
		return slices.Contains(list, v)
	}
	refs := func(what, who string, have, want []string) {
		for _, v := range have {
			if has(want, v) {
				continue
			}
			var kind string
			switch {
			case v == "":
				kind = "the placeholder \"\" stays beside members"
			case entryAt(v) == nil:
				kind = "a value names no entry (dangling)"
			case slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, v) }):
				kind = "a value differs in case from its entry's DN"
			default:
				kind = "a value names an entry that the model does not have there"
			}
			bad("directory: "+what+": "+kind, "%s: %s %q %s; the model has %q", who, what, v, describe(v), want)
		}
		for _, v := range want {
			if !has(have, v) {
				kind := "a value the model has is missing"
				if v == "" {
					kind = "an emptied group lacks the placeholder \"\""
				}
				bad("directory: "+what+": "+kind, "%s: %s lacks %q; it has %q", who, what, v, have)
			}
		}
	}
	// find returns the entry at dn, or the one whose DN differs only in case
	// (reported).
	seen := map[string]bool{}
	find := func(tree map[string]*dirEntry, dn, who string) *dirEntry {
		e := tree[dn]
		if e == nil {
			if e = foldLookup(tree, dn); e != nil {
				bad("directory: an entry's DN differs in case from the model's", "%s: the entry is at %s, the model has %s", who, e.dn, dn)
			} else {
				bad("directory: an entry the model has is missing", "%s: no entry at %s; there are %s", who, dn, dnsOf(tree))
				return nil
			}
		}
		seen[e.dn] = true
		return e
	}
	for c, m := range models {
		for h, u := range m.users {
			if !u.live {
				continue
			}
			who := fmt.Sprintf("%s %s", owner{c, h, true}, u.name)
			e := find(people, m.userDN(h), who)
			if e == nil {
				continue
			}
			if e.id != xs[c].of(uref(h)) {
				bad("directory: an entry's "+idAttr+" is not the model's id", "%s: %s %s, the model's id is %s", who, idAttr, e.id, xs[c].of(uref(h)))
			}
			want := map[string][]string{"displayname": opt(u.display), "title": opt(u.title), "mail": opt(u.email)}
			var names []string
			for _, a := range w.dir.UserNameAttrs {
				a = strings.ToLower(a)
				want[a], names = []string{u.name}, append(names, a)
			}
			for _, a := range append(names, "displayname", "title", "mail") {
				if !sameStrings(e.attrs[a], want[a]) {
					bad("directory: user "+a+" differs", "%s: %s is %q, the model has %q", who, a, e.attrs[a], want[a])
				}
			}
			var mgr []string
			if u.manager >= 0 {
				mgr = []string{m.userDN(u.manager)}
			}
			refs("user manager", who, e.attrs["manager"], mgr)
			lock := e.attrs[strings.ToLower(w.dir.LockAttr)]
			if w.dir.Locked(lock) == u.active {
				bad("directory: "+w.dir.LockAttr+" disagrees with active", "%s: %s %q, the model has active=%v", who, w.dir.LockAttr, lock, u.active)
			}
		}
		for g, gr := range m.groups {
			if !gr.live {
				continue
			}
			who := fmt.Sprintf("%s %s", owner{c, g, false}, gr.name)
			e := find(groups, m.groupDN(g), who)
			if e == nil {
				continue
			}
			if e.id != xs[c].of(gref(g)) {
				bad("directory: an entry's "+idAttr+" is not the model's id", "%s: %s %s, the model's id is %s", who, idAttr, e.id, xs[c].of(gref(g)))
			}
			for _, a := range w.dir.GroupNameAttrs {
				a = strings.ToLower(a)
				if !sameStrings(e.attrs[a], []string{gr.name}) {
					bad("directory: group "+a+" differs", "%s: %s is %q", who, a, e.attrs[a])
				}
			}
			var want []string // no member value: where groups may be empty
			if w.dir.EmptyGroupPlaceholder {
				want = []string{""} // groupOfNames needs a member: an empty group holds the placeholder
			}
			if len(gr.members) > 0 {
				want = nil
				for _, h := range gr.members {
					want = append(want, m.userDN(h))
				}
			}
			refs("group member", who, e.attrs["member"], want)
		}
	}
	for _, tree := range []map[string]*dirEntry{people, groups} {
		for dn, e := range tree {
			if !seen[dn] {
				bad("directory: an entry the model does not have", "%s: it %s", dn, describe(e.dn))
			}
		}
	}
	problems = append(problems, w.checkGets(models, xs)...)
	problems = append(problems, w.checkBinds(models)...)
	fail(t, problems)
}

// checkGets reads every resource through the gateway: live ones as the model
// has them (userName, active; displayName, members), deleted ones 404.
func (w *world) checkGets(models []*model, xs []ids) []problem {
	var problems []problem
	bad := func(kind, format string, args ...any) {
		problems = append(problems, problem{kind, fmt.Sprintf(format, args...)})
	}
	for c, m := range models {
		for h, u := range m.users {
			o := owner{c, h, true}
			r, err := w.send("GET", "/Users/"+xs[c].of(uref(h)), nil, "")
			switch {
			case err != nil:
				bad("GET: failed", "GET %s: %v", o, err)
			case !u.live && r.status != 404:
				bad("GET: a deleted user is found", "GET %s (deleted): %d %s", o, r.status, r.raw)
			case u.live && (r.status != 200 || r.body["userName"] != u.name || r.body["active"] != u.active):
				bad("GET: a user's userName or active differs", "GET %s: %d userName %v active %v; the model has %q active=%v", o, r.status, r.body["userName"], r.body["active"], u.name, u.active)
			}
		}
		for g, gr := range m.groups {
			o := owner{c, g, false}
			r, err := w.send("GET", "/Groups/"+xs[c].of(gref(g)), nil, "")
			if err != nil {
				bad("GET: failed", "GET %s: %v", o, err)
				continue
			}
			if !gr.live {
				if r.status != 404 {
					bad("GET: a deleted group is found", "GET %s (deleted): %d %s", o, r.status, r.raw)
				}
				continue
			}
			var got, want []string
			list, _ := r.body["members"].([]any)
			for _, el := range list {
				v, _ := el.(map[string]any)["value"].(string)
				got = append(got, v)
			}
			for _, h := range gr.members {
				want = append(want, xs[c].of(uref(h)))
			}
			if r.status != 200 || r.body["displayName"] != gr.name || !sameStrings(got, want) {
				bad("GET: a group's displayName or members differ", "GET %s: %d displayName %v members %v; the model has %q members %v", o, r.status, r.body["displayName"], got, gr.name, want)
			}
		}
	}
	return problems
}

// checkBinds binds as every live user whose password the model knows: it must
// work iff the user is active. (Binds come last: failed ones are recorded in
// the entry, by ppolicy or AD's badPwdCount.)
func (w *world) checkBinds(models []*model) []problem {
	var problems []problem
	if err := w.stalledErr(); err != nil {
		return []problem{{"bind: the directory stopped answering", err.Error()}}
	}
	conn, err := w.dir.Dial()
	if err != nil {
		return []problem{{"bind: cannot connect", err.Error()}}
	}
	defer conn.Close()
	conn.SetTimeout(AdminTimeout)
	for c, m := range models {
		for h, u := range m.users {
			if !u.live || u.password == "" {
				continue
			}
			who := fmt.Sprintf("%s %s", owner{c, h, true}, u.name)
			err := w.stalled(conn.Bind(m.userDN(h), u.password))
			switch {
			case timedOut(err):
				return append(problems, problem{"bind: the directory stopped answering", fmt.Sprintf("bind as %s: %v", who, err)})
			case u.active && err != nil:
				problems = append(problems, problem{"bind: an active user cannot bind", fmt.Sprintf("%s is active but cannot bind with its password: %v", who, err)})
			case !u.active && err == nil:
				problems = append(problems, problem{"bind: an inactive user can bind", fmt.Sprintf("%s is inactive (active=false) but binds with its password", who)})
			}
		}
	}
	return problems
}

// foldLookup returns the entry whose DN equals dn case-insensitively.
func foldLookup(tree map[string]*dirEntry, dn string) *dirEntry {
	for k, e := range tree {
		if strings.EqualFold(k, dn) {
			return e
		}
	}
	return nil
}

func opt(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// sameStrings compares value lists as sets, exactly (case included).
func sameStrings(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}

func dnsOf(tree map[string]*dirEntry) string {
	var dns []string
	for dn := range tree {
		dns = append(dns, dn)
	}
	sort.Strings(dns)
	return "[" + strings.Join(dns, "; ") + "]"
}
