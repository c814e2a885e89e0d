package directory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// entryOf is an entry of about n bytes as read (DN, one attribute).
func entryOf(n int) *ldap.Entry {
	return ldap.NewEntry("uid=x", map[string][]string{"cn": {strings.Repeat("v", n-len("uid=x")-len("cn"))}})
}

// The list budget: a page reserves its estimate before the read, settles to
// what it read, and the next page of its kind reserves what this one cost; a
// page larger than the budget runs alone; a page that cannot have its share in
// time is ErrUnavailable (503), and a cancelled request is just cancelled.
func TestListBudget(t *testing.T) {
	ctx := context.Background()
	b := newListBudget(1 << 20)
	b.wait = 50 * time.Millisecond
	attrs := []string{"uid", "memberOf"}

	l, err := b.reserve(ctx, attrs, 10)
	if err != nil || l.n != 10*firstEntryGuess {
		t.Fatalf("first page of a kind: reserved %d, %v; want %d", l.n, err, 10*firstEntryGuess)
	}
	page := []*ldap.Entry{entryOf(1000), entryOf(1000)}
	if err := l.settle(ctx, page); err != nil || l.n != 2*1000*bytesHeldPerRead {
		t.Fatalf("settled to %d, %v; want %d", l.n, err, 2*1000*bytesHeldPerRead)
	}
	l.Release()
	l.Release() // twice: nothing more
	l2, err := b.reserve(ctx, attrs, 10)
	if err != nil || l2.n != 10*1000*bytesHeldPerRead {
		t.Fatalf("next page of the kind reserved %d, %v; want the measured %d", l2.n, err, 10*1000*bytesHeldPerRead)
	}
	l2.Release()

	// A page that read more than its reservation: it settles up to the
	// whole budget, then a second page waits and is refused.
	big, _ := b.reserve(ctx, []string{"member"}, 1)
	if err := big.settle(ctx, []*ldap.Entry{entryOf(1 << 20)}); err != nil || big.n != 1<<20 {
		t.Fatalf("a page larger than the budget holds %d, %v; want all of it", big.n, err)
	}
	_, err = b.reserve(ctx, attrs, 1)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("with the budget taken: %v; want ErrUnavailable", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.reserve(cctx, attrs, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled request waiting: %v; want context.Canceled", err)
	}
	big.Release()
	if l, err := b.reserve(ctx, attrs, 1); err != nil {
		t.Fatalf("after the release: %v", err)
	} else {
		l.Release()
	}

	var none *listBudget // ListMemory(0): unbounded
	if l, err := none.reserve(ctx, attrs, 1000); l != nil || err != nil || l.settle(ctx, page) != nil {
		t.Fatalf("no budget: %v, %v", l, err)
	}
}
