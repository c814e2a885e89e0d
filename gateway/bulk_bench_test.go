package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkBulkVersusSingle times 1,000 user creates sent as one POST /Bulk
// and as 1,000 POST /Users one after the other, by one client, against the
// same slapd (make bench-bulk: one run of each, -benchtime 1x, so ns/op is
// the wall time of the 1,000 creates).
func BenchmarkBulkVersusSingle(b *testing.B) {
	srv, client := benchGateway(b)
	send := func(path string, body any, want int) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", srv.URL+"/scim/v2"+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			b.Fatalf("POST %s: %d %s", path, res.StatusCode, raw)
		}
		if path == "/Bulk" && bytes.Count(raw, []byte(`"status":"201"`)) != 1000 {
			b.Fatalf("POST /Bulk: not 1,000 creates: %.500s", raw)
		}
	}
	run := 0
	b.Run("bulk", func(b *testing.B) {
		for range b.N {
			run++
			var ops []any
			for i := range 1000 {
				ops = append(ops, map[string]any{"method": "POST", "path": "/Users", "bulkId": fmt.Sprint(i),
					"data": newUser(fmt.Sprintf("bench-bulk-%d-%04d", run, i))})
			}
			send("/Bulk", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": ops}, 200)
		}
	})
	b.Run("one-by-one", func(b *testing.B) {
		for range b.N {
			run++
			for i := range 1000 {
				send("/Users", newUser(fmt.Sprintf("bench-single-%d-%04d", run, i)), 201)
			}
		}
	})
}
