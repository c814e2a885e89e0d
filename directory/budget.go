package directory

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/sync/semaphore"
)

// listBudget bounds the memory that the list pages being served hold at once.
// A page's cost is its entries' bytes as read from the directory (DN, names and
// values) times bytesHeldPerRead: the decoded entry holds each value twice (as
// string and as bytes) and its SCIM form adds as much again until the response
// is written. A page reserves its estimated cost before its search and settles to
// the real cost before it renders; one that cannot have its share within
// budgetWait is refused with ErrUnavailable (503 with Retry-After), rather than
// letting concurrency multiply pages past what the process may use. A page
// larger than the whole budget is served alone.
type listBudget struct {
	sem  *semaphore.Weighted
	size int64
	wait time.Duration // budgetWait
	// perEntry is the cost of an entry of recent pages, per set of attributes
	// read (a user page with groups costs ~100× one without): the estimate the
	// next page reserves.
	perEntry sync.Map // string (attributes) → *atomic.Int64
}

// bytesHeldPerRead is a page's memory per byte read from the directory,
// measured on pages of users in 300 groups (docs/performance.md).
const bytesHeldPerRead = 4

// firstEntryGuess is the estimate of an entry before any page of its kind was
// read: generous (a user in a few hundred groups), so that a burst of the first
// pages of a kind cannot all read at once before one of them has measured it.
const firstEntryGuess = 64 << 10

// budgetWait is how long a page waits for its share before it is refused
// (sooner when the request's deadline comes first).
const budgetWait = 20 * time.Second

// Lease is a page's share of the list budget; Release returns it once the page
// is written (Release on a nil Lease does nothing).
type Lease struct {
	b   *listBudget
	n   int64
	key string
}

func newListBudget(size int64) *listBudget {
	if size <= 0 {
		return nil
	}
	return &listBudget{sem: semaphore.NewWeighted(size), size: size, wait: budgetWait}
}

// reserve takes the estimated cost of count entries read with attrs.
func (b *listBudget) reserve(ctx context.Context, attrs []string, count int) (*Lease, error) {
	if b == nil {
		return nil, nil
	}
	key := strings.Join(attrs, ",")
	est := int64(firstEntryGuess)
	if v, ok := b.perEntry.Load(key); ok {
		est = v.(*atomic.Int64).Load()
	}
	l := &Lease{b: b, key: key}
	return l, l.take(ctx, est*int64(max(count, 0)))
}

// settle changes the lease to the real cost of entries (read for it) and
// remembers the cost per entry for the next pages. Waiting for more, it holds
// nothing, so that pages which read more than they reserved never wait on each
// other's reservations.
func (l *Lease) settle(ctx context.Context, entries []*ldap.Entry) error {
	if l == nil {
		return nil
	}
	cost := int64(0)
	for _, e := range entries {
		cost += entryBytes(e)
	}
	cost *= bytesHeldPerRead
	if len(entries) > 0 {
		v, _ := l.b.perEntry.LoadOrStore(l.key, new(atomic.Int64))
		v.(*atomic.Int64).Store(cost / int64(len(entries)))
	}
	cost = min(cost, l.b.size)
	if cost <= l.n {
		l.b.sem.Release(l.n - cost)
		l.n = cost
		return nil
	}
	l.Release()
	return l.take(ctx, cost)
}

// take acquires n bytes (the whole budget when n is larger) within budgetWait.
func (l *Lease) take(ctx context.Context, n int64) error {
	n = min(n, l.b.size)
	wctx, cancel := context.WithTimeout(ctx, l.b.wait)
	defer cancel()
	if err := l.b.sem.Acquire(wctx, n); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Kind: Unavailable, Err: errors.New("list memory budget exhausted"),
			Detail: "the gateway is serving as many large list pages as its memory allows (SCIM2LDAP_LIST_MEMORY_BYTES); retry later, or ask for a smaller count or fewer attributes"}
	}
	l.n = n
	return nil
}

// Release returns the lease's share.
func (l *Lease) Release() {
	if l != nil && l.n > 0 {
		l.b.sem.Release(l.n)
		l.n = 0
	}
}

// entryBytes is the size of an entry as read: DN, attribute names and values.
func entryBytes(e *ldap.Entry) int64 {
	n := len(e.DN)
	for _, a := range e.Attributes {
		n += len(a.Name)
		for _, v := range a.ByteValues {
			n += len(v)
		}
	}
	return int64(n)
}
