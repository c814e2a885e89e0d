package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// ServeHTTP implements http.Handler: it assigns the request id (X-Request-Id,
// kept when the client sent a sane one), sets the request's deadline
// (Config.RequestTimeout, which also bounds its LDAP work) and body limit
// (Config.MaxBodyBytes), and records one log line and the metrics per request.
//
// The log line is at info level, but a 5xx says the gateway or its directory
// failed, so its line carries the cause (noteCause) and is at error level; at
// warn level for 503, the directory unavailable or busy (clients retry; an
// outage logs one per request), and at info for 501, the documented answer
// to /Me. A POST /Bulk gets Config.BulkMaxPayloadSize as its body limit.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &reqInfo{id: requestID(r), remote: s.clientAddr(r), method: r.Method}
	w.Header().Set("X-Request-Id", info.id)
	ctx := context.WithValue(ldapstore.WithOpCounter(r.Context()), infoKey{}, info)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if r.Body != nil {
		limit := s.cfg.MaxBodyBytes
		if r.URL.Path == BasePath+"/Bulk" {
			limit = s.cfg.BulkMaxPayloadSize // RFC 7644 §3.7.4 maxPayloadSize
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	s.metrics.inFlight.Inc()
	defer func() {
		s.metrics.inFlight.Dec()
		if v := recover(); v != nil {
			s.cfg.Log.Error().Interface("panic", v).Str("path", r.URL.Path).Str("request_id", info.id).Msg("handler panicked")
			rec.cause = fmt.Errorf("handler panicked: %v", v)
			if !rec.wrote {
				writeError(rec, &Error{Status: 500, Detail: "internal error; see the gateway's log"})
			}
		}
		client := "-"
		if info.identity != nil {
			client = info.identity.Name
		}
		d := time.Since(start)
		route := info.route
		if route == "" {
			route = "unmatched" // metrics never carry raw paths
		}
		s.metrics.observeRequest(route, methodLabel(r.Method), rec.status, client, d)
		ev := s.cfg.Log.Info()
		switch {
		case rec.status == http.StatusServiceUnavailable:
			ev = s.cfg.Log.Warn()
		case rec.status >= 500 && rec.status != http.StatusNotImplemented:
			ev = s.cfg.Log.Error()
		}
		if rec.status >= 500 && rec.cause != nil {
			ev = ev.Str("cause", rec.cause.Error())
		}
		if rec.Header().Get(PlannedHeader) != "" {
			ev = ev.Bool("planned", true) // plan mode: the write was computed, not sent (plan.go)
		}
		ev.
			Str("method", r.Method).
			Str("path", r.URL.Path).
			Int("status", rec.status).
			Dur("duration", d).
			Int64("ldap_ops", ldapstore.OpCount(ctx)).
			Str("remote", info.remote).
			Str("client", client).
			Str("request_id", info.id).
			Msg("request")
	}()
	if e := badQuery(r.URL.RawQuery); e != nil {
		writeError(rec, e)
		return
	}
	s.router().ServeHTTP(rec, r.WithContext(ctx))
}

// requestIDHook adds the request id to the log events of the directory layer,
// which log with the request's context (zerolog.Event.Ctx): a failed
// compensation's line can be matched to its request line without a logger
// per request.
type requestIDHook struct{}

func (requestIDHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	if info := infoOf(e.GetCtx()); info != nil {
		e.Str("request_id", info.id)
	}
}

// noteCause records why the response is an error, for ServeHTTP's log line
// (written for a 5xx; the first cause noted wins, as the first status does).
// w is the statusRecorder ServeHTTP hands to every handler, so the handlers
// need not pass the request along; on any other writer (OpsHandler's routes,
// which have no request log) it does nothing.
//
// What is noted reaches the log, so it must never hold a request body's
// values: the causes are the errors of ldapstore and go-ldap, whose text is
// the LDAP result code, the server's diagnostic message (slapd's and AD's
// name attributes and internal codes, not the values sent) and the gateway's
// own context (operation, DN, URL). The one secret a body carries, the password, goes only to
// setPassword, whose errors are scrubbed of it (scrubPassword).
func noteCause(w http.ResponseWriter, err error) {
	if rec, ok := w.(*statusRecorder); ok && rec.cause == nil {
		rec.cause = err
	}
}

// badQuery refuses a query string with an unencoded ';': Go's URL.Query drops
// such a pair without a word, so a filter "userName eq \"a;b\"" sent raw would
// vanish and the list would answer every user.
func badQuery(raw string) *Error {
	if strings.IndexByte(raw, ';') < 0 {
		return nil
	}
	_, err := url.ParseQuery(raw)
	if err == nil {
		return nil
	}
	scimType := scimerr.InvalidValue
	if strings.Contains(strings.ToLower(raw), "filter=") {
		scimType = scimerr.InvalidFilter
	}
	return errorf(400, scimType, "the query string has an unencoded ';' (%v): percent-encode it as %%3B", err)
}

// methodLabel is the method for metrics: one of the methods the gateway
// serves, or "other" (the method comes from the client, before authentication:
// it must not create series at will).
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// requestID keeps the client's X-Request-Id when it is 1–128 characters of
// [A-Za-z0-9._:-], else makes a random 128-bit one (32 hex digits).
func requestID(r *http.Request) string {
	if v := r.Header.Get("X-Request-Id"); v != "" && len(v) <= 128 {
		ok := true
		for _, c := range v {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
				ok = false
				break
			}
		}
		if ok {
			return v
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
