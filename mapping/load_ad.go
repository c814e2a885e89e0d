package mapping

import "strings"

// adUserAccountControl is the accountState that maps active to the
// ACCOUNTDISABLE bit (0x2) of AD's userAccountControl (MS-ADTS §2.2.16).
const adUserAccountControl = "adUserAccountControl"

// pwdLastSets are the values of the pwdLastSet option: "0" (the user must
// change the password at next logon) or "-1" (set to now).
var pwdLastSets = []string{"0", "-1"}

// pwdLastSetOption reads pwdLastSet, which applies to the password of an
// Active Directory mapping (an attrOptions handler).
func (l *loader) pwdLastSetOption(s *attrSpec, n *node) {
	s.a.PwdLastSet = oneOf(l, n, s.key+".pwdLastSet", pwdLastSets...)
	if !s.a.Password || !s.rt.dialect.IsAD() {
		l.errorf(n, "pwdLastSet applies to password with directory.flavor: %s", FlavorActiveDirectory)
	}
}

// adPasswordStore checks that an Active Directory mapping stores the password
// in unicodePwd (MS-ADTS §3.1.1.3.1.5.1).
func (l *loader) adPasswordStore(s *attrSpec) {
	if s.a.Password && s.rt.dialect.IsAD() && !strings.EqualFold(s.a.LDAP, "unicodePwd") {
		l.errorf(s.v.get("ldap"), "on Active Directory, password is stored in unicodePwd, not %s", s.a.LDAP)
	}
}
