package ldapstore

import (
	"context"
	"sync/atomic"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// OIDAssertion is the LDAP assertion control (RFC 4528). go-ldap has no type for it.
const OIDAssertion = "1.3.6.1.1.12"

// AssertionControl makes an update apply only if the entry matches Filter (an
// RFC 4515 string); otherwise the server answers 122 assertionFailed and changes
// nothing. The gateway uses (entryCSN=<version read>) for optimistic concurrency
// and If-Match (DESIGN.md §2).
type AssertionControl struct {
	Filter string
}

// GetControlType implements ldap.Control.
func (c *AssertionControl) GetControlType() string { return OIDAssertion }

// Encode implements ldap.Control: controlValue is the BER-encoded Filter (RFC 4528 §3).
func (c *AssertionControl) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, OIDAssertion, "Control Type"))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	val := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	if f, err := ldap.CompileFilter(c.Filter); err == nil {
		val.AppendChild(f)
	}
	p.AppendChild(val)
	return p
}

// String implements ldap.Control.
func (c *AssertionControl) String() string { return "Assertion " + c.Filter }

type opCounterKey struct{}

// WithOpCounter returns a context that counts the LDAP operations done with it
// (each search page counts once); read the count with OpCount. The gateway logs it.
func WithOpCounter(ctx context.Context) context.Context {
	return context.WithValue(ctx, opCounterKey{}, new(atomic.Int64))
}

// OpCount returns the number of LDAP operations done with ctx so far.
func OpCount(ctx context.Context) int64 {
	if n, ok := ctx.Value(opCounterKey{}).(*atomic.Int64); ok {
		return n.Load()
	}
	return 0
}

func countOp(ctx context.Context) {
	if n, ok := ctx.Value(opCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}
