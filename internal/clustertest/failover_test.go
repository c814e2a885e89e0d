package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/internal/slapdtest"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

var (
	providers = flag.Int("cluster.providers", 2, "slapd providers in the cluster (3 makes slapd 2.5.13 diverge: docs/operations.md)")
	load      = flag.Duration("cluster.load", 8*time.Second, "how long the clients write, about: the preferred provider is killed after a fifth of it, restarted a fifth later, killed again a fifth after both gateways are back on it, restarted a fifth later, and the load goes on for a last fifth")
	clients   = flag.Int("cluster.clients", 16, "concurrent IdP-like clients")
	strict    = flag.Bool("cluster.strict", false, "fail when an acknowledged value is on some providers only (replication dropped it), not only when it is on none")
)

const token = "cluster-test-token-0123456789"

// TestFailoverUnderLoad is the proof of "no acknowledged write lost" across a
// failover and a failback, twice, with two gateways behind a round-robin proxy.
//
// A write is acknowledged when the gateway answered it 2xx. Every client owns
// its users, and each (user, attribute) and (group, user) pair is written by
// one client only, one request at a time, so the last acknowledged write of a
// pair is its expected value. A write answered 503 may or may not have been
// applied (the link can die after the directory applied it): the client
// retries it until it is acknowledged, and a pair whose last write was never
// acknowledged is uncertain and left out (counted). A 4xx applied nothing.
//
// No acknowledged write lost means: once replication has settled after the
// last restart, every acknowledged create (same id, userName), every certain
// attribute's last acknowledged value and every certain membership as last
// acknowledged is held by a provider (else an error: the gateway lost it) and
// by every provider (else the directory's replication dropped it: an error
// with -cluster.strict, a logged finding without). Replication is
// asynchronous, so a write acknowledged by a provider that dies before sending
// it on is missing elsewhere until that provider returns: the check runs after
// the returns. Entries that differ between providers otherwise are logged.
//
// Read-your-writes: each create is read back at once through the proxy (so
// through the other gateway every other time); it must be found whenever both
// gateways used the same server from before the create to after the read (no
// switch in between).
func TestFailoverUnderLoad(t *testing.T) {
	c, err := slapdtest.StartCluster(*providers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	_, file, _, _ := runtime.Caller(0)
	m, err := mapping.Load(filepath.Join(filepath.Dir(file), "..", "..", "mappings.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	var rec recorder
	stores := make([]*ldapstore.Store, 2)
	backends := make([]*url.URL, 2)
	for g := range stores {
		p := c.Providers[0]
		s, err := ldapstore.Open(ldapstore.Config{URL: c.URLs(), BindDN: p.BindDN, BindPassword: p.Password, Conns: 4,
			Timeout: 3 * time.Second, FailbackInterval: 250 * time.Millisecond,
			OnSwitch: func(sw ldapstore.Switch) {
				rec.event(fmt.Sprintf("gateway %d: %s -> %s (%s)", g+1, sw.From, sw.To, sw.Reason))
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		stores[g] = s
		gw := gateway.New(gateway.Config{Mapping: m, Store: s, Log: zerolog.Nop(), Tokens: []string{token}, AuthFailureBurst: -1, RequestTimeout: 10 * time.Second})
		if err := gw.CheckMapping(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gw)
		t.Cleanup(srv.Close)
		backends[g], _ = url.Parse(srv.URL)
	}
	var rr atomic.Uint64
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backends[rr.Add(1)%uint64(len(backends))])
	}})
	t.Cleanup(proxy.Close)
	api := &api{base: proxy.URL + "/scim/v2", http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, rec: &rec}
	// switches counts both gateways' changes of server so far.
	switches := func() uint64 {
		var n uint64
		for _, s := range stores {
			fo, fb := s.Switches()
			n += fo + fb
		}
		return n
	}
	inUse := func() [2]string {
		a, _ := stores[0].InUse()
		b, _ := stores[1].InUse()
		return [2]string{a, b}
	}

	// Shared groups, created before the load.
	var groups []*group
	for i := range 4 {
		r := api.do("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": fmt.Sprintf("cluster-group-%d", i)})
		if r.status != 201 {
			t.Fatalf("create group: %d %s", r.status, r.raw)
		}
		groups = append(groups, &group{id: r.body["id"].(string)})
	}

	// The clients.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	cls := make([]*client, *clients)
	start := time.Now()
	for i := range cls {
		cl := &client{n: i, api: api, groups: groups, rng: rand.New(rand.NewPCG(uint64(i), 1)), members: map[[2]string]*pair{}, inUse: inUse, switches: switches, stop: stop}
		cls[i] = cl
		wg.Add(1)
		go func() { defer wg.Done(); cl.run() }()
	}
	// The chaos: kill the preferred provider and restart it, twice; the
	// second kill waits until both gateways are back on it, so that each
	// kill hits the server in use.
	preferred := [2]string{c.Providers[0].URL, c.Providers[0].URL}
	waitInUse := func(want [2]string) {
		for deadline := time.Now().Add(90 * time.Second); inUse() != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the gateways did not fail back to %s: %v", c.Providers[0].URL, inUse())
			}
		}
	}
	type outage struct{ kill, resume time.Time }
	var outages []outage
	next := start.Add(*load / 5)
	for range 2 {
		time.Sleep(time.Until(next))
		o := outage{kill: time.Now()}
		if err := c.Kill(0); err != nil {
			t.Fatal(err)
		}
		rec.event("provider 1 killed (" + o.kill.Format("15:04:05.000") + ")")
		time.Sleep(time.Until(o.kill.Add(*load / 5)))
		o.resume = time.Now()
		if err := c.Resume(0); err != nil {
			t.Fatal(err)
		}
		rec.event("provider 1 restarted")
		outages = append(outages, o)
		waitInUse(preferred)
		next = o.resume.Add(*load / 5)
	}
	time.Sleep(time.Until(next))
	close(stop)
	wg.Wait()
	loadEnd := time.Now()

	// Replication settled.
	if err := c.WaitConverged(90 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Every provider's users and groups, straight from LDAP.
	dumps := make([]*dump, len(c.Providers))
	for i, p := range c.Providers {
		if dumps[i], err = read(p); err != nil {
			t.Fatal(err)
		}
	}
	var st stats
	for _, cl := range cls {
		cl.check(t, dumps, groups, &st)
	}
	divergent := divergence(dumps, "entrycsn")
	logDivergence(t, dumps, 5)
	csnOnly := divergence(dumps, "") - divergent
	memberOfBad := 0
	for _, d := range dumps {
		memberOfBad += d.memberOfMismatches()
	}

	// The figures.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	t.Logf("cluster: %d providers (delta-syncrepl, N-way multi-provider), 2 gateways behind a round-robin proxy, %d clients, %s of load, provider 1 killed (SIGKILL) and restarted twice",
		len(c.Providers), len(cls), loadEnd.Sub(start).Round(time.Millisecond))
	t.Logf("requests %d: 2xx %d, 503 %d, other %v", rec.total(), rec.count2xx(), rec.status(503), rec.others())
	for i, o := range outages {
		t.Logf("outage %d: first acknowledged write %s after the kill; %d answers 503 from the kill to the restart; failback after the restart: %s",
			i+1, rec.firstAckAfter(o.kill).Round(time.Millisecond), rec.statusBetween(503, o.kill, o.resume), rec.describeFailback(o.resume))
	}
	t.Logf("acknowledged: %d creates, %d attribute writes, %d membership writes; checked on every provider: %d users, %d attributes, %d memberships (%d pairs uncertain: last write unanswered)",
		st.creates, st.attrWrites, st.memberWrites, st.users, st.attrs, st.members, st.uncertain)
	t.Logf("acknowledged values lost (on no provider): %d; held by only some providers: %d; entries diverging between providers: %d (and %d differing in entryCSN only); memberOf disagreeing with member: %d",
		st.lost, st.partial, divergent, csnOnly, memberOfBad)
	t.Logf("read-your-writes across the gateways: %d reads after creates, %d not found while both gateways used one server, %d not found during a switch, %d unanswered (503)",
		st.rywReads, st.rywViolations, st.rywDuringSwitch, st.rywUnanswered)
	for _, e := range rec.events {
		t.Logf("event +%s %s", e.at.Sub(start).Round(time.Millisecond), e.what)
	}
	if st.lost > 0 || st.rywViolations > 0 {
		t.Errorf("lost %d, read-your-writes violations %d: want 0 each", st.lost, st.rywViolations)
	}
	// Providers that disagree after replication settled are the directory's
	// fault (the gateways write to one provider at a time), seen with slapd
	// 2.5.13 under CPU contention: an error with -cluster.strict (make
	// cluster), a finding otherwise.
	if divergent > 0 {
		t.Logf("FINDING: %d entries differ between providers after replication settled (the directory's replication dropped changes; acknowledged or not, see the entries above)", divergent)
	}
	if bad := st.partial > 0 || memberOfBad > 0; bad && *strict {
		t.Errorf("the providers diverge on acknowledged values: %d held by only some, %d memberOf mismatches", st.partial, memberOfBad)
	} else if bad {
		t.Logf("FINDING: the providers diverge on acknowledged values: %d held by only some, %d memberOf mismatches; -cluster.strict makes this an error", st.partial, memberOfBad)
	}
	if st.creates == 0 || st.attrWrites == 0 || st.memberWrites == 0 {
		t.Errorf("too little was acknowledged to prove anything: %+v", st)
	}
	if fo, fb := stores[0].Switches(); fo+fb == 0 {
		t.Errorf("gateway 1 never switched server")
	}
}

// api sends SCIM requests and records each answer.
type api struct {
	base string
	http *http.Client
	rec  *recorder
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (a *api) do(method, path string, body any) response {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := a.http.Do(req)
	if err != nil {
		a.rec.answer(method, 0)
		return response{raw: err.Error()}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &out.body)
	a.rec.answer(method, res.StatusCode)
	return out
}

// recorder keeps every answer's status and time, and the events (kills,
// restarts, switches).
type recorder struct {
	mu      sync.Mutex
	answers []answer
	events  []event
}

type answer struct {
	at     time.Time
	write  bool
	status int
}

type event struct {
	at   time.Time
	what string
}

func (r *recorder) answer(method string, status int) {
	r.mu.Lock()
	r.answers = append(r.answers, answer{time.Now(), method != "GET", status})
	r.mu.Unlock()
}

func (r *recorder) event(what string) {
	r.mu.Lock()
	r.events = append(r.events, event{time.Now(), what})
	r.mu.Unlock()
}

func (r *recorder) total() int { return len(r.answers) }

func (r *recorder) status(code int) int {
	return r.statusBetween(code, time.Time{}, time.Now().Add(time.Hour))
}

func (r *recorder) statusBetween(code int, from, to time.Time) int {
	n := 0
	for _, a := range r.answers {
		if a.status == code && !a.at.Before(from) && a.at.Before(to) {
			n++
		}
	}
	return n
}

func (r *recorder) count2xx() int {
	n := 0
	for _, a := range r.answers {
		if a.status/100 == 2 {
			n++
		}
	}
	return n
}

func (r *recorder) others() map[int]int {
	m := map[int]int{}
	for _, a := range r.answers {
		if a.status/100 != 2 && a.status != 503 {
			m[a.status]++
		}
	}
	return m
}

// firstAckAfter is the time from t to the first write answered 2xx after it.
func (r *recorder) firstAckAfter(t time.Time) time.Duration {
	for _, a := range r.answers {
		if a.write && a.status/100 == 2 && a.at.After(t) {
			return a.at.Sub(t)
		}
	}
	return -1
}

// describeFailback says when each gateway switched back after t.
func (r *recorder) describeFailback(t time.Time) string {
	var parts []string
	for _, e := range r.events {
		if e.at.After(t) && strings.Contains(e.what, "failback") {
			parts = append(parts, fmt.Sprintf("%s %s", e.what[:strings.Index(e.what, ":")], e.at.Sub(t).Round(time.Millisecond)))
			if len(parts) == 2 {
				break
			}
		}
	}
	if len(parts) == 0 {
		return "none before the next event"
	}
	return strings.Join(parts, ", ")
}

type group struct{ id string }

type user struct {
	id, userName string
	attrs        map[string]*pair // displayName, title
}

// pair is the expected state of one attribute or membership: the last
// acknowledged value, and whether a later write went unanswered.
type pair struct {
	value     string // attribute value, or "in"/"out" for a membership
	uncertain bool
	at        time.Time // when value was acknowledged
	prev      string    // the value acknowledged before, and when
	prevAt    time.Time
}

// history says when a pair's last two values were acknowledged, for a lost
// write's report.
func (p *pair) history() string {
	return fmt.Sprintf("acknowledged at %s, after %q at %s", p.at.Format("15:04:05.000"), p.prev, p.prevAt.Format("15:04:05.000"))
}

type client struct {
	n        int
	api      *api
	groups   []*group
	rng      *rand.Rand
	users    []*user
	members  map[[2]string]*pair // (group id, user id)
	inUse    func() [2]string
	switches func() uint64
	stop     chan struct{}
	seq      int
	// read-your-writes
	rywReads, rywViolations, rywDuringSwitch int
	rywUnanswered                            int
	creates, attrWrites, memberWrites        int
}

func (c *client) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

func (c *client) run() {
	for !c.stopped() {
		switch x := c.rng.IntN(10); {
		case len(c.users) < 2 || x < 3:
			c.create()
		case x < 7:
			c.patchAttr()
		default:
			c.patchMember()
		}
	}
}

func (c *client) create() {
	c.seq++
	name := fmt.Sprintf("c%02d-u%04d@example.org", c.n, c.seq)
	before, switched := c.inUse(), c.switches()
	r := c.api.do("POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name, "name": map[string]any{"givenName": "G", "familyName": "F"}, "displayName": "d0", "title": "t0"})
	if r.status != 201 {
		return // 503: maybe applied, never used (a retry under the same name could meet a half-replicated twin)
	}
	u := &user{id: r.body["id"].(string), userName: name, attrs: map[string]*pair{"displayName": {value: "d0", at: time.Now()}, "title": {value: "t0", at: time.Now()}}}
	c.users = append(c.users, u)
	c.creates++
	g := c.api.do("GET", "/Users/"+u.id, nil)
	after := c.inUse()
	c.rywReads++
	switch {
	case g.status == 200:
	case g.status != 404:
		c.rywUnanswered++ // 503 or no answer: not a read of a replica that lacks it
	default:
		if before == after && before[0] == before[1] && c.switches() == switched {
			c.rywViolations++
		} else {
			c.rywDuringSwitch++
		}
	}
}

// write sends a PATCH until it is acknowledged (2xx), refused (4xx: that
// attempt applied nothing, though an earlier unanswered one may have) or the
// load ends; it reports whether it was acknowledged and whether its outcome is
// unknown.
func (c *client) write(path string, body any) (acked, unknown bool) {
	for tries := 0; ; tries++ {
		r := c.api.do("PATCH", path, body)
		switch {
		case r.status/100 == 2:
			return true, false
		case r.status/100 == 4:
			return false, tries > 0 // an earlier attempt, unanswered, may have been applied
		case c.stopped():
			return false, true
		}
		time.Sleep(20 * time.Millisecond) // 503 (or no answer): retry, as IdPs do
	}
}

func (c *client) patchAttr() {
	u := c.users[c.rng.IntN(len(c.users))]
	attr := []string{"displayName", "title"}[c.rng.IntN(2)]
	c.seq++
	v := fmt.Sprintf("%s-%d", attr[:1], c.seq)
	acked, unknown := c.write("/Users/"+u.id, patchOp(map[string]any{"op": "replace", "path": attr, "value": v}))
	if acked {
		old := u.attrs[attr]
		u.attrs[attr] = &pair{value: v, at: time.Now(), prev: old.value, prevAt: old.at}
		c.attrWrites++
	} else if unknown {
		u.attrs[attr].uncertain = true
	}
}

func (c *client) patchMember() {
	g := c.groups[c.rng.IntN(len(c.groups))]
	u := c.users[c.rng.IntN(len(c.users))]
	k := [2]string{g.id, u.id}
	p := c.members[k]
	op := map[string]any{"op": "add", "path": "members", "value": []map[string]any{{"value": u.id}}}
	want := "in"
	if p != nil && !p.uncertain && p.value == "in" {
		op, want = map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", u.id)}, "out"
	}
	acked, unknown := c.write("/Groups/"+g.id, patchOp(op))
	switch {
	case acked:
		np := &pair{value: want, at: time.Now()}
		if p != nil {
			np.prev, np.prevAt = p.value, p.at
		}
		c.members[k] = np
		c.memberWrites++
	case unknown && p != nil:
		p.uncertain = true
	case unknown:
		c.members[k] = &pair{uncertain: true}
	}
}

func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

type stats struct {
	creates, attrWrites, memberWrites        int
	users, attrs, members, uncertain, lost   int
	partial                                  int // held by some providers only
	rywReads, rywViolations, rywDuringSwitch int
	rywUnanswered                            int
}

// check compares the client's acknowledged writes with every provider's dump.
func (c *client) check(t *testing.T, dumps []*dump, groups []*group, st *stats) {
	st.creates += c.creates
	st.attrWrites += c.attrWrites
	st.memberWrites += c.memberWrites
	st.rywReads += c.rywReads
	st.rywViolations += c.rywViolations
	st.rywDuringSwitch += c.rywDuringSwitch
	st.rywUnanswered += c.rywUnanswered
	// verdict files one acknowledged value by the providers that hold it:
	// all (kept), none (lost), some (the providers diverge on it: replication
	// dropped it on the others).
	verdict := func(held []bool, what string) {
		n := 0
		for _, h := range held {
			if h {
				n++
			}
		}
		switch {
		case n == len(held):
		case n == 0:
			st.lost++
			t.Errorf("lost on every provider: %s", what)
		default:
			st.partial++
			t.Logf("held by %d of %d providers (%v): %s", n, len(held), held, what)
		}
	}
	for _, u := range c.users {
		st.users++
		held := make([]bool, len(dumps))
		for i, d := range dumps {
			e := d.users[u.id]
			held[i] = e != nil && strings.EqualFold(first(e["uid"]), u.userName)
		}
		verdict(held, fmt.Sprintf("user %s (%s)", u.userName, u.id))
		for attr, p := range u.attrs {
			if p.uncertain {
				st.uncertain++
				continue
			}
			st.attrs++
			for i, d := range dumps {
				e := d.users[u.id]
				held[i] = e != nil && first(e[strings.ToLower(attr)]) == p.value
			}
			verdict(held, fmt.Sprintf("user %s: %s %q (%s)", u.userName, attr, p.value, p.history()))
		}
	}
	for k, p := range c.members {
		if p.uncertain {
			st.uncertain++
			continue
		}
		st.members++
		held := make([]bool, len(dumps))
		name := k[1]
		for i, d := range dumps {
			g, u := d.groups[k[0]], d.users[k[1]]
			if g != nil && u != nil {
				held[i] = slices.Contains(g["member"], strings.ToLower(u["dn"][0])) == (p.value == "in")
				name = first(u["uid"])
			}
		}
		verdict(held, fmt.Sprintf("membership of %s in group %s: %s (%s)", name, k[0], p.value, p.history()))
	}
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// dump is one provider's users and groups by entryUUID: attribute (lower
// case) -> sorted values, DN values lower-cased; "dn" holds the entry's DN.
type dump struct {
	users, groups map[string]map[string][]string
}

func read(p *slapdtest.Server) (*dump, error) {
	c, err := ldap.DialURL(p.URL)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Bind(p.RootDN, p.RootPW); err != nil {
		return nil, err
	}
	d := &dump{}
	for _, part := range []struct {
		base  string
		attrs []string
		into  *map[string]map[string][]string
	}{
		{"ou=people," + p.BaseDN, []string{"uid", "displayName", "title", "memberOf", "entryUUID", "entryCSN"}, &d.users},
		{"ou=groups," + p.BaseDN, []string{"cn", "member", "entryUUID", "entryCSN"}, &d.groups},
	} {
		res, err := c.SearchWithPaging(ldap.NewSearchRequest(part.base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=*)", part.attrs, nil), 500)
		if err != nil {
			return nil, err
		}
		*part.into = map[string]map[string][]string{}
		for _, e := range res.Entries {
			m := map[string][]string{"dn": {strings.ToLower(e.DN)}}
			for _, a := range e.Attributes {
				vs := slices.Clone(a.Values)
				if n := strings.ToLower(a.Name); n == "member" || n == "memberof" {
					for i := range vs {
						vs[i] = strings.ToLower(vs[i])
					}
				}
				sort.Strings(vs)
				m[strings.ToLower(a.Name)] = vs
			}
			(*part.into)[e.GetAttributeValue("entryUUID")] = m
		}
	}
	return d, nil
}

// divergence counts the entries (by entryUUID) that differ between the first
// provider and any other in an attribute other than skip, or exist on only
// some of them.
func divergence(dumps []*dump, skip string) int {
	strip := func(e map[string][]string) string {
		c := maps.Clone(e)
		delete(c, skip)
		return fmt.Sprint(c)
	}
	n := 0
	for _, d := range dumps[1:] {
		for _, pick := range []func(*dump) map[string]map[string][]string{
			func(d *dump) map[string]map[string][]string { return d.users },
			func(d *dump) map[string]map[string][]string { return d.groups },
		} {
			a, b := pick(dumps[0]), pick(d)
			for id, e := range a {
				if f, ok := b[id]; !ok || strip(e) != strip(f) {
					n++
				}
			}
			for id := range b {
				if _, ok := a[id]; !ok {
					n++
				}
			}
		}
	}
	return n
}

// memberOfMismatches counts the (group, user) pairs where the group's member
// and the user's memberOf disagree on this provider.
func (d *dump) memberOfMismatches() int {
	n := 0
	byDN := map[string]map[string][]string{}
	for _, u := range d.users {
		byDN[u["dn"][0]] = u
	}
	for _, g := range d.groups {
		for _, m := range g["member"] {
			if u := byDN[m]; u != nil && !slices.Contains(u["memberof"], g["dn"][0]) {
				n++
			}
		}
	}
	for _, u := range d.users {
		for _, gdn := range u["memberof"] {
			for _, g := range d.groups {
				if g["dn"][0] == gdn && !slices.Contains(g["member"], u["dn"][0]) {
					n++
				}
			}
		}
	}
	return n
}

// logDivergence logs up to most entries that differ between providers, each
// provider's version of it.
func logDivergence(t *testing.T, dumps []*dump, most int) {
	ids := map[string]bool{}
	for _, d := range dumps {
		for id := range d.users {
			ids[id] = true
		}
		for id := range d.groups {
			ids[id] = true
		}
	}
	n := 0
	for id := range ids {
		var versions []string
		for _, d := range dumps {
			e := d.users[id]
			if e == nil {
				e = d.groups[id]
			}
			if g := e["member"]; len(g) > 0 {
				e = maps.Clone(e)
				e["member"] = []string{fmt.Sprintf("%d values", len(g))}
			}
			versions = append(versions, fmt.Sprint(e))
		}
		if slices.Equal(versions, slices.Repeat(versions[:1], len(versions))) {
			continue
		}
		t.Logf("diverging entry %s:", id)
		for i, v := range versions {
			t.Logf("  provider %d: %s", i+1, v)
		}
		if n++; n == most {
			return
		}
	}
}
