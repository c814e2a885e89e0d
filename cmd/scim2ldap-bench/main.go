// Command scim2ldap-bench is the load harness of scim2ldap (issue 8): it drives
// the requests identity providers send against a gateway and a slapd it starts
// itself (or given URLs), and does the same LDAP work straight to slapd with
// go-ldap in the same run, so that the ratio gateway/direct measures the
// gateway's own cost.
//
//	go run ./cmd/scim2ldap-bench -out bench-out           # what `make perf` runs
//	go run ./cmd/scim2ldap-bench -users 500 -scale-users 0 -group-members 0   # a quick run
//
// Workloads, each with -clients concurrent clients (default 32), the gateway
// first, then direct LDAP (4 shared connections, as the gateway's default):
//
//	create           POST /Users                       | uniqueness search, add, read of the new entry
//	entra-user       GET ?filter=userName eq (miss), POST /Users  (Entra's initial cycle, per user)
//	get-by-id        GET /Users/{id}                   | search by entryUUID
//	filter-userName  GET /Users?filter=userName eq "…" | search by uid
//	patch-replace    PATCH replace displayName, title  | read, modify with assertion, read back
//	deactivate       PATCH replace active False        | the same, on pwdAccountLockedTime
//	group-create     POST /Groups                      | uniqueness search, add, read
//	member-add       PATCH add one member              | read (matched values), id lookup, modify
//	list-page        GET /Users?startIndex=k&count=100 | VLV search on its own connection
//
// Then, with one client: pages 1 … 1,000 of a -scale-users list (startIndex and
// cursor); pages of users who are each in -many-groups groups, with one client
// and with -clients (manygroups.go); and a -group-members group (GET with and without members, PATCH add
// and remove one member). It reports ops/s, p50/p95/p99 latency, the ratio
// gateway/direct, the gateway's CPU seconds (per operation) and peak RSS
// (VmHWM of the child process), the LDAP operations per request from the
// gateway's request log, and writes results.md, results.json and chart.svg to
// -out. Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

type options struct {
	repo, out        string
	clients, users   int
	readRepeat       int
	rounds           int
	groups           int
	maxTime          time.Duration
	scaleUsers       int
	pageCount        int
	pages            string
	pageRepeat       int
	groupMembers     int
	manyGroups       int
	manyGroupsUsers  int
	conns            int
	only             string
	gatewayURL       string
	gatewayPID       int
	token            string
	ldapURL, bindDN  string
	bindPW           string
	keep             bool
	scaleMaxLoadTime time.Duration
	cpuProfile       string
	gatewayEnv       envList
	httpClient       string
}

// doer sends HTTP requests: *http.Client or *leanClient (-http-client).
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// envList is a repeatable -gateway-env KEY=VALUE flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }
func (l *envList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*l = append(*l, v)
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.repo, "repo", ".", "repository root (scripts/slapd-up.sh, mappings.example.yaml, ./cmd/scim2ldap)")
	flag.StringVar(&o.out, "out", "bench-out", "directory for results.md, results.json, chart.svg")
	flag.IntVar(&o.clients, "clients", 32, "concurrent clients per workload")
	flag.IntVar(&o.users, "users", 3000, "operations per workload (users created per side, etc.)")
	flag.IntVar(&o.readRepeat, "read-repeat", 10, "get-by-id and filter-userName read each user this many times per round (-users × this operations), so a round lasts seconds, not a fraction of one")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per workload (gateway, direct, gateway, direct…); ops/s is the median round's, percentiles pool all rounds")
	flag.IntVar(&o.groups, "groups", 100, "groups created (group-create) and filled (member-add)")
	flag.DurationVar(&o.maxTime, "max-time", 60*time.Second, "upper bound of each workload's duration")
	flag.IntVar(&o.scaleUsers, "scale-users", 100000, "users in the directory for the paging measurements (0: skip)")
	flag.IntVar(&o.pageCount, "page-count", 100, "count of each page in the paging measurements")
	flag.StringVar(&o.pages, "pages", "1,10,100,500,1000", "pages to time (1-based, of -page-count entries)")
	flag.IntVar(&o.pageRepeat, "page-repeat", 5, "times each page is fetched (interleaved)")
	flag.IntVar(&o.groupMembers, "group-members", 50000, "members of the big group (0: skip)")
	flag.IntVar(&o.manyGroups, "many-groups", 300, "groups that each of 1,000 users is in, for the many-groups pages (0: skip)")
	flag.IntVar(&o.manyGroupsUsers, "many-groups-users", 10000, "users in the directory, at least, for the many-groups phase and list-page-all")
	flag.IntVar(&o.conns, "conns", 0, "SCIM2LDAP_LDAP_CONNS of the gateway (0: its default)")
	flag.StringVar(&o.only, "only", "", "comma-separated workloads to run (default all; names above, or scale, manygroups, biggroup)")
	flag.StringVar(&o.gatewayURL, "gateway-url", "", "use this gateway (http://127.0.0.1:PORT) instead of starting one; needs -token and the LDAP flags")
	flag.IntVar(&o.gatewayPID, "gateway-pid", 0, "with -gateway-url: its pid, for CPU and RSS")
	flag.StringVar(&o.token, "token", "", "bearer token of -gateway-url")
	flag.StringVar(&o.ldapURL, "ldap-url", "", "with -gateway-url: the directory (ldap://127.0.0.1:PORT)")
	flag.StringVar(&o.bindDN, "ldap-bind-dn", "cn=admin,dc=example,dc=org", "with -ldap-url")
	flag.StringVar(&o.bindPW, "ldap-password", "secret", "with -ldap-url")
	flag.BoolVar(&o.keep, "keep", false, "leave slapd and the gateway running at the end (prints how to stop them)")
	flag.DurationVar(&o.scaleMaxLoadTime, "max-load-time", 20*time.Minute, "upper bound of loading -scale-users and -group-members")
	flag.StringVar(&o.cpuProfile, "gateway-cpuprofile", "", "write the started gateway's CPU profile (its whole run) to this file")
	flag.StringVar(&o.httpClient, "http-client", "lean", "the load generator's HTTP client: lean (own keep-alive connections, no Transport goroutines) or std (net/http.Client)")
	flag.Var(&o.gatewayEnv, "gateway-env", "KEY=VALUE added to the started gateway's environment (repeatable), e.g. GOGC=200 or SCIM2LDAP_LDAP_CONNS=2")
	flag.Parse()
	if err := runBench(o); err != nil {
		fmt.Fprintln(os.Stderr, "scim2ldap-bench:", err)
		os.Exit(1)
	}
}

// env is one run: the gateway, the directory, the direct connections.
type env struct {
	o        options
	base     string // SCIM base URL …/scim/v2
	token    string
	hc       doer
	ldapURL  string
	bindDN   string
	bindPW   string
	direct   *pool
	gwPID    int
	slapdPID int
	logPath  string
	logOff   int64
	cleanup  []func()
	user     *mapping.ResourceType
	group    *mapping.ResourceType
	res      *report
}

func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s: the harness only talks to 127.0.0.1", raw)
	}
	return nil
}

func runBench(o options) (err error) {
	e := &env{o: o, res: &report{Started: time.Now().UTC().Format(time.RFC3339), Clients: o.clients, Machine: machine()}}
	defer func() {
		if o.keep {
			return
		}
		for i := len(e.cleanup) - 1; i >= 0; i-- {
			e.cleanup[i]()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		for i := len(e.cleanup) - 1; i >= 0; i-- {
			e.cleanup[i]()
		}
		os.Exit(130)
	}()
	m, err := mapping.Load(filepath.Join(o.repo, "mappings.example.yaml"))
	if err != nil {
		return err
	}
	e.user, e.group = m.ResourceType("User"), m.ResourceType("Group")
	if o.gatewayURL != "" {
		if o.token == "" || o.ldapURL == "" {
			return errors.New("-gateway-url needs -token and -ldap-url")
		}
		for _, u := range []string{o.gatewayURL, o.ldapURL} {
			if err := loopback(u); err != nil {
				return err
			}
		}
		e.base, e.token, e.ldapURL, e.bindDN, e.bindPW, e.gwPID = strings.TrimRight(o.gatewayURL, "/")+"/scim/v2", o.token, o.ldapURL, o.bindDN, o.bindPW, o.gatewayPID
	} else if err := e.start(); err != nil {
		return err
	}
	switch o.httpClient {
	case "std":
		e.hc = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConns: 4 * o.clients, MaxIdleConnsPerHost: 4 * o.clients, DisableCompression: true}}
	case "lean":
		u, err := url.Parse(e.base)
		if err != nil {
			return err
		}
		e.hc = newLeanClient(u.Host, 4*o.clients, 2*time.Minute)
	default:
		return fmt.Errorf("-http-client %q: want lean or std", o.httpClient)
	}
	e.res.HTTPClient, e.res.GatewayEnv = o.httpClient, o.gatewayEnv
	if e.direct, err = newPool(e.ldapURL, e.bindDN, e.bindPW, 4); err != nil {
		return err
	}
	e.cleanup = append(e.cleanup, e.direct.close)
	e.res.GatewayConns = o.conns
	if err := e.workloads(); err != nil {
		return err
	}
	if e.want("scale") && o.scaleUsers > 0 {
		if err := e.scale(); err != nil {
			return err
		}
	}
	if e.want("manygroups") && o.manyGroups > 0 {
		if err := e.manyGroups(); err != nil {
			return err
		}
	}
	if e.want("biggroup") && o.groupMembers > 0 {
		if err := e.bigGroup(); err != nil {
			return err
		}
	}
	e.res.GatewayPeakRSSMB = e.peakRSS()
	if o.keep {
		fmt.Printf("# left running: gateway pid %d at %s (token %s); stop it and slapd (pid %d) yourself\n", e.gwPID, e.base, e.token, e.slapdPID)
	}
	return e.res.write(o.out)
}

func (e *env) want(name string) bool {
	if e.o.only == "" {
		return true
	}
	return slices.Contains(strings.Split(e.o.only, ","), name)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start brings up a private slapd (scripts/slapd-up.sh) and the gateway as a
// child process (`scim2ldap serve`, built from this repository), both on 127.0.0.1.
func (e *env) start() error {
	tmp, err := os.MkdirTemp("", "scim2ldap-bench-")
	if err != nil {
		return err
	}
	e.cleanup = append(e.cleanup, func() { os.RemoveAll(tmp) })
	p1, _ := freePort()
	p2, _ := freePort()
	dir := filepath.Join(tmp, "slapd")
	up := exec.Command("bash", filepath.Join(e.o.repo, "scripts", "slapd-up.sh"), dir, strconv.Itoa(p1), strconv.Itoa(p2))
	up.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin")
	if out, err := up.CombinedOutput(); err != nil {
		return fmt.Errorf("slapd-up.sh: %v\n%s", err, out)
	}
	e.cleanup = append(e.cleanup, func() {
		_ = exec.Command("bash", filepath.Join(e.o.repo, "scripts", "slapd-down.sh"), dir).Run()
	})
	vars := map[string]string{}
	if b, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
				vars[k] = v
			}
		}
	}
	e.ldapURL, e.bindDN, e.bindPW = vars["LDAP_URL"], vars["LDAP_BIND_DN"], vars["LDAP_BIND_PW"]
	e.slapdPID, _ = strconv.Atoi(vars["SLAPD_PID"])

	bin := filepath.Join(tmp, "scim2ldap")
	build := exec.Command("go", "build", "-o", bin, "./cmd/scim2ldap")
	build.Dir = e.o.repo
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/scim2ldap: %v\n%s", err, out)
	}
	port, _ := freePort()
	e.token = fmt.Sprintf("bench-%d-token-%d", os.Getpid(), time.Now().UnixNano())
	e.logPath = filepath.Join(tmp, "gateway.log")
	logf, err := os.Create(e.logPath)
	if err != nil {
		return err
	}
	gw := exec.Command(bin, "serve")
	gw.Env = append(os.Environ(),
		"SCIM2LDAP_LDAP_URL="+e.ldapURL, "SCIM2LDAP_LDAP_BIND_DN="+e.bindDN, "SCIM2LDAP_LDAP_BIND_PASSWORD="+e.bindPW,
		"SCIM2LDAP_BEARER_TOKENS="+e.token, "SCIM2LDAP_MAPPING_FILE="+filepath.Join(e.o.repo, "mappings.example.yaml"),
		"SCIM2LDAP_LISTEN_ADDR=127.0.0.1:"+strconv.Itoa(port), "SCIM2LDAP_AUTH_FAILURE_BURST=-1", "SCIM2LDAP_AUDIT_LOG="+os.DevNull)
	if e.o.cpuProfile != "" {
		abs, _ := filepath.Abs(e.o.cpuProfile)
		gw.Env = append(gw.Env, "SCIM2LDAP_CPU_PROFILE="+abs)
	}
	if e.o.conns > 0 {
		gw.Env = append(gw.Env, "SCIM2LDAP_LDAP_CONNS="+strconv.Itoa(e.o.conns))
	}
	gw.Env = append(gw.Env, e.o.gatewayEnv...)
	gw.Stdout, gw.Stderr = logf, logf
	if err := gw.Start(); err != nil {
		return err
	}
	e.gwPID = gw.Process.Pid
	e.cleanup = append(e.cleanup, func() {
		_ = gw.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = gw.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = gw.Process.Kill()
		}
		logf.Close()
	})
	e.base = fmt.Sprintf("http://127.0.0.1:%d/scim/v2", port)
	for i := 0; i < 200; i++ {
		if res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port)); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				fmt.Printf("# slapd %s (pid %d), gateway %s (pid %d)\n", e.ldapURL, e.slapdPID, e.base, e.gwPID)
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the gateway did not become ready; see %s", e.logPath)
}

// ---------------------------------------------------------------------------
// Process figures from /proc.

// cpuSeconds is the user+system CPU time of pid so far (0 when unknown).
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // utime, field 14
	st, _ := strconv.ParseFloat(f[12], 64) // stime, field 15
	return (ut + st) / 100                 // USER_HZ is 100 on Linux
}

// stealSeconds is the CPU time, over all CPUs, that the hypervisor ran other
// guests while this machine had work (the 8th value of /proc/stat's "cpu"
// line, proc(5)); 0 where it is not reported.
func stealSeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	v, _ := strconv.ParseFloat(f[8], 64)
	return v / 100 // USER_HZ
}

// statusKB reads a "VmHWM:  1234 kB" line of /proc/pid/status.
func statusKB(pid int, key string) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseFloat(f[1], 64)
				return v
			}
		}
	}
	return 0
}

func (e *env) peakRSS() float64 { return statusKB(e.gwPID, "VmHWM") / 1024 }

// ldapOpsSinceLast averages ldap_ops over the gateway's request log lines
// written since the last call (0 when the log is not ours).
func (e *env) ldapOpsSinceLast() float64 {
	if e.logPath == "" {
		return 0
	}
	f, err := os.Open(e.logPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	if _, err := f.Seek(e.logOff, io.SeekStart); err != nil {
		return 0
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var sum, n float64
	for sc.Scan() {
		e.logOff += int64(len(sc.Bytes())) + 1
		var line struct {
			Message string  `json:"message"`
			Ops     float64 `json:"ldap_ops"`
			Path    string  `json:"path"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "request" && strings.HasPrefix(line.Path, "/scim/") {
			sum += line.Ops
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	slapd := ""
	if out, err := exec.Command("bash", "-c", "dpkg-query -W -f '${Version}' slapd 2>/dev/null").Output(); err == nil {
		slapd = " slapd " + string(out)
	}
	return fmt.Sprintf("%d CPUs (%s), %s %s/%s%s", runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS, runtime.GOARCH, slapd)
}

// ---------------------------------------------------------------------------
// Direct LDAP: a few shared connections, like the gateway's.

type pool struct {
	conns []*ldap.Conn
	next  atomic.Uint64
	url   string
	dn    string
	pw    string
}

func dialBind(u, dn, pw string) (*ldap.Conn, error) {
	c, err := ldap.DialURL(u)
	if err != nil {
		return nil, err
	}
	c.SetTimeout(time.Minute)
	if err := c.Bind(dn, pw); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func newPool(u, dn, pw string, n int) (*pool, error) {
	if err := loopback(u); err != nil {
		return nil, err
	}
	p := &pool{url: u, dn: dn, pw: pw}
	for i := 0; i < n; i++ {
		c, err := dialBind(u, dn, pw)
		if err != nil {
			p.close()
			return nil, err
		}
		p.conns = append(p.conns, c)
	}
	return p, nil
}

func (p *pool) c() *ldap.Conn { return p.conns[p.next.Add(1)%uint64(len(p.conns))] }

func (p *pool) close() {
	for _, c := range p.conns {
		c.Close()
	}
}

// ---------------------------------------------------------------------------
// HTTP.

var errStatus = errors.New("unexpected status")

// do sends a SCIM request and checks the status; out, if not nil, receives the JSON body.
func (e *env) do(method, path string, body any, want int, out any, hdr ...string) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return fmt.Errorf("%w: %s %s: %d %s", errStatus, method, path, res.StatusCode, b)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw, err = io.ReadAll(res.Body)
		return err
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// ---------------------------------------------------------------------------
// The runner.

// measure runs fn(0 … n-1) with clients goroutines, stopping early at maxTime,
// and returns the figures. fn's errors are counted; the first is kept.
func (e *env) measure(name, side string, n, clients int, fn func(i int) error) (*result, []time.Duration) {
	var next atomic.Int64
	deadline := time.Now().Add(e.o.maxTime)
	lat := make([][]time.Duration, clients)
	var errs atomic.Int64
	var firstErr atomic.Value
	cpu0, slapd0, self0, steal0 := cpuSeconds(e.gwPID), cpuSeconds(e.slapdPID), cpuSeconds(os.Getpid()), stealSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			lat[c] = make([]time.Duration, 0, n/clients+1)
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				if err := fn(i); err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := &result{Workload: name, Side: side, Clients: clients, Ops: len(all), Errors: int(errs.Load()), Seconds: elapsed.Seconds()}
	if len(all) > 0 {
		r.OpsPerSec = float64(len(all)) / elapsed.Seconds()
		pct := func(p float64) float64 { return ms(all[min(len(all)-1, int(p*float64(len(all))))]) }
		r.P50, r.P95, r.P99, r.Max = pct(0.50), pct(0.95), pct(0.99), ms(all[len(all)-1])
	}
	if side == "gateway" {
		r.GatewayCPU = cpuSeconds(e.gwPID) - cpu0
		if r.Ops > 0 {
			r.GatewayCPUPerOpUS = r.GatewayCPU / float64(r.Ops) * 1e6
		}
		r.LDAPOpsPerRequest = e.ldapOpsSinceLast()
		r.GatewayRSSMB = statusKB(e.gwPID, "VmRSS") / 1024
	}
	r.SlapdCPU = cpuSeconds(e.slapdPID) - slapd0
	r.HarnessCPU = cpuSeconds(os.Getpid()) - self0
	r.HostStealPct = 100 * (stealSeconds() - steal0) / (elapsed.Seconds() * float64(runtime.NumCPU()))
	if s, ok := firstErr.Load().(string); ok {
		r.FirstError = s
	}
	fmt.Printf("%-16s %-8s %6d ops %5d err %8.0f ops/s  p50 %6.2f  p95 %6.2f  p99 %6.2f ms  gw cpu %5.1fs  slapd cpu %5.1fs  ldap/req %.2f  steal %.0f%%\n",
		name, side, r.Ops, r.Errors, r.OpsPerSec, r.P50, r.P95, r.P99, r.GatewayCPU, r.SlapdCPU, r.LDAPOpsPerRequest, r.HostStealPct)
	if r.FirstError != "" {
		fmt.Printf("    first error: %s\n", r.FirstError)
	}
	return r, all
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pair runs a workload through the gateway, then directly, -rounds times
// (fn gets round*n + i), and records for each side the round with the median
// throughput, with latency percentiles over all rounds.
func (e *env) pair(name string, n int, gw, direct func(i int) error) {
	if !e.want(name) || n <= 0 {
		return
	}
	rounds := max(e.o.rounds, 1)
	var gs, ds []*result
	var gl, dl []time.Duration
	for r := 0; r < rounds; r++ {
		e.ldapOpsSinceLast() // skip setup requests
		g, l := e.measure(name, "gateway", n, e.o.clients, func(i int) error { return gw(r*n + i) })
		gs, gl = append(gs, g), append(gl, l...)
		d, l := e.measure(name, "direct", n, e.o.clients, func(i int) error { return direct(r*n + i) })
		ds, dl = append(ds, d), append(dl, l...)
	}
	e.res.Workloads = append(e.res.Workloads, pairResult{Name: name, Gateway: median(gs, gl), Direct: median(ds, dl), Rounds: rounds,
		GatewayRounds: opsOf(gs), DirectRounds: opsOf(ds)})
}

func opsOf(rs []*result) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, r.OpsPerSec)
	}
	return out
}

// median is the round with the median throughput, its percentiles replaced by
// those of all rounds' latencies, its errors by the sum.
func median(rs []*result, lat []time.Duration) *result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b *result) int { return cmp.Compare(a.OpsPerSec, b.OpsPerSec) })
	m := *s[len(s)/2]
	slices.Sort(lat)
	if len(lat) > 0 {
		pct := func(p float64) float64 { return ms(lat[min(len(lat)-1, int(p*float64(len(lat))))]) }
		m.P50, m.P95, m.P99, m.Max = pct(0.50), pct(0.95), pct(0.99), ms(lat[len(lat)-1])
	}
	m.Errors = 0
	for _, r := range rs {
		m.Errors += r.Errors
	}
	return &m
}

// ---------------------------------------------------------------------------
// The workloads.

func userBody(name string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"userName":    name,
		"externalId":  "ext-" + name,
		"active":      true,
		"name":        map[string]any{"givenName": "Bench", "familyName": "User " + name},
		"displayName": "Bench User " + name,
		"emails":      []any{map[string]any{"type": "work", "value": name + "@example.org", "primary": true}},
		"title":       "Benchmarker",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"employeeNumber": "E-" + name, "department": "Perf"},
	}
}

const people, groupsOU = "ou=people,dc=example,dc=org", "ou=groups,dc=example,dc=org"

func userDN(name string) string { return "uid=" + ldap.EscapeDN(name) + "," + people }

// directCreate does what a correct SCIM create needs from the directory: the
// uniqueness search, the add, the read of the new entry (id, meta and the
// attributes of the response).
func (e *env) directCreate(name string) (string, error) {
	c := e.direct.c()
	res, err := c.Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 2, 0, false,
		"(&(objectClass=inetOrgPerson)(|(uid="+ldap.EscapeFilter(name)+")))", []string{"entryUUID"}, nil))
	if err != nil {
		return "", err
	}
	if len(res.Entries) != 0 {
		return "", errors.New("exists")
	}
	add := ldap.NewAddRequest(userDN(name), nil)
	add.Attribute("objectClass", []string{"inetOrgPerson", "extensibleObject"})
	add.Attribute("uid", []string{name})
	add.Attribute("uniqueIdentifier", []string{"ext-" + name})
	add.Attribute("cn", []string{"Bench User " + name})
	add.Attribute("sn", []string{"User " + name})
	add.Attribute("givenName", []string{"Bench"})
	add.Attribute("displayName", []string{"Bench User " + name})
	add.Attribute("mail", []string{name + "@example.org"})
	add.Attribute("title", []string{"Benchmarker"})
	add.Attribute("employeeNumber", []string{"E-" + name})
	add.Attribute("departmentNumber", []string{"Perf"})
	if err := c.Add(add); err != nil {
		return "", err
	}
	res, err = c.Search(ldap.NewSearchRequest(userDN(name), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", e.userAttrs(), nil))
	if err != nil || len(res.Entries) != 1 {
		return "", fmt.Errorf("read back: %v", err)
	}
	return res.Entries[0].GetAttributeValue("entryUUID"), nil
}

func (e *env) userAttrs() []string  { return e.user.LDAPAttributes(e.user.Project(nil, nil)) }
func (e *env) groupAttrs() []string { return e.group.LDAPAttributes(e.group.Project(nil, nil)) }

// directUpdate: the read for the update (writable attributes and version), a
// modify guarded by the assertion on that version, and the read of the result.
func (e *env) directUpdate(id string, mod func(*ldap.ModifyRequest)) error {
	c := e.direct.c()
	attrs := append(e.user.WritableLDAPAttributes(), "entryCSN")
	res, err := c.Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 2, 0, false,
		"(&(objectClass=inetOrgPerson)(entryUUID="+ldap.EscapeFilter(id)+"))", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		return fmt.Errorf("read for update: %v", err)
	}
	en := res.Entries[0]
	m := ldap.NewModifyRequest(en.DN, []ldap.Control{&ldapstore.AssertionControl{Filter: "(entryCSN=" + ldap.EscapeFilter(en.GetAttributeValue("entryCSN")) + ")"}})
	mod(m)
	if err := c.Modify(m); err != nil {
		return err
	}
	res, err = c.Search(ldap.NewSearchRequest(en.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", e.userAttrs(), nil))
	if err != nil || len(res.Entries) != 1 {
		return fmt.Errorf("read back: %v", err)
	}
	return nil
}

func (e *env) workloads() error {
	n := e.o.users
	total := n * max(e.o.rounds, 1)
	gwIDs, dIDs := make([]string, total), make([]string, total)
	gwNames, dNames := make([]string, total), make([]string, total)
	run := fmt.Sprintf("%x", time.Now().Unix()%0xfffff)
	for i := range total {
		gwNames[i], dNames[i] = fmt.Sprintf("gw%s-%05d", run, i), fmt.Sprintf("dl%s-%05d", run, i)
	}
	// create: both sides create n users, which the later workloads use.
	e.pair("create", n, func(i int) error {
		var out struct{ ID string }
		err := e.do("POST", "/Users", userBody(gwNames[i]), 201, &out)
		gwIDs[i] = out.ID
		return err
	}, func(i int) (err error) {
		dIDs[i], err = e.directCreate(dNames[i])
		return err
	})
	if !e.want("create") { // the other workloads need users: create them outside the measurements
		for i := range total {
			var out struct{ ID string }
			if err := e.do("POST", "/Users", userBody(gwNames[i]), 201, &out); err != nil {
				return err
			}
			gwIDs[i] = out.ID
			var err error
			if dIDs[i], err = e.directCreate(dNames[i]); err != nil {
				return err
			}
		}
	}
	// Entra's initial cycle for a user it has not provisioned yet: a lookup that
	// finds nothing, then the create.
	e.pair("entra-user", n, func(i int) error {
		name := fmt.Sprintf("ge%s-%05d", run, i)
		if err := e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), nil, 200, nil); err != nil {
			return err
		}
		return e.do("POST", "/Users", userBody(name), 201, nil)
	}, func(i int) error {
		name := fmt.Sprintf("de%s-%05d", run, i)
		res, err := e.direct.c().Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=inetOrgPerson)(uid="+ldap.EscapeFilter(name)+"))", e.userAttrs(), nil))
		if err != nil || len(res.Entries) != 0 {
			return fmt.Errorf("lookup: %v", err)
		}
		_, err = e.directCreate(name)
		return err
	})
	// Reads cycle over the round's users -read-repeat times: at 32 clients
	// 3,000 reads take a third of a second, too short for a steady state.
	reads := n * max(e.o.readRepeat, 1)
	user := func(i int) int { return i/reads*n + i%reads%n } // round r's i-th read: user r*n + (i mod n)
	e.pair("get-by-id", reads, func(i int) error {
		i = user(i)
		return e.do("GET", "/Users/"+gwIDs[i], nil, 200, nil)
	}, func(i int) error {
		i = user(i)
		res, err := e.direct.c().Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 2, 0, false,
			"(&(objectClass=inetOrgPerson)(entryUUID="+ldap.EscapeFilter(gwIDs[i])+"))", e.userAttrs(), nil))
		if err == nil && len(res.Entries) != 1 {
			err = errors.New("not found")
		}
		return err
	})
	e.pair("filter-userName", reads, func(i int) error {
		i = user(i)
		var out []byte
		if err := e.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "`+gwNames[i]+`"`), nil, 200, &out); err != nil {
			return err
		}
		if !bytes.Contains(out, []byte(`"totalResults":1,`)) && !bytes.Contains(out, []byte(`"totalResults":1}`)) {
			return fmt.Errorf("not one result: %.200s", out)
		}
		return nil
	}, func(i int) error {
		i = user(i)
		res, err := e.direct.c().Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=inetOrgPerson)(uid="+ldap.EscapeFilter(gwNames[i])+"))", e.userAttrs(), nil))
		if err == nil && len(res.Entries) != 1 {
			err = errors.New("not found")
		}
		return err
	})
	patch := func(ops ...map[string]any) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
	}
	e.pair("patch-replace", n, func(i int) error {
		return e.do("PATCH", "/Users/"+gwIDs[i], patch(
			map[string]any{"op": "Replace", "path": "displayName", "value": "Patched " + gwNames[i]},
			map[string]any{"op": "Replace", "path": "title", "value": "Senior Benchmarker"}), 200, nil)
	}, func(i int) error {
		return e.directUpdate(dIDs[i], func(m *ldap.ModifyRequest) {
			m.Replace("displayName", []string{"Patched " + dNames[i]})
			m.Replace("title", []string{"Senior Benchmarker"})
		})
	})
	e.pair("deactivate", n, func(i int) error {
		return e.do("PATCH", "/Users/"+gwIDs[i], patch(map[string]any{"op": "Replace", "path": "active", "value": "False"}), 200, nil)
	}, func(i int) error {
		return e.directUpdate(dIDs[i], func(m *ldap.ModifyRequest) { m.Replace("pwdAccountLockedTime", []string{"000001010000Z"}) })
	})
	// Groups: created empty, then members added one PATCH at a time (Entra).
	ng := e.o.groups * max(e.o.rounds, 1)
	gwGroups, dGroups := make([]string, ng), make([]string, ng)
	e.pair("group-create", e.o.groups, func(i int) error {
		var out struct{ ID string }
		err := e.do("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": fmt.Sprintf("gwgroup%s-%04d", run, i)}, 201, &out)
		gwGroups[i] = out.ID
		return err
	}, func(i int) error {
		c := e.direct.c()
		cn := fmt.Sprintf("dlgroup%s-%04d", run, i)
		res, err := c.Search(ldap.NewSearchRequest(groupsOU, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 2, 0, false,
			"(&(objectClass=groupOfNames)(|(cn="+ldap.EscapeFilter(cn)+")))", []string{"entryUUID"}, nil))
		if err != nil || len(res.Entries) != 0 {
			return fmt.Errorf("uniqueness: %v", err)
		}
		dn := "cn=" + ldap.EscapeDN(cn) + "," + groupsOU
		add := ldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"groupOfNames"})
		add.Attribute("cn", []string{cn})
		add.Attribute("member", []string{""})
		if err := c.Add(add); err != nil {
			return err
		}
		res, err = c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, "(objectClass=*)", e.groupAttrs(), nil))
		if err != nil || len(res.Entries) != 1 {
			return fmt.Errorf("read back: %v", err)
		}
		dGroups[i] = res.Entries[0].GetAttributeValue("entryUUID")
		return nil
	})
	if ng > 0 && gwGroups[0] != "" && dGroups[0] != "" {
		e.pair("member-add", n, func(i int) error {
			return e.do("PATCH", "/Groups/"+gwGroups[i%ng], patch(map[string]any{"op": "Add", "path": "members",
				"value": []any{map[string]any{"value": gwIDs[i]}}}), 204, nil)
		}, func(i int) error {
			c := e.direct.c()
			res, err := c.Search(ldap.NewSearchRequest(groupsOU, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 2, 0, false,
				"(&(objectClass=groupOfNames)(entryUUID="+dGroups[i%ng]+"))", []string{"cn", "member", "entryCSN"},
				[]ldap.Control{&ldapstore.MatchedValuesControl{Items: []string{"(cn=*)", "(member=)"}}}))
			if err != nil || len(res.Entries) != 1 {
				return fmt.Errorf("read group: %v", err)
			}
			g := res.Entries[0]
			u, err := c.Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
				"(&(objectClass=inetOrgPerson)(|(entryUUID="+dIDs[i]+")))", []string{"entryUUID"}, nil))
			if err != nil || len(u.Entries) != 1 {
				return fmt.Errorf("id lookup: %v", err)
			}
			m := ldap.NewModifyRequest(g.DN, []ldap.Control{ldapstore.PermissiveModify()})
			m.Add("member", []string{u.Entries[0].DN})
			if len(g.GetAttributeValues("member")) > 0 {
				m.Delete("member", []string{""})
			}
			err = c.Modify(m)
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) { // a concurrent add took the placeholder away
				m = ldap.NewModifyRequest(g.DN, []ldap.Control{ldapstore.PermissiveModify()})
				m.Add("member", []string{u.Entries[0].DN})
				err = c.Modify(m)
			}
			return err
		})
	}
	// A page of the user list at a random place: one VLV search either way.
	listed := 0
	var out struct{ TotalResults int }
	if err := e.do("GET", "/Users?count=0", nil, 200, &out); err == nil {
		listed = out.TotalResults
	}
	if listed > 100 {
		e.pair("list-page", min(n, 2000), func(i int) error {
			start := (i*7919)%(listed-100) + 1
			return e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", start), nil, 200, nil)
		}, func(i int) error {
			start := (i*7919)%(listed-100) + 1
			_, err := e.directPage(start, 100)
			return err
		})
	}
	return nil
}

// vlvSlots bounds the direct VLV searches running at once, as the gateway's
// ldapstore.Config.VLVConns (4) does: slapd allows olcSssVlvMax (16) sorts.
var vlvSlots = make(chan struct{}, 4)

// directPage is a page by VLV as the gateway asks for it: its own connection,
// sorted by entryUUID, the window's entries with every attribute SCIM shows.
func (e *env) directPage(start, count int) (*ldapstore.VLVResult, error) {
	vlvSlots <- struct{}{}
	defer func() { <-vlvSlots }()
	c, err := dialBind(e.ldapURL, e.bindDN, e.bindPW)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	vlv := &ldapstore.VLVControl{Offset: start, After: count - 1}
	sort := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "entryUUID", OrderingRule: "UUIDOrderingMatch"})
	res, err := c.Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", e.userAttrs(), []ldap.Control{sort, vlv}))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != count {
		return nil, fmt.Errorf("VLV page at %d: %d entries", start, len(res.Entries))
	}
	return &ldapstore.VLVResult{Entries: res.Entries}, nil
}

// ---------------------------------------------------------------------------
// Scale: a big list, page by page; a big group.

// load adds users scale0000000 … up to n straight to slapd (8 goroutines on 4
// connections) unless they exist, bounded by -max-load-time.
func (e *env) load(prefix string, n int) error {
	var have struct{ TotalResults int }
	if err := e.do("GET", "/Users?count=0&filter="+url.QueryEscape(`userName sw "`+prefix+`"`), nil, 200, &have); err != nil {
		return err
	}
	if have.TotalResults >= n {
		return nil
	}
	fmt.Printf("# loading %d users (%s…) straight into slapd\n", n-have.TotalResults, prefix)
	start := time.Now()
	deadline := start.Add(e.o.scaleMaxLoadTime)
	var next atomic.Int64
	next.Store(int64(have.TotalResults))
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.direct.c()
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				name := fmt.Sprintf("%s%07d", prefix, i)
				add := ldap.NewAddRequest(userDN(name), nil)
				add.Attribute("objectClass", []string{"inetOrgPerson"})
				add.Attribute("uid", []string{name})
				add.Attribute("cn", []string{"Scale " + name})
				add.Attribute("sn", []string{name})
				add.Attribute("mail", []string{name + "@example.org"})
				if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	if next.Load() < int64(n) {
		return fmt.Errorf("loading stopped at -max-load-time (%s)", e.o.scaleMaxLoadTime)
	}
	fmt.Printf("# loaded in %.0fs\n", time.Since(start).Seconds())
	e.res.Notes = append(e.res.Notes, fmt.Sprintf("loaded %d users %s… in %.0f s (%.0f adds/s, 8 goroutines on 4 connections)",
		n-have.TotalResults, prefix, time.Since(start).Seconds(), float64(n-have.TotalResults)/time.Since(start).Seconds()))
	return nil
}

func (e *env) scale() error {
	if err := e.load("scale", e.o.scaleUsers); err != nil {
		return err
	}
	var total struct{ TotalResults int }
	if err := e.do("GET", "/Users?count=0", nil, 200, &total); err != nil {
		return err
	}
	count := e.o.pageCount
	var pages []int
	for _, f := range strings.Split(e.o.pages, ",") {
		if p, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && p >= 1 && (p-1)*count < total.TotalResults {
			pages = append(pages, p)
		}
	}
	times := map[int][]float64{}
	direct := map[int][]float64{}
	for rep := 0; rep < e.o.pageRepeat; rep++ {
		for _, p := range pages {
			start := (p-1)*count + 1
			t := time.Now()
			var out struct {
				TotalResults int
				Resources    []json.RawMessage
			}
			if err := e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, count), nil, 200, &out); err != nil {
				return err
			}
			times[p] = append(times[p], ms(time.Since(t)))
			if out.TotalResults != total.TotalResults || len(out.Resources) != min(count, total.TotalResults-start+1) {
				return fmt.Errorf("page %d: totalResults %d, %d resources", p, out.TotalResults, len(out.Resources))
			}
			t = time.Now()
			if _, err := e.directPage(start, min(count, total.TotalResults-start+1)); err != nil {
				return err
			}
			direct[p] = append(direct[p], ms(time.Since(t)))
		}
	}
	sc := &scaleResult{Users: total.TotalResults, Count: count, Repeat: e.o.pageRepeat}
	for _, p := range pages {
		sc.Pages = append(sc.Pages, pageTiming{Page: p, StartIndex: (p-1)*count + 1, GatewayMS: stats(times[p]), DirectMS: stats(direct[p])})
		fmt.Printf("page %5d (startIndex %7d): gateway median %7.1f ms (min %.1f max %.1f), direct VLV median %7.1f ms\n",
			p, (p-1)*count+1, sc.Pages[len(sc.Pages)-1].GatewayMS.Median, sc.Pages[len(sc.Pages)-1].GatewayMS.Min, sc.Pages[len(sc.Pages)-1].GatewayMS.Max, sc.Pages[len(sc.Pages)-1].DirectMS.Median)
	}
	e.ldapOpsSinceLast()
	// A cursor walk: the first pages and, by walking with the largest page, the
	// last ones; every entry exactly once.
	cur, seen, walkPages := "", 0, 0
	var first, last []float64
	maxPages := total.TotalResults/1000 + 2
	walkStart := time.Now()
	for walkPages < maxPages {
		var out struct {
			Resources  []json.RawMessage
			NextCursor string
		}
		t := time.Now()
		if err := e.do("GET", "/Users?attributes=userName&count=1000&cursor="+url.QueryEscape(cur), nil, 200, &out); err != nil {
			return err
		}
		d := ms(time.Since(t))
		walkPages++
		seen += len(out.Resources)
		if walkPages <= 3 {
			first = append(first, d)
		}
		last = append(last, d)
		if len(last) > 3 {
			last = last[1:]
		}
		if out.NextCursor == "" {
			break
		}
		cur = out.NextCursor
	}
	sc.Cursor = &cursorWalk{Count: 1000, Pages: walkPages, Entries: seen, Seconds: time.Since(walkStart).Seconds(), FirstMS: stats(first), LastMS: stats(last),
		LDAPOpsPerPage: e.ldapOpsSinceLast()}
	fmt.Printf("cursor walk, count=1000: %d pages, %d entries of %d in %.1fs; first pages median %.1f ms, last pages median %.1f ms\n",
		walkPages, seen, total.TotalResults, sc.Cursor.Seconds, sc.Cursor.FirstMS.Median, sc.Cursor.LastMS.Median)
	if seen != total.TotalResults {
		return fmt.Errorf("the cursor walk returned %d entries, want %d", seen, total.TotalResults)
	}
	sc.GatewayPeakRSSMB = e.peakRSS()
	e.res.Scale = sc
	return nil
}

func (e *env) bigGroup() error {
	n := e.o.groupMembers
	if err := e.load("scale", n+1); err != nil {
		return err
	}
	cn := fmt.Sprintf("Big%d-%d", n, time.Now().Unix())
	members := make([]string, n)
	for i := range members {
		members[i] = userDN(fmt.Sprintf("scale%07d", i))
	}
	fmt.Printf("# adding a group with %d members (memberof updates each member)\n", n)
	t := time.Now()
	add := ldap.NewAddRequest("cn="+cn+","+groupsOU, nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{cn})
	add.Attribute("member", members)
	c, err := dialBind(e.ldapURL, e.bindDN, e.bindPW)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(10 * time.Minute)
	if err := c.Add(add); err != nil {
		return err
	}
	e.res.Notes = append(e.res.Notes, fmt.Sprintf("added the %d-member group in %.1f s", n, time.Since(t).Seconds()))
	var list struct{ Resources []struct{ ID string } }
	if err := e.do("GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "`+cn+`"`), nil, 200, &list); err != nil || len(list.Resources) != 1 {
		return fmt.Errorf("find the big group: %v", err)
	}
	gid := list.Resources[0].ID
	var newcomer struct{ Resources []struct{ ID string } }
	if err := e.do("GET", "/Users?attributes=userName&filter="+url.QueryEscape(fmt.Sprintf(`userName eq "scale%07d"`, n)), nil, 200, &newcomer); err != nil || len(newcomer.Resources) != 1 {
		return fmt.Errorf("find the newcomer: %v", err)
	}
	uid := newcomer.Resources[0].ID
	patch := func(op string) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": op, "path": "members", "value": []any{map[string]any{"value": uid}}}}}
	}
	bg := &bigGroupResult{Members: n}
	e.ldapOpsSinceLast()
	timed := func(f func() error) (time.Duration, error) {
		t := time.Now()
		err := f()
		return time.Since(t), err
	}
	for _, step := range []struct {
		name string
		fn   func() (time.Duration, error)
	}{
		{"GET excludedAttributes=members", func() (time.Duration, error) {
			return timed(func() error { return e.do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil, 200, nil) })
		}},
		{"PATCH add one member", func() (time.Duration, error) {
			return timed(func() error { return e.do("PATCH", "/Groups/"+gid, patch("add"), 204, nil) })
		}},
		{"PATCH remove one member", func() (time.Duration, error) {
			// Each time a member to remove: put it back first (not timed, not counted).
			m := ldap.NewModifyRequest("cn="+cn+","+groupsOU, []ldap.Control{ldapstore.PermissiveModify()})
			m.Add("member", []string{userDN(fmt.Sprintf("scale%07d", n))})
			if err := e.direct.c().Modify(m); err != nil {
				return 0, err
			}
			return timed(func() error { return e.do("PATCH", "/Groups/"+gid, patch("remove"), 204, nil) })
		}},
		{"GET with members", func() (time.Duration, error) {
			var out struct{ Members []json.RawMessage }
			d, err := timed(func() error { return e.do("GET", "/Groups/"+gid, nil, 200, &out) })
			if err == nil && len(out.Members) != n {
				err = fmt.Errorf("%d members, want %d", len(out.Members), n)
			}
			return d, err
		}},
	} {
		var ts []float64
		rss0 := e.peakRSS()
		for rep := 0; rep < 3; rep++ {
			d, err := step.fn()
			if err != nil {
				return fmt.Errorf("%s: %v", step.name, err)
			}
			ts = append(ts, ms(d))
		}
		st := bigGroupStep{Step: step.name, MS: stats(ts), LDAPOpsPerRequest: e.ldapOpsSinceLast(), PeakRSSMBBefore: rss0, PeakRSSMBAfter: e.peakRSS()}
		bg.Steps = append(bg.Steps, st)
		fmt.Printf("big group (%d): %-32s median %8.1f ms  ldap ops %.1f  peak RSS %.0f → %.0f MB\n", n, step.name, st.MS.Median, st.LDAPOpsPerRequest, st.PeakRSSMBBefore, st.PeakRSSMBAfter)
	}
	e.res.BigGroup = bg
	return nil
}

// stats is the median, min and max of xs (ms).
func stats(xs []float64) timing {
	if len(xs) == 0 {
		return timing{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return timing{Median: s[len(s)/2], Min: s[0], Max: s[len(s)-1], N: len(s)}
}
