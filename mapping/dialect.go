package mapping

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// Flavor is the kind of directory a mapping names in directory.flavor.
type Flavor string

// The values of Flavor.
const (
	FlavorOpenLDAP        Flavor = "openldap" // the default
	FlavorActiveDirectory Flavor = "activedirectory"
	Flavor389DS           Flavor = "389ds" // 389 Directory Server, Red Hat Directory Server
)

// Dialect is what differs between directory flavors: which operational
// attributes carry SCIM's id and meta, how an id is read from an entry and
// searched for, how an entry is searched for by DN, and how sort keys and
// ordering filters are written.
type Dialect struct {
	Flavor   Flavor // FlavorOpenLDAP, FlavorActiveDirectory or Flavor389DS
	ID       string // immutable entry id: entryUUID (RFC 4530), objectGUID (MS-ADA3 §2.44) or nsUniqueId
	Version  string // changes on every write: entryCSN, uSNChanged (MS-ADA3 §2.351) or entryusn
	Created  string // createTimestamp (RFC 4512 §3.4), or whenCreated (MS-ADA3 §2.356)
	Modified string // modifyTimestamp, or whenChanged (MS-ADA3 §2.355)
	// DNAttr is the attribute whose equality filter finds an entry by its DN:
	// entryDN (RFC 5020) on OpenLDAP, distinguishedName (MS-ADA1 §2.177) on AD,
	// entrydn on 389 DS.
	DNAttr string
	// GUIDID: the id attribute holds the 16 bytes of a GUID (objectGUID), shown in
	// its string form and searched for as escaped bytes (see IDFilter).
	GUIDID bool
	// IDOrdering is the ordering rule of sort keys on the id: the key that
	// breaks ties between equal sort values, and the order of unsorted VLV
	// lists and cursor walks (UUIDOrderingMatch); "" names no rule (the
	// attribute's own ordering).
	IDOrdering string
	// SingleSortKey: the directory sorts on one key only, so no tie-breaker
	// key is added (AD, MS-ADTS §3.1.1.3.4.1.9).
	SingleSortKey bool
	// OrderingRules: sort keys and gt/ge/lt/le filters on strings name an
	// ordering matching rule (OpenLDAP needs them: uid, cn, sn… have no ORDERING
	// rule). AD knows none of those rules and compares strings with >= and <=.
	OrderingRules bool
	// RangeStep > 0 asks for reference attributes (member, memberOf) in ranges of
	// that many values (member;range=0-1499, MS-ADTS §3.1.1.3.1.3.3); the gateway
	// reads the remaining ranges until range=N-*. AD's MaxValRange is 1500.
	RangeStep int
	// MaxRDNBytes > 0 is the longest RDN, in bytes as the gateway writes it
	// ("uid=" + the value escaped per RFC 4514, see ResourceType.DN), that a
	// create or rename may give an entry (checkValues). OpenLDAP's back-mdb
	// keeps each entry's RDN, normalized and as written, in one LMDB data item
	// of at most 511 bytes (MDB_MAXKEYSIZE of liblmdb, which back-mdb's dn2id
	// index is subject to) and refuses a longer one with LDAP 80 (other):
	// slapd 2.5 took "uid=" + 241 ASCII characters (245 bytes) and refused 246
	// bytes, and the same for cn=. 240 leaves a margin for values that
	// normalization lengthens.
	MaxRDNBytes int
}

var openLDAP = Dialect{Flavor: FlavorOpenLDAP, ID: "entryUUID", Version: "entryCSN", Created: "createTimestamp",
	Modified: "modifyTimestamp", DNAttr: "entryDN", IDOrdering: UUIDOrdering, OrderingRules: true, MaxRDNBytes: 240}

var activeDirectory = Dialect{Flavor: FlavorActiveDirectory, ID: "objectGUID", Version: "uSNChanged", Created: "whenCreated",
	Modified: "whenChanged", DNAttr: "distinguishedName", GUIDID: true, RangeStep: 1500, IDOrdering: UUIDOrdering, SingleSortKey: true}

// ds389 is 389 Directory Server (and Red Hat Directory Server, which FreeIPA
// builds on), as its documentation (Red Hat Directory Server 12 Configuration,
// Command, and File Reference) and 389 DS 2.3 itself show:
//   - ID nsUniqueId: every entry has it, assigned by the server, never
//     changed (renames keep it), indexed for equality by default; entryUUID
//     needs the entryUUID plugin, which not every build ships.
//   - Version entryusn: the USN plugin (off by default) gives every write of
//     the entry a new number, like AD's uSNChanged; modifyTimestamp has a
//     resolution of one second, and 389 DS offers neither entryCSN outside
//     replication nor the assertion control (RFC 4528), so writes are guarded
//     by values (Directory.casChange).
//   - DNAttr entrydn (distinguishedNameMatch).
//   - No ordering rule names: 389 DS sorts and answers >= and <= by each
//     attribute's syntax; it refuses a sort key naming UUIDOrderingMatch
//     (protocolError), and 389 DS 2.3.1 fails a VLV search sorted with
//     caseIgnoreOrderingMatch once more than 8 entries match
//     (operationsError), while the same sort by the syntax works.
var ds389 = Dialect{Flavor: Flavor389DS, ID: "nsUniqueId", Version: "entryusn", Created: "createTimestamp",
	Modified: "modifyTimestamp", DNAttr: "entrydn"}

// IsAD reports whether the directory is Active Directory (or Samba AD).
func (d Dialect) IsAD() bool { return d.Flavor == FlavorActiveDirectory }

// EntryID returns the SCIM id of an entry read with the id attribute: the
// entryUUID as stored, or objectGUID in its string form (GUIDString); "" when
// the entry lacks it.
func (d Dialect) EntryID(e *ldap.Entry) string {
	if !d.GUIDID {
		return e.GetEqualFoldAttributeValue(d.ID)
	}
	s, _ := GUIDString(e.GetEqualFoldRawAttributeValue(d.ID))
	return s
}

// IDFilterValue returns the escaped assertion value that finds the entry with
// SCIM id id, e.g. "69b32814-…" (escaped per RFC 4515) for entryUUID, or
// `\47\5f\cc…` (16 escaped bytes) for objectGUID: AD does not accept the
// string form in a filter, Samba does. ok is
// false when id cannot be an id of this directory (not a GUID): nothing matches.
func (d Dialect) IDFilterValue(id string) (value string, ok bool) {
	if !d.GUIDID {
		return ldap.EscapeFilter(id), true
	}
	raw, ok := ParseGUID(id)
	if !ok {
		return "", false
	}
	var b strings.Builder
	for _, c := range raw {
		fmt.Fprintf(&b, `\%02x`, c)
	}
	return b.String(), true
}

// IDFilter returns the equality filter "(entryUUID=…)" or "(objectGUID=\xx…)"
// for id; ok is false when id cannot match anything (see IDFilterValue).
func (d Dialect) IDFilter(id string) (string, bool) {
	v, ok := d.IDFilterValue(id)
	if !ok {
		return "", false
	}
	return "(" + d.ID + "=" + v + ")", true
}

// DNFilter returns the equality filter that finds the entry named dn:
// "(entryDN=…)" or "(distinguishedName=…)", the value escaped (RFC 4515).
func (d Dialect) DNFilter(dn string) string {
	return "(" + d.DNAttr + "=" + ldap.EscapeFilter(dn) + ")"
}

// GUIDString renders the 16 bytes of a GUID (objectGUID) in the standard string
// form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case, whose first three
// fields are the little-endian Data1/Data2/Data3 of the GUID structure
// (MS-DTYP §2.3.4.2, §2.3.4.3). ok is false unless b has 16 bytes.
func GUIDString(b []byte) (string, bool) {
	if len(b) != 16 {
		return "", false
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16]), true
}

// ParseGUID parses the string form of a GUID (any letter case, optionally in
// braces) into its 16 stored bytes (the inverse of GUIDString); ok is false for
// anything else.
func ParseGUID(s string) ([]byte, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	h, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36])
	if err != nil {
		return nil, false
	}
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out[0:4], binary.BigEndian.Uint32(h[0:4]))
	binary.LittleEndian.PutUint16(out[4:6], binary.BigEndian.Uint16(h[4:6]))
	binary.LittleEndian.PutUint16(out[6:8], binary.BigEndian.Uint16(h[6:8]))
	copy(out[8:], h[8:])
	return out, true
}

// userAccountControl bits (MS-ADTS §2.2.16).
const (
	UACAccountDisable = 0x2   // ACCOUNTDISABLE: the account cannot log on
	UACNormalAccount  = 0x200 // NORMAL_ACCOUNT: a user account
)

// samForbidden are the characters AD refuses in sAMAccountName (MS-ADA3 §2.221
// "SAM-Account-Name"; Microsoft's "Active Directory naming conventions").
const samForbidden = "\"/\\[]:;|=,+*?<>"

// checkValues enforces what the directory would refuse late or confusingly,
// before anything is written. On OpenLDAP: the RDN that names the entry at most
// Dialect.MaxRDNBytes (checkRDNLength). On AD: sAMAccountName at most 20
// characters for user objects (256 for others, the attribute's rangeUpper),
// none of " / \ [ ] : ; | = , + * ? < >, no control characters, not only dots
// and spaces. Errors are *ValueError (400 invalidValue) naming the SCIM attribute.
func (rt *ResourceType) checkValues(vals map[string][]string) error {
	if err := rt.checkRDNLength(vals); err != nil {
		return err
	}
	if !rt.dialect.IsAD() {
		return nil
	}
	limit := 256
	for _, oc := range rt.ObjectClasses {
		if strings.EqualFold(oc, "user") {
			limit = 20
		}
	}
	for attr, vs := range vals {
		if !strings.EqualFold(attr, "sAMAccountName") {
			continue
		}
		what := "sAMAccountName"
		for _, a := range rt.Attrs {
			if strings.EqualFold(a.LDAP, attr) {
				what = a.Key + " (sAMAccountName)"
			}
		}
		for _, v := range vs {
			switch {
			case utf8.RuneCountInString(v) > limit:
				return invalid("%s %q is %d characters long; Active Directory allows at most %d", what, v, utf8.RuneCountInString(v), limit)
			case strings.ContainsAny(v, samForbidden):
				return invalid("%s %q contains a character Active Directory does not allow in it (any of %s)", what, v, strings.Join(strings.Split(samForbidden, ""), " "))
			case strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
				return invalid("%s contains a control character", what)
			case strings.Trim(v, ". ") == "":
				return invalid("%s %q must contain more than dots and spaces", what, v)
			}
		}
	}
	return nil
}

// checkRDNLength refuses a naming value whose RDN, written as DN writes it
// (RDN attribute "=" value escaped per RFC 4514), is longer than
// Dialect.MaxRDNBytes: the directory would refuse the add or the rename with
// an error that says nothing about the cause (see MaxRDNBytes). The first
// value names the entry, as in AddRequest; renames write the same RDN.
func (rt *ResourceType) checkRDNLength(vals map[string][]string) error {
	limit, v := rt.dialect.MaxRDNBytes, vals[rt.RDN]
	if limit <= 0 || len(v) == 0 {
		return nil
	}
	n := len(rt.RDN) + 1 + len(ldap.EscapeDN(v[0]))
	if n <= limit {
		return nil
	}
	what := rt.RDN
	if a := rt.RDNAttr(); a != nil {
		what = a.Key
	}
	return invalid("%s is too long to name a directory entry: the entry's name %s=… would be %d bytes (the value escaped as in a DN), and the directory takes at most %d bytes", what, rt.RDN, n, limit)
}

// AccountBits returns the mapping of an attribute stored as bits of a shared
// integer (active as userAccountControl's ACCOUNTDISABLE), or nil.
func (rt *ResourceType) AccountBits() *AttrMap {
	for _, a := range rt.Attrs {
		if a.FalseBits != 0 && a.Writable() {
			return a
		}
	}
	return nil
}

// KeepUnownedLocks rebases the values LDAPValues computed for lock attributes
// (TrueWhenAbsent) onto the entry as read, so that a write of true removes only
// the gateway's own lock (FalseValue) and keeps any other value: ppolicy writes
// pwdAccountLockedTime as the time of a lockout after too many failed binds
// (slapo-ppolicy(5)), which an IdP's "active: true" must not lift. A write of
// false (FalseValue) replaces whatever is there; an attribute vals doesn't name
// is left as it is.
func (rt *ResourceType) KeepUnownedLocks(vals map[string][]string, e *ldap.Entry) {
	for _, a := range rt.Attrs {
		v, set := vals[a.LDAP]
		if !a.TrueWhenAbsent || !set || len(v) != 0 {
			continue
		}
		vals[a.LDAP] = a.unownedLocks(e.GetEqualFoldAttributeValues(a.LDAP))
	}
}

// unownedLocks returns the values of a's lock attribute that are not the
// gateway's own (IsFalseValue), in order; nil when there are none.
func (a *AttrMap) unownedLocks(vals []string) []string {
	var out []string
	for _, v := range vals {
		if !a.IsFalseValue(v) {
			out = append(out, v)
		}
	}
	return out
}

// KeepOtherBits rebases the values LDAPValues computed for bit-mapped attributes
// (AccountBits) onto the entry as read, so that a write changes only the mapped
// bits and keeps every other one (e.g. DONT_EXPIRE_PASSWORD in
// userAccountControl): new = (current &^ FalseBits) | (computed & FalseBits).
// Attributes without a current or a computed value are left as they are.
func (rt *ResourceType) KeepOtherBits(vals map[string][]string, e *ldap.Entry) {
	for _, a := range rt.Attrs {
		if a.FalseBits == 0 || len(vals[a.LDAP]) != 1 {
			continue
		}
		cur, err1 := strconv.ParseInt(e.GetEqualFoldAttributeValue(a.LDAP), 10, 64)
		want, err2 := strconv.ParseInt(vals[a.LDAP][0], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		merged := (uint32(cur) &^ a.FalseBits) | (uint32(want) & a.FalseBits)
		vals[a.LDAP] = []string{strconv.FormatInt(int64(int32(merged)), 10)}
	}
}
