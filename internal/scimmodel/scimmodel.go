// Package scimmodel drives a whole gateway with generated SCIM request
// sequences (pgregory.net/rapid) and holds the directory behind it to an
// in-memory model of what those requests must leave behind. It is the
// directory-independent part of the model tests: the model, the command
// generators, the runner and the comparison. A test package describes its
// directory (Directory: where users and groups live, how to wipe and read them
// back, how ids are read, which names and passwords are valid, what the
// directory does by itself) and calls Run; gateway.TestModel runs it on
// OpenLDAP, adtest.TestModelAD on a Samba AD DC.
//
// The contract the model encodes:
//   - a user with active false cannot bind, whatever else the same or a later
//     request does (active is a lock the directory honours: Directory.LockAttr);
//   - DELETE of a user removes its DN from every group's member and every
//     user's manager (an emptied group keeps the placeholder value "" where the
//     directory needs one: Directory.EmptyGroupPlaceholder); a rename (also a
//     case-only one, which changes the DN by modrdn) rewrites every member and
//     manager value to the new DN exactly; a group rename likewise;
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
// rapid's own flags or RAPID_* variables override Config.Defaults:
// -rapid.seed, -rapid.checks (sequences per variant), -rapid.steps=k (the
// sequential client draws up to k runs of 1 to k commands, each concurrent
// client k/2), -rapid.shrinktime. SCIM2LDAP_MODEL_COMMANDS=deleteUser,addMember,…
// limits the commands generated (createUser is always kept; see AllKinds), to
// chase one bug at a time.
package scimmodel

import (
	"flag"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"pgregory.net/rapid"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// clients is the number of clients of the concurrent variant.
const clients = 3

// Directory describes the directory behind the gateway: where the mapping
// keeps users and groups, how to read them back, and what differs between
// directories. The gateway must serve a mapping with userName, displayName,
// title, emails[type eq "work"].value, the enterprise manager, active and
// password for User, and displayName and members for Group.
type Directory struct {
	// Admin is a connection bound as the directory's administrator, allowed to
	// read and delete every user and group (go-ldap connections are safe for
	// concurrent use). Run sets its timeout (Conn.SetTimeout) to AdminTimeout.
	Admin *ldap.Conn
	// Dial opens an unbound connection for the users' binds.
	Dial func() (*ldap.Conn, error)
	// Dialect says how the gateway's ids are read from entries (EntryID:
	// entryUUID, or objectGUID's string form) and searched for (IDFilter).
	Dialect mapping.Dialect
	// Base is a DN above every user and group: refused requests' snapshots
	// search it for the entry by id.
	Base string
	// Users and Groups are where the mapping keeps users and groups; they may
	// share a base (Active Directory's OU), their filters tell them apart.
	Users, Groups Tree
	// UserDN and GroupDN are the DNs the mapping gives a user named userName
	// and a group named displayName, exactly as the directory spells DN values
	// it returns (a member value is compared with them case included).
	UserDN, GroupDN func(name string) string
	// UserNameAttrs and GroupNameAttrs are the LDAP attributes that hold userName
	// and the group's displayName, each compared exactly (case included).
	UserNameAttrs, GroupNameAttrs []string
	// LockAttr is the attribute that holds a user's lock state (active false);
	// Locked reads its values (none when the attribute is absent).
	LockAttr string
	Locked   func(values []string) bool
	// SnapshotAttrs are the attributes read for the before/after snapshot of an
	// entry a refused request must not write; they must include one that every
	// write changes (entryCSN, uSNChanged).
	SnapshotAttrs []string
	// ActiveByDefault is what active is after a create that does not send it.
	ActiveByDefault bool
	// FoldedReferences: a member or manager value may differ in case from
	// its entry's DN (389 DS's Referential Integrity plugin rewrites them
	// lower-cased on a rename, before the gateway's own upkeep looks); they
	// are then compared without regard to case.
	FoldedReferences bool
	// EmptyGroupPlaceholder: a group without members holds the single member
	// value "" (groupOfNames needs a member); otherwise it has no member value.
	EmptyGroupPlaceholder bool
	// Pools are the values requests carry; each must be valid on this directory.
	Pools Pools
	// Stuck, when not nil, says what the directory is doing when it leaves a
	// request of the model unanswered for AdminTimeout (e.g. its server's
	// thread stacks); Run logs it once with the failure.
	Stuck func() string
}

// Tree is a base DN searched with scope sub and a filter that matches the
// entries of one resource type under it.
type Tree struct{ Base, Filter string }

// Pools are the values the commands draw from: small, so names collide and
// entries are reused. User and group names are UserBases and GroupBases, each
// with a client's suffix ("", ".1", ".2", ".3") and in three letter cases (see
// variants); the two must never name the same entry (on a directory that keeps
// users and groups under one base they share one namespace).
type Pools struct {
	UserBases, GroupBases []string
	Displays, Titles      []string
	Emails                []string
	Passwords             []string // each one the directory's password policy accepts
}

// DefaultPools are the pools of the OpenLDAP run. The names are valid
// sAMAccountNames with every suffix and case, and the passwords meet Active
// Directory's complexity rules (upper, lower, digit, symbol; ≥ 8 characters;
// no user or display name in them), so they serve there too.
var DefaultPools = Pools{
	UserBases:  []string{"ann", "case.only", "bob.lee"},
	GroupBases: []string{"staff", "ops.team"},
	Displays:   []string{"Ann Lee", "Case Only"},
	Titles:     []string{"Engineer", "Manager"},
	Emails:     []string{"ann@example.org", "case@example.org"},
	Passwords:  []string{"Secret-one-1111", "Secret-two-2222"},
}

// UserNames and GroupNames are every name the commands may send for a user
// and a group: the pools' bases with every client's suffix, in every case.
func (p Pools) UserNames() []string  { return allNames(p.UserBases) }
func (p Pools) GroupNames() []string { return allNames(p.GroupBases) }

func allNames(bases []string) []string {
	var out []string
	for _, suffix := range []string{"", ".1", ".2", ".3"} {
		m := &model{suffix: suffix}
		out = append(out, m.pool(bases)...)
	}
	return out
}

// Config is one model run: the directory, the gateway in front of it, and the
// rapid flags and commands that suit the pair.
type Config struct {
	Directory
	URL   string // the gateway's SCIM base, …/scim/v2
	Token string // a bearer token the gateway accepts
	// Defaults are the rapid flags of a plain `go test` (e.g. "rapid.checks":
	// "100"); flags given on the command line or as RAPID_* win.
	Defaults map[string]string
	// Kinds are the commands that apply to this directory (nil: AllKinds).
	Kinds []string
	// SkipConcurrent, when not empty, skips the concurrent variant and says
	// why (a known issue of the directory, named where it is documented).
	SkipConcurrent string
}

// world is a run's gateway and directory.
type world struct {
	dir    *Directory
	url    string
	token  string
	client *http.Client
	// seq numbers the requests sent (the #n of the logs); sequences counts runClients.
	seq, sequences atomic.Int64
	// t is Run's test (Directory.Stuck's report is logged there); stall is set
	// once the directory left a request unanswered for AdminTimeout (stalled).
	t         *testing.T
	stall     atomic.Bool
	stallOnce sync.Once
}

// Run runs both variants (subtests "sequential" and "concurrent") and logs
// how many sequences and requests each ran.
func Run(t *testing.T, cfg Config) {
	w := &world{dir: &cfg.Directory, url: cfg.URL, token: cfg.Token, t: t,
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	cfg.Admin.SetTimeout(AdminTimeout)
	applyDefaults(t, cfg.Defaults)
	kinds := selectKinds(t, cfg.Kinds)
	for _, v := range []struct {
		name string
		run  func(*rapid.T, []string)
	}{{"sequential", w.sequential}, {"concurrent", w.concurrent}} {
		seqs, reqs := w.sequences.Load(), w.seq.Load()
		t.Run(v.name, func(t *testing.T) {
			if v.name == "concurrent" && cfg.SkipConcurrent != "" {
				t.Skip(cfg.SkipConcurrent)
			}
			rapid.Check(t, func(rt *rapid.T) { v.run(rt, kinds) })
		})
		t.Logf("%s: %d sequences run (shrinking included), %d requests", v.name, w.sequences.Load()-seqs, w.seq.Load()-reqs)
	}
}

// applyDefaults sets the rapid flags of defaults that neither the command line
// nor a RAPID_* variable set, and logs what is in force.
func applyDefaults(t *testing.T, defaults map[string]string) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range defaults {
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

// AllKinds are the commands generated; each is one client behaviour (gen
// says what it sends), so SCIM2LDAP_MODEL_COMMANDS can isolate one.
var AllKinds = []string{
	"createUser", "createInactive", "renameUser", "caseRename", "putUser", "patchUser",
	"patchInvalid", "patchPassword", "setPassword", "setActive", "deleteUser",
	"createGroup", "renameGroup", "caseRenameGroup", "deleteGroup", "addMember",
	"removeMember", "burstUser", "burstGroup", "ifMatch",
}

// selectKinds is applicable (AllKinds when nil), or those of them that
// SCIM2LDAP_MODEL_COMMANDS names (plus createUser, without which nothing else
// has a target).
func selectKinds(t *testing.T, applicable []string) []string {
	if applicable == nil {
		applicable = AllKinds
	}
	for _, k := range applicable {
		if !slices.Contains(AllKinds, k) {
			t.Fatalf("scimmodel: unknown command %q (known: %s)", k, strings.Join(AllKinds, ","))
		}
	}
	only := os.Getenv("SCIM2LDAP_MODEL_COMMANDS")
	if only == "" {
		return applicable
	}
	kinds := []string{"createUser"}
	for _, k := range strings.Split(only, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(applicable, k) {
			t.Fatalf("SCIM2LDAP_MODEL_COMMANDS: unknown command %q (known here: %s)", k, strings.Join(applicable, ","))
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	t.Logf("only these commands: %s", strings.Join(kinds, ","))
	return kinds
}
