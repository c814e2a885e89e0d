package scimmodel

import (
	"slices"
	"strings"

	"pgregory.net/rapid"
)

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
	d      *Directory // DNs, pools, defaults
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

func (m *model) userDN(h int) string { return m.d.UserDN(m.users[h].name) }

func (m *model) groupDN(g int) string { return m.d.GroupDN(m.groups[g].name) }

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

// --- names from the pools (Directory.Pools) ----------------------------------------

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
