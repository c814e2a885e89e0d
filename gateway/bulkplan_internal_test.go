package gateway

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/scim2ldap/scim2ldap/mapping"
)

// describe renders steps as "op:kind" for comparisons: r run, c create
// (cyclic), p complete (PATCH).
func describe(steps []planStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, fmt.Sprintf("%d%c", s.op, "rcp"[s.kind]))
	}
	return out
}

func post(id string, refs ...string) planInput {
	return planInput{ok: true, post: true, bulkID: id, refs: refs}
}

func other(refs ...string) planInput { return planInput{ok: true, refs: refs} }

// The orders RFC 7644 §3.7.1–3.7.2 call for.
func TestPlanOrder(t *testing.T) {
	for _, c := range []struct {
		name   string
		ops    []planInput
		want   []string
		cyclic map[int][]string
	}{
		{"§3.7.2 user then group", []planInput{post("qwerty"), post("ytrewq", "qwerty")}, []string{"0r", "1r"}, nil},
		{"§3.7.2 group first: the user's POST moves before it", []planInput{post("ytrewq", "qwerty"), post("qwerty")}, []string{"1r", "0r"}, nil},
		{"only the referenced POST moves", []planInput{other(), post("g", "u"), other(), post("u"), other("g")},
			[]string{"0r", "3r", "1r", "2r", "4r"}, nil},
		{"a chain", []planInput{post("a", "b"), post("b", "c"), post("c")}, []string{"2r", "1r", "0r"}, nil},
		{"§3.7.1 two groups naming each other", []planInput{post("a", "b"), post("b", "a")},
			[]string{"0c", "1c", "0p", "1p"}, map[int][]string{0: {"b"}, 1: {"a"}}},
		{"a ring of three after what it needs", []planInput{post("x", "y", "u"), post("y", "z"), post("z", "x"), post("u")},
			[]string{"3r", "0c", "1c", "2c", "0p", "1p", "2p"}, map[int][]string{0: {"y"}, 1: {"z"}, 2: {"x"}}},
		{"a resource naming itself", []planInput{post("me", "me")}, []string{"0c", "0p"}, map[int][]string{0: {"me"}}},
		{"a refused operation adds no edge", []planInput{{ok: false, post: true, bulkID: "a", refs: []string{"b"}}, post("b", "a")},
			[]string{"0r", "1r"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			steps, cyclic := planOrder(c.ops)
			if got := describe(steps); !slices.Equal(got, c.want) {
				t.Errorf("steps %v, want %v", got, c.want)
			}
			for i := range c.ops {
				if !slices.Equal(cyclic[i], c.cyclic[i]) {
					t.Errorf("cyclic[%d] = %v, want %v", i, cyclic[i], c.cyclic[i])
				}
			}
		})
	}
}

func TestPlanBatches(t *testing.T) {
	claim := func(p planInput, c ...string) planInput { p.claims = c; return p }
	ops := []planInput{
		claim(post("a"), "uid\x00a"), claim(post("b"), "uid\x00b"), claim(post("c"), "uid\x00a"), // c wants a's name
		other(), claim(post("d", "e"), "uid\x00d"), claim(post("e"), "uid\x00e"),
		claim(post("f"), "uid\x00f"), {ok: true, post: true, bulkID: "g", alone: true}, claim(post("h"), "uid\x00h"),
	}
	steps, _ := planOrder(ops)
	var got [][]string
	for _, b := range planBatches(steps, ops, false) {
		got = append(got, describe(b))
	}
	want := [][]string{{"0r", "1r"}, {"2r"}, {"3r"}, {"5r"}, {"4r", "6r"}, {"7r"}, {"8r"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	for _, b := range planBatches(steps, ops, true) {
		if len(b) != 1 {
			t.Errorf("with failOnErrors, a batch of %d", len(b))
		}
	}
}

func TestBulkRefsAndResolve(t *testing.T) {
	data := map[string]any{"members": []any{map[string]any{"value": "bulkId:u1"}, map[string]any{"value": "bulkId:u2", "display": "x"}},
		"manager": map[string]any{"value": "bulkId:u1"}, "title": "not bulkId:u3", "n": 3}
	if got := bulkRefs(data, nil); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("refs %v, want [u1 u2] (whole values only, no duplicates)", got)
	}
	out := resolveRefs(data, map[string]string{"u1": "id-1"}).(map[string]any)
	if v := out["members"].([]any)[0].(map[string]any)["value"]; v != "id-1" {
		t.Errorf("resolved %v", v)
	}
	if v := out["members"].([]any)[1].(map[string]any)["value"]; v != "bulkId:u2" {
		t.Errorf("an unknown bulkId was changed: %v", v)
	}
	if v := data["manager"].(map[string]any)["value"]; v != "bulkId:u1" {
		t.Error("resolveRefs changed its input")
	}
}

// stripCycle takes out exactly what names the cycle, and the PATCH adds it
// back: members element by element, an extension's attribute whole.
func TestStripCycle(t *testing.T) {
	m, err := mapping.Load("../mappings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ent := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	groupRT, userRT := m.Types[1], m.Types[0]
	g := map[string]any{"displayName": "A", "members": []any{map[string]any{"value": "bulkId:b"}, map[string]any{"value": "existing"}}}
	created, patch := stripCycle(g, []string{"b"}, groupRT)
	if !reflect.DeepEqual(created["members"], []any{map[string]any{"value": "existing"}}) || created["displayName"] != "A" {
		t.Errorf("created %v", created)
	}
	wantOps := []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "bulkId:b"}}}}
	if !reflect.DeepEqual(patch["Operations"], wantOps) {
		t.Errorf("patch %v, want %v", patch["Operations"], wantOps)
	}
	u := map[string]any{"userName": "x", ent: map[string]any{"employeeNumber": "1", "manager": map[string]any{"value": "bulkId:x"}}}
	created, patch = stripCycle(u, []string{"x"}, userRT)
	if ext := created[ent].(map[string]any); ext["employeeNumber"] != "1" || ext["manager"] != nil {
		t.Errorf("created %v", created)
	}
	wantOps = []any{map[string]any{"op": "add", "path": ent + ":manager", "value": map[string]any{"value": "bulkId:x"}}}
	if !reflect.DeepEqual(patch["Operations"], wantOps) {
		t.Errorf("patch %v, want %v", patch["Operations"], wantOps)
	}
	if _, patch = stripCycle(map[string]any{"displayName": "B", "members": []any{map[string]any{"value": "bulkId:other"}}}, []string{"b"}, groupRT); patch != nil {
		t.Errorf("a reference outside the cycle was taken out: %v", patch)
	}
}

// Whatever the references (forward, backward, cycles) and the order of the
// operations: every operation gets its steps once; a referenced POST's step
// comes before its referrers' unless both are in one cycle, whose creates all
// come before its PATCHes; operations that are not POSTs keep their request
// order; and batches only group POSTs with distinct claims that don't
// reference each other.
func TestPlanProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 25).Draw(t, "n")
		ops := make([]planInput, n)
		var ids []string
		for i := range ops {
			if rapid.Float64Range(0, 1).Draw(t, "p") < 0.7 {
				ops[i] = planInput{ok: true, post: true, bulkID: fmt.Sprint("b", i)}
				ids = append(ids, ops[i].bulkID)
				ops[i].claims = []string{fmt.Sprint("uid\x00", rapid.IntRange(0, 8).Draw(t, "name"))}
			} else {
				ops[i] = planInput{ok: true}
			}
		}
		for i := range ops {
			if len(ids) == 0 {
				break
			}
			for range rapid.IntRange(0, 3).Draw(t, "nrefs") {
				ref := rapid.SampledFrom(ids).Draw(t, "ref")
				if !slices.Contains(ops[i].refs, ref) {
					ops[i].refs = append(ops[i].refs, ref)
				}
			}
		}
		steps, cyclic := planOrder(ops)
		pos := map[string]int{} // "i r|c|p" → position
		for k, s := range steps {
			key := describe([]planStep{s})[0]
			if _, dup := pos[key]; dup {
				t.Fatalf("step %s twice", key)
			}
			pos[key] = k
		}
		first := func(i int) (int, bool) {
			if k, ok := pos[fmt.Sprintf("%dr", i)]; ok {
				return k, false
			}
			c, okc := pos[fmt.Sprintf("%dc", i)]
			_, okp := pos[fmt.Sprintf("%dp", i)]
			if !okc || !okp {
				t.Fatalf("operation %d has no steps (%v)", i, describe(steps))
			}
			return c, true
		}
		def := map[string]int{}
		for i, o := range ops {
			if o.post {
				def[o.bulkID] = i
			}
		}
		for i, o := range ops {
			ki, ci := first(i)
			if ci != (cyclic[i] != nil) { // a cycle's member names another member (or itself)
				t.Fatalf("operation %d: cyclic refs %v, cyclic steps %v: %v", i, cyclic[i], ci, describe(steps))
			}
			for _, ref := range o.refs {
				j := def[ref]
				kj, cj := first(j)
				inCycle := slices.Contains(cyclic[i], ref)
				switch {
				case inCycle && (!ci || !cj):
					t.Fatalf("operation %d's cycle reference %s: not both cyclic", i, ref)
				case inCycle:
					if pos[fmt.Sprintf("%dc", j)] > pos[fmt.Sprintf("%dp", i)] {
						t.Fatalf("%d's PATCH before %d's create: %v", i, j, describe(steps))
					}
				case kj >= ki:
					t.Fatalf("operation %d references %s (operation %d) but runs first: %v", i, ref, j, describe(steps))
				}
			}
		}
		last := -1
		for i, o := range ops {
			if !o.post {
				k, _ := first(i)
				if k < last {
					t.Fatalf("operations that are not POSTs out of request order: %v", describe(steps))
				}
				last = k
			}
		}
		var flat []planStep
		for _, b := range planBatches(steps, ops, false) {
			flat = append(flat, b...)
			if len(b) == 1 {
				continue
			}
			claims, defined := map[string]bool{}, map[string]bool{}
			for _, s := range b {
				o := ops[s.op]
				if !o.post || s.kind == stepCompleteCycle {
					t.Fatalf("batch %v holds a step that is no create", describe(b))
				}
				for _, c := range o.claims {
					if claims[c] {
						t.Fatalf("batch %v: two creates claim %q", describe(b), c)
					}
					claims[c] = true
				}
				for _, r := range o.refs {
					if defined[r] {
						t.Fatalf("batch %v: %d references %s of the same batch", describe(b), s.op, r)
					}
				}
				defined[o.bulkID] = true
			}
		}
		if !reflect.DeepEqual(describe(flat), describe(steps)) {
			t.Fatalf("batches %v are not the steps %v in order", describe(flat), describe(steps))
		}
	})
}

// A 1 MiB Bulk request can carry about 75,000 distinct bulkId references in
// one operation's data (each "bulkId:…" string is ~13 bytes). Collecting them
// must cost in proportion to their number: bulkRefs once compared each new
// reference with every one seen before (n²/2 string comparisons: 25 s of CPU
// for one such request, which any credential, even read-only, could send
// before a single operation was authorized). This test holds 300,000: linear,
// it takes milliseconds; quadratic, it outlasts any test timeout.
func TestBulkRefsManyDistinct(t *testing.T) {
	const n = 300_000
	list := make([]any, n)
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("r%x", i)
		list[i] = map[string]any{"value": bulkRefPrefix + want[i]}
	}
	list = append(list, bulkRefPrefix+want[0], bulkRefPrefix+want[n-1]) // repeats are listed once
	got := bulkRefs(map[string]any{"members": list}, nil)
	if !slices.Equal(got, want) {
		t.Fatalf("%d references, want %d in order of appearance", len(got), len(want))
	}
	if got := bulkRefs(bulkRefPrefix+"r1", []string{"r0", "r1"}); !slices.Equal(got, []string{"r0", "r1"}) {
		t.Errorf("a reference already in seen was added again: %v", got)
	}
}
