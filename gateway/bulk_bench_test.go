package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkBulkVersusSingle times 1,000 user creates sent as one POST /Bulk
// and as 1,000 POST /Users one after the other, by one client, against the
// same slapd (make bench-bulk: one run of each, -benchtime 1x, so ns/op is
// the wall time of the 1,000 creates).
func BenchmarkBulkVersusSingle(b *testing.B) {
	srv, client := benchGateway(b)
	run := 0
	b.Run("bulk", func(b *testing.B) {
		for range b.N {
			run++
			var ops []any
			for i := range 1000 {
				ops = append(ops, map[string]any{"method": "POST", "path": "/Users", "bulkId": fmt.Sprint(i),
					"data": newUser(fmt.Sprintf("bench-bulk-%d-%04d", run, i))})
			}
			body, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": ops})
			out := gwRequest(b, client, "POST", srv.URL+"/scim/v2/Bulk", body, 200)
			if n := bytes.Count(out, []byte(`"status":"201"`)); n != 1000 {
				b.Fatalf("POST /Bulk: %d creates, want 1,000: %.500s", n, out)
			}
		}
	})
	b.Run("one-by-one", func(b *testing.B) {
		for range b.N {
			run++
			for i := range 1000 {
				body, _ := json.Marshal(newUser(fmt.Sprintf("bench-single-%d-%04d", run, i)))
				gwRequest(b, client, "POST", srv.URL+"/scim/v2/Users", body, 201)
			}
		}
	})
}
