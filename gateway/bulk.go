package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim2ldap/scim2ldap/mapping"
	"github.com/scim2ldap/scim2ldap/scimerr"
)

// POST /Bulk (RFC 7644 §3.7): many writes in one HTTP request.
//
// Each operation is dispatched as an internal request through the router of
// the mapping in force when the Bulk request started, to the very handler a
// single request reaches: authorization of the request's credential (scopes:
// a read-only credential's write is 403, a credential limited to Users can't
// write Groups), If-Match from the operation's version, validation, mapping,
// guarded writes, reference upkeep and audit events all happen as they would
// for that request sent alone. Only the credential is not checked again: the
// Bulk request authenticated once, and its identity is carried to each
// operation (bulkIdentity). The one HTTP request is counted once in
// scim2ldap_http_requests_total (route /scim/v2/Bulk) and logged once; each
// operation is counted in scim2ldap_bulk_operations_total, and the request's
// log line counts the LDAP operations of all of them.
//
// Limits (RFC 7644 §3.7.4): Config.BulkMaxOperations and
// Config.BulkMaxPayloadSize, advertised as bulk.maxOperations and
// bulk.maxPayloadSize in /ServiceProviderConfig; beyond either, the whole
// request is refused with 413 and scimType tooLarge before anything runs. The
// whole request has one deadline, Config.RequestTimeout, as every request has.

const (
	bulkRequestSchema  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

	// DefaultBulkMaxOperations is Config.BulkMaxOperations's default: a
	// thousand creates fit in the default request deadline (30 s) against
	// slapd with room to spare, and an IdP's full sync sends more as several
	// requests rather than holding one open for minutes.
	DefaultBulkMaxOperations = 1000
	// DefaultBulkMaxPayloadSize is Config.BulkMaxPayloadSize's default in
	// bytes (1 MiB): a thousand typical user creates (300–600 bytes each).
	DefaultBulkMaxPayloadSize = 1 << 20

	// bulkWorkers bounds the operations of one Bulk request that run at the
	// same time: the default number of LDAP connections (each multiplexes
	// many operations). More only queues at the directory, and one Bulk
	// request should leave room for the other clients' requests.
	bulkWorkers = 4
)

// bulkOp is one operation of a Bulk request, as parsed (RFC 7644 §3.7).
type bulkOp struct {
	method, path, bulkID string
	version              *string        // the If-Match to send; nil when absent (or null)
	data                 map[string]any // nil for DELETE
	rt                   *mapping.ResourceType
	id                   string // the resource the path names, as written ("" for POST)
	pathRef              string // the bulkId the path names ("/Users/bulkId:qwerty"), or ""
	refusal              *Error // set: refused before running, with this error
}

// bulkIdentityKey carries the Bulk request's identity to its operations:
// authenticate takes it instead of reading the Authorization header again.
// Only bulk.go sets it, on internal requests; no client can.
type bulkIdentityKey struct{}

// bulkIdentity returns the identity a Bulk request carries to its operation
// in ctx, or nil.
func bulkIdentity(ctx context.Context) *Identity {
	id, _ := ctx.Value(bulkIdentityKey{}).(*Identity)
	return id
}

// bulk serves POST /Bulk (RFC 7644 §3.7). The answer is 200 with a
// BulkResponse whenever the request itself is valid (§3.7.3: "If a bulk job
// is processed successfully, HTTP response code 200 OK MUST be returned"),
// whatever its operations' outcomes; each operation's result carries its
// method, bulkId, location, version and status, and on failure the SCIM
// error as "response". Errors of the request as a whole: 413 tooLarge
// (maxPayloadSize, maxOperations), 400 invalidSyntax (not a JSON object),
// 400 invalidValue (no Operations, a bad failOnErrors or schemas).
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if e, ok := err.(*Error); ok && e.Status == http.StatusRequestEntityTooLarge {
		return errorf(413, scimerr.TooLarge, "the Bulk request exceeds maxPayloadSize (%d bytes, see /ServiceProviderConfig); split it into several requests", s.cfg.BulkMaxPayloadSize)
	} else if err != nil {
		return err
	}
	if v, ok := mapping.Lookup(body, "schemas"); ok && !listHas(v, bulkRequestSchema) {
		return errorf(400, scimerr.InvalidValue, "schemas must include %s", bulkRequestSchema)
	}
	failOnErrors := 0
	if v, ok := mapping.Lookup(body, "failOnErrors"); ok && v != nil {
		n, isNum := v.(json.Number)
		i, err := n.Int64()
		if !isNum || err != nil || i < 1 || i > int64(s.cfg.BulkMaxOperations) {
			return errorf(400, scimerr.InvalidValue, "failOnErrors must be an integer from 1 to %d (the number of errors after which the remaining operations are not run), not %s", s.cfg.BulkMaxOperations, jsonText(v))
		}
		failOnErrors = int(i)
	}
	raw, _ := mapping.Lookup(body, "Operations")
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return errorf(400, scimerr.InvalidValue, "Operations must be a non-empty list of operations (method, path, bulkId, version, data)")
	}
	if len(list) > s.cfg.BulkMaxOperations {
		return errorf(413, scimerr.TooLarge, "the Bulk request has %d operations, more than maxOperations (%d, see /ServiceProviderConfig); split it into several requests", len(list), s.cfg.BulkMaxOperations)
	}
	b := s.newBulkRun(r, list, failOnErrors)
	b.run(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"schemas": []string{bulkResponseSchema}, "Operations": b.response()})
	return nil
}

func listHas(v any, want string) bool {
	list, _ := v.([]any)
	for _, e := range list {
		if s, _ := e.(string); strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// parseBulkOp reads one element of Operations (RFC 7644 §3.7: method, path,
// bulkId, version, data); n is its number in the request, from 1. A
// malformed operation is returned with its refusal (400 and a detail naming
// the member at fault); it fails alone.
func parseBulkOp(n int, raw any, served []*mapping.ResourceType) *bulkOp {
	op := &bulkOp{}
	obj, ok := raw.(map[string]any)
	if !ok {
		op.refusal = errorf(400, scimerr.InvalidSyntax, "an operation must be a JSON object with method, path, bulkId, version and data")
		return op
	}
	str := func(name string) (string, bool) {
		v, present := mapping.Lookup(obj, name)
		if !present || v == nil {
			return "", true
		}
		s, ok := v.(string)
		if !ok && op.refusal == nil {
			op.refusal = errorf(400, scimerr.InvalidSyntax, "%s must be a string, not %s", name, jsonText(v))
		}
		return s, ok
	}
	method, _ := str("method")
	op.method = strings.ToUpper(method)
	op.bulkID, _ = str("bulkId")
	if v, ok := str("version"); ok {
		if raw, _ := mapping.Lookup(obj, "version"); raw != nil {
			op.version = &v // "" too: an empty If-Match, which the single request refuses
		}
	}
	op.path, _ = str("path")
	if op.refusal != nil {
		return op
	}
	switch op.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		op.refusal = errorf(400, scimerr.InvalidValue, "method must be POST, PUT, PATCH or DELETE, not %q", method)
		return op
	}
	var endpoints []string
	id := ""
	defer func() {
		if ref, ok := strings.CutPrefix(id, bulkRefPrefix); ok && op.refusal == nil {
			op.pathRef = ref
		}
	}()
	for _, rt := range served {
		endpoints = append(endpoints, rt.Endpoint)
		if op.path == rt.Endpoint {
			op.rt = rt
		} else if rest, ok := strings.CutPrefix(op.path, rt.Endpoint+"/"); ok && rest != "" && rest != ".search" && rest != "." && rest != ".." && !strings.ContainsAny(rest, "/?#") {
			op.rt, id = rt, rest
		}
	}
	op.id = id
	switch {
	case op.path == "":
		op.refusal = errorf(400, scimerr.InvalidValue, "path is required: a resource type endpoint such as %s for POST, or a resource such as %s/{id}", endpoints[0], endpoints[0])
	case op.rt == nil:
		op.refusal = errorf(400, scimerr.InvalidValue, "path %q names no resource type endpoint (%s) nor one of their resources", op.path, strings.Join(endpoints, ", "))
	case op.method == http.MethodPost && id != "":
		op.refusal = errorf(400, scimerr.InvalidValue, "path %q names a resource; POST takes its resource type endpoint, %s", op.path, op.rt.Endpoint)
	case op.method != http.MethodPost && id == "":
		op.refusal = errorf(400, scimerr.InvalidValue, "path %q names no resource; %s takes one, such as %s/{id} or %s/bulkId:{bulkId}", op.path, op.method, op.rt.Endpoint, op.rt.Endpoint)
	case op.method == http.MethodPost && op.bulkID == "":
		op.refusal = errorf(400, scimerr.InvalidValue, "bulkId is required with POST (RFC 7644 §3.7): it names the new resource in the response")
	case id == bulkRefPrefix:
		// Not an id either: "bulkId:" is the reference syntax (RFC 7644 §3.7.2).
		op.refusal = errorf(400, scimerr.InvalidValue, "operation %d (%s %s): the bulkId reference names no bulkId; write %s/bulkId:{bulkId}, the bulkId of a POST in the same Bulk request (RFC 7644 §3.7.2)", n, op.method, op.path, op.rt.Endpoint)
	}
	if op.refusal != nil {
		return op
	}
	if op.method != http.MethodDelete {
		v, _ := mapping.Lookup(obj, "data")
		data, ok := v.(map[string]any)
		if !ok {
			op.refusal = errorf(400, scimerr.InvalidSyntax, "data is required with %s: a JSON object, the body the single %s request would have", op.method, op.method)
			return op
		}
		op.data = data
	}
	return op
}

// refs returns the bulkIds the operation references: in its path, then in
// its data.
func (op *bulkOp) refs() []string {
	var refs []string
	if op.pathRef != "" {
		refs = append(refs, op.pathRef)
	}
	return bulkRefs(any(op.data), refs)
}

// bulkRun is one Bulk request being run.
type bulkRun struct {
	s            *Server
	rts          *routes // the mapping in force when the request started, and its router
	outer        *http.Request
	info         *reqInfo
	ops          []*bulkOp
	plan         []planInput
	cyclic       [][]string // per operation, the bulkIds of its cycle it references
	failOnErrors int

	mu       sync.Mutex
	ids      map[string]string      // bulkId → id of the resource its POST created
	failures map[string]string      // bulkId → why its POST created nothing
	results  []map[string]any       // per operation; nil: not run
	complete map[int]map[string]any // cycle members: the PATCH adding their cycle's references
	locs     map[int]string         // cycle members: their resource's location
	errs     int                    // operations that failed so far
}

func (s *Server) newBulkRun(r *http.Request, list []any, failOnErrors int) *bulkRun {
	rts := s.routes.Load()
	served := servedOf(rts.mapping)
	b := &bulkRun{s: s, rts: rts, outer: r, info: infoOf(r.Context()), failOnErrors: failOnErrors,
		ids: map[string]string{}, failures: map[string]string{}, results: make([]map[string]any, len(list)),
		complete: map[int]map[string]any{}, locs: map[int]string{}}
	if b.info == nil {
		b.info = &reqInfo{}
	}
	defined := map[string]int{}
	for i, raw := range list {
		op := parseBulkOp(i+1, raw, served)
		if op.method == http.MethodPost && op.bulkID != "" { // a malformed POST defines its bulkId too: its referrers learn it failed
			if j, dup := defined[op.bulkID]; dup && op.refusal == nil {
				op.refusal = errorf(400, scimerr.InvalidValue, "bulkId %q is not unique in the request: operation %d defines it already", op.bulkID, j+1)
			} else if !dup {
				defined[op.bulkID] = i
			}
		}
		b.ops = append(b.ops, op)
	}
	for _, op := range b.ops {
		in := planInput{ok: op.refusal == nil, post: op.method == http.MethodPost}
		if in.ok {
			in.refs = op.refs()
			for _, ref := range in.refs {
				if _, ok := defined[ref]; !ok {
					op.refusal = errorf(400, scimerr.InvalidValue, "%s%s names no POST of this request: a bulkId reference names the bulkId of a POST in the same Bulk request (RFC 7644 §3.7.2)", bulkRefPrefix, ref)
					in.ok = false
					break
				}
			}
		}
		if in.ok && in.post {
			in.bulkID = op.bulkID
			in.claims, in.alone = bulkClaims(op.rt, op.data)
		}
		b.plan = append(b.plan, in)
	}
	// A refused POST creates nothing, whenever its step comes: its referrers
	// are told so even if they run first (the plan orders by valid
	// operations only).
	for i, op := range b.ops {
		if j, ok := defined[op.bulkID]; ok && j == i && op.refusal != nil {
			b.failures[op.bulkID] = fmt.Sprintf("the POST with bulkId %q was refused (status %d)", op.bulkID, op.refusal.Status)
		}
	}
	return b
}

// bulkClaims returns the values a create of data would take that another
// create could want too: its RDN value and its values of attributes with
// uniqueness server, lower-cased and keyed by LDAP attribute (not by type:
// Active Directory's sAMAccountName is unique across users and groups).
// alone is true when they can't be computed (the data is invalid: its POST
// will say why).
func bulkClaims(rt *mapping.ResourceType, data map[string]any) (claims []string, alone bool) {
	anyDN := func(_ []string, ids []string) (map[string]string, error) {
		out := make(map[string]string, len(ids))
		for _, id := range ids {
			out[id] = "cn=planned" // references don't matter here, only names
		}
		return out, nil
	}
	vals, err := rt.LDAPValues(data, anyDN)
	if err != nil {
		return nil, true
	}
	attrs := []string{rt.RDN}
	for _, a := range rt.Attrs {
		if a.Uniqueness == mapping.UniquenessServer {
			attrs = append(attrs, a.LDAP)
		}
	}
	for attr, vs := range vals {
		for _, want := range attrs {
			if strings.EqualFold(attr, want) {
				for _, v := range vs {
					claims = append(claims, strings.ToLower(attr)+"\x00"+strings.ToLower(v))
				}
				break
			}
		}
	}
	return claims, false
}

// bulkBatchHook, when set (by tests only: export_test.go), is called before
// each batch of a Bulk request's plan with the number of cycle completions in
// it and a function that ends the request's context, as its deadline would.
var bulkBatchHook atomic.Pointer[func(completions int, expire func())]

// run runs the plan's batches in order, the steps of a batch at the same time
// (at most bulkWorkers), and stops when failOnErrors operations failed (RFC
// 7644 §3.7.3) or the request's deadline passed.
func (b *bulkRun) run(ctx context.Context) {
	steps, cyclic := planOrder(b.plan)
	b.cyclic = cyclic
	batches := planBatches(steps, b.plan, b.failOnErrors > 0)
	sem := make(chan struct{}, bulkWorkers)
	var hook func(batch []planStep)
	if h := bulkBatchHook.Load(); h != nil { // tests only (export_test.go)
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		hook = func(batch []planStep) {
			completions := 0
			for _, st := range batch {
				if st.kind == stepCompleteCycle {
					completions++
				}
			}
			(*h)(completions, cancel)
		}
	}
	for n, batch := range batches {
		if hook != nil {
			hook(batch)
		}
		if b.failOnErrors > 0 && b.errs >= b.failOnErrors {
			// The remaining operations are not run, nor listed (§3.7.3). A
			// cycle whose creates ran is completed all the same: those
			// operations ran, and a result of 201 must not stand for a
			// resource created without references it was sent with.
			for _, later := range batches[n:] {
				for _, st := range later {
					if st.kind == stepCompleteCycle {
						b.step(ctx, st)
					}
				}
			}
			return
		}
		if ctx.Err() != nil {
			notRun := 0
			for _, later := range batches[n:] {
				for _, st := range later {
					if b.results[st.op] == nil {
						notRun++
						b.fail(st.op, errorf(503, "", "not run: the Bulk request's deadline (%s) passed first; send this operation again", b.s.cfg.RequestTimeout))
					} else if patch := b.complete[st.op]; st.kind == stepCompleteCycle && patch != nil {
						notRun++
						b.leaveIncomplete(st.op, errorf(503, "", "created without its references to %s: the Bulk request's deadline (%s) passed before they were added; add them with a PATCH of this location",
							bulkRefPrefix+strings.Join(bulkRefs(patch, nil), ", "+bulkRefPrefix), b.s.cfg.RequestTimeout))
					}
				}
			}
			b.s.cfg.Log.Warn().Err(ctx.Err()).Int("not_run", notRun).Str("request_id", b.info.id).
				Msg("bulk request: the deadline (SCIM2LDAP_REQUEST_TIMEOUT) passed before every operation ran")
			return
		}
		if len(batch) == 1 {
			b.step(ctx, batch[0])
			continue
		}
		var wg sync.WaitGroup
		for _, st := range batch {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				b.step(ctx, st)
			}()
		}
		wg.Wait()
	}
}

// step runs one step of the plan and records its outcome.
func (b *bulkRun) step(ctx context.Context, st planStep) {
	op := b.ops[st.op]
	if op.refusal != nil {
		b.fail(st.op, op.refusal)
		return
	}
	switch st.kind {
	case stepRun:
		b.send(ctx, st.op, op.method, op.path, op.data, op.version)
	case stepCreateCyclic:
		created, patch := stripCycle(op.data, b.cyclic[st.op], op.rt)
		if b.send(ctx, st.op, op.method, op.path, created, op.version) {
			b.mu.Lock()
			b.complete[st.op] = patch
			b.mu.Unlock()
		}
	case stepCompleteCycle:
		b.mu.Lock()
		patch, created := b.complete[st.op], b.ids[op.bulkID]
		b.mu.Unlock()
		if patch == nil || created == "" {
			return // nothing to add, or the create failed (its result says why)
		}
		b.completeCycle(ctx, st.op, created, patch)
	}
}

// send resolves the operation's bulkId references and dispatches it; it
// reports whether it succeeded.
func (b *bulkRun) send(ctx context.Context, i int, method, path string, data map[string]any, version *string) bool {
	b.mu.Lock()
	ids := b.ids
	var missing, why string
	refs := bulkRefs(any(data), nil)
	op := b.ops[i]
	resolvedPath, id := path, op.id
	if op.pathRef != "" {
		refs = append([]string{op.pathRef}, refs...)
		id = ids[op.pathRef]
		resolvedPath = op.rt.Endpoint + "/" + id
	}
	for _, ref := range refs {
		if _, ok := ids[ref]; !ok {
			missing, why = ref, b.failures[ref]
			break
		}
	}
	var body any
	if data != nil {
		body = resolveRefs(data, ids)
	}
	b.mu.Unlock()
	if missing != "" {
		b.fail(i, errorf(409, scimerr.InvalidValue, "%s%s can't be resolved: %s", bulkRefPrefix, missing, why))
		return false
	}
	status, hdr, resp := b.dispatch(ctx, i, method, resolvedPath, body, version)
	res := map[string]any{"method": op.method, "status": strconv.Itoa(status)}
	if op.bulkID != "" {
		res["bulkId"] = op.bulkID
	}
	if v := hdr.Get("ETag"); v != "" {
		res["version"] = v
	}
	loc := hdr.Get("Location")
	if loc == "" && method != http.MethodPost {
		loc = mapping.Location(b.s.baseURL(b.outer), op.rt.Endpoint, id)
	}
	if loc != "" {
		res["location"] = loc
	}
	ok := status < 400
	if !ok {
		res["response"] = errorResponse(status, resp)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.results[i] = res
	if method == http.MethodPost && op.bulkID != "" {
		if id := createdID(resp, loc); ok && id != "" {
			b.ids[op.bulkID] = id
			b.locs[i] = loc
		} else {
			b.failures[op.bulkID] = fmt.Sprintf("the POST with bulkId %q failed (status %d)", op.bulkID, status)
		}
	}
	if !ok {
		b.errs++
	}
	return ok
}

// completeCycle sends the PATCH that adds a cycle member's references to the
// other members (stripCycle), once all exist. If one of them could not be
// created, the member stays without those references and its result is 409
// (RFC 7644 §3.7.1); a failed PATCH is the member's result, with the location
// of the resource that was created.
func (b *bulkRun) completeCycle(ctx context.Context, i int, id string, patch map[string]any) {
	op := b.ops[i]
	b.mu.Lock()
	var missing, why string
	for _, ref := range bulkRefs(any(patch), nil) {
		if _, ok := b.ids[ref]; !ok {
			missing, why = ref, b.failures[ref]
			break
		}
	}
	body := resolveRefs(patch, b.ids)
	loc := b.locs[i]
	b.mu.Unlock()
	if missing != "" {
		b.leaveIncomplete(i, errorf(409, scimerr.InvalidValue, "circular reference not resolved (RFC 7644 §3.7.1): the resource was created without its references to %s%s, because %s", bulkRefPrefix, missing, why))
		return
	}
	status, hdr, resp := b.dispatch(ctx, i, http.MethodPatch, op.rt.Endpoint+"/"+id, body, nil)
	b.mu.Lock()
	defer b.mu.Unlock()
	res := b.results[i]
	switch {
	case status >= 400:
		res["status"], res["response"] = strconv.Itoa(status), errorResponse(status, resp)
		delete(res, "version")
	default:
		if v := hdr.Get("ETag"); v != "" {
			res["version"] = v // the version after the PATCH
		} else {
			delete(res, "version")
		}
	}
	res["location"] = loc
	if status >= 400 {
		b.errs++
	}
}

// leaveIncomplete records that a cycle member, created without its references
// to the cycle, stays without them: its result keeps the created resource's
// location and becomes e, which says what is missing.
func (b *bulkRun) leaveIncomplete(i int, e *Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	res := b.results[i]
	res["status"], res["response"], res["location"] = strconv.Itoa(e.Status), errorBody(e), b.locs[i]
	delete(res, "version")
	b.errs++
	b.s.metrics.bulkOperation("unmatched", methodLabel(http.MethodPatch), e.Status, b.client())
}

// fail records an operation refused without being dispatched.
func (b *bulkRun) fail(i int, e *Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	op := b.ops[i]
	res := map[string]any{"status": strconv.Itoa(e.Status), "response": errorBody(e)}
	if op.method != "" {
		res["method"] = op.method // as sent, even when it is no method Bulk takes
	}
	if op.bulkID != "" {
		res["bulkId"] = op.bulkID
		if _, taken := b.failures[op.bulkID]; op.method == http.MethodPost && !taken && b.ids[op.bulkID] == "" {
			b.failures[op.bulkID] = fmt.Sprintf("the POST with bulkId %q failed (status %d)", op.bulkID, e.Status)
		}
	}
	b.results[i] = res
	b.errs++
	b.s.metrics.bulkOperation("unmatched", methodLabel(op.method), e.Status, b.client())
}

func (b *bulkRun) client() string {
	if b.info.identity != nil {
		return b.info.identity.Name
	}
	return "-"
}

// response lists the results of the operations that ran, in request order.
func (b *bulkRun) response() []any {
	out := []any{}
	for _, res := range b.results {
		if res != nil {
			out = append(out, res)
		}
	}
	return out
}

// dispatch sends one operation as an internal request through the router of
// the Bulk request's mapping and returns the response's status, header and
// body. The internal request carries the Bulk request's identity, request id,
// client address, host and TLS state (for meta.location), the LDAP operation
// counter and deadline, the operation's version as If-Match, and the single
// request's body limit (Config.MaxBodyBytes: 413 above it). A 5xx is
// logged with its cause (the request log line is the Bulk request's, whose
// status is 200), and a panic is a 500 of this operation only.
func (b *bulkRun) dispatch(ctx context.Context, i int, method, path string, body any, version *string) (status int, hdr http.Header, resp []byte) {
	start := time.Now()
	var rd *bytes.Reader
	if body != nil {
		data, err := json.Marshal(body) // values decoded from JSON: it can't fail
		if err != nil {
			b.s.cfg.Log.Error().Err(err).Str("request_id", b.info.id).Int("operation", i+1).Msg("bulk operation: encoding its data")
			return 500, http.Header{}, nil
		}
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	info := &reqInfo{id: b.info.id, remote: b.info.remote, method: method, identity: b.info.identity}
	octx := context.WithValue(context.WithValue(ctx, infoKey{}, info), bulkIdentityKey{}, b.info.identity)
	req, err := http.NewRequestWithContext(octx, method, "/", rd)
	if err != nil {
		return 500, http.Header{}, nil
	}
	req.URL.Path = BasePath + path
	req.RequestURI = req.URL.RequestURI()
	req.Host, req.TLS, req.RemoteAddr = b.outer.Host, b.outer.TLS, b.outer.RemoteAddr
	for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-For"} {
		if v := b.outer.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	req.Header.Set("Content-Type", "application/scim+json")
	if version != nil {
		req.Header.Set("If-Match", *version)
	}
	rec := &statusRecorder{ResponseWriter: &bufferWriter{hdr: http.Header{}}, status: 200}
	req.Body = http.MaxBytesReader(rec, req.Body, b.s.cfg.MaxBodyBytes) // the single request's limit (ServeHTTP)
	func() {
		defer func() {
			if v := recover(); v != nil {
				rec.cause = fmt.Errorf("handler panicked: %v", v)
				if !rec.wrote {
					writeError(rec, &Error{Status: 500, Detail: "internal error; see the gateway's log"})
				}
			}
		}()
		b.rts.router.ServeHTTP(rec, req)
	}()
	route := info.route
	if route == "" {
		route = "unmatched"
	}
	b.s.metrics.bulkOperation(route, methodLabel(method), rec.status, b.client())
	if rec.status >= 500 {
		ev := b.s.cfg.Log.Error()
		if rec.status == http.StatusServiceUnavailable {
			ev = b.s.cfg.Log.Warn()
		}
		if rec.cause != nil {
			ev = ev.Str("cause", rec.cause.Error())
		}
		ev.Str("method", method).Str("path", req.URL.Path).Int("status", rec.status).Int("operation", i+1).
			Dur("duration", time.Since(start)).Str("client", b.client()).Str("request_id", info.id).Msg("bulk operation")
	}
	bw := rec.ResponseWriter.(*bufferWriter)
	return rec.status, bw.hdr, bw.buf.Bytes()
}

// bufferWriter is the ResponseWriter an internal request writes to.
type bufferWriter struct {
	hdr http.Header
	buf bytes.Buffer
}

func (w *bufferWriter) Header() http.Header         { return w.hdr }
func (w *bufferWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *bufferWriter) WriteHeader(int)             {}

// errorResponse is the SCIM error an operation answered, as the "response"
// of its result (RFC 7644 §3.7.3); a body that is no JSON object (it always
// is) becomes an error with the status alone.
func errorResponse(status int, body []byte) any {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return errorBody(&Error{Status: status})
	}
	return m
}

// createdID is the id of the resource a POST created: from its body, else the
// last segment of its Location, unescaped (mapping.Location escapes it).
func createdID(body []byte, loc string) string {
	var m struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &m) == nil && m.ID != "" {
		return m.ID
	}
	if k := strings.LastIndexByte(loc, '/'); k >= 0 {
		if id, err := url.PathUnescape(loc[k+1:]); err == nil {
			return id
		}
	}
	return ""
}
