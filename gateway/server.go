// Package gateway is the HTTP side of scim2ldap: SCIM 2.0 protocol (RFC 7644)
// routes under /scim/v2, bearer-token authentication, discovery generated from the
// mapping, ListResponse, errors and the request log. It turns each request into
// mapping conversions and ldapstore operations; it keeps no state of its own.
package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping"
)

// BasePath is the SCIM base path; every endpoint lives under it.
const BasePath = "/scim/v2"

// MaxBodyBytes bounds request bodies (advertised in /ServiceProviderConfig).
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
}

// Server serves SCIM over HTTP.
type Server struct {
	cfg       Config
	tokenSums [][32]byte
	router    *mux.Router
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 1000
	}
	s := &Server{cfg: cfg}
	for _, t := range cfg.Tokens {
		s.tokenSums = append(s.tokenSums, sha256.Sum256([]byte(t)))
	}
	r := mux.NewRouter()
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(404, "", "no such endpoint: %s", r.URL.Path))
	})
	notAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(405, "", "method %s is not supported on %s", r.Method, r.URL.Path))
	})
	r.NotFoundHandler, r.MethodNotAllowedHandler = notFound, notAllowed
	r.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	// Routes are registered on the root router with full paths: a PathPrefix
	// subrouter in gorilla/mux v1.8.1 answers 404 instead of 405 for a wrong
	// method (gorilla/mux#739).
	handle := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle(BasePath+path, s.authenticate(h)).Methods(methods...)
	}
	handle("/ServiceProviderConfig", s.serviceProviderConfig, http.MethodGet)
	handle("/ResourceTypes", s.resourceTypes, http.MethodGet)
	handle("/ResourceTypes/{name}", s.resourceType, http.MethodGet)
	handle("/Schemas", s.schemas, http.MethodGet)
	handle("/Schemas/{id}", s.schema, http.MethodGet)
	handle("/.search", s.searchRoot, http.MethodPost) // search.go
	for _, rt := range s.served() {
		h := &resourceHandler{s: s, rt: rt}
		handle(rt.Endpoint+"/.search", h.search, http.MethodPost) // before {id}: search.go
		handle(rt.Endpoint, h.list, http.MethodGet)
		handle(rt.Endpoint, h.create, http.MethodPost)
		handle(rt.Endpoint+"/{id}", h.get, http.MethodGet)
		handle(rt.Endpoint+"/{id}", h.replace, http.MethodPut)
		handle(rt.Endpoint+"/{id}", h.patch, http.MethodPatch)
		handle(rt.Endpoint+"/{id}", h.delete, http.MethodDelete)
	}
	s.router = r
	return s
}

// served returns the resource types the gateway serves.
func (s *Server) served() []*mapping.ResourceType {
	var out []*mapping.ResourceType
	for _, rt := range s.cfg.Mapping.Types {
		if servedTypes[rt.Name] {
			out = append(out, rt)
		}
	}
	return out
}

// servedTypes are the resource types with working endpoints.
var servedTypes = map[string]bool{"User": true, "Group": true}

// ServeHTTP implements http.Handler, logging one line per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := ldapstore.WithOpCounter(r.Context())
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Log.Error().Interface("panic", v).Str("path", r.URL.Path).Msg("handler panicked")
			if !rec.wrote {
				writeError(rec, &Error{Status: 500, Detail: "internal error; see the gateway's log"})
			}
		}
		s.cfg.Log.Info().
			Str("method", r.Method).
			Str("path", r.URL.Path).
			Int("status", rec.status).
			Dur("duration", time.Since(start)).
			Int64("ldap_ops", ldapstore.OpCount(ctx)).
			Str("remote", r.RemoteAddr).
			Msg("request")
	}()
	s.router.ServeHTTP(rec, r.WithContext(ctx))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
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

// authenticate requires a configured bearer token on every SCIM endpoint
// (RFC 7644 §2; RFC 6750). Tokens are compared as SHA-256 digests in constant
// time, so neither content nor length leaks through timing.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			writeError(w, errorf(401, "", "authentication required: send Authorization: Bearer <token>"))
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		match := 0
		for i := range s.tokenSums {
			match |= subtle.ConstantTimeCompare(sum[:], s.tokenSums[i][:])
		}
		if match != 1 {
			writeError(w, errorf(401, "", "invalid bearer token"))
			return
		}
		next.ServeHTTP(w, r)
	})
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
