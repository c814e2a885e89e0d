package gateway_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"
	"pgregory.net/rapid"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/scimtest"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

const (
	modelPeople  = "ou=people,dc=example,dc=org"
	modelGroups  = "ou=groups,dc=example,dc=org"
	modelClients = 3 // clients of the concurrent variant
	// The manager attribute's path (enterprise extension).
	managerPath = entSchema + ":manager"
)

// modelDefaults are the rapid flags of a plain `go test` (fixed seed, bounded
// work: well under a minute here while nothing fails, shrinking included when
// something does); flags given on the command line or as RAPID_* win.
var modelDefaults = map[string]string{
	"rapid.seed":       "1",
	"rapid.checks":     "100",
	"rapid.steps":      "16",
	"rapid.shrinktime": "20s",
	"rapid.nofailfile": "true", // the seed reproduces a failure; no files in testdata/
}

// TestModel drives the whole gateway with generated request sequences and holds
// the directory to an in-memory model of what those requests must leave behind.
// It runs against its own slapd with only the ppolicy overlay: no refint and no
// memberof, so every reference the directory holds is one the gateway wrote.
//
// The contract the model encodes:
//   - a user with active false cannot bind, whatever else the same or a later
//     request does (active is a ppolicy lock: pwdAccountLockedTime present);
//   - DELETE of a user removes its DN from every group's member (an emptied
//     groupOfNames keeps the placeholder value "") and every user's manager; a
//     rename (also a case-only one, which changes the DN by modrdn) rewrites every
//     member and manager value to the new DN exactly; a group rename likewise;
//   - a PATCH with one invalid operation (an unknown path, or the readOnly id) is a
//     400 (invalidPath, mutability) and writes nothing; password with other
//     attributes (PATCH or PUT) applies both;
//   - without If-Match, concurrent PATCHes all succeed (412 only with If-Match);
//   - userName and group displayName are unique case-insensitively (409 uniqueness).
//
// Two variants: "sequential" (one client; every response status is checked
// against the model as it happens) and "concurrent" (three clients with
// disjoint names, so the combined model stays deterministic, run at the same
// time). After each sequence the directory is read with plain LDAP searches and
// must equal the model; users with a known password must bind iff active.
//
// A failure names the first kind of difference found and logs the request
// sequence rapid shrank it to, each request with its answer.
//
// Runs: `go test -run TestModel ./gateway/` uses modelDefaults (a fixed seed,
// 100 sequences per variant); `make soak` many more, seeded from the clock.
// rapid's own flags or RAPID_* variables override the defaults: -rapid.seed,
// -rapid.checks (sequences per variant), -rapid.steps=k (the sequential client
// draws up to k runs of 1 to k commands, each concurrent client k/2),
// -rapid.shrinktime. SCIM2LDAP_MODEL_COMMANDS=deleteUser,addMember,… limits the
// commands generated (createUser is always kept; see allModelKinds), to chase
// one bug at a time.
func TestModel(t *testing.T) {
	w := startModelWorld(t)
	applyModelDefaults(t)
	kinds := modelKinds(t)
	for _, v := range []struct {
		name string
		run  func(*rapid.T, []string)
	}{{"sequential", w.sequential}, {"concurrent", w.concurrent}} {
		seqs, reqs := w.sequences.Load(), w.seq.Load()
		t.Run(v.name, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) { v.run(rt, kinds) })
		})
		t.Logf("%s: %d sequences run (shrinking included), %d requests", v.name, w.sequences.Load()-seqs, w.seq.Load()-reqs)
	}
}

// applyModelDefaults sets the rapid flags of modelDefaults that neither the
// command line nor a RAPID_* variable set, and logs what is in force.
func applyModelDefaults(t *testing.T) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range modelDefaults {
		env := "RAPID_" + strings.ToUpper(strings.TrimPrefix(name, "rapid."))
		if _, inEnv := os.LookupEnv(env); inEnv || set[name] {
			continue
		}
		if err := flag.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	var in []string
	for _, name := range []string{"rapid.seed", "rapid.checks", "rapid.steps", "rapid.shrinktime"} {
		in = append(in, "-"+name+"="+flag.Lookup(name).Value.String())
	}
	t.Logf("rapid: %s", strings.Join(in, " "))
}

func rapidSteps() int {
	n, _ := strconv.Atoi(flag.Lookup("rapid.steps").Value.String())
	return max(n, 1)
}

// allModelKinds are the commands generated; each is one client behaviour (gen
// says what it sends), so SCIM2LDAP_MODEL_COMMANDS can isolate one.
var allModelKinds = []string{
	"createUser", "createInactive", "renameUser", "caseRename", "putUser", "patchUser",
	"patchInvalid", "patchPassword", "setPassword", "setActive", "deleteUser",
	"createGroup", "renameGroup", "caseRenameGroup", "deleteGroup", "addMember",
	"removeMember", "burstUser", "burstGroup", "ifMatch",
}

// modelKinds is allModelKinds, or those SCIM2LDAP_MODEL_COMMANDS names (plus
// createUser, without which nothing else has a target).
func modelKinds(t *testing.T) []string {
	only := os.Getenv("SCIM2LDAP_MODEL_COMMANDS")
	if only == "" {
		return allModelKinds
	}
	kinds := []string{"createUser"}
	for _, k := range strings.Split(only, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(allModelKinds, k) {
			t.Fatalf("SCIM2LDAP_MODEL_COMMANDS: unknown command %q (known: %s)", k, strings.Join(allModelKinds, ","))
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	t.Logf("only these commands: %s", strings.Join(kinds, ","))
	return kinds
}

// --- the world: a slapd without refint/memberof, the gateway in front of it ---

type modelWorld struct {
	srv    *slapdtest.Server
	url    string // the gateway's SCIM base, …/scim/v2
	client *http.Client
	admin  *ldap.Conn // the directory's admin; go-ldap connections are safe for concurrent use
	// seq numbers the requests sent (the #n of the logs); sequences counts runClients.
	seq, sequences atomic.Int64
}

func startModelWorld(t *testing.T) *modelWorld {
	srv, err := slapdtest.StartWith(slapdtest.Options{Overlays: []string{"ppolicy"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	store, err := ldapstore.Open(ldapstore.Config{URL: srv.URL, BindDN: srv.BindDN, BindPassword: srv.Password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	m := modelMapping(t)
	gw := gateway.New(gateway.Config{Mapping: m, Store: store, Log: zerolog.Nop(), Tokens: []string{token}, AuthFailureBurst: -1})
	if err := gw.CheckMapping(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	admin, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Bind(srv.BindDN, srv.Password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return &modelWorld{srv: srv, url: hs.URL + "/scim/v2", admin: admin,
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
}

// modelMapping is mappings.example.yaml with password (set through Password
// Modify) added to User and groups (memberOf, which needs the memberof overlay)
// removed.
func modelMapping(t *testing.T) *mapping.Mapping {
	return editedExampleMapping(t, append([][2]string{withPassword}, withoutGroups...)...)
}

// wipe deletes every entry under ou=people and ou=groups: each sequence starts
// from an empty directory.
func (w *modelWorld) wipe() error {
	for _, base := range []string{modelPeople, modelGroups} {
		res, err := w.admin.Search(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			if err := w.admin.Del(ldap.NewDelRequest(e.DN, nil)); err != nil {
				return fmt.Errorf("wipe %s: %w", e.DN, err)
			}
		}
	}
	return nil
}

// --- the model -----------------------------------------------------------------

type mUser struct {
	name                  string // userName as last set, case included
	display, title, email string // "" is absent
	manager               int    // the manager's handle, -1 for none
	active                bool
	password              string // "" when none was ever set
	live                  bool
}

type mGroup struct {
	name    string
	members []int // user handles
	live    bool
}

// model is one client's view: the users and groups it created, by handle (the
// index; a handle is only ever given to a create the model expects to succeed).
// Names carry the client's suffix, so clients never share an entry.
type model struct {
	suffix string
	users  []*mUser
	groups []*mGroup
}

// uref and gref are user and group handles inside requests: sent as their ids.
type (
	uref int
	gref int
)

// tmpl is a string with %s verbs filled with the ids of refs (a filter path).
type tmpl struct {
	format string
	refs   []any
}

func (m *model) userDN(h int) string {
	return "uid=" + ldap.EscapeDN(m.users[h].name) + "," + modelPeople
}

func (m *model) groupDN(g int) string {
	return "cn=" + ldap.EscapeDN(m.groups[g].name) + "," + modelGroups
}

// userTaken returns the live user other than except whose userName equals name
// case-insensitively, or -1.
func (m *model) userTaken(name string, except int) int {
	for h, u := range m.users {
		if h != except && u.live && strings.EqualFold(u.name, name) {
			return h
		}
	}
	return -1
}

func (m *model) groupTaken(name string, except int) int {
	for g, gr := range m.groups {
		if g != except && gr.live && strings.EqualFold(gr.name, name) {
			return g
		}
	}
	return -1
}

func (m *model) liveUsers(except int) []int {
	var out []int
	for h, u := range m.users {
		if h != except && u.live {
			out = append(out, h)
		}
	}
	return out
}

func (m *model) liveGroups() []int {
	var out []int
	for g, gr := range m.groups {
		if gr.live {
			out = append(out, g)
		}
	}
	return out
}

// deleteUser is what DELETE must do: the user is gone from every group and is
// nobody's manager any more.
func (m *model) deleteUser(h int) {
	m.users[h].live = false
	for _, g := range m.groups {
		g.members = slices.DeleteFunc(g.members, func(x int) bool { return x == h })
	}
	for _, u := range m.users {
		if u.manager == h {
			u.manager = -1
		}
	}
}

// --- value pools: small, so names collide and entries are reused --------------

var (
	userBases      = []string{"ann", "case.only", "bob.lee"}
	groupBases     = []string{"staff", "ops.team"}
	modelDisplays  = []string{"Ann Lee", "Case Only"}
	modelTitles    = []string{"Engineer", "Manager"}
	modelEmails    = []string{"ann@example.org", "case@example.org"}
	modelPasswords = []string{"Secret-one-1111", "Secret-two-2222"}
)

// variants are a name's spellings that differ only in case: "case.only",
// "Case.Only", "CASE.ONLY".
func variants(name string) []string {
	lower := strings.ToLower(name)
	parts := strings.Split(lower, ".")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return []string{lower, strings.Join(parts, "."), strings.ToUpper(lower)}
}

func (m *model) pool(bases []string) []string {
	var out []string
	for _, b := range bases {
		out = append(out, variants(b+m.suffix)...)
	}
	return out
}

// drawName draws a name from the pool; when cur is set, often one of its own
// case variants (a case-only rename), sometimes cur itself.
func (m *model) drawName(t *rapid.T, bases []string, cur, label string) string {
	if cur != "" && rapid.IntRange(0, 2).Draw(t, label+" is a case variant") == 0 {
		return rapid.SampledFrom(variants(cur)).Draw(t, label)
	}
	return rapid.SampledFrom(m.pool(bases)).Draw(t, label)
}

// newName draws a name for a rename from cur: caseOnly, cur in other case;
// otherwise a name of the pool that differs from cur other than in case.
func (m *model) newName(t *rapid.T, bases []string, cur string, caseOnly bool) string {
	var cands []string
	for _, n := range m.pool(bases) {
		if caseOnly == strings.EqualFold(n, cur) && n != cur {
			cands = append(cands, n)
		}
	}
	return rapid.SampledFrom(cands).Draw(t, "new name")
}

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
		v := rapid.SampledFrom(modelDisplays).Draw(t, "displayName")
		return userOp{scimtest.Op("replace", "displayName", v), func(u *mUser) { u.display = v }}
	case "removeDisplayName":
		return userOp{scimtest.Op("remove", "displayName", nil), func(u *mUser) { u.display = "" }}
	case "title":
		v := rapid.SampledFrom(modelTitles).Draw(t, "title")
		return userOp{scimtest.Op("replace", "title", v), func(u *mUser) { u.title = v }}
	case "removeTitle":
		return userOp{scimtest.Op("remove", "title", nil), func(u *mUser) { u.title = "" }}
	case "email":
		v := rapid.SampledFrom(modelEmails).Draw(t, "email")
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

// genCreateUser: POST /Users with active omitted or true (inactive: false),
// sometimes a password, display name, title, email and manager.
func (m *model) genCreateUser(t *rapid.T, inactive bool) *command {
	name := m.drawName(t, userBases, "", "userName")
	body := map[string]any{"schemas": []any{userSchema}, "userName": name}
	u := &mUser{name: name, manager: -1, active: true, live: true}
	switch {
	case inactive:
		body["active"], u.active = false, false
	case rapid.Bool().Draw(t, "active sent"):
		body["active"] = true
	}
	if rapid.Bool().Draw(t, "with password") {
		u.password = rapid.SampledFrom(modelPasswords).Draw(t, "password")
		body["password"] = u.password
	}
	if rapid.Bool().Draw(t, "with displayName") {
		u.display = rapid.SampledFrom(modelDisplays).Draw(t, "displayName")
		body["displayName"] = u.display
	}
	if rapid.Bool().Draw(t, "with title") {
		u.title = rapid.SampledFrom(modelTitles).Draw(t, "title")
		body["title"] = u.title
	}
	if rapid.Bool().Draw(t, "with email") {
		u.email = rapid.SampledFrom(modelEmails).Draw(t, "email")
		body["emails"] = []any{map[string]any{"type": "work", "value": u.email}}
	}
	if others := m.liveUsers(-1); len(others) > 0 && rapid.Bool().Draw(t, "with manager") {
		u.manager = rapid.SampledFrom(others).Draw(t, "manager")
		body["schemas"] = []any{userSchema, entSchema}
		body[entSchema] = map[string]any{"manager": map[string]any{"value": uref(u.manager)}}
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
	name := m.newName(t, userBases, u.name, caseOnly)
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
	next.name = m.drawName(t, userBases, u.name, "userName")
	next.active = rapid.Bool().Draw(t, "active")
	body := map[string]any{"schemas": []any{userSchema, entSchema}, "userName": next.name, "active": next.active}
	next.display, next.title, next.email, next.manager = "", "", "", -1
	if rapid.Bool().Draw(t, "with displayName") {
		next.display = rapid.SampledFrom(modelDisplays).Draw(t, "displayName")
		body["displayName"] = next.display
	}
	if rapid.Bool().Draw(t, "with title") {
		next.title = rapid.SampledFrom(modelTitles).Draw(t, "title")
		body["title"] = next.title
	}
	if rapid.Bool().Draw(t, "with email") {
		next.email = rapid.SampledFrom(modelEmails).Draw(t, "email")
		body["emails"] = []any{map[string]any{"type": "work", "value": next.email}}
	}
	if others := m.liveUsers(h); len(others) > 0 && rapid.Bool().Draw(t, "with manager") {
		next.manager = rapid.SampledFrom(others).Draw(t, "manager")
		body[entSchema] = map[string]any{"manager": map[string]any{"value": uref(next.manager)}}
	}
	if rapid.Bool().Draw(t, "with password") {
		next.password = rapid.SampledFrom(modelPasswords).Draw(t, "password")
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
		valid = scimtest.Op("replace", "password", rapid.SampledFrom(modelPasswords).Draw(t, "password"))
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
	pw := rapid.SampledFrom(modelPasswords).Draw(t, "password")
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
	name := m.drawName(t, groupBases, "", "displayName")
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
	name := m.newName(t, groupBases, gr.name, caseOnly)
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
	display := otherThan(modelDisplays, u.display)
	title := otherThan(modelTitles, u.title)
	email := otherThan(modelEmails, u.email)
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
	for _, v := range modelTitles {
		if v != u.title {
			titles = append(titles, v)
		}
	}
	u.title = rapid.SampledFrom(titles).Draw(t, "title")
	stale := rapid.SampledFrom(modelDisplays).Draw(t, "displayName")
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

// --- running commands ------------------------------------------------------------

// ids maps a client's handles (uref, gref) to the ids the gateway gave them.
type ids map[any]string

func (x ids) of(ref any) string {
	if id, ok := x[ref]; ok {
		return id
	}
	// Its create failed (already reported): an id that names nothing.
	return "00000000-0000-4000-8000-000000000000"
}

// resolve replaces refs and tmpls in a JSON value by ids.
func (x ids) resolve(v any) any {
	switch v := v.(type) {
	case uref, gref:
		return x.of(v)
	case tmpl:
		args := make([]any, len(v.refs))
		for i, r := range v.refs {
			args[i] = x.of(r)
		}
		return fmt.Sprintf(v.format, args...)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = x.resolve(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = x.resolve(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = x.resolve(e)
		}
		return out
	}
	return v
}

func (x ids) path(p []any) string {
	var b strings.Builder
	for _, e := range p {
		fmt.Fprint(&b, x.resolve(e))
	}
	return b.String()
}

type modelResponse struct {
	status int
	etag   string
	body   map[string]any
	raw    string
}

// send sends one request; it is safe to call from several goroutines.
func (w *modelWorld) send(method, path string, body any, ifMatch string) (modelResponse, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, w.url+path, rd)
	if err != nil {
		return modelResponse{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := w.client.Do(req)
	if err != nil {
		return modelResponse{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := modelResponse{status: res.StatusCode, etag: res.Header.Get("ETag"), raw: string(raw)}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.body)
	}
	return out, nil
}

// problem is a difference from the model: kind names the sort of difference
// in words that do not depend on ids, names or timing, so that rapid, which
// only keeps a smaller failing case that fails the same way, can shrink it;
// detail is for the log.
type problem struct{ kind, detail string }

// fail logs every problem and fails the test with the first kind (in sorted
// order, so the same set of problems always fails the same way).
func fail(t *rapid.T, problems []problem) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	kinds := map[string]bool{}
	var details []string
	for _, p := range problems {
		kinds[p.kind] = true
		details = append(details, p.detail)
	}
	t.Logf("differences from the model:\n  %s", strings.Join(details, "\n  "))
	// Access first (bind), then the directory, then what GET shows.
	rank := func(k string) string {
		for i, p := range []string{"bind:", "directory:", "GET:"} {
			if strings.HasPrefix(k, p) {
				return fmt.Sprint(i) + k
			}
		}
		return "3" + k
	}
	sorted := slices.SortedFunc(maps.Keys(kinds), func(a, b string) int { return strings.Compare(rank(a), rank(b)) })
	fatalAs(t, kindCode(sorted[0]), 10, sorted[0])
}

// kindCodes numbers the kinds of difference met in this process.
var kindCodes = struct {
	sync.Mutex
	m map[string]int
}{m: map[string]int{}}

func kindCode(kind string) int {
	kindCodes.Lock()
	defer kindCodes.Unlock()
	c, ok := kindCodes.m[kind]
	if !ok {
		c = len(kindCodes.m)
		kindCodes.m[kind] = c
	}
	return c
}

// fatalAs fails t with msg from a call stack that spells code in binary, one
// frame per bit. rapid tells failures apart by their stack alone, and shrinks a
// failing case only into one that fails from the same stack: so a failure
// shrinks into a smaller case of the same kind, not of whichever other bug is
// easiest to reach.
func fatalAs(t *rapid.T, code, bits int, msg string) {
	switch {
	case bits == 0:
		t.Fatalf("%s", msg)
	case code&1 == 0:
		fatalAs(t, code>>1, bits-1, msg)
	default:
		fatalAs(t, code>>1, bits-1, msg)
	}
}

// run sends a command's requests (in order, or at the same time) and returns
// a log line per request and what went against the model.
func (w *modelWorld) run(c *command, x ids, client string) (lines []string, problems []problem) {
	var etag string
	do := func(i int) (line string, p *problem) {
		r := c.reqs[i]
		path := x.path(r.path)
		body := x.resolve(r.body)
		var before string
		var target string
		if r.untouched != nil {
			target = x.of(r.untouched)
			before = w.snapshot(target)
		}
		match := ""
		if r.ifMatch {
			match = etag
		}
		n := w.seq.Add(1)
		res, err := w.send(r.method, path, body, match)
		bodyJSON := ""
		if body != nil {
			data, _ := json.Marshal(body)
			bodyJSON = " " + string(data)
		}
		hdr := ""
		if match != "" {
			hdr = " If-Match: " + match
		}
		line = fmt.Sprintf("#%d %s%s %s%s%s", n, client, r.method, path, hdr, bodyJSON)
		if err != nil {
			return line + " → " + err.Error(), &problem{c.kind + ": " + r.method + " failed", line + ": " + err.Error()}
		}
		line += fmt.Sprintf(" → %d", res.status)
		if i == 0 {
			etag = res.etag
		}
		if !slices.Contains(r.want, res.status) {
			return line, &problem{fmt.Sprintf("%s: %s answered %d, the model wants %v", c.kind, r.method, res.status, r.want),
				fmt.Sprintf("%s: the model wants %v: %s", line, r.want, strings.TrimSpace(res.raw))}
		}
		if r.scimType != "" && res.body["scimType"] != r.scimType {
			return line, &problem{fmt.Sprintf("%s: %s answered %d with scimType %v, the model wants %s", c.kind, r.method, res.status, res.body["scimType"], r.scimType),
				fmt.Sprintf("%s: the model wants scimType %q: %s", line, r.scimType, strings.TrimSpace(res.raw))}
		}
		if res.status == 201 && c.creates != nil {
			id, _ := res.body["id"].(string)
			x[c.creates] = id
			line += " id " + id
		}
		if r.untouched != nil {
			if after := w.snapshot(target); after != before {
				return line, &problem{fmt.Sprintf("%s: a %s refused with %d wrote the entry", c.kind, r.method, res.status),
					fmt.Sprintf("%s: refused, yet the entry changed:\n    before: %s\n    after:  %s", line, before, after)}
			}
		}
		return line, nil
	}
	if !c.parallel {
		for i := range c.reqs {
			line, p := do(i)
			lines = append(lines, line)
			if p != nil {
				return lines, []problem{*p}
			}
		}
		return lines, nil
	}
	lines = make([]string, len(c.reqs))
	found := make([]*problem, len(c.reqs))
	var wg sync.WaitGroup
	for i := range c.reqs {
		wg.Go(func() { lines[i], found[i] = do(i) })
	}
	wg.Wait()
	for _, p := range found {
		if p != nil {
			problems = append(problems, *p)
		}
	}
	return lines, problems
}

// snapshot is every attribute of the entry with the given entryUUID, operational
// ones included (entryCSN changes with any write), as one sorted string; "" when
// there is none.
func (w *modelWorld) snapshot(id string) string {
	res, err := w.admin.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(entryUUID="+ldap.EscapeFilter(id)+")", []string{"*", "+"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return ""
	}
	e := res.Entries[0]
	var parts []string
	for _, a := range e.Attributes {
		vals := slices.Clone(a.Values)
		sort.Strings(vals)
		parts = append(parts, a.Name+"="+strings.Join(vals, "|"))
	}
	sort.Strings(parts)
	return e.DN + " " + strings.Join(parts, " ")
}

// --- the two variants --------------------------------------------------------------

// plan draws the commands of the client whose model is m: each is drawn from
// the model as the ones before it left it, and carries the statuses the model
// expects. They come as runs of commands (up to k runs of 1 to k commands):
// rapid's slices hold about five elements on average, too few for the
// interactions sought here, and nested slices keep sequences long while its
// shrinker can still drop any single command.
func plan(t *rapid.T, m *model, kinds []string, k int, label string) []*command {
	next := rapid.Custom(func(t *rapid.T) *command {
		c, ok := m.gen(t, rapid.SampledFrom(kinds).Draw(t, "command"))
		if !ok { // nothing to act on yet
			c, _ = m.gen(t, "createUser")
		}
		return c
	})
	runs := rapid.SliceOfN(rapid.SliceOfN(next, 1, k), 0, k).Draw(t, label)
	return slices.Concat(runs...)
}

// sequential runs one client's commands one at a time, each response checked
// against the model as it comes, then the directory.
func (w *modelWorld) sequential(t *rapid.T, kinds []string) {
	w.runClients(t, []*model{{}}, kinds, rapidSteps())
}

// concurrent runs three clients at the same time. Their names are disjoint (a
// suffix each), so no client touches another's entries and the combined model
// does not depend on how their requests interleave.
func (w *modelWorld) concurrent(t *rapid.T, kinds []string) {
	models := make([]*model, modelClients)
	for i := range models {
		models[i] = &model{suffix: fmt.Sprintf(".%d", i+1)}
	}
	w.runClients(t, models, kinds, max(rapidSteps()/2, 1))
}

// runClients plans commands per model (client; k: see plan), runs the clients
// at the same time, each checking its own responses and stopping at the first
// that the model does not expect (later commands assumed its outcome), then
// checks the directory against the models.
func (w *modelWorld) runClients(t *rapid.T, models []*model, kinds []string, k int) {
	w.sequences.Add(1)
	if err := w.wipe(); err != nil {
		t.Fatal(err)
	}
	plans := make([][]*command, len(models))
	for i, m := range models {
		plans[i] = plan(t, m, kinds, k, fmt.Sprintf("client c%d", i+1))
	}
	xs := make([]ids, len(models))
	logs := make([][]string, len(models))
	problems := make([][]problem, len(models))
	var wg sync.WaitGroup
	for i := range models {
		xs[i] = ids{}
		prefix := ""
		if len(models) > 1 {
			prefix = fmt.Sprintf("c%d ", i+1)
		}
		wg.Go(func() {
			for _, c := range plans[i] {
				lines, p := w.run(c, xs[i], prefix)
				logs[i] = append(logs[i], c.desc+":\n    "+strings.Join(lines, "\n    "))
				if len(p) > 0 {
					problems[i] = p
					return
				}
			}
		})
	}
	wg.Wait()
	var all []problem
	for i := range models {
		if len(logs[i]) > 0 {
			t.Logf("client c%d (#n: the order requests were sent in):\n  %s", i+1, strings.Join(logs[i], "\n  "))
		}
		all = append(all, problems[i]...)
	}
	fail(t, all)
	w.checkAll(t, models, xs)
}

// --- checking the directory against the model --------------------------------------

type dirEntry struct {
	dn    string
	attrs map[string][]string // lower-cased attribute name → values
}

func (w *modelWorld) readTree(base string, attrs ...string) (map[string]*dirEntry, error) {
	res, err := w.admin.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", append(attrs, "entryUUID"), nil))
	if err != nil {
		return nil, err
	}
	out := map[string]*dirEntry{}
	for _, e := range res.Entries {
		if strings.EqualFold(e.DN, base) {
			continue
		}
		d := &dirEntry{dn: e.DN, attrs: map[string][]string{}}
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
func (w *modelWorld) checkAll(t *rapid.T, models []*model, xs []ids) {
	t.Helper()
	var problems []problem
	bad := func(kind, format string, args ...any) {
		problems = append(problems, problem{kind, fmt.Sprintf(format, args...)})
	}
	people, err := w.readTree(modelPeople, "uid", "displayName", "title", "mail", "manager", "pwdAccountLockedTime")
	if err != nil {
		t.Fatal(err)
	}
	groups, err := w.readTree(modelGroups, "cn", "member")
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
	// case), or nil.
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
		id := first(e.attrs["entryuuid"])
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
			return fmt.Sprintf("names %s%s (entryUUID %s, %s in the model)", o, dn, id, state)
		}
		return "names an entry no request created" + dn + " (entryUUID " + id + ")"
	}
	// refs compares a reference attribute's values with the model's DNs, value
	// by value, and names what each wrong value is.
	refs := func(what, who string, have, want []string) {
		for _, v := range have {
			if slices.Contains(want, v) {
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
			if !slices.Contains(have, v) {
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
			if id := first(e.attrs["entryuuid"]); id != xs[c].of(uref(h)) {
				bad("directory: an entry's entryUUID is not the model's id", "%s: entryUUID %s, the model's id is %s", who, id, xs[c].of(uref(h)))
			}
			want := map[string][]string{"uid": {u.name}, "displayname": opt(u.display), "title": opt(u.title), "mail": opt(u.email)}
			for _, a := range []string{"uid", "displayname", "title", "mail"} {
				if !sameStrings(e.attrs[a], want[a]) {
					bad("directory: user "+a+" differs", "%s: %s is %q, the model has %q", who, a, e.attrs[a], want[a])
				}
			}
			var mgr []string
			if u.manager >= 0 {
				mgr = []string{m.userDN(u.manager)}
			}
			refs("user manager", who, e.attrs["manager"], mgr)
			if locked := len(e.attrs["pwdaccountlockedtime"]) > 0; locked == u.active {
				bad("directory: pwdAccountLockedTime disagrees with active", "%s: pwdAccountLockedTime %q, the model has active=%v", who, e.attrs["pwdaccountlockedtime"], u.active)
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
			if id := first(e.attrs["entryuuid"]); id != xs[c].of(gref(g)) {
				bad("directory: an entry's entryUUID is not the model's id", "%s: entryUUID %s, the model's id is %s", who, id, xs[c].of(gref(g)))
			}
			if !sameStrings(e.attrs["cn"], []string{gr.name}) {
				bad("directory: group cn differs", "%s: cn is %q", who, e.attrs["cn"])
			}
			want := []string{""} // groupOfNames needs a member: an empty group holds the placeholder
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
func (w *modelWorld) checkGets(models []*model, xs []ids) []problem {
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
// work iff the user is active. (Binds come last: ppolicy records failed ones.)
func (w *modelWorld) checkBinds(models []*model) []problem {
	var problems []problem
	conn, err := ldap.DialURL(w.srv.URL)
	if err != nil {
		return []problem{{"bind: cannot connect", err.Error()}}
	}
	defer conn.Close()
	for c, m := range models {
		for h, u := range m.users {
			if !u.live || u.password == "" {
				continue
			}
			who := fmt.Sprintf("%s %s", owner{c, h, true}, u.name)
			err := conn.Bind(m.userDN(h), u.password)
			switch {
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

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
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
