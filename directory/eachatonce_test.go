package directory

import (
	"errors"
	"sync/atomic"
	"testing"
)

// eachAtOnce runs every call, returns a failing call's error without
// cancelling the others, and raises a call's panic on the caller's goroutine
// (where the request's recovery catches it) after every call has returned.
func TestEachAtOnce(t *testing.T) {
	var ran atomic.Int32
	boom := errors.New("boom")
	err := eachAtOnce(4, func(i int) error {
		ran.Add(1)
		if i == 1 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() != 4 {
		t.Fatalf("err %v after %d calls, want boom after 4", err, ran.Load())
	}
	ran.Store(0)
	got := func() (v any) {
		defer func() { v = recover() }()
		_ = eachAtOnce(3, func(i int) error {
			ran.Add(1)
			if i == 2 {
				panic("batch 2")
			}
			return nil
		})
		return nil
	}()
	if got != "batch 2" || ran.Load() != 3 {
		t.Fatalf("recovered %v after %d calls, want the panic \"batch 2\" after 3", got, ran.Load())
	}
}
