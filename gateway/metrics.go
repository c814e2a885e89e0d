package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/preflight"
)

// metrics are the gateway's Prometheus series, on a registry of its own (so
// several servers can live in one process, as in tests). Every label has a
// bounded set of values: routes are templates ("/scim/v2/Users/{id}"), clients
// are credential names ("-" before authentication).
//
//	scim2ldap_http_requests_total{route,method,status,client}      counter
//	scim2ldap_http_request_duration_seconds{route,method}          histogram
//	scim2ldap_http_requests_in_flight                              gauge
//	scim2ldap_bulk_operations_total{route,method,status,client}    counter (each operation of a POST /Bulk, by the
//	                                                                 route it reached; the Bulk request itself is one
//	                                                                 of scim2ldap_http_requests_total)
//	scim2ldap_ldap_operations_total{op,result}                     counter (result: ldapstore.ResultLabel)
//	scim2ldap_ldap_operation_duration_seconds{op}                  histogram
//	scim2ldap_ldap_connections{state="up"|"down"}                  gauge (shared connections)
//	scim2ldap_ldap_ready                                           gauge (1 when the last readiness check passed)
//	scim2ldap_ldap_server_in_use{url,position}                     gauge (1 for the server in use, 0 for the other
//	                                                                 servers of SCIM2LDAP_LDAP_URL; position 1 = first)
//	scim2ldap_ldap_server_switches_total{reason}                   counter (reason: failover, failback)
//	scim2ldap_auth_failures_total{reason}                          counter (missing, invalid, expired, audience,
//	                                                                 issuer, unknown_key, forbidden, rate_limited)
//	scim2ldap_jwks_refreshes_total{issuer,result}                  counter (result: ok, error)
//	scim2ldap_audit_events_total{operation,resource_type}          counter
//	scim2ldap_mapping_reloads_total{result}                        counter (SIGHUP; result: ok, rejected)
//	scim2ldap_credentials_reloads_total{result}                    counter (SIGHUP; result: ok, rejected)
//	scim2ldap_build_info{version,revision,goversion}               gauge, always 1 (Config.Build)
//
// plus the Go runtime and process collectors, the runtime's with the CPU
// classes of runtime/metrics: go_cpu_classes_gc_total_cpu_seconds_total over
// go_cpu_classes_total_cpu_seconds_total minus go_cpu_classes_idle_cpu_seconds_total
// is the share of the process's CPU the garbage collector took.
// gcCPU selects the garbage collector's, the idle and the total CPU time from runtime/metrics.
var gcCPU = regexp.MustCompile(`^/cpu/classes/(gc/total|idle|total):cpu-seconds$`)

type metrics struct {
	reloads      *prometheus.CounterVec
	credReloads  *prometheus.CounterVec
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	ldapOps      *prometheus.CounterVec
	ldapDuration *prometheus.HistogramVec
	ready        prometheus.Gauge
	authFailures *prometheus.CounterVec
	jwks         *prometheus.CounterVec
	audits       *prometheus.CounterVec
	bulkOps      *prometheus.CounterVec
}

// BuildInfo names a build of the gateway: the labels of scim2ldap_build_info.
// Empty fields show as "unknown".
type BuildInfo struct {
	Version   string // e.g. "v1.2.0", or "dev"
	Revision  string // VCS revision, e.g. a Git commit hash
	GoVersion string // e.g. "go1.26.8"
}

func newMetrics(store *ldapstore.Store, build BuildInfo) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scim2ldap_build_info",
		Help:        "Always 1; the labels name the running build (version, VCS revision, Go version).",
		ConstLabels: prometheus.Labels{"version": orUnknown(build.Version), "revision": orUnknown(build.Revision), "goversion": orUnknown(build.GoVersion)}},
		func() float64 { return 1 }))
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_http_requests_total",
		Help: "HTTP requests by route template, method, status code and client (credential name)."}, []string{"route", "method", "status", "client"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "scim2ldap_http_request_duration_seconds",
		Help: "HTTP request latency in seconds.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route", "method"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "scim2ldap_http_requests_in_flight", Help: "HTTP requests being served."})
	m.ldapOps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_ldap_operations_total",
		Help: `LDAP operations by type and result: the LDAP result code ("0" success), "network" or "deadline".`}, []string{"op", "result"})
	m.ldapDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "scim2ldap_ldap_operation_duration_seconds",
		Help: "LDAP operation latency in seconds.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"op"})
	m.ready = prometheus.NewGauge(prometheus.GaugeOpts{Name: "scim2ldap_ldap_ready", Help: "1 when the last readiness check reached the directory on every connection, else 0."})
	m.authFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_auth_failures_total",
		Help: "Rejected requests by reason: missing, invalid, expired, audience, issuer, unknown_key (401), forbidden (403), rate_limited (429)."}, []string{"reason"})
	m.jwks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_jwks_refreshes_total",
		Help: "Reads of JWT issuers' key sets by issuer (credential name) and result."}, []string{"issuer", "result"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_mapping_reloads_total",
		Help: `Mapping reloads (SIGHUP) by result: "ok", or "rejected" (the old mapping keeps serving).`}, []string{"result"})
	m.audits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_audit_events_total",
		Help: "Audit events (changes written to the directory) by operation and resource type."}, []string{"operation", "resource_type"})
	m.credReloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_credentials_reloads_total",
		Help: `Client credential reloads (SIGHUP, with SCIM2LDAP_BEARER_TOKENS_FILE or SCIM2LDAP_CREDENTIALS_FILE) by result: "ok", or "rejected" (the old credentials stay).`}, []string{"result"})
	m.bulkOps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "scim2ldap_bulk_operations_total",
		Help: "Operations of POST /Bulk requests by the route template they reached (\"unmatched\": refused before), method, status code and client."}, []string{"route", "method", "status", "client"})
	for _, c := range []prometheus.Collector{m.bulkOps, m.requests, m.duration, m.inFlight, m.ldapOps, m.ldapDuration, m.ready, m.authFailures, m.jwks, m.audits, m.reloads, m.credReloads,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: gcCPU})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	if store != nil {
		for _, state := range []string{"up", "down"} {
			f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scim2ldap_ldap_connections", Help: "Shared LDAP connections by state.",
				ConstLabels: prometheus.Labels{"state": state}}, func() float64 {
				up, down := store.Stats()
				if state == "up" {
					return float64(up)
				}
				return float64(down)
			}))
		}
		for i, url := range store.URLs() {
			f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "scim2ldap_ldap_server_in_use",
				Help:        "1 for the LDAP server the gateway uses now (all reads and writes), 0 for the others of its list.",
				ConstLabels: prometheus.Labels{"url": url, "position": strconv.Itoa(i + 1)}}, func() float64 {
				if _, pos := store.InUse(); pos == i {
					return 1
				}
				return 0
			}))
		}
		for _, reason := range []string{"failover", "failback"} {
			f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "scim2ldap_ldap_server_switches_total",
				Help:        "Changes of the LDAP server in use: failover (it could not be reached), failback (an earlier one of the list caught up).",
				ConstLabels: prometheus.Labels{"reason": reason}}, func() float64 {
				fo, fb := store.Switches()
				if reason == "failover" {
					return float64(fo)
				}
				return float64(fb)
			}))
		}
		store.SetObserver(m.observeLDAP)
	}
	return m
}

func (m *metrics) observeLDAP(op, result string, d time.Duration) {
	m.ldapOps.WithLabelValues(op, result).Inc()
	if d > 0 {
		m.ldapDuration.WithLabelValues(op).Observe(d.Seconds())
	}
}

func (m *metrics) observeRequest(route, method string, status int, client string, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status), client).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// bulkOperation counts one operation of a Bulk request (bulk.go).
func (m *metrics) bulkOperation(route, method string, status int, client string) {
	m.bulkOps.WithLabelValues(route, method, strconv.Itoa(status), client).Inc()
}

func (m *metrics) authFailure(reason string) { m.authFailures.WithLabelValues(reason).Inc() }

func (m *metrics) jwksRefresh(issuer, result string) {
	if m != nil {
		m.jwks.WithLabelValues(issuer, result).Inc()
	}
}

// MetricsHandler serves the Prometheus exposition of the gateway's series.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// OpsHandler serves /metrics, /healthz and /readyz only, without authentication:
// for a separate, internal listen address (SCIM2LDAP_METRICS_ADDR).
func (s *Server) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.MetricsHandler())
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	return mux
}

// healthz says the process serves HTTP (liveness); it never touches the directory.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) }

// readyz says whether this replica should get traffic (readiness): 200 when every
// shared LDAP connection answers a root DSE read within 2 s and every base DN
// of the mapping exists (preflight.MissingBases; the body names a missing one), 503 with
// Retry-After otherwise, and 503 once draining (SIGTERM) has begun. The
// reason for a 503 goes to the request log (noteCause). The 200's body names
// the LDAP server in use ("ok\nldap: ldap://b:389 (2 of 3)\n"): with several
// servers, a failed one is skipped (ldapstore fails over), so readiness holds
// while any of them answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		noteCause(w, errDraining)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "draining\n", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		noteCause(w, err)
		s.metrics.ready.Set(0)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "directory unavailable\n", http.StatusServiceUnavailable)
		return
	}
	// The mapping's bases must exist: without them every request answers 404
	// (a search under a missing base) and every create fails.
	missing, err := preflight.MissingBases(ctx, s.cfg.Store, s.mapping())
	if err != nil || len(missing) > 0 {
		msg := "directory unavailable\n"
		if err == nil {
			var b strings.Builder
			for _, mb := range missing {
				b.WriteString("mapping: " + mb.String() + "\n")
			}
			msg, err = b.String(), errors.New(strings.TrimSpace(b.String()))
		}
		noteCause(w, err)
		s.metrics.ready.Set(0)
		w.Header().Set("Retry-After", "5")
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	s.metrics.ready.Set(1)
	url, pos := s.cfg.Store.InUse()
	fmt.Fprintf(w, "ok\nldap: %s (%d of %d)\n", url, pos+1, len(s.cfg.Store.URLs()))
}

var errDraining = errors.New("draining: the gateway is shutting down")

// Drain makes /readyz fail from now on, so load balancers stop sending new
// requests; call it on SIGTERM before http.Server.Shutdown.
func (s *Server) Drain() { s.draining.Store(true) }
