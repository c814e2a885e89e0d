package ldapstore

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// wireConn is a connection of one request at a time that reads its responses
// with decodeMessage (wire.go) instead of go-ldap's packet trees. SearchVLV
// uses it: its connection serves one bind and one search. Errors are those
// go-ldap gives in the same situations, so callers classify them alike: a
// failed dial, TLS handshake, write or read is an *ldap.Error with code
// ldap.ErrorNetwork (IsUnavailable), an answer's result code an *ldap.Error
// with that code.
type wireConn struct {
	conn  net.Conn
	r     *bufio.Reader
	msgID int64
	// broken is set while a search's answer is not read to its end (a
	// failure, or an early stop at the size limit): the connection may hold
	// the rest of it and must not serve another search.
	broken bool
}

// StartTLS extended operation (RFC 4511 §4.14.1).
const oidStartTLS = "1.3.6.1.4.1.1466.20037"

// dialWire dials srv, upgrades the connection with StartTLS
// (Config.StartTLS) and binds (Config.BindDN), all within the configured
// timeout or less when ctx's deadline comes sooner, as dialServer does for
// go-ldap's connections (and with its error messages; the password is never
// in one). A failure that ctx's end caused wraps ctx.Err() too, so metrics
// count it as "deadline" (ResultLabel), not as the directory's fault.
func (s *Store) dialWire(ctx context.Context, srv *server) (*wireConn, error) {
	c, err := s.dialWireTimed(ctx, srv)
	if err == nil {
		return c, nil
	}
	cause := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cause == nil && !time.Now().Before(dl) {
		cause = context.DeadlineExceeded // the connection's deadline, which is ctx's, fired before ctx's timer
	}
	if cause != nil {
		return nil, fmt.Errorf("%w (%w)", err, cause) // the request's deadline or cancellation cut it short
	}
	return nil, err
}

func (s *Store) dialWireTimed(parent context.Context, srv *server) (*wireConn, error) {
	ctx, cancel := context.WithTimeout(parent, opTimeout(parent, s.cfg.Timeout))
	defer cancel()
	u, err := url.Parse(srv.url) // SplitURLs checked it
	if err != nil {
		return nil, fmt.Errorf("LDAP connect to %s: %w", srv.url, ldap.NewError(ldap.ErrorNetwork, err))
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = ldap.DefaultLdapPort
		if u.Scheme == "ldaps" {
			port = ldap.DefaultLdapsPort
		}
	}
	var nc net.Conn
	if u.Scheme == "ldaps" {
		nc, err = (&tls.Dialer{Config: srv.tlsCfg}).DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	} else {
		nc, err = (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	}
	if err != nil {
		return nil, fmt.Errorf("LDAP connect to %s: %w", srv.url, ldap.NewError(ldap.ErrorNetwork, err))
	}
	dl, _ := ctx.Deadline()
	_ = nc.SetDeadline(dl)
	defer context.AfterFunc(parent, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })() // a cancelled request ends the wait at once
	c := &wireConn{conn: nc, r: bufio.NewReaderSize(nc, 32<<10)}
	if s.cfg.StartTLS {
		if err := c.startTLS(ctx, srv.tlsCfg); err != nil {
			nc.Close()
			return nil, fmt.Errorf("LDAP StartTLS with %s: %w", srv.url, err)
		}
	}
	if s.cfg.BindDN != "" {
		if err := c.bind(s.cfg.BindDN, s.cfg.BindPassword); err != nil {
			c.conn.Close()
			// The DN is configuration, not a secret; the password never appears.
			return nil, fmt.Errorf("LDAP bind as %q: %w", s.cfg.BindDN, err)
		}
	}
	return c, nil
}

// startTLS asks for TLS (RFC 4511 §4.14) and, once the server agrees, runs the
// TLS handshake on the connection.
func (c *wireConn) startTLS(ctx context.Context, cfg *tls.Config) error {
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidStartTLS, "TLS Extended Command"))
	m, err := c.roundTrip(req, nil, opExtendedResponse)
	if err != nil {
		return err
	}
	if err := m.result.err(); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		return ldap.NewError(ldap.ErrorNetwork, errors.New("data after the StartTLS response, before the TLS handshake"))
	}
	tc := tls.Client(c.conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("TLS handshake failed (%v)", err))
	}
	c.conn, c.r = tc, bufio.NewReaderSize(tc, 32<<10)
	return nil
}

// bind is a simple bind (RFC 4511 §4.2). An empty password is refused before
// anything is sent, as go-ldap's Bind does (it would be an unauthenticated
// bind, RFC 4513 §5.1.2).
func (c *wireConn) bind(dn, password string) error {
	if password == "" {
		return ldap.NewError(ldap.ErrorEmptyPassword, errors.New("ldap: empty password not allowed by the client"))
	}
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "Bind Request")
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "User Name"))
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, "Password"))
	m, err := c.roundTrip(req, nil, opBindResponse)
	if err != nil {
		return err
	}
	return m.result.err()
}

// search runs req (RFC 4511 §4.5) within timeout and returns what go-ldap's
// Conn.Search returns: the entries, the first URI of each reference, and the
// SearchResultDone's result code, diagnostic message and controls; error nil
// for success, else an *ldap.Error of the result code. Unlike go-ldap, the
// controls are returned with a failure too. req.EnforceSizeLimit is honoured
// as go-ldap does (ldap.ErrSizeLimitExceeded). each, when not nil, is called
// with every entry as it arrives, before the next is read.
func (c *wireConn) search(req *ldap.SearchRequest, timeout time.Duration, each func(*ldap.Entry)) (*ldap.SearchResult, error) {
	if err := c.conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, ldap.NewError(ldap.ErrorNetwork, err)
	}
	id := nextMessageID(c.msgID)
	msg, err := encodeSearchMessage(id, req)
	if err != nil {
		return nil, err
	}
	c.msgID = id
	c.broken = true
	if err := c.write(msg); err != nil {
		return nil, err
	}
	res := &ldap.SearchResult{Entries: []*ldap.Entry{}, Referrals: []string{}, Controls: []ldap.Control{}}
	for {
		m, err := c.read()
		if err != nil {
			return res, err
		}
		switch m.op {
		case opSearchEntry:
			if req.EnforceSizeLimit && req.SizeLimit > 0 && len(res.Entries) >= req.SizeLimit {
				return res, ldap.ErrSizeLimitExceeded
			}
			res.Entries = append(res.Entries, m.entry)
			if each != nil {
				each(m.entry)
			}
		case opSearchReference:
			res.Referrals = append(res.Referrals, m.ref)
		case opSearchDone:
			c.broken = false
			res.ResultCode, res.DiagnosticMessage = m.result.code, m.result.diagnostic
			if m.controls != nil {
				res.Controls = m.controls
			}
			return res, m.result.err()
		}
		// Anything else (an IntermediateResponse, RFC 4511 §4.13) is skipped, as go-ldap does.
	}
}

// roundTrip sends op and reads its one response, which must be of type want.
func (c *wireConn) roundTrip(op *ber.Packet, controls []ldap.Control, want int) (wireMessage, error) {
	if err := c.send(op, controls); err != nil {
		return wireMessage{}, err
	}
	m, err := c.read()
	if err == nil && m.op != want {
		err = ldap.NewError(ldap.ErrorNetwork, malformed("response of type %d, want %d", m.op, want))
	}
	return m, err
}

// send sends op with the next message ID (nextMessageID: only one request is
// ever outstanding here) and controls (RFC 4511 §4.1.1).
func (c *wireConn) send(op *ber.Packet, controls []ldap.Control) error {
	c.msgID = nextMessageID(c.msgID)
	return c.write(encodeMessage(c.msgID, op, controls))
}

// write sends one encoded request; a failure is an ldap.ErrorNetwork error.
func (c *wireConn) write(msg []byte) error {
	if _, err := c.conn.Write(msg); err != nil {
		return ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("unable to send request: %w", err))
	}
	return nil
}

// encodeMessage encodes an LDAPMessage (RFC 4511 §4.1.1) of op, a packet of
// go-asn1-ber whose tag is below 31 (every LDAP protocolOp's is).
func encodeMessage(id int64, op *ber.Packet, controls []ldap.Control) []byte {
	return frameMessage(id, byte(op.ClassType)|byte(op.TagType)|byte(op.Tag), op.Data.Bytes(), controls)
}

// read reads and decodes the next message, which must answer the last request
// sent. A Notice of Disconnection (RFC 4511 §4.4.1, message ID 0) is the
// server closing the connection: an ldap.ErrorNetwork error with its
// diagnostic message, as is any other failure to read a well-formed answer.
func (c *wireConn) read() (wireMessage, error) {
	b, err := readMessage(c.r)
	if err != nil {
		return wireMessage{}, ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("unable to read LDAP response packet: %w", err))
	}
	m, err := decodeMessage(b)
	switch {
	case err != nil:
		return m, ldap.NewError(ldap.ErrorNetwork, err)
	case m.id == 0 && m.op == opExtendedResponse:
		return m, ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("ldap: connection closed by the server: result code %d %q", m.result.code, m.result.diagnostic))
	case m.id != c.msgID:
		return m, ldap.NewError(ldap.ErrorNetwork, malformed("message ID %d, want %d", m.id, c.msgID))
	}
	return m, nil
}

// close unbinds (RFC 4511 §4.3; best effort, within a second) and closes the
// connection. Safe to call while a read is in progress on another goroutine:
// that read then fails.
func (c *wireConn) close() {
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	unbind := ber.Encode(ber.ClassApplication, ber.TypePrimitive, ldap.ApplicationUnbindRequest, nil, "Unbind Request")
	_, _ = c.conn.Write(encodeMessage(nextMessageID(c.msgID), unbind, nil)) // c.msgID is only read here
	c.conn.Close()
}
