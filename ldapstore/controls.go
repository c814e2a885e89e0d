package ldapstore

import (
	"context"
	"strings"
	"sync/atomic"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// OIDAssertion is the LDAP assertion control (RFC 4528). go-ldap has no type for it.
const OIDAssertion = "1.3.6.1.1.12"

// AssertionControl makes an update apply only if the entry matches Filter (an
// RFC 4515 string); otherwise the server answers 122 assertionFailed and changes
// nothing. The gateway uses (entryCSN=<version read>) for optimistic concurrency
// and If-Match (RFC 4528; RFC 7644 §3.14).
type AssertionControl struct {
	Filter string
}

// GetControlType implements ldap.Control.
func (c *AssertionControl) GetControlType() string { return OIDAssertion }

// Encode implements ldap.Control: controlValue is the BER-encoded Filter (RFC 4528 §3).
func (c *AssertionControl) Encode() *ber.Packet {
	f, err := ldap.CompileFilter(c.Filter)
	if err != nil {
		f = nil // an empty value: the directory refuses the control, and the write with it
	}
	return criticalControl(OIDAssertion, f)
}

// criticalControl encodes a control marked critical (RFC 4511 §4.1.11):
// controlType oid, criticality TRUE, and value's encoding as the controlValue
// (none when value is nil).
func criticalControl(oid string, value *ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, oid, "Control Type"))
	p.AppendChild(berTrue(ber.ClassUniversal, ber.TagBoolean, "Criticality"))
	v := ""
	if value != nil {
		v = string(value.Bytes())
	}
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "Control Value"))
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

func countOp(ctx context.Context) { CountOps(ctx, 1) }

// CountOps adds n operations done on ctx's behalf with another context (a
// search shared by several requests counts in each) to ctx's count.
func CountOps(ctx context.Context, n int64) {
	if c, ok := ctx.Value(opCounterKey{}).(*atomic.Int64); ok {
		c.Add(n)
	}
}

// OIDPermissiveModify is Microsoft's permissive modify control
// (1.2.840.113556.1.4.1413): adding a value that exists is not an error. slapd 2.5
// honours it for adds (not advertised in its root DSE) but still answers 16
// noSuchAttribute for deleting an absent value (measured on Debian's slapd 2.5).
const OIDPermissiveModify = "1.2.840.113556.1.4.1413"

// PermissiveModify returns the permissive modify control, non-critical so a
// server without it still applies the modify (then duplicate adds fail with 20).
func PermissiveModify() ldap.Control { return ldap.NewControlString(OIDPermissiveModify, false, "") }

// OIDMatchedValues is the matched values control (RFC 3876).
const OIDMatchedValues = "1.2.826.0.1.3344810.2.3"

// MatchedValuesControl asks the server to return only the attribute values that
// match one of Items (simple RFC 4515 items such as "(member=)" or "(cn=*)").
// slapd drops every attribute no item names, so name each one wanted, with a
// presence item for all of its values. The gateway uses it to learn whether a
// group holds its placeholder member without reading the member list.
type MatchedValuesControl struct {
	Items []string
}

// GetControlType implements ldap.Control.
func (c *MatchedValuesControl) GetControlType() string { return OIDMatchedValues }

// Encode implements ldap.Control: ValuesReturnFilter ::= SEQUENCE OF SimpleFilterItem,
// whose items are encoded as the corresponding Filter choices (RFC 3876 §2).
func (c *MatchedValuesControl) Encode() *ber.Packet {
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "ValuesReturnFilter")
	for _, item := range c.Items {
		if f, err := ldap.CompileFilter(item); err == nil {
			seq.AppendChild(f)
		}
	}
	return criticalControl(OIDMatchedValues, seq)
}

// String implements ldap.Control.
func (c *MatchedValuesControl) String() string { return "MatchedValues " + strings.Join(c.Items, "") }
