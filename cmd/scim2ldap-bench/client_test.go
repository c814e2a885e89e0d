package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Connections the server closed while idle (its IdleTimeout) are replaced: the
// harness pauses between phases (loading 100,000 users) longer than the
// gateway's 120 s idle timeout.
func TestLeanClientSurvivesIdleTimeout(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(append([]byte(r.Method+" "), b...))
	}))
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()
	lc := newLeanClient(strings.TrimPrefix(srv.URL, "http://"), 8, 5*time.Second)
	round := func() {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, method := range []string{"GET", "POST"} {
					req, _ := http.NewRequest(method, srv.URL+"/x", bytes.NewReader([]byte("body")))
					if method == "GET" {
						req, _ = http.NewRequest(method, srv.URL+"/x", nil)
					}
					res, err := lc.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					got, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if want := map[string]string{"GET": "GET ", "POST": "POST body"}[method]; string(got) != want {
						t.Errorf("%s: %q", method, got)
					}
				}
			}()
		}
		wg.Wait()
	}
	round()
	time.Sleep(200 * time.Millisecond) // every idle connection is closed by now
	round()
}
