package ldapstore

import (
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// OIDServerSideSort is the server-side sort request control (RFC 2891 §1.1);
// a directory that offers it lists it in its root DSE's supportedControl.
const OIDServerSideSort = "1.2.840.113556.1.4.473"

// SortKey is one key of a server-side sort (RFC 2891 §1.1): the LDAP attribute,
// the ordering matching rule (OpenLDAP refuses attributes whose schema has no
// ORDERING rule unless the key names one, e.g. caseIgnoreOrderingMatch), and
// whether the order is reversed.
type SortKey struct {
	Attr         string
	OrderingRule string // empty: the attribute's own ORDERING rule
	Reverse      bool
}

// String renders the key as ldapsearch's -E sss= does: [-]attr[:rule].
func (k SortKey) String() string {
	s := k.Attr
	if k.OrderingRule != "" {
		s += ":" + k.OrderingRule
	}
	if k.Reverse {
		s = "-" + s
	}
	return s
}

// SortControl is the server-side sort request control (RFC 2891), always sent
// critical: the gateway would rather fail than return an unsorted page as if it
// were sorted.
//
// It exists because go-ldap's ControlServerSideSorting encodes BOOLEAN TRUE as
// 0x01, which Samba/AD's decoder reads as FALSE (its reverse order is silently
// ignored). BER (X.690 §8.2.2) allows any non-zero octet, DER requires 0xFF;
// this control writes 0xFF for reverseOrder and criticality, which slapd and
// Samba 4.17 both accept.
type SortControl struct {
	Keys []SortKey
}

// NewSortControl returns a sort control for keys, most significant first.
func NewSortControl(keys ...SortKey) *SortControl { return &SortControl{Keys: keys} }

// GetControlType implements ldap.Control.
func (c *SortControl) GetControlType() string { return OIDServerSideSort }

// Encode implements ldap.Control:
//
//	SortKeyList ::= SEQUENCE OF SEQUENCE {
//	    attributeType   AttributeDescription,
//	    orderingRule    [0] MatchingRuleId OPTIONAL,
//	    reverseOrder    [1] BOOLEAN DEFAULT FALSE }
func (c *SortControl) Encode() *ber.Packet {
	keys := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "SortKeyList")
	for _, k := range c.Keys {
		seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "SortKey")
		seq.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, k.Attr, "attributeType"))
		if k.OrderingRule != "" {
			seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, k.OrderingRule, "orderingRule"))
		}
		if k.Reverse { // DEFAULT FALSE: omitted when false (X.690 §11.5)
			seq.AppendChild(berTrue(ber.ClassContext, 1, "reverseOrder"))
		}
		keys.AppendChild(seq)
	}
	return criticalControl(OIDServerSideSort, keys)
}

// berTrue is a BOOLEAN TRUE encoded as 0xFF (DER), not go-asn1-ber's 0x01.
func berTrue(class ber.Class, tag ber.Tag, desc string) *ber.Packet {
	b := ber.Encode(class, ber.TypePrimitive, tag, nil, desc)
	b.Value = true
	b.Data.Write([]byte{0xff})
	return b
}

// String implements ldap.Control.
func (c *SortControl) String() string {
	keys := make([]string, len(c.Keys))
	for i, k := range c.Keys {
		keys[i] = k.String()
	}
	return "ServerSideSort " + strings.Join(keys, " ")
}

// sortFailure turns a sortResult response control (RFC 2891 §1.2) that reports a
// failure into an error; nil when absent (Samba sends none) or successful.
func sortFailure(controls []ldap.Control) error {
	res, ok := ldap.FindControl(controls, ldap.ControlTypeServerSideSortingResult).(*ldap.ControlServerSideSortingResult)
	if !ok || res.Result == ldap.ControlServerSideSortingCodeSuccess {
		return nil
	}
	return &ldap.Error{ResultCode: uint16(res.Result), Err: fmt.Errorf("server-side sort failed: sortResult %d %s", res.Result, ldap.LDAPResultCodeMap[uint16(res.Result)])}
}
