// Package gateway is the HTTP side of scim2ldap: SCIM 2.0 protocol (RFC 7644)
// routes under /scim/v2, bearer-token authentication, SCIM JSON bodies, PatchOp
// parsing, projections, discovery generated from the mapping, ListResponse,
// errors, the request and audit logs and metrics. Each request becomes
// operations of the directory layer (package directory), on a snapshot of the
// mapping taken when the request started; the gateway knows no LDAP and keeps
// no state of its own.
package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/directory"
	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// BasePath is the SCIM base path; every endpoint lives under it.
const BasePath = "/scim/v2"

// MaxBodyBytes is the default bound on request bodies (Config.MaxBodyBytes;
// advertised in /ServiceProviderConfig).
const MaxBodyBytes = 1 << 20

// Config is what a Server needs.
type Config struct {
	Mapping *mapping.Mapping
	Store   *ldapstore.Store
	Log     zerolog.Logger
	// Tokens are the accepted bearer tokens; at least one is required.
	Tokens []string
	// PublicURL is the absolute base URL clients use, e.g. "https://scim.example.org"
	// (meta.location and $ref are built from it). Empty: taken from each request's
	// Host and X-Forwarded-Proto.
	PublicURL string
	// MaxPageSize caps `count` (default 1000).
	MaxPageSize int
	// ListMemory bounds, in bytes, the memory the list pages being served hold
	// at once (directory.ListMemory); 0: unbounded.
	ListMemory int64

	// Production settings (auth.go, metrics.go, audit.go, middleware.go).

	// Credentials are named credentials with scopes, in addition to Tokens
	// (which are read-write and named token-1, token-2…). Check them first.
	Credentials *Credentials
	// RequestTimeout is each request's deadline, LDAP work included (default 30s).
	RequestTimeout time.Duration
	// MaxBodyBytes bounds request bodies (default MaxBodyBytes, 1 MiB); larger: 413.
	MaxBodyBytes int64
	// AuthFailureBurst failed authentications are allowed per client address, then
	// one more per AuthFailureInterval (default 10 and 6s); <0 disables the limit.
	AuthFailureBurst    int
	AuthFailureInterval time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For names the client address.
	TrustedProxies []netip.Prefix
	// Audit receives the audit events (JSON lines); nil: Log's output.
	Audit io.Writer
	// ServeMetrics adds /metrics (unauthenticated) to this handler; otherwise
	// serve OpsHandler on a separate address.
	ServeMetrics bool
	// Build names the running binary in scim2ldap_build_info (metrics.go).
	Build BuildInfo
	// BulkMaxOperations and BulkMaxPayloadSize (bytes) bound a POST /Bulk
	// request (RFC 7644 §3.7.4; bulk.go); defaults DefaultBulkMaxOperations
	// and DefaultBulkMaxPayloadSize. The payload limit replaces MaxBodyBytes
	// for /Bulk only.
	BulkMaxOperations  int
	BulkMaxPayloadSize int64
	// Plan puts every request in plan mode (SCIM2LDAP_MODE=plan): writes are
	// computed and not sent (plan.go). False: only credentials with plan: true.
	Plan bool
}

// Server serves SCIM over HTTP.
type Server struct {
	cfg       Config
	routes    atomic.Pointer[routes]           // the mapping in force and its router (SetMapping)
	auth      atomic.Pointer[authenticator]    // the client credentials in force (ReloadCredentials)
	dirSchema atomic.Pointer[ldapstore.Schema] // the directory's schema, last read (CheckMapping)
	learning  atomic.Bool                      // a LearnSchemaWhenReachable loop is running
	dir       *directory.Directory
	limiter   *failureLimiter
	metrics   *metrics
	audit     zerolog.Logger
	draining  atomic.Bool
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 1000
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = MaxBodyBytes
	}
	if cfg.BulkMaxOperations <= 0 {
		cfg.BulkMaxOperations = DefaultBulkMaxOperations
	}
	if cfg.BulkMaxPayloadSize <= 0 {
		cfg.BulkMaxPayloadSize = DefaultBulkMaxPayloadSize
	}
	if cfg.AuthFailureBurst == 0 {
		cfg.AuthFailureBurst = 10
	}
	if cfg.AuthFailureInterval <= 0 {
		cfg.AuthFailureInterval = 6 * time.Second
	}
	s := &Server{cfg: cfg, metrics: newMetrics(cfg.Store, cfg.Build), audit: cfg.Log}
	if cfg.Audit != nil {
		s.audit = zerolog.New(cfg.Audit).With().Timestamp().Logger()
	}
	s.dir = directory.New(cfg.Store, cfg.Log.Hook(requestIDHook{}), auditEvents{s}, directory.ListMemory(cfg.ListMemory))
	s.auth.Store(newAuthenticator(cfg.Tokens, cfg.Credentials, s.metrics))
	s.limiter = newFailureLimiter(cfg.AuthFailureBurst, cfg.AuthFailureInterval)
	s.SetMapping(cfg.Mapping)
	return s
}

// routes is a mapping and the router built from it; they are swapped together.
type routes struct {
	mapping *mapping.Mapping
	router  *mux.Router
}

// SetMapping makes m the mapping in force, atomically: requests already running
// finish with the mapping they started with, the next ones use m. The caller
// validates m first (mapping.Load refuses a file with problems).
func (s *Server) SetMapping(m *mapping.Mapping) {
	cfg := s.cfg
	served := servedOf(m)
	r := mux.NewRouter()
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(404, "", "no such endpoint: %s", r.URL.Path))
	})
	notAllowed := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
		allow := allowedMethods(r, req)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, errorf(405, "", "method %s is not supported on %s; use %s", req.Method, req.URL.Path, strings.Join(allow, " or ")))
	})
	// Under the SCIM base, a wrong path or method is answered only to an
	// authenticated client, and counts toward the failure limit like any other
	// request: the API's shape is not told to anyone who asks.
	guarded := func(h http.Handler) http.Handler {
		auth := s.authenticate(served, h)
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == BasePath || strings.HasPrefix(req.URL.Path, BasePath+"/") {
				auth.ServeHTTP(w, req)
				return
			}
			h.ServeHTTP(w, req)
		})
	}
	r.NotFoundHandler, r.MethodNotAllowedHandler = guarded(notFound), guarded(notAllowed)
	// route registers h for path and methods, naming the request's route (the
	// path template, for metrics) as it is dispatched: the router matches once.
	// GET routes answer HEAD too (RFC 9110 §9.3.2; net/http sends no body).
	// on carries matchers to check before the path (see resourcePath).
	routeOn := func(on *mux.Route, path string, h http.Handler, methods ...string) {
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		on.Path(path).Methods(methods...).Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if info := infoOf(req.Context()); info != nil {
				info.route = path
			}
			h.ServeHTTP(w, req)
		}))
	}
	route := func(path string, h http.Handler, methods ...string) { routeOn(r.NewRoute(), path, h, methods...) }
	route("/healthz", http.HandlerFunc(s.healthz), http.MethodGet)
	route("/readyz", http.HandlerFunc(s.readyz), http.MethodGet)
	if cfg.ServeMetrics {
		route("/metrics", s.MetricsHandler(), http.MethodGet)
	}
	// Routes are registered on the root router with full paths: a PathPrefix
	// subrouter in gorilla/mux v1.8.1 answers 404 instead of 405 for a wrong
	// method (gorilla/mux#739).
	handle := func(path string, h handlerFunc, methods ...string) {
		route(BasePath+path, s.authenticate(served, s.plans(m, answer(h))), methods...)
	}
	handleID := func(endpoint string, h handlerFunc, method string) {
		routeOn(r.NewRoute().MatcherFunc(resourcePath(BasePath+endpoint+"/")), BasePath+endpoint+"/{id}", s.authenticate(served, s.plans(m, answer(h))), method)
	}
	handle("/ServiceProviderConfig", noFilter(s.serviceProviderConfig), http.MethodGet)
	handle("/ResourceTypes", noFilter(s.resourceTypes), http.MethodGet)
	handle("/ResourceTypes/{name}", noFilter(s.resourceTypes), http.MethodGet)
	handle("/Schemas", noFilter(s.schemas), http.MethodGet)
	handle("/Schemas/{id}", noFilter(s.schemas), http.MethodGet)
	handle("/.search", s.searchRoot, http.MethodPost) // search.go
	handle("/Bulk", s.bulk, http.MethodPost)          // bulk.go
	// RFC 7644 §3.11: a service provider that does not support the /Me alias
	// SHOULD answer 501 for every operation on it. A 404 would tell the client
	// it has the wrong base URL.
	handle("/Me", func(w http.ResponseWriter, r *http.Request) error {
		return errorf(501, "", "/Me is not supported: clients authenticate with provisioning credentials (bearer tokens), not as a user, so /Me names no resource; use /Users/{id}")
	}, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete)
	for _, rt := range served {
		h := &resourceHandler{s: s, m: m, rt: rt}
		handle(rt.Endpoint+"/.search", h.search, http.MethodPost) // before {id}: search.go
		handle(rt.Endpoint, h.list, http.MethodGet)
		handle(rt.Endpoint, h.create, http.MethodPost)
		handleID(rt.Endpoint, h.get, http.MethodGet)
		handleID(rt.Endpoint, checkIfMatch(h.replace), http.MethodPut)
		handleID(rt.Endpoint, checkIfMatch(h.patch), http.MethodPatch)
		handleID(rt.Endpoint, checkIfMatch(h.delete), http.MethodDelete)
	}
	s.routes.Store(&routes{mapping: m, router: r})
}

// resourcePath matches the paths of single resources under prefix
// ("/scim/v2/Users/"), but not prefix+".search": that is the search endpoint
// (RFC 7644 §3.4.3, POST only), so GET, PUT, PATCH or DELETE there is 405 with
// Allow: POST, not a lookup of a resource called ".search". It is checked
// before the route's path and fails on every other path, because gorilla/mux
// v1.8.1 forgets an earlier route's method mismatch (405) as soon as any
// matcher of a later route succeeds.
func resourcePath(prefix string) mux.MatcherFunc {
	return func(r *http.Request, _ *mux.RouteMatch) bool {
		id, ok := strings.CutPrefix(r.URL.Path, prefix)
		return ok && id != "" && id != ".search" && !strings.Contains(id, "/")
	}
}

// noFilter refuses a filter on a discovery endpoint with 403: RFC 7644 §4 says
// query parameters are ignored there and a service provider SHOULD answer a
// filter with 403, so that clients cannot assume its conditions hold.
func noFilter(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Query().Has("filter") {
			return errorf(403, "", "%s does not take a filter (RFC 7644 §4): discovery endpoints return everything they describe", r.URL.Path)
		}
		return h(w, r)
	}
}

// allowedMethods lists the methods r routes for req's path, in a fixed order.
func allowedMethods(r *mux.Router, req *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		var match mux.RouteMatch
		if r.Match(probe, &match) && match.MatchErr == nil {
			allow = append(allow, m)
		}
	}
	return allow
}

// CheckMapping checks m against the live directory's schema (see
// mapping.CheckSchema) and, when it fits, teaches m the schema's matching rules
// (mapping.LearnSchema; m must not be serving yet): the problems as a mapping.Problems error, nil when there
// are none, or an unavailable error when the schema can't be read (the caller
// decides: start-up goes on with a warning while the directory is down).
func (s *Server) CheckMapping(ctx context.Context, m *mapping.Mapping) error {
	schema, err := s.cfg.Store.ReadSchema(ctx)
	if err != nil {
		return err
	}
	if ps := m.CheckSchema(schema); len(ps) > 0 {
		return ps
	}
	s.dirSchema.Store(schema)
	m.LearnSchema(schema)
	return nil
}

// LearnSchemaWhenReachable reads the directory's schema as soon as it can (every
// 2 s until ctx ends) and teaches it to the mapping then in force: for a gateway
// that started, or reloaded its mapping, while the directory was down. Problems
// the schema shows in the mapping can't be refused any more: they are logged.
// One loop at a time; it returns at once when one is running.
func (s *Server) LearnSchemaWhenReachable(ctx context.Context) {
	if !s.learning.CompareAndSwap(false, true) {
		return
	}
	defer s.learning.Store(false)
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		schema, err := s.cfg.Store.ReadSchema(rctx)
		cancel()
		if err == nil {
			m := s.mapping()
			for _, p := range m.CheckSchema(schema) {
				s.cfg.Log.Error().Str("problem", p.String()).Msg("the mapping in force does not fit the directory's schema; fix it and send SIGHUP")
			}
			s.dirSchema.Store(schema)
			for ; ; m = s.mapping() { // a reload may have swapped the mapping meanwhile
				m.LearnSchema(schema)
				if s.mapping() == m {
					break
				}
			}
			s.cfg.Log.Info().Msg("learnt the directory's matching rules (substring filters)")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ReloadMapping loads the mapping file and, if it has no problems (also against
// the directory's schema, when it can be read) and the credentials still fit it,
// makes it the mapping in force (SetMapping). On any problem the mapping in
// force stays, and the error lists every problem. Counted in
// scim2ldap_mapping_reloads_total.
func (s *Server) ReloadMapping(ctx context.Context, path string) error {
	m, err := mapping.Load(path)
	if creds := s.auth.Load().creds; err == nil && creds != nil {
		err = creds.Check(m)
	}
	if err == nil {
		switch cerr := s.CheckMapping(ctx, m); {
		case cerr != nil && !ldapstore.IsUnavailable(cerr):
			err = cerr
		case cerr != nil: // the directory is down: what was learnt of its schema still holds
			if known := s.dirSchema.Load(); known != nil {
				m.LearnSchema(known)
			} else {
				defer func() { go s.LearnSchemaWhenReachable(ctx) }()
			}
		}
	}
	if err != nil {
		s.metrics.reloads.WithLabelValues("rejected").Inc()
		return err
	}
	s.SetMapping(m)
	s.metrics.reloads.WithLabelValues("ok").Inc()
	return nil
}

// CheckCredentials reports what is wrong with a set of client credentials for
// mapping m: problems in creds (see Credentials.Check), or nothing at all to
// authenticate with (no token and an empty or missing credentials file).
func CheckCredentials(m *mapping.Mapping, tokens []string, creds *Credentials) error {
	if err := creds.Check(m); err != nil {
		return err
	}
	if err := sharedSecrets(tokens, creds); err != nil {
		return err
	}
	if len(tokens) == 0 && creds.Empty() {
		return errors.New("no client credentials: every SCIM endpoint needs authentication (SCIM2LDAP_BEARER_TOKENS, SCIM2LDAP_BEARER_TOKENS_FILE or SCIM2LDAP_CREDENTIALS_FILE)")
	}
	return nil
}

// ReloadCredentials makes tokens and creds the client credentials in force,
// atomically: a request already authenticated keeps its identity, the next ones
// use the new set (a rotated token works, a removed one gets 401). A set that
// fails CheckCredentials against the mapping in force is refused and the old set
// stays. JWT issuers start with an empty key cache. Counted in
// scim2ldap_credentials_reloads_total.
func (s *Server) ReloadCredentials(tokens []string, creds *Credentials) error {
	if err := CheckCredentials(s.mapping(), tokens, creds); err != nil {
		s.metrics.credReloads.WithLabelValues("rejected").Inc()
		return err
	}
	s.auth.Store(newAuthenticator(tokens, creds, s.metrics))
	s.metrics.credReloads.WithLabelValues("ok").Inc()
	return nil
}

// mapping returns the mapping in force.
func (s *Server) mapping() *mapping.Mapping { return s.routes.Load().mapping }

func (s *Server) router() *mux.Router { return s.routes.Load().router }

// served returns the resource types the gateway serves.
func (s *Server) served() []*mapping.ResourceType { return servedOf(s.mapping()) }

func servedOf(m *mapping.Mapping) []*mapping.ResourceType {
	var out []*mapping.ResourceType
	for _, rt := range m.Types {
		if servedTypes[rt.Name] {
			out = append(out, rt)
		}
	}
	return out
}

// servedTypes are the resource types with working endpoints.
var servedTypes = map[string]bool{"User": true, "Group": true}

// statusRecorder is the ResponseWriter ServeHTTP hands down: it keeps the
// status and the cause of an error response for the request log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	cause  error // see noteCause
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// baseURL is the absolute SCIM base URL for meta.location and $ref.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/") + BasePath
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + BasePath
}
