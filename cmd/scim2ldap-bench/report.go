package main

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
)

// result is one workload on one side. Latencies are in ms; CPU in seconds.
type result struct {
	Workload          string  `json:"workload"`
	Side              string  `json:"side"` // gateway | direct
	Clients           int     `json:"clients"`
	Ops               int     `json:"ops"`
	Errors            int     `json:"errors"`
	Seconds           float64 `json:"seconds"`
	OpsPerSec         float64 `json:"opsPerSec"`
	P50               float64 `json:"p50ms"`
	P95               float64 `json:"p95ms"`
	P99               float64 `json:"p99ms"`
	Max               float64 `json:"maxms"`
	GatewayCPU        float64 `json:"gatewayCPUSeconds,omitempty"`
	GatewayCPUPerOpUS float64 `json:"gatewayCPUPerOpMicroseconds,omitempty"`
	GatewayRSSMB      float64 `json:"gatewayRSSMB,omitempty"`
	SlapdCPU          float64 `json:"slapdCPUSeconds"`
	HarnessCPU        float64 `json:"harnessCPUSeconds"`
	LDAPOpsPerRequest float64 `json:"ldapOpsPerRequest,omitempty"`
	// HostStealPct is the share of the machine's CPU time the hypervisor gave
	// to other guests during the measurement (/proc/stat "steal"): a busy host.
	HostStealPct float64 `json:"hostStealPercent"`
	FirstError   string  `json:"firstError,omitempty"`
}

type pairResult struct {
	Name          string    `json:"name"`
	Gateway       *result   `json:"gateway"`
	Direct        *result   `json:"direct"`
	Rounds        int       `json:"rounds"`
	GatewayRounds []float64 `json:"gatewayOpsPerSecByRound"`
	DirectRounds  []float64 `json:"directOpsPerSecByRound"`
}

// RoundRatios is each round's gateway throughput / the direct throughput of
// the same round (measured right after it, so under the same host load).
func (p pairResult) RoundRatios() []float64 {
	var out []float64
	for i := range min(len(p.GatewayRounds), len(p.DirectRounds)) {
		if p.DirectRounds[i] > 0 {
			out = append(out, p.GatewayRounds[i]/p.DirectRounds[i])
		}
	}
	return out
}

// Ratio is gateway throughput / direct throughput.
func (p pairResult) Ratio() float64 {
	if p.Direct.OpsPerSec == 0 {
		return 0
	}
	return p.Gateway.OpsPerSec / p.Direct.OpsPerSec
}

type timing struct {
	Median, Min, Max float64
	N                int
}

type pageTiming struct {
	Page       int    `json:"page"`
	StartIndex int    `json:"startIndex"`
	GatewayMS  timing `json:"gatewayMS"`
	DirectMS   timing `json:"directVLVMS"`
}

type cursorWalk struct {
	Count          int     `json:"count"`
	Pages          int     `json:"pages"`
	Entries        int     `json:"entries"`
	Seconds        float64 `json:"seconds"`
	FirstMS        timing  `json:"firstPagesMS"`
	LastMS         timing  `json:"lastPagesMS"`
	LDAPOpsPerPage float64 `json:"ldapOpsPerPage"`
}

type scaleResult struct {
	Users            int          `json:"users"`
	Count            int          `json:"count"`
	Repeat           int          `json:"repeat"`
	Pages            []pageTiming `json:"pages"`
	Cursor           *cursorWalk  `json:"cursor,omitempty"`
	GatewayPeakRSSMB float64      `json:"gatewayPeakRSSMB"`
}

type bigGroupStep struct {
	Step              string  `json:"step"`
	MS                timing  `json:"ms"`
	LDAPOpsPerRequest float64 `json:"ldapOpsPerRequest"`
	PeakRSSMBBefore   float64 `json:"peakRSSMBBefore"`
	PeakRSSMBAfter    float64 `json:"peakRSSMBAfter"`
}

type bigGroupResult struct {
	Members int            `json:"members"`
	Steps   []bigGroupStep `json:"steps"`
}

type report struct {
	Started          string            `json:"started"`
	Machine          string            `json:"machine"`
	Clients          int               `json:"clients"`
	GatewayConns     int               `json:"gatewayConns"`
	GatewayEnv       []string          `json:"gatewayEnv,omitempty"`
	HTTPClient       string            `json:"httpClient"`
	Workloads        []pairResult      `json:"workloads"`
	Scale            *scaleResult      `json:"scale,omitempty"`
	BigGroup         *bigGroupResult   `json:"bigGroup,omitempty"`
	ManyGroups       *manyGroupsResult `json:"manyGroups,omitempty"`
	GatewayPeakRSSMB float64           `json:"gatewayPeakRSSMB"`
	Notes            []string          `json:"notes,omitempty"`
}

func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "results.json"), j, 0o644); err != nil {
		return err
	}
	md := r.markdown()
	fmt.Print("\n" + md)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "chart.svg"), []byte(r.svg()), 0o644)
}

func (r *report) markdown() string {
	var b strings.Builder
	conns := "default (4)"
	if r.GatewayConns > 0 {
		conns = fmt.Sprint(r.GatewayConns)
	}
	env := ""
	if len(r.GatewayEnv) > 0 {
		env = " (gateway environment: " + strings.Join(r.GatewayEnv, " ") + ")"
	}
	fmt.Fprintf(&b, "Run %s on %s; %d clients per workload, HTTP client %s; gateway LDAP connections: %s%s; direct: 4 shared connections.\n\n", r.Started, r.Machine, r.Clients, r.HTTPClient, conns, env)
	if len(r.Workloads) > 0 {
		b.WriteString("| workload | gateway ops/s | direct ops/s | ratio | ratio by round | p50 gw / direct ms | p95 gw / direct ms | p99 gw / direct ms | p99 ratio | gateway CPU µs/op | LDAP ops/request | host steal % gw / direct | errors gw/direct |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range r.Workloads {
			g, d := p.Gateway, p.Direct
			p99r := 0.0
			if d.P99 > 0 {
				p99r = g.P99 / d.P99
			}
			var rounds []string
			for _, x := range p.RoundRatios() {
				rounds = append(rounds, fmt.Sprintf("%.0f", 100*x))
			}
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | **%.0f%%** | %s %% | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f× | %.0f | %.2f | %.0f / %.0f | %d/%d |\n",
				p.Name, g.OpsPerSec, d.OpsPerSec, 100*p.Ratio(), strings.Join(rounds, " · "), g.P50, d.P50, g.P95, d.P95, g.P99, d.P99, p99r, g.GatewayCPUPerOpUS, g.LDAPOpsPerRequest, g.HostStealPct, d.HostStealPct, g.Errors, d.Errors)
		}
		b.WriteString("\n")
	}
	if s := r.Scale; s != nil {
		fmt.Fprintf(&b, "Paging a list of %d users, count=%d, each page fetched %d times (interleaved), one client:\n\n", s.Users, s.Count, s.Repeat)
		b.WriteString("| page | startIndex | gateway median ms (min–max) | direct VLV median ms |\n|---:|---:|---:|---:|\n")
		for _, p := range s.Pages {
			fmt.Fprintf(&b, "| %d | %d | %.1f (%.1f–%.1f) | %.1f |\n", p.Page, p.StartIndex, p.GatewayMS.Median, p.GatewayMS.Min, p.GatewayMS.Max, p.DirectMS.Median)
		}
		if c := s.Cursor; c != nil {
			fmt.Fprintf(&b, "\nCursor walk (count=%d, attributes=userName): %d pages, %d entries (each once), %.1f s; first 3 pages median %.1f ms, last 3 pages median %.1f ms; %.1f LDAP ops per page.\n",
				c.Count, c.Pages, c.Entries, c.Seconds, c.FirstMS.Median, c.LastMS.Median, c.LDAPOpsPerPage)
		}
		fmt.Fprintf(&b, "\nGateway peak RSS after paging: %.0f MB.\n\n", s.GatewayPeakRSSMB)
	}
	if g := r.BigGroup; g != nil {
		fmt.Fprintf(&b, "A group of %d members, one client, 3 times each:\n\n| request | median ms (min–max) | LDAP ops/request | gateway peak RSS before → after MB |\n|---|---:|---:|---:|\n", g.Members)
		for _, s := range g.Steps {
			fmt.Fprintf(&b, "| %s | %.1f (%.1f–%.1f) | %.1f | %.0f → %.0f |\n", s.Step, s.MS.Median, s.MS.Min, s.MS.Max, s.LDAPOpsPerRequest, s.PeakRSSMBBefore, s.PeakRSSMBAfter)
		}
		b.WriteString("\n")
	}
	if g := r.ManyGroups; g != nil {
		fmt.Fprintf(&b, "Pages of %d users who are each in %d groups (%d users in the directory):\n\n", g.PageCount, g.Groups, g.Users)
		fmt.Fprintf(&b, "- one client, interleaved: with groups %.1f ms (%.1f–%.1f), with `excludedAttributes=groups` %.1f ms: **%.2f×**\n",
			g.SingleWithMS.Median, g.SingleWithMS.Min, g.SingleWithMS.Max, g.SingleWithoutMS.Median, g.SingleRatio)
		fmt.Fprintf(&b, "- %d clients: pages/s without groups ÷ with groups, median round: **%.2f×**; gateway peak RSS in the phase %.0f MB; garbage collector %.1f%% of the gateway's CPU\n\n",
			r.Clients, g.ConcurrentRatio, g.PeakRSSMB, g.GCPercent)
		b.WriteString("| round | side | pages/s | p50 ms | p99 ms | gateway CPU ms/page |\n|---|---|---:|---:|---:|---:|\n")
		for _, x := range g.Rounds {
			fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.1f | %.1f |\n", x.Workload, x.Side, x.OpsPerSec, x.P50, x.P99, x.GatewayCPUPerOpUS/1000)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Gateway peak RSS (VmHWM) over the whole run: %.0f MB.\n", r.GatewayPeakRSSMB)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	b.WriteString("\n")
	return b.String()
}

// svg draws two bar charts per workload: throughput (ops/s) and p99 latency
// (ms), gateway next to direct, with the throughput ratio.
func (r *report) svg() string {
	const rowH, barH, left, panelW, gap = 34, 12, 130, 330, 60
	h := 70 + rowH*len(r.Workloads) + 40
	w := left + 2*panelW + gap + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="18" font-size="13" font-weight="bold">scim2ldap gateway vs direct LDAP, %d clients</text>`+"\n", r.Clients)
	fmt.Fprintf(&b, `<text x="10" y="34" fill="#555">%s</text>`+"\n", html.EscapeString(r.Machine))
	maxOps, maxP99 := 1.0, 1.0
	for _, p := range r.Workloads {
		maxOps = max(maxOps, p.Gateway.OpsPerSec, p.Direct.OpsPerSec)
		maxP99 = max(maxP99, p.Gateway.P99, p.Direct.P99)
	}
	x2 := left + panelW + gap
	fmt.Fprintf(&b, `<text x="%d" y="56" font-weight="bold">throughput (ops/s), ratio gateway/direct</text>`+"\n", left)
	fmt.Fprintf(&b, `<text x="%d" y="56" font-weight="bold">p99 latency (ms)</text>`+"\n", x2)
	for i, p := range r.Workloads {
		y := 66 + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+barH+4, html.EscapeString(p.Name))
		for j, v := range []struct {
			ops, p99 float64
			color    string
		}{{p.Gateway.OpsPerSec, p.Gateway.P99, "#2b6cb0"}, {p.Direct.OpsPerSec, p.Direct.P99, "#a0aec0"}} {
			yy := y + j*(barH+2)
			wo := int(float64(panelW-70) * v.ops / maxOps)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/><text x="%d" y="%d">%.0f</text>`+"\n", left, yy, wo, barH, v.color, left+wo+4, yy+barH-2, v.ops)
			wp := int(float64(panelW-70) * v.p99 / maxP99)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/><text x="%d" y="%d">%.1f</text>`+"\n", x2, yy, wp, barH, v.color, x2+wp+4, yy+barH-2, v.p99)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%.0f%%</text>`+"\n", left+panelW-30, y+barH+4, 100*p.Ratio())
	}
	ly := h - 20
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="10" fill="#2b6cb0"/><text x="%d" y="%d">gateway (HTTP + JSON + mapping + LDAP)</text>`+"\n", left, ly-9, left+16, ly)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="10" fill="#a0aec0"/><text x="%d" y="%d">direct LDAP (the same directory work, go-ldap)</text>`+"\n", left+280, ly-9, left+296, ly)
	b.WriteString("</svg>\n")
	return b.String()
}
