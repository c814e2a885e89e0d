package gateway

import (
	"maps"
	"slices"
	"strings"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// The plan of a Bulk request (RFC 7644 §3.7): in which order its operations
// run, which may run at the same time, and how circular bulkId references are
// broken. It does no input or output (bulk.go runs it), so it is tested
// without a directory.
//
// The order. RFC 7644 §3.7 lets a service provider "optimize the sequence of
// operations received (e.g., to improve processing performance)" but it "MUST
// ensure the client's intent is preserved and the same stateful result is
// achieved as for non-optimized processing". So the operations run in the
// order of the request, with one exception §3.7.2 needs: a POST whose bulkId
// an operation references runs before that operation (a group naming a user
// created later in the same request). Only POSTs that cannot affect each
// other may overlap (planBatches).
//
// Circular references (RFC 7644 §3.7.1: the service provider "MUST try to
// resolve circular cross-references between resources in a single bulk job
// but MAY stop after a failed attempt and instead return HTTP status code 409
// (Conflict)"): the POSTs of a cycle (two groups naming each other, a user
// naming itself as manager) are created without the attribute values that
// name the cycle's bulkIds, in request order, then each is completed with a
// PATCH that adds those values back (stripCycle).

// bulkRefPrefix starts a value naming a resource created in the same request
// (RFC 7644 §3.7.2: "bulkId:qwerty").
const bulkRefPrefix = "bulkId:"

// stepKind is what a step of the plan does with its operation.
type stepKind int

const (
	stepRun           stepKind = iota // the operation as the client sent it
	stepCreateCyclic                  // a POST of a cycle, without the values naming the cycle
	stepCompleteCycle                 // the PATCH adding those values back
)

// planStep is one step: an operation (its index in the request) and what to
// do with it.
type planStep struct {
	op   int
	kind stepKind
}

// planInput is what the planner knows of one operation.
type planInput struct {
	post   bool     // method POST
	bulkID string   // the bulkId it defines ("" when none, or not a valid POST)
	refs   []string // the bulkIds it references, in order of appearance, without duplicates
	// claims are the values a POST would take that another POST could want
	// too (RDN and uniqueness: server values, bulkClaims); nil for other
	// methods. alone: the claims could not be computed, so it runs by itself.
	claims []string
	alone  bool
	ok     bool // false: refused before running (its step records the error)
}

// planOrder returns the steps of a request's operations: request order, with
// a referenced POST moved to just before the first operation that references
// it, and the POSTs of each cycle as stepCreateCyclic steps followed by their
// stepCompleteCycle steps. cyclic reports, per operation, the bulkIds of its
// cycle it references (nil when it is in none). References to bulkIds no
// operation defines are the caller's to refuse (they add no edge here).
func planOrder(ops []planInput) (steps []planStep, cyclic [][]string) {
	def := map[string]int{}
	for i, o := range ops {
		if o.ok && o.post && o.bulkID != "" {
			if _, dup := def[o.bulkID]; !dup {
				def[o.bulkID] = i
			}
		}
	}
	edges := make([][]int, len(ops))
	for i, o := range ops {
		if !o.ok {
			continue
		}
		for _, ref := range o.refs {
			if j, ok := def[ref]; ok {
				edges[i] = append(edges[i], j)
			}
		}
	}
	comp := sccs(edges)
	// members of each component, in request order
	members := map[int][]int{}
	for i := range ops {
		members[comp[i]] = append(members[comp[i]], i)
	}
	cyclic = make([][]string, len(ops))
	isCycle := func(c int) bool {
		m := members[c]
		return len(m) > 1 || slices.Contains(edges[m[0]], m[0])
	}
	placed := map[int]bool{}
	var visit func(c int)
	visit = func(c int) {
		if placed[c] {
			return
		}
		placed[c] = true // the condensation is acyclic: no component is reached twice on one path
		for _, i := range members[c] {
			for _, j := range edges[i] {
				if comp[j] != c {
					visit(comp[j])
				}
			}
		}
		if !isCycle(c) {
			steps = append(steps, planStep{op: members[c][0], kind: stepRun})
			return
		}
		for _, i := range members[c] {
			for _, ref := range ops[i].refs {
				if j, ok := def[ref]; ok && comp[j] == c {
					cyclic[i] = append(cyclic[i], ref)
				}
			}
			steps = append(steps, planStep{op: i, kind: stepCreateCyclic})
		}
		for _, i := range members[c] {
			steps = append(steps, planStep{op: i, kind: stepCompleteCycle})
		}
	}
	for i := range ops {
		visit(comp[i])
	}
	return steps, cyclic
}

// sccs returns the strongly connected component of each node of the graph
// (Tarjan's algorithm, iterative so that a long chain of references cannot
// exhaust the stack). Component numbers are arbitrary.
func sccs(edges [][]int) []int {
	n := len(edges)
	index, low, comp := make([]int, n), make([]int, n), make([]int, n)
	for i := range index {
		index[i], comp[i] = -1, -1
	}
	onStack := make([]bool, n)
	var stack []int
	next, ncomp := 0, 0
	type frame struct{ v, e int }
	for root := range n {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack, onStack[root] = append(stack, root), true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.e < len(edges[f.v]) {
				w := edges[f.v][f.e]
				f.e++
				switch {
				case index[w] < 0:
					index[w], low[w] = next, next
					next++
					stack, onStack[w] = append(stack, w), true
					call = append(call, frame{w, 0})
				case onStack[w]:
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				for {
					w := stack[len(stack)-1]
					stack, onStack[w] = stack[:len(stack)-1], false
					comp[w] = ncomp
					if w == v {
						break
					}
				}
				ncomp++
			}
		}
	}
	return comp
}

// planBatches groups consecutive steps that may run at the same time: POSTs
// (stepRun or stepCreateCyclic) that reference no bulkId another POST of the
// batch defines, and whose claims differ from every other's (so that which
// of two creates wins a name never depends on timing). Every other step is a
// batch of its own, run after everything before it finished: a PUT, PATCH or
// DELETE can free or take a name, or name a resource another operation
// changes. sequential (failOnErrors set) makes every step a batch of its own,
// so that no operation runs after the error limit is reached.
func planBatches(steps []planStep, ops []planInput, sequential bool) [][]planStep {
	var out [][]planStep
	var cur []planStep
	claimed := map[string]bool{}
	defined := map[string]bool{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, claimed, defined = nil, map[string]bool{}, map[string]bool{}
	}
	for _, st := range steps {
		o := ops[st.op]
		parallel := !sequential && o.ok && o.post && !o.alone && st.kind != stepCompleteCycle
		if !parallel {
			flush()
			out = append(out, []planStep{st})
			continue
		}
		fits := true
		for _, ref := range o.refs {
			fits = fits && !defined[ref]
		}
		for _, c := range o.claims {
			fits = fits && !claimed[c]
		}
		if !fits {
			flush()
		}
		cur = append(cur, st)
		for _, c := range o.claims {
			claimed[c] = true
		}
		if o.bulkID != "" {
			defined[o.bulkID] = true
		}
	}
	flush()
	return out
}

// bulkRefs returns the bulkIds v references: every string value, at any
// depth, that is "bulkId:" followed by the id (RFC 7644 §3.7.2; references
// are whole values, as in its examples). seen collects them in order of
// appearance, without duplicates. Linear in the size of v: a 1 MiB request
// holds some 75,000 distinct references, and the set of those already seen
// keeps each one O(1).
func bulkRefs(v any, seen []string) []string {
	known := make(map[string]struct{}, len(seen))
	for _, id := range seen {
		known[id] = struct{}{}
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if id, ok := strings.CutPrefix(x, bulkRefPrefix); ok {
				if _, dup := known[id]; !dup {
					known[id] = struct{}{}
					seen = append(seen, id)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) { // a stable order of appearance
				walk(x[k])
			}
		}
	}
	walk(v)
	return seen
}

// resolveRefs returns a copy of v in which every "bulkId:X" value whose X ids
// names is replaced by that id (RFC 7644 §3.7.2: "The service provider MUST
// replace the string "bulkId:qwerty" with the permanent resource id once
// created"). v itself is left alone: a cycle's operation is resolved twice.
func resolveRefs(v any, ids map[string]string) any {
	switch x := v.(type) {
	case string:
		if ref, ok := strings.CutPrefix(x, bulkRefPrefix); ok {
			if id, ok := ids[ref]; ok {
				return id
			}
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveRefs(e, ids)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = resolveRefs(e, ids)
		}
		return out
	}
	return v
}

// stripCycle splits a cycle's POST body: what it is created with (res without
// the attribute values that reference one of refs) and the PatchOp body that
// adds those values back once every resource of the cycle exists (RFC 7644
// §3.5.2.1 "add"; nil when nothing was taken out). A multi-valued attribute
// loses only the elements that reference the cycle (members); any other
// attribute holding such a reference (manager) is left out whole. Attributes
// of an extension are taken one by one ("urn:…:User:manager"), so the rest of
// the extension is created with the resource. The PATCH lists core
// attributes first, then each extension's, each in name order.
func stripCycle(res map[string]any, refs []string, rt *mapping.ResourceType) (created map[string]any, patch map[string]any) {
	names := func(v any) bool {
		for _, r := range bulkRefs(v, nil) {
			if slices.Contains(refs, r) {
				return true
			}
		}
		return false
	}
	var ops []any
	// split moves what names the cycle from obj's attribute k into ops;
	// prefix makes the PATCH path ("" for core attributes, "urn:…:" for an
	// extension's). It returns the value to create with, or false to leave
	// the attribute out.
	split := func(k string, v any, prefix string) (any, bool) {
		if !names(v) {
			return v, true
		}
		list, ok := v.([]any)
		if !ok {
			ops = append(ops, map[string]any{"op": "add", "path": prefix + k, "value": v})
			return nil, false
		}
		keep, moved := []any{}, []any{}
		for _, e := range list {
			if names(e) {
				moved = append(moved, e)
			} else {
				keep = append(keep, e)
			}
		}
		ops = append(ops, map[string]any{"op": "add", "path": prefix + k, "value": moved})
		return keep, true
	}
	created = make(map[string]any, len(res))
	var exts []string
	for _, k := range slices.Sorted(maps.Keys(res)) {
		if rt.ExtensionURN(k) != "" && isObject(res[k]) {
			exts = append(exts, k)
			continue
		}
		if v, ok := split(k, res[k], ""); ok {
			created[k] = v
		}
	}
	for _, urn := range exts {
		obj := res[urn].(map[string]any)
		out := make(map[string]any, len(obj))
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if v, ok := split(k, obj[k], urn+":"); ok {
				out[k] = v
			}
		}
		created[urn] = out
	}
	if len(ops) == 0 {
		return created, nil
	}
	return created, map[string]any{"schemas": []any{patchOpSchema}, "Operations": ops}
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }
