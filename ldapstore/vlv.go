package ldapstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// OIDVLVRequest and OIDVLVResponse are the virtual list view controls
// (draft-ietf-ldapext-ldapv3-vlv-09 §6). A directory that offers VLV lists the
// request control in its root DSE; VLV needs the server-side sort control (RFC
// 2891) on the same search.
const (
	OIDVLVRequest  = "2.16.840.1.113730.3.4.9"
	OIDVLVResponse = "2.16.840.1.113730.3.4.10"
)

// VLVControl is a virtual list view request (draft-ietf-ldapext-ldapv3-vlv-09 §6.1):
// the window is Before entries before the target, the target, and After entries
// after it. The target is either the entry at Offset (1-based; ContentCount 0
// means "Offset is exact", as slapd and the draft §5 read it), or, when Value is
// not nil, the first entry whose first sort key is greater than or equal to
// *Value (by the sort key's ordering rule). go-ldap has no type for it.
type VLVControl struct {
	Before, After int
	Offset        int     // byOffset target, ≥ 1 (used when Value is nil)
	ContentCount  int     // the client's estimate of the list's size; 0: none
	Value         *string // greaterThanOrEqual target, e.g. an entryUUID
}

// GetControlType implements ldap.Control.
func (c *VLVControl) GetControlType() string { return OIDVLVRequest }

// Encode implements ldap.Control:
//
//	VirtualListViewRequest ::= SEQUENCE {
//	    beforeCount INTEGER, afterCount INTEGER,
//	    target CHOICE {
//	        byOffset [0] SEQUENCE { offset INTEGER, contentCount INTEGER },
//	        greaterThanOrEqual [1] AssertionValue },
//	    contextID OCTET STRING OPTIONAL }
//
// contextID is never sent: each request is a fresh list (see SearchVLV).
func (c *VLVControl) Encode() *ber.Packet {
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "VirtualListViewRequest")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(c.Before), "beforeCount"))
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(c.After), "afterCount"))
	if c.Value != nil {
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, *c.Value, "greaterThanOrEqual"))
	} else {
		off := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "byOffset")
		off.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(max(c.Offset, 1)), "offset"))
		off.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(c.ContentCount), "contentCount"))
		seq.AppendChild(off)
	}
	return criticalControl(OIDVLVRequest, seq)
}

// String implements ldap.Control.
func (c *VLVControl) String() string {
	if c.Value != nil {
		return fmt.Sprintf("VLV before=%d after=%d value>=%q", c.Before, c.After, *c.Value)
	}
	return fmt.Sprintf("VLV before=%d after=%d offset=%d/%d", c.Before, c.After, c.Offset, c.ContentCount)
}

// VLVResult is a VLV window and where it lies: Target is the target entry's
// 1-based position in the sorted list (ContentCount+1 when a value target is
// past the end), ContentCount the number of entries the search matches (SCIM
// totalResults). Entries are the window, in sort order.
type VLVResult struct {
	Entries      []*ldap.Entry
	Target       int
	ContentCount int
}

// ErrVLVRange is returned (wrapped in an *ldap.Error with code 76) when a byOffset
// target lies beyond the end of the list. The VLVResult then holds the list's
// size when the directory sent its VLV response control with the error (slapd
// does); a ContentCount of 0 may also mean it did not: ask again with Offset 1.
var ErrVLVRange = errors.New("VLV offset beyond the end of the list")

// vlvResponse decodes a VirtualListViewResponse (draft §6.2):
// SEQUENCE { targetPosition INTEGER, contentCount INTEGER, virtualListViewResult ENUMERATED, contextID OCTET STRING OPTIONAL }.
func vlvResponse(controls []ldap.Control) (target, count, code int, ok bool) {
	cs, isStr := ldap.FindControl(controls, OIDVLVResponse).(*ldap.ControlString)
	if !isStr {
		return 0, 0, 0, false
	}
	p, err := ber.DecodePacketErr([]byte(cs.ControlValue))
	if err != nil || len(p.Children) < 3 {
		return 0, 0, 0, false
	}
	num := func(c *ber.Packet) (int, bool) {
		v, err := ber.ParseInt64(c.Data.Bytes())
		return int(v), err == nil
	}
	var ok1, ok2, ok3 bool
	target, ok1 = num(p.Children[0])
	count, ok2 = num(p.Children[1])
	code, ok3 = num(p.Children[2])
	return target, count, code, ok1 && ok2 && ok3
}

// SearchVLV runs req with the sort control and vlv, and returns the window with
// its position and the list's size, in one round trip whatever the offset.
//
// It runs on a connection of its own, dialled and bound for this search and
// closed after it: slapd's sssvlv overlay keeps every VLV list (for later
// windows of the same context) until its connection closes, and counts it
// against olcSssVlvMax (all sorted searches) and olcSssVlvMaxPerConn, so a
// shared connection would run out of sort slots. At most Config.VLVConns such
// searches run at once; the others wait (bounded by ctx). Counted as two
// operations (bind and search). Errors: *ldap.Error as from Search; 76 (VLV
// error, e.g. ErrVLVRange) and 51 busy (no free sort slot) are the server's.
//
// The connection is not go-ldap's: its responses are read by this package's
// own decoder (wire.go), which makes an entry's values substrings of one copy
// of its message instead of building a packet tree per message: a page of
// users who are each in hundreds of groups costs a few allocations per entry
// instead of several per value.
func (s *Store) SearchVLV(ctx context.Context, req *ldap.SearchRequest, sort *SortControl, vlv *VLVControl) (*VLVResult, error) {
	return s.SearchVLVEach(ctx, req, sort, vlv, nil)
}

// SearchVLVEach is SearchVLV that also calls each with every entry as it
// arrives, before the next is read: the caller may start on the window's
// first entries while the directory still sends the rest. each runs on the
// goroutine that reads the response, which may outlive the call when ctx ends
// first (the search is then abandoned); it must not block.
func (s *Store) SearchVLVEach(ctx context.Context, req *ldap.SearchRequest, sort *SortControl, vlv *VLVControl, each func(*ldap.Entry)) (*VLVResult, error) {
	select {
	case s.vlvSlots <- struct{}{}:
		defer func() { <-s.vlvSlots }()
	case <-ctx.Done():
		return nil, &UnavailableError{Err: fmt.Errorf("waiting for a VLV connection: %w", ctx.Err())}
	}
	start := time.Now()
	countOp(ctx)
	c, err := s.dialWire(ctx, s.cur())
	s.observe("connect", err, time.Since(start))
	if err != nil {
		return nil, &UnavailableError{Err: err}
	}
	defer c.close()
	r := *req
	r.Controls = append(append([]ldap.Control(nil), req.Controls...), sort, vlv)
	var res *ldap.SearchResult
	got := make(chan *ldap.SearchResult, 1) // empty when run abandoned the search at ctx's end
	countOp(ctx)
	err = s.run(ctx, "search", nil, func(*ldap.Conn) error { // the search runs on c, not on a go-ldap connection
		res, err := c.search(&r, s.cfg.Timeout, each) // ctx's end, when sooner, is run's to report
		got <- res
		return err
	})
	select {
	case res = <-got:
	default:
	}
	out := &VLVResult{}
	if res != nil {
		out.Entries = res.Entries
		if err == nil {
			err = sortFailure(res.Controls)
		}
		if t, n, code, ok := vlvResponse(res.Controls); ok {
			out.Target, out.ContentCount = t, n
			if err == nil && code != 0 {
				err = &ldap.Error{ResultCode: uint16(code), Err: fmt.Errorf("VLV failed: virtualListViewResult %d", code)}
			}
		} else if err == nil {
			err = &ldap.Error{ResultCode: ldap.LDAPResultProtocolError, Err: errors.New("VLV search answered without a VLV response control")}
		}
	}
	if err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultVirtualListViewErrorOrControlError) && vlv.Value == nil && vlv.Offset > 1 {
		return out, &ldap.Error{ResultCode: ldap.LDAPResultVirtualListViewErrorOrControlError, Err: ErrVLVRange}
	}
	return out, err
}
