package scimmodel

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
	"pgregory.net/rapid"
)

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
func (w *world) send(method, path string, body any, ifMatch string) (modelResponse, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, w.url+path, rd)
	if err != nil {
		return modelResponse{}, err
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
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
func (w *world) run(c *command, x ids, client string) (lines []string, problems []problem) {
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

// snapshot is the Directory.SnapshotAttrs of the entry with the given id
// (entryCSN or uSNChanged among them: they change with any write), as one
// sorted string; "" when there is none. Values that are not text (objectGUID,
// objectSid) are written in hex.
func (w *world) snapshot(id string) string {
	filter, ok := w.dir.Dialect.IDFilter(id)
	if !ok {
		return ""
	}
	res, err := w.search(ldap.NewSearchRequest(w.dir.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, w.dir.SnapshotAttrs, nil))
	if err != nil || len(res.Entries) != 1 {
		return ""
	}
	e := res.Entries[0]
	var parts []string
	for _, a := range e.Attributes {
		vals := slices.Clone(a.Values)
		for i, v := range vals {
			if !utf8.ValidString(v) {
				vals[i] = "0x" + hex.EncodeToString([]byte(v))
			}
		}
		sort.Strings(vals)
		parts = append(parts, a.Name+"="+strings.Join(vals, "|"))
	}
	sort.Strings(parts)
	return e.DN + " " + strings.Join(parts, " ")
}

// wipe deletes every entry right under the users' and the groups' bases: each
// sequence starts from an empty directory. (The bases hold only leaves: users
// and groups.)
func (w *world) wipe() error {
	bases := []string{w.dir.Users.Base}
	if !strings.EqualFold(w.dir.Groups.Base, w.dir.Users.Base) {
		bases = append(bases, w.dir.Groups.Base)
	}
	for _, base := range bases {
		res, err := w.search(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			if err := w.del(e.DN); err != nil {
				return fmt.Errorf("wipe %s: %w", e.DN, err)
			}
		}
	}
	return nil
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
func (w *world) sequential(t *rapid.T, kinds []string) {
	w.runClients(t, []*model{{d: w.dir}}, kinds, rapidSteps())
}

// concurrent runs three clients at the same time. Their names are disjoint (a
// suffix each), so no client touches another's entries and the combined model
// does not depend on how their requests interleave.
func (w *world) concurrent(t *rapid.T, kinds []string) {
	models := make([]*model, clients)
	for i := range models {
		models[i] = &model{d: w.dir, suffix: fmt.Sprintf(".%d", i+1)}
	}
	w.runClients(t, models, kinds, max(rapidSteps()/2, 1))
}

// runClients plans commands per model (client; k: see plan), runs the clients
// at the same time, each checking its own responses and stopping at the first
// that the model does not expect (later commands assumed its outcome), then
// checks the directory against the models.
func (w *world) runClients(t *rapid.T, models []*model, kinds []string, k int) {
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
