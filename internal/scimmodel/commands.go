package scimmodel

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"pgregory.net/rapid"

	"github.com/scim2ldap/scim2ldap/internal/scimtest"
)

// managerPath is the manager attribute's path (enterprise extension).
const managerPath = scimtest.EnterpriseSchema + ":manager"

// --- commands --------------------------------------------------------------------

// request is one HTTP request of a command and the answer the model expects.
type request struct {
	method   string
	path     []any // strings and refs, joined
	body     any   // JSON, with refs and tmpls in place of ids
	ifMatch  bool  // send If-Match with the ETag of the command's first response
	want     []int
	scimType string // with an error status: the scimType it must carry
	// untouched is the entry (uref or gref) a refused request must not write:
	// its attributes, operational ones included, are compared before and after.
	untouched any
}

type command struct {
	kind     string // the generator's name, e.g. renameUser
	desc     string
	reqs     []request
	parallel bool // the requests are sent at the same time
	creates  any  // uref or gref: a 201 gives this handle its id
}

// GoString is how rapid logs a drawn command.
func (c *command) GoString() string { return strconv.Quote(c.desc) }

func patch(ops ...map[string]any) map[string]any { return scimtest.PatchBody(ops...) }

func userPath(h int) []any  { return []any{"/Users/", uref(h)} }
func groupPath(g int) []any { return []any{"/Groups/", gref(g)} }

var (
	ok200   = []int{200}
	ok2xx   = []int{200, 204} // a PATCH may answer 204 (membership only)
	created = []int{201}
)

// userOp is one valid PATCH operation on a user and what it does to the model.
type userOp struct {
	op    map[string]any
	apply func(*mUser)
}

// drawUserOp draws a valid operation on user h: displayName, title, the work
// email, or the manager (another live user), set or removed.
func (m *model) drawUserOp(t *rapid.T, h int) userOp {
	others := m.liveUsers(h)
	kinds := []string{"displayName", "removeDisplayName", "title", "removeTitle", "email", "removeEmail"}
	if len(others) > 0 {
		kinds = append(kinds, "manager", "removeManager")
	}
	switch rapid.SampledFrom(kinds).Draw(t, "op") {
	case "displayName":
		v := rapid.SampledFrom(m.d.Pools.Displays).Draw(t, "displayName")
		return userOp{scimtest.Op("replace", "displayName", v), func(u *mUser) { u.display = v }}
	case "removeDisplayName":
		return userOp{scimtest.Op("remove", "displayName", nil), func(u *mUser) { u.display = "" }}
	case "title":
		v := rapid.SampledFrom(m.d.Pools.Titles).Draw(t, "title")
		return userOp{scimtest.Op("replace", "title", v), func(u *mUser) { u.title = v }}
	case "removeTitle":
		return userOp{scimtest.Op("remove", "title", nil), func(u *mUser) { u.title = "" }}
	case "email":
		v := rapid.SampledFrom(m.d.Pools.Emails).Draw(t, "email")
		return userOp{scimtest.Op("replace", `emails[type eq "work"].value`, v), func(u *mUser) { u.email = v }}
	case "removeEmail":
		return userOp{scimtest.Op("remove", `emails[type eq "work"]`, nil), func(u *mUser) { u.email = "" }}
	case "manager":
		mgr := rapid.SampledFrom(others).Draw(t, "manager")
		return userOp{scimtest.Op("replace", managerPath, map[string]any{"value": uref(mgr)}), func(u *mUser) { u.manager = mgr }}
	default:
		return userOp{scimtest.Op("remove", managerPath, nil), func(u *mUser) { u.manager = -1 }}
	}
}

// pickUser draws a user handle: a live one, or (anyHandle) possibly a deleted one.
func (m *model) pickUser(t *rapid.T, anyHandle bool) (int, bool) {
	cands := m.liveUsers(-1)
	if anyHandle {
		cands = nil
		for h := range m.users {
			cands = append(cands, h)
		}
	}
	if len(cands) == 0 {
		return 0, false
	}
	return rapid.SampledFrom(cands).Draw(t, "user"), true
}

func (m *model) pickGroup(t *rapid.T, anyHandle bool) (int, bool) {
	cands := m.liveGroups()
	if anyHandle {
		cands = nil
		for g := range m.groups {
			cands = append(cands, g)
		}
	}
	if len(cands) == 0 {
		return 0, false
	}
	return rapid.SampledFrom(cands).Draw(t, "group"), true
}

// gen draws a command of the given kind from the model's state, and updates
// the model with what the command must do. ok is false when the model has no
// target for it (no user yet…).
func (m *model) gen(t *rapid.T, kind string) (*command, bool) {
	c, ok := m.gen1(t, kind)
	if ok {
		c.kind = kind
	}
	return c, ok
}

func (m *model) gen1(t *rapid.T, kind string) (c *command, ok bool) {
	switch kind {
	case "createUser":
		return m.genCreateUser(t, false), true
	case "createInactive":
		return m.genCreateUser(t, true), true
	case "renameUser":
		return m.genRenameUser(t, false)
	case "caseRename":
		return m.genRenameUser(t, true)
	case "putUser":
		return m.genPutUser(t)
	case "patchUser":
		return m.genPatchUser(t)
	case "patchInvalid":
		return m.genPatchInvalid(t)
	case "patchPassword":
		return m.genPatchPassword(t, true)
	case "setPassword":
		return m.genPatchPassword(t, false)
	case "setActive":
		return m.genSetActive(t)
	case "deleteUser":
		return m.genDeleteUser(t)
	case "createGroup":
		return m.genCreateGroup(t), true
	case "renameGroup":
		return m.genRenameGroup(t, false)
	case "caseRenameGroup":
		return m.genRenameGroup(t, true)
	case "deleteGroup":
		return m.genDeleteGroup(t)
	case "addMember":
		return m.genAddMember(t)
	case "removeMember":
		return m.genRemoveMember(t)
	case "burstUser":
		return m.genBurstUser(t)
	case "burstGroup":
		return m.genBurstGroup(t)
	case "ifMatch":
		return m.genIfMatch(t)
	}
	panic("unknown command " + kind)
}

// genCreateUser: POST /Users with active omitted (Directory.ActiveByDefault)
// or true (inactive: false), sometimes a password, display name, title, email
// and manager.
func (m *model) genCreateUser(t *rapid.T, inactive bool) *command {
	name := m.drawName(t, m.d.Pools.UserBases, "", "userName")
	body := map[string]any{"schemas": []any{scimtest.UserSchema}, "userName": name}
	u := &mUser{name: name, manager: -1, active: m.d.ActiveByDefault, live: true}
	switch {
	case inactive:
		body["active"], u.active = false, false
	case rapid.Bool().Draw(t, "active sent"):
		body["active"], u.active = true, true
	}
	if rapid.Bool().Draw(t, "with password") {
		u.password = rapid.SampledFrom(m.d.Pools.Passwords).Draw(t, "password")
		body["password"] = u.password
	}
	if rapid.Bool().Draw(t, "with displayName") {
		u.display = rapid.SampledFrom(m.d.Pools.Displays).Draw(t, "displayName")
		body["displayName"] = u.display
	}
	if rapid.Bool().Draw(t, "with title") {
		u.title = rapid.SampledFrom(m.d.Pools.Titles).Draw(t, "title")
		body["title"] = u.title
	}
	if rapid.Bool().Draw(t, "with email") {
		u.email = rapid.SampledFrom(m.d.Pools.Emails).Draw(t, "email")
		body["emails"] = []any{map[string]any{"type": "work", "value": u.email}}
	}
	if others := m.liveUsers(-1); len(others) > 0 && rapid.Bool().Draw(t, "with manager") {
		u.manager = rapid.SampledFrom(others).Draw(t, "manager")
		body["schemas"] = []any{scimtest.UserSchema, scimtest.EnterpriseSchema}
		body[scimtest.EnterpriseSchema] = map[string]any{"manager": map[string]any{"value": uref(u.manager)}}
	}
	c := &command{desc: "create user " + name}
	if other := m.userTaken(name, -1); other >= 0 {
		c.desc += fmt.Sprintf(" (taken by u%d %q: 409)", other, m.users[other].name)
		c.reqs = []request{{method: "POST", path: []any{"/Users"}, body: body, want: []int{409}, scimType: "uniqueness"}}
		return c
	}
	h := len(m.users)
	m.users = append(m.users, u)
	c.desc = fmt.Sprintf("create user u%d %s", h, name)
	c.creates = uref(h)
	c.reqs = []request{{method: "POST", path: []any{"/Users"}, body: body, want: created}}
	return c
}

// renameOutcome is the expected answer to renaming live-or-not h to name:
// 404 for a deleted user (or 409 as well when the name is taken: either may
// be checked first), 409 when another live user has the name, else 200.
func renameOutcome(live bool, taken bool) ([]int, string) {
	switch {
	case !live && taken:
		return []int{404, 409}, ""
	case !live:
		return []int{404}, ""
	case taken:
		return []int{409}, "uniqueness"
	}
	return ok200, ""
}

// genRenameUser: PATCH replace userName, to another name or (caseOnly) to
// the same name in other case.
func (m *model) genRenameUser(t *rapid.T, caseOnly bool) (*command, bool) {
	h, ok := m.pickUser(t, true)
	if !ok {
		return nil, false
	}
	u := m.users[h]
	name := m.newName(t, m.d.Pools.UserBases, u.name, caseOnly)
	want, st := renameOutcome(u.live, m.userTaken(name, h) >= 0)
	op := scimtest.Op("replace", "userName", name)
	if rapid.Bool().Draw(t, "without path") { // Entra's form
		op = map[string]any{"op": "Replace", "value": map[string]any{"userName": name}}
	}
	c := &command{desc: fmt.Sprintf("rename u%d %s → %s", h, u.name, name),
		reqs: []request{{method: "PATCH", path: userPath(h), body: patch(op), want: want, scimType: st, untouched: uref(h)}}}
	if slices.Equal(want, ok200) {
		u.name = name
		c.reqs[0].untouched = nil
	}
	return c, true
}

// genPutUser: PUT with a full body: userName (kept, a case variant or another
// name), active always given, the other attributes present or absent (absent
// clears them), sometimes a password (kept when absent: it is write-only).
func (m *model) genPutUser(t *rapid.T) (*command, bool) {
	h, ok := m.pickUser(t, true)
	if !ok {
		return nil, false
	}
	u := m.users[h]
	next := *u
	next.name = m.drawName(t, m.d.Pools.UserBases, u.name, "userName")
	next.active = rapid.Bool().Draw(t, "active")
	body := map[string]any{"schemas": []any{scimtest.UserSchema, scimtest.EnterpriseSchema}, "userName": next.name, "active": next.active}
	next.display, next.title, next.email, next.manager = "", "", "", -1
	if rapid.Bool().Draw(t, "with displayName") {
		next.display = rapid.SampledFrom(m.d.Pools.Displays).Draw(t, "displayName")
		body["displayName"] = next.display
	}
	if rapid.Bool().Draw(t, "with title") {
		next.title = rapid.SampledFrom(m.d.Pools.Titles).Draw(t, "title")
		body["title"] = next.title
	}
	if rapid.Bool().Draw(t, "with email") {
		next.email = rapid.SampledFrom(m.d.Pools.Emails).Draw(t, "email")
		body["emails"] = []any{map[string]any{"type": "work", "value": next.email}}
	}
	if others := m.liveUsers(h); len(others) > 0 && rapid.Bool().Draw(t, "with manager") {
		next.manager = rapid.SampledFrom(others).Draw(t, "manager")
		body[scimtest.EnterpriseSchema] = map[string]any{"manager": map[string]any{"value": uref(next.manager)}}
	}
	if rapid.Bool().Draw(t, "with password") {
		next.password = rapid.SampledFrom(m.d.Pools.Passwords).Draw(t, "password")
		body["password"] = next.password
	}
	want, st := renameOutcome(u.live, m.userTaken(next.name, h) >= 0)
	c := &command{desc: fmt.Sprintf("put u%d %s", h, next.name),
		reqs: []request{{method: "PUT", path: userPath(h), body: body, want: want, scimType: st, untouched: uref(h)}}}
	if slices.Equal(want, ok200) {
		*u = next
		c.reqs[0].untouched = nil
	}
	return c, true
}

func (m *model) genPatchUser(t *rapid.T) (*command, bool) {
	h, ok := m.pickUser(t, true)
	if !ok {
		return nil, false
	}
	n := rapid.IntRange(1, 3).Draw(t, "operations")
	var ops []map[string]any
	var applies []func(*mUser)
	for range n {
		op := m.drawUserOp(t, h)
		ops, applies = append(ops, op.op), append(applies, op.apply)
	}
	c := &command{desc: fmt.Sprintf("patch u%d", h)}
	if !m.users[h].live {
		c.reqs = []request{{method: "PATCH", path: userPath(h), body: patch(ops...), want: []int{404}}}
		return c, true
	}
	for _, f := range applies {
		f(m.users[h])
	}
	c.reqs = []request{{method: "PATCH", path: userPath(h), body: patch(ops...), want: ok200}}
	return c, true
}

// genPatchInvalid: a valid operation (possibly a new password) and an invalid
// one, in either order: 400 and nothing written.
func (m *model) genPatchInvalid(t *rapid.T) (*command, bool) {
	h, ok := m.pickUser(t, false)
	if !ok {
		return nil, false
	}
	valid := m.drawUserOp(t, h).op
	if rapid.Bool().Draw(t, "valid op sets the password") {
		valid = scimtest.Op("replace", "password", rapid.SampledFrom(m.d.Pools.Passwords).Draw(t, "password"))
	}
	invalid, st := scimtest.Op("replace", "fooBarBaz", "x"), "invalidPath"
	if rapid.Bool().Draw(t, "readOnly id") {
		invalid, st = scimtest.Op("replace", "id", "4f6c1c52-0000-4000-8000-000000000000"), "mutability"
	}
	ops := []map[string]any{valid, invalid}
	if rapid.Bool().Draw(t, "invalid first") {
		ops = []map[string]any{invalid, valid}
	}
	return &command{desc: fmt.Sprintf("patch u%d with an invalid operation", h),
		reqs: []request{{method: "PATCH", path: userPath(h), body: patch(ops...), want: []int{400}, scimType: st, untouched: uref(h)}}}, true
}

// genPatchPassword: a new password, with another attribute (in either order)
// or alone, with or without a path.
func (m *model) genPatchPassword(t *rapid.T, withOther bool) (*command, bool) {
	h, ok := m.pickUser(t, false)
	if !ok {
		return nil, false
	}
	pw := rapid.SampledFrom(m.d.Pools.Passwords).Draw(t, "password")
	pwOp := scimtest.Op("replace", "password", pw)
	if rapid.Bool().Draw(t, "without path") {
		pwOp = map[string]any{"op": "replace", "value": map[string]any{"password": pw}}
	}
	ops := []map[string]any{pwOp}
	u := m.users[h]
	if withOther {
		other := m.drawUserOp(t, h)
		other.apply(u)
		ops = append(ops, other.op)
		if rapid.Bool().Draw(t, "password last") {
			ops[0], ops[1] = ops[1], ops[0]
		}
	}
	u.password = pw
	return &command{desc: fmt.Sprintf("patch u%d password", h),
		reqs: []request{{method: "PATCH", path: userPath(h), body: patch(ops...), want: ok200}}}, true
}

func (m *model) genSetActive(t *rapid.T) (*command, bool) {
	h, ok := m.pickUser(t, true)
	if !ok {
		return nil, false
	}
	active := rapid.Bool().Draw(t, "active")
	op := scimtest.Op(rapid.SampledFrom([]string{"replace", "Replace"}).Draw(t, "op"), "active", active)
	if rapid.Bool().Draw(t, "without path") {
		op = map[string]any{"op": "Replace", "value": map[string]any{"active": active}}
	}
	c := &command{desc: fmt.Sprintf("set u%d active=%v", h, active)}
	want := ok200
	if u := m.users[h]; u.live {
		u.active = active
	} else {
		want = []int{404}
	}
	c.reqs = []request{{method: "PATCH", path: userPath(h), body: patch(op), want: want}}
	return c, true
}

func (m *model) genDeleteUser(t *rapid.T) (*command, bool) {
	h, ok := m.pickUser(t, true)
	if !ok {
		return nil, false
	}
	want := []int{204}
	if m.users[h].live {
		m.deleteUser(h)
	} else {
		want = []int{404}
	}
	return &command{desc: fmt.Sprintf("delete u%d", h), reqs: []request{{method: "DELETE", path: userPath(h), want: want}}}, true
}

func memberValues(hs []int) []any {
	var out []any
	for _, h := range hs {
		out = append(out, map[string]any{"value": uref(h)})
	}
	return out
}

// drawSubset draws some of hs (in order, each at most once).
func drawSubset(t *rapid.T, hs []int, label string) []int {
	var out []int
	for _, h := range hs {
		if rapid.Bool().Draw(t, fmt.Sprintf("%s u%d", label, h)) {
			out = append(out, h)
		}
	}
	return out
}

func (m *model) genCreateGroup(t *rapid.T) *command {
	name := m.drawName(t, m.d.Pools.GroupBases, "", "displayName")
	members := drawSubset(t, m.liveUsers(-1), "member")
	body := map[string]any{"schemas": []any{scimtest.GroupSchema}, "displayName": name}
	if len(members) > 0 {
		body["members"] = memberValues(members)
	}
	if other := m.groupTaken(name, -1); other >= 0 {
		return &command{desc: fmt.Sprintf("create group %s (taken by g%d %q: 409)", name, other, m.groups[other].name),
			reqs: []request{{method: "POST", path: []any{"/Groups"}, body: body, want: []int{409}, scimType: "uniqueness"}}}
	}
	g := len(m.groups)
	m.groups = append(m.groups, &mGroup{name: name, members: members, live: true})
	return &command{desc: fmt.Sprintf("create group g%d %s", g, name), creates: gref(g),
		reqs: []request{{method: "POST", path: []any{"/Groups"}, body: body, want: created}}}
}

// genRenameGroup: PATCH replace displayName, to another name or (caseOnly)
// to the same name in other case.
func (m *model) genRenameGroup(t *rapid.T, caseOnly bool) (*command, bool) {
	g, ok := m.pickGroup(t, true)
	if !ok {
		return nil, false
	}
	gr := m.groups[g]
	name := m.newName(t, m.d.Pools.GroupBases, gr.name, caseOnly)
	want, st := renameOutcome(gr.live, m.groupTaken(name, g) >= 0)
	op := scimtest.Op("replace", "displayName", name)
	if rapid.Bool().Draw(t, "without path") {
		op = map[string]any{"op": "Replace", "value": map[string]any{"displayName": name}}
	}
	c := &command{desc: fmt.Sprintf("rename g%d %s → %s", g, gr.name, name),
		reqs: []request{{method: "PATCH", path: groupPath(g), body: patch(op), want: want, scimType: st, untouched: gref(g)}}}
	if slices.Equal(want, ok200) {
		gr.name = name
		c.reqs[0].untouched = nil
	}
	return c, true
}

func (m *model) genDeleteGroup(t *rapid.T) (*command, bool) {
	g, ok := m.pickGroup(t, true)
	if !ok {
		return nil, false
	}
	want := []int{204}
	if m.groups[g].live {
		m.groups[g].live = false
	} else {
		want = []int{404}
	}
	return &command{desc: fmt.Sprintf("delete g%d", g), reqs: []request{{method: "DELETE", path: groupPath(g), want: want}}}, true
}

// genAddMember: as Okta and Entra send it, {"op":"add","path":"members","value":[{"value":id}]}.
func (m *model) genAddMember(t *rapid.T) (*command, bool) {
	g, ok := m.pickGroup(t, true)
	live := m.liveUsers(-1)
	if !ok || len(live) == 0 {
		return nil, false
	}
	add := []int{rapid.SampledFrom(live).Draw(t, "member")}
	if len(live) > 1 && rapid.Bool().Draw(t, "two members") {
		add = append(add, rapid.SampledFrom(live).Draw(t, "second member"))
	}
	c := &command{desc: fmt.Sprintf("add %v to g%d", handles("u", add), g)}
	want := ok2xx
	if gr := m.groups[g]; gr.live {
		for _, h := range add {
			if !slices.Contains(gr.members, h) {
				gr.members = append(gr.members, h)
			}
		}
	} else {
		want = []int{404}
	}
	c.reqs = []request{{method: "PATCH", path: groupPath(g), body: patch(scimtest.Op("add", "members", memberValues(add))), want: want}}
	return c, true
}

// genRemoveMember: Entra's members[value eq "id"] path, or Okta's value list;
// the user may have been deleted (its id then names nothing: a no-op).
func (m *model) genRemoveMember(t *rapid.T) (*command, bool) {
	g, ok := m.pickGroup(t, true)
	if !ok || len(m.users) == 0 {
		return nil, false
	}
	h, _ := m.pickUser(t, true)
	op := scimtest.Op("remove", "", nil)
	op["path"] = tmpl{`members[value eq "%s"]`, []any{uref(h)}}
	if rapid.Bool().Draw(t, "value list") {
		op = scimtest.Op("remove", "members", memberValues([]int{h}))
	}
	c := &command{desc: fmt.Sprintf("remove u%d from g%d", h, g)}
	want := ok2xx
	if gr := m.groups[g]; gr.live {
		gr.members = slices.DeleteFunc(gr.members, func(x int) bool { return x == h })
	} else {
		want = []int{404}
	}
	c.reqs = []request{{method: "PATCH", path: groupPath(g), body: patch(op), want: want}}
	return c, true
}

// otherThan returns the first of pool that is not cur.
func otherThan(pool []string, cur string) string {
	for _, v := range pool {
		if v != cur {
			return v
		}
	}
	return pool[0]
}

// genBurstUser: 4 to 10 PATCHes without If-Match at the same time on one
// user, each replacing one of four attributes (an attribute sent twice gets the
// same value both times, so the outcome does not depend on their order): all
// must succeed.
func (m *model) genBurstUser(t *rapid.T) (*command, bool) {
	h, ok := m.pickUser(t, false)
	if !ok {
		return nil, false
	}
	u := m.users[h]
	// Values other than the current ones: every attribute's first PATCH writes.
	display := otherThan(m.d.Pools.Displays, u.display)
	title := otherThan(m.d.Pools.Titles, u.title)
	email := otherThan(m.d.Pools.Emails, u.email)
	active := !u.active
	ops := map[string]func() map[string]any{
		"displayName": func() map[string]any { u.display = display; return scimtest.Op("replace", "displayName", display) },
		"title":       func() map[string]any { u.title = title; return scimtest.Op("replace", "title", title) },
		"email": func() map[string]any {
			u.email = email
			return scimtest.Op("replace", `emails[type eq "work"].value`, email)
		},
		"active": func() map[string]any { u.active = active; return scimtest.Op("replace", "active", active) },
	}
	c := &command{desc: fmt.Sprintf("burst on u%d", h), parallel: true}
	for range rapid.IntRange(4, 10).Draw(t, "requests") {
		op := ops[rapid.SampledFrom([]string{"displayName", "title", "email", "active"}).Draw(t, "attribute")]()
		c.reqs = append(c.reqs, request{method: "PATCH", path: userPath(h), body: patch(op), want: ok200})
	}
	return c, true
}

// genBurstGroup: at the same time, one member add per live user and perhaps a
// case-only rename of the group: all must succeed.
func (m *model) genBurstGroup(t *rapid.T) (*command, bool) {
	g, ok := m.pickGroup(t, false)
	live := m.liveUsers(-1)
	if !ok || len(live) == 0 {
		return nil, false
	}
	gr := m.groups[g]
	c := &command{desc: fmt.Sprintf("burst on g%d", g), parallel: true}
	for _, h := range live {
		c.reqs = append(c.reqs, request{method: "PATCH", path: groupPath(g), body: patch(scimtest.Op("add", "members", memberValues([]int{h}))), want: ok2xx})
		if !slices.Contains(gr.members, h) {
			gr.members = append(gr.members, h)
		}
	}
	if rapid.Bool().Draw(t, "with a rename") {
		gr.name = rapid.SampledFrom(variants(gr.name)).Draw(t, "new displayName")
		c.reqs = append(c.reqs, request{method: "PATCH", path: groupPath(g), body: patch(scimtest.Op("replace", "displayName", gr.name)), want: ok200})
	}
	return c, true
}

// genIfMatch: GET for the ETag; a PATCH with If-Match on it succeeds and
// changes the entry; a second PATCH with the same, now stale, ETag is a 412 and
// writes nothing.
func (m *model) genIfMatch(t *rapid.T) (*command, bool) {
	h, ok := m.pickUser(t, false)
	if !ok {
		return nil, false
	}
	u := m.users[h]
	// A title other than the current one, so the first PATCH does write.
	var titles []string
	for _, v := range m.d.Pools.Titles {
		if v != u.title {
			titles = append(titles, v)
		}
	}
	u.title = rapid.SampledFrom(titles).Draw(t, "title")
	stale := rapid.SampledFrom(m.d.Pools.Displays).Draw(t, "displayName")
	return &command{desc: fmt.Sprintf("if-match on u%d", h), reqs: []request{
		{method: "GET", path: userPath(h), want: ok200},
		{method: "PATCH", path: userPath(h), body: patch(scimtest.Op("replace", "title", u.title)), ifMatch: true, want: ok200},
		{method: "PATCH", path: userPath(h), body: patch(scimtest.Op("replace", "displayName", stale)), ifMatch: true, want: []int{412}, untouched: uref(h)},
	}}, true
}

func handles(prefix string, hs []int) string {
	var s []string
	for _, h := range hs {
		s = append(s, fmt.Sprintf("%s%d", prefix, h))
	}
	return strings.Join(s, ",")
}
