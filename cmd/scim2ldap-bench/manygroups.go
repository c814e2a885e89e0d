package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// The many-groups phase (issue 19): users who are each in -many-groups groups.
// The first 1,000 scale users (userName sw "scale0000") are members of every
// group mgroupNNN; the directory holds at least -many-groups-users users.
// Measured, each page being 100 of those 1,000 users at a random startIndex:
//
//	one client, interleaved:  the page with groups, the same page with
//	                          excludedAttributes=groups (median ms of each)
//	-clients clients:         the page with groups, the page without, and the
//	                          same VLV search straight to slapd (memberOf read)
//	-clients clients:         list-page on the whole directory, gateway vs direct
//
// and for each gateway round the CPU per page, the peak RSS of the phase
// (VmHWM, reset before it through /proc/PID/clear_refs) and the share of the
// gateway's CPU the garbage collector took (its /metrics CPU classes).
type manyGroupsResult struct {
	Users, Groups, PageCount int
	SingleWithMS             timing  `json:"singleClientWithGroupsMs"`
	SingleWithoutMS          timing  `json:"singleClientWithoutGroupsMs"`
	SingleRatio              float64 `json:"singleClientRatio"`
	Rounds                   []*result
	ConcurrentRatio          float64 `json:"concurrentThroughputRatio"` // pages/s without groups ÷ with
	PeakRSSMB                float64 `json:"peakRSSMB"`
	GCPercent                float64 `json:"gcCPUPercent"` // of the gateway's CPU, whole phase
}

const manyGroupsPrefix = "scale0000" // userName sw: scale0000000 … scale0000999

func (e *env) manyGroups() error {
	n := e.o.manyGroups
	if err := e.load("scale", max(e.o.manyGroupsUsers, 1000)); err != nil {
		return err
	}
	members := make([]string, 1000)
	for i := range members {
		members[i] = userDN(fmt.Sprintf("scale%07d", i))
	}
	c := e.direct.c()
	for g := 0; g < n; g++ {
		add := ldap.NewAddRequest(fmt.Sprintf("cn=mgroup%03d,%s", g, groupsOU), nil)
		add.Attribute("objectClass", []string{"groupOfNames"})
		add.Attribute("cn", []string{fmt.Sprintf("mgroup%03d", g)})
		add.Attribute("member", members)
		if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return err
		}
	}
	var total struct{ TotalResults int }
	if err := e.do("GET", "/Users?count=0", nil, 200, &total); err != nil {
		return err
	}
	filter := url.QueryEscape(`userName sw "` + manyGroupsPrefix + `"`)
	page := func(i int, groups bool) string {
		p := fmt.Sprintf("/Users?filter=%s&startIndex=%d&count=100", filter, (i*7919)%900+1)
		if !groups {
			p += "&excludedAttributes=groups"
		}
		return p
	}
	res := &manyGroupsResult{Users: total.TotalResults, Groups: n, PageCount: 100}
	resetPeakRSS(e.gwPID)
	gc0, cpu0 := e.gcCPU()

	var with, without []float64
	for i := 0; i < 2*e.o.pageRepeat; i++ {
		for _, groups := range []bool{true, false} {
			t := time.Now()
			if err := e.do("GET", page(i, groups), nil, 200, nil); err != nil {
				return err
			}
			if groups {
				with = append(with, ms(time.Since(t)))
			} else {
				without = append(without, ms(time.Since(t)))
			}
		}
	}
	res.SingleWithMS, res.SingleWithoutMS = stats(with), stats(without)
	res.SingleRatio = res.SingleWithMS.Median / res.SingleWithoutMS.Median
	fmt.Printf("many groups, one client: page of 100 users in %d groups %.1f ms, without groups %.1f ms (%.2f×)\n",
		n, res.SingleWithMS.Median, res.SingleWithoutMS.Median, res.SingleRatio)

	pages := 10 * e.o.clients
	userAttrs := e.userAttrs() // memberOf included: groups are returned by default
	for r := 0; r < max(e.o.rounds, 1); r++ {
		e.ldapOpsSinceLast()
		w, _ := e.measure("page-groups", "gateway", pages, e.o.clients, func(i int) error { return e.do("GET", page(r*pages+i, true), nil, 200, nil) })
		wo, _ := e.measure("page-nogroups", "gateway", pages, e.o.clients, func(i int) error { return e.do("GET", page(r*pages+i, false), nil, 200, nil) })
		d, _ := e.measure("page-groups", "direct", pages, e.o.clients, func(i int) error {
			return e.directFilteredPage((r*pages+i)*7919%900+1, userAttrs)
		})
		res.Rounds = append(res.Rounds, w, wo, d)
	}
	gc1, cpu1 := e.gcCPU()
	if cpu1 > cpu0 {
		res.GCPercent = 100 * (gc1 - gc0) / (cpu1 - cpu0)
	}
	res.PeakRSSMB = e.peakRSS()
	var ws, wos []float64
	for i := 0; i+1 < len(res.Rounds); i += 3 {
		ws, wos = append(ws, res.Rounds[i].OpsPerSec), append(wos, res.Rounds[i+1].OpsPerSec)
	}
	res.ConcurrentRatio = stats(wos).Median / stats(ws).Median
	fmt.Printf("many groups, %d clients: %.2f× the pages/s without groups; gateway peak RSS %.0f MB, GC %.1f%% of its CPU\n",
		e.o.clients, res.ConcurrentRatio, res.PeakRSSMB, res.GCPercent)
	e.res.ManyGroups = res

	// -clients concurrent pages of the whole directory (at least -many-groups-users
	// users; more after the scale phase), as list-page.
	if total.TotalResults > 100 {
		e.pair("list-page-all", min(e.o.users, 2000), func(i int) error {
			return e.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=100", (i*7919)%(total.TotalResults-100)+1), nil, 200, nil)
		}, func(i int) error {
			_, err := e.directPage((i*7919)%(total.TotalResults-100)+1, 100)
			return err
		})
	}
	return nil
}

// directFilteredPage is the many-groups page straight to slapd: the VLV search
// the gateway sends for the filter, with memberOf, on a connection of its own.
func (e *env) directFilteredPage(start int, attrs []string) error {
	vlvSlots <- struct{}{}
	defer func() { <-vlvSlots }()
	c, err := dialBind(e.ldapURL, e.bindDN, e.bindPW)
	if err != nil {
		return err
	}
	defer c.Close()
	vlv := &ldapstore.VLVControl{Offset: start, After: 99}
	sort := ldapstore.NewSortControl(ldapstore.SortKey{Attr: "entryUUID", OrderingRule: "UUIDOrderingMatch"})
	res, err := c.Search(ldap.NewSearchRequest(people, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=inetOrgPerson)(uid="+manyGroupsPrefix+"*))", attrs, []ldap.Control{sort, vlv}))
	if err == nil && len(res.Entries) != 100 {
		err = fmt.Errorf("VLV page at %d: %d entries", start, len(res.Entries))
	}
	return err
}

// gcCPU reads the gateway's garbage-collector CPU and its busy CPU (total
// minus idle) in seconds from its /metrics (runtime/metrics CPU classes).
func (e *env) gcCPU() (gc, busy float64) {
	res, err := http.Get(strings.TrimSuffix(e.base, "/scim/v2") + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	v := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if ok && strings.HasPrefix(name, "go_cpu_classes_") {
			v[name], _ = strconv.ParseFloat(val, 64)
		}
	}
	return v["go_cpu_classes_gc_total_cpu_seconds_total"],
		v["go_cpu_classes_total_cpu_seconds_total"] - v["go_cpu_classes_idle_cpu_seconds_total"]
}

// resetPeakRSS resets the process's VmHWM (proc(5), clear_refs "5").
func resetPeakRSS(pid int) {
	if pid > 0 {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	}
}
