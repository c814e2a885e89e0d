package ldapstore

import (
	"context"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// Encrypted reports whether every connection of the store is encrypted, to
// every server of its list: ldaps:// URLs or StartTLS. Active Directory accepts
// password writes (unicodePwd) only on such connections (MS-ADTS
// §3.1.1.3.1.5.1), and the gateway never sends a password otherwise.
func (s *Store) Encrypted() bool {
	if s.cfg.StartTLS {
		return true
	}
	for _, srv := range s.servers {
		if u, err := url.Parse(srv.url); err != nil || u.Scheme != "ldaps" {
			return false
		}
	}
	return true
}

// UnicodePwd encodes a password as AD's unicodePwd value: the password in double
// quotes, UTF-16LE (MS-ADTS §3.1.1.3.1.5.1 "unicodePwd").
func UnicodePwd(password string) string {
	u := utf16.Encode([]rune(`"` + password + `"`))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return string(b)
}

// SetUnicodePwd sets an AD user's password with an administrative reset: one
// modify replacing unicodePwd (MS-ADTS §3.1.1.3.1.5.1), plus pwdLastSet when
// pwdLastSet is "0" (change at next logon) or "-1" (now). The caller checks
// Encrypted first; AD refuses the write on a plain connection. Errors are the
// directory's (19 constraintViolation "0000052D" for a password the domain's
// policy refuses); neither the error nor anything logged carries the password.
func (s *Store) SetUnicodePwd(ctx context.Context, dn, password, pwdLastSet string) error {
	mod := ldap.NewModifyRequest(dn, nil)
	value := UnicodePwd(password)
	if PlanOf(ctx) != nil {
		value = PasswordMarker // a plan never holds the password, even encoded
	}
	mod.Replace("unicodePwd", []string{value})
	if pwdLastSet != "" {
		mod.Replace("pwdLastSet", []string{pwdLastSet})
	}
	return s.Modify(ctx, mod)
}

// CompleteRanges reads the rest of every attribute that came back as one range
// of its values (range retrieval, MS-ADTS §3.1.1.3.1.3.3): "member;range=0-1499"
// is followed by base searches for "member;range=1500-*" until the server
// answers a range ending in "*". Afterwards each such attribute carries all of
// its values under its plain name ("member"). AD answers ranges of at most
// MaxValRange (1500) values even when a client asks for all of them; Samba does
// so only when asked for a range. Entries without ranged attributes cost nothing.
func (s *Store) CompleteRanges(ctx context.Context, entries []*ldap.Entry) error {
	for _, e := range entries {
		for _, a := range e.Attributes {
			base, _, hi, ok := parseRange(a.Name)
			if !ok {
				continue
			}
			a.Name = base
			for hi >= 0 {
				next := base + ";range=" + strconv.Itoa(hi+1) + "-*"
				res, err := s.Search(ctx, ldap.NewSearchRequest(e.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
					"(objectClass=*)", []string{next}, nil))
				if err != nil {
					return err
				}
				hi = -1
				if len(res.Entries) == 0 {
					break
				}
				for _, b := range res.Entries[0].Attributes {
					if n, _, h, ok := parseRange(b.Name); ok && strings.EqualFold(n, base) {
						a.Values = append(a.Values, b.Values...)
						a.ByteValues = append(a.ByteValues, b.ByteValues...)
						hi = h
					}
				}
			}
		}
	}
	return nil
}

// HasRanges reports whether e holds an attribute that came back as one range
// of its values ("member;range=0-1499"), which CompleteRanges completes.
func HasRanges(e *ldap.Entry) bool {
	for _, a := range e.Attributes {
		if rangeOption(a.Name) >= 0 {
			return true
		}
	}
	return false
}

// parseRange splits "member;range=0-1499" into member, 0 and 1499; hi is -1 for
// "*" (the last range). ok is false for a description without a range option.
func parseRange(desc string) (base string, lo, hi int, ok bool) {
	i := rangeOption(desc)
	if i < 0 {
		return "", 0, 0, false
	}
	base = desc[:i]
	spec := desc[i+len(";range="):]
	if j := strings.IndexByte(spec, ';'); j >= 0 { // other options after the range
		base += spec[j:]
		spec = spec[:j]
	}
	l, h, found := strings.Cut(spec, "-")
	lo, err := strconv.Atoi(l)
	if !found || err != nil {
		return "", 0, 0, false
	}
	if h == "*" {
		return base, lo, -1, true
	}
	hi, err = strconv.Atoi(h)
	if err != nil || hi < lo {
		return "", 0, 0, false
	}
	return base, lo, hi, true
}

// rangeOption returns the index in desc of its ";range=" option, in any case,
// or -1 (no ';', i.e. no options: every attribute outside AD, at once). desc is
// searched as it is, not lower-cased: it is the name as the server sent it,
// and lower-casing can lengthen a string (invalid UTF-8 becomes U+FFFD) and
// so move the option.
func rangeOption(desc string) int {
	const opt = ";range="
	for i := 0; ; i++ {
		j := strings.IndexByte(desc[i:], ';')
		if j < 0 {
			return -1
		}
		i += j
		if strings.EqualFold(desc[i:min(i+len(opt), len(desc))], opt) {
			return i
		}
	}
}
