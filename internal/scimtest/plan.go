package scimtest

// Plan mode under the IdP scenarios: PlanShadow sends every write of a
// scenario first with a plan-mode credential, checks what plan mode promises
// (nothing written, the real write's answer, the same change audited as LDIF),
// then sends it for real, so the scenario goes on as it would.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// PlannedHeader is the header plan mode marks its answers with.
const PlannedHeader = "X-SCIM2LDAP-Planned"

// PlanShadow is an http.RoundTripper for Client.HTTP.
type PlanShadow struct {
	T *testing.T
	// PlanAuth is the Authorization header of the plan-mode credential.
	PlanAuth string
	// Dump returns the directory's state as text, every attribute that a write
	// changes included (entryCSN, uSNChanged…): equal dumps mean nothing was
	// written.
	Dump func(t testing.TB) string
	// Events returns the audit events written since its last call.
	Events func(t testing.TB) []map[string]any
	// Unknowable are texts of refusals a plan cannot know of (the directory's
	// password policy: AD's "0000052D"): when the real write's answer is a
	// 4xx whose detail holds one, the planned answer is a success instead, and
	// only that is checked.
	Unknowable []string
	// Writes and Creates count the writes shadowed, and the creates among them.
	Writes, Creates int
}

// DumpTree is every entry under base with the attributes attrs asks for, as
// sorted text (one line per value: DN, attribute, value): two dumps are equal
// only when nothing under base changed.
func DumpTree(t testing.TB, c *ldap.Conn, base string, attrs ...string) string {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, nil))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range res.Entries {
		for _, a := range e.Attributes {
			for _, v := range a.ByteValues {
				lines = append(lines, e.DN+"\t"+a.Name+"\t"+string(v))
			}
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// StableDump waits until the directory's asynchronous work on the writes
// before (slapd's refint) is done: two dumps in a row agree.
func StableDump(t testing.TB, dump func(testing.TB) string) string {
	t.Helper()
	prev := dump(t)
	for range 50 {
		next := dump(t)
		if next == prev {
			return next
		}
		prev = next
	}
	t.Fatal("the directory kept changing")
	return ""
}

// DiffLines lists the lines only one of two dumps has.
func DiffLines(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range as {
		if !slices.Contains(bs, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bs {
		if !slices.Contains(as, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func (s *PlanShadow) RoundTrip(req *http.Request) (*http.Response, error) {
	t := s.T
	t.Helper()
	write := req.Method == http.MethodPut || req.Method == http.MethodPatch || req.Method == http.MethodDelete ||
		(req.Method == http.MethodPost && !strings.HasSuffix(req.URL.Path, "/.search"))
	if !write {
		return http.DefaultTransport.RoundTrip(req)
	}
	s.Writes++
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	send := func(auth string) (*http.Response, []byte) {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set("Authorization", auth)
		res, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, raw
	}
	what := req.Method + " " + req.URL.RequestURI() + " " + string(body)
	s.Events(t) // skip the events of what came before
	before := StableDump(t, s.Dump)
	planned, plannedRaw := send(s.PlanAuth)
	if after := s.Dump(t); after != before {
		t.Errorf("plan mode changed the directory: %s\n%s", what, DiffLines(before, after))
	}
	if planned.Header.Get(PlannedHeader) != "true" {
		t.Errorf("%s: no %s: true on the planned answer", what, PlannedHeader)
	}
	plannedEvents := s.Events(t)
	actual, actualRaw := send(req.Header.Get("Authorization"))
	actualEvents := s.Events(t)
	if actual.Header.Get(PlannedHeader) != "" {
		t.Errorf("%s: %s on a real write", what, PlannedHeader)
	}
	if s.unknowable(actual.StatusCode, actualRaw) {
		if planned.StatusCode >= 300 {
			t.Errorf("%s: planned %d %s, want the success a plan answers for a refusal it can't know of", what, planned.StatusCode, plannedRaw)
		}
	} else {
		s.compare(what, planned, plannedRaw, actual, actualRaw)
		s.compareAudit(what, planned.StatusCode, plannedEvents, actualEvents)
	}
	actual.Body = io.NopCloser(bytes.NewReader(actualRaw))
	return actual, nil
}

func (s *PlanShadow) unknowable(status int, raw []byte) bool {
	if status < 400 || status >= 500 {
		return false
	}
	for _, u := range s.Unknowable {
		if bytes.Contains(raw, []byte(u)) {
			return true
		}
	}
	return false
}

// compare requires the planned answer to be the real one, but for what the
// directory assigns: a create's id (and so meta.location and Location), and
// meta.version, meta.created, meta.lastModified and the ETag (a planned write
// leaves the entry's as they were).
func (s *PlanShadow) compare(what string, p *http.Response, praw []byte, a *http.Response, araw []byte) {
	t := s.T
	if p.StatusCode != a.StatusCode {
		t.Errorf("%s: planned %d %s, real %d %s", what, p.StatusCode, praw, a.StatusCode, araw)
		return
	}
	if len(praw) == 0 || len(araw) == 0 {
		if len(praw) != len(araw) {
			t.Errorf("%s: planned body %q, real %q", what, praw, araw)
		}
		return
	}
	var pb, ab map[string]any
	if err := json.Unmarshal(praw, &pb); err != nil {
		t.Fatalf("%s: planned body %s: %v", what, praw, err)
	}
	if err := json.Unmarshal(araw, &ab); err != nil {
		t.Fatalf("%s: real body %s: %v", what, araw, err)
	}
	if p.StatusCode == http.StatusCreated {
		s.Creates++
		id, _ := pb["id"].(string)
		if len(id) != 36 || id == ab["id"] || id[14] != '5' {
			t.Errorf("%s: planned id %q (real %v), want a version-5 UUID", what, pb["id"], ab["id"])
		}
		if loc := p.Header.Get("Location"); !strings.HasSuffix(loc, "/"+id) || Get(pb, "meta", "location") != loc {
			t.Errorf("%s: planned Location %q, meta %v", what, loc, pb["meta"])
		}
		delete(pb, "id")
		delete(ab, "id")
	}
	for _, b := range []map[string]any{pb, ab} {
		if meta, ok := b["meta"].(map[string]any); ok {
			for _, k := range []string{"version", "created", "lastModified"} {
				delete(meta, k)
			}
			if p.StatusCode == http.StatusCreated {
				delete(meta, "location")
			}
		}
	}
	if !reflect.DeepEqual(unordered(pb), unordered(ab)) {
		t.Errorf("%s: planned answer differs from the real one:\nplanned %s\nreal    %s", what, praw, araw)
	}
}

// unordered returns v with the elements of every array sorted (by their JSON
// form): the values of a multi-valued attribute have no order, in SCIM (RFC
// 7643 §2.4) as in LDAP (RFC 4511 §4.1.7), and a directory returns them in an
// order of its own.
func unordered(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, el := range x {
			out[k] = unordered(el)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = unordered(el)
		}
		slices.SortFunc(out, func(a, b any) int {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			return bytes.Compare(ja, jb)
		})
		return out
	}
	return v
}

// compareAudit requires the planned write's audit events to be planned, its
// change to carry LDIF naming the entry, and to name what the real write's
// names: the operation, the DN, the DN before a rename, the attributes
// written.
func (s *PlanShadow) compareAudit(what string, status int, planned, actual []map[string]any) {
	t := s.T
	change := func(evs []map[string]any) map[string]any {
		for _, ev := range evs {
			if ev["event"] == "scim.change" {
				return ev
			}
		}
		return nil
	}
	for _, ev := range planned {
		if ev["planned"] != true {
			t.Errorf("%s: a plan's audit event is not marked planned: %v", what, ev)
		}
	}
	for _, ev := range actual {
		if _, ok := ev["planned"]; ok {
			t.Errorf("%s: a real write's audit event is marked planned: %v", what, ev)
		}
	}
	pc, ac := change(planned), change(actual)
	if (pc == nil) != (ac == nil) {
		t.Errorf("%s: planned audit event %v, real %v", what, pc, ac)
		return
	}
	if pc == nil {
		return
	}
	text, _ := pc["ldif"].(string)
	named := func(key string) bool {
		dn, _ := pc[key].(string)
		return dn != "" && strings.Contains(strings.ToLower(text), "dn: "+strings.ToLower(dn)+"\n")
	}
	if attrs, _ := pc["attributes"].([]any); status < 300 && len(attrs) > 0 && !named("dn") && !named("old_dn") {
		t.Errorf("%s: the planned change's LDIF does not name the entry %v:\n%s", what, pc["dn"], text)
	}
	for _, k := range []string{"operation", "dn", "old_dn", "attributes", "resource_type"} {
		if !reflect.DeepEqual(pc[k], ac[k]) {
			t.Errorf("%s: audit %s planned %v, real %v", what, k, pc[k], ac[k])
		}
	}
}

// AuditLog is an audit log written by a gateway under test and read by the
// test (safe for concurrent use).
type AuditLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	read int
}

func (a *AuditLog) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.Write(p)
}

// String is everything written.
func (a *AuditLog) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.String()
}

// Events returns the events written since its last call (JSON lines).
func (a *AuditLog) Events(t testing.TB) []map[string]any {
	t.Helper()
	a.mu.Lock()
	data := slices.Clone(a.buf.Bytes()[a.read:])
	a.read += len(data)
	a.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}
