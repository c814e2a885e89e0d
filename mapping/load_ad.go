package mapping

import "strings"

// adUserAccountControl is the accountState that maps active to the
// ACCOUNTDISABLE bit (0x2) of AD's userAccountControl (MS-ADTS §2.2.16).
const adUserAccountControl = "adUserAccountControl"

// adPassword checks the password mapping of an Active Directory mapping: the
// password goes to unicodePwd (MS-ADTS §3.1.1.3.1.5.1), and pwdLastSet, when
// given, is "0" (the user must change it at next logon) or "-1" (set to now).
// Hook called from loader.attributes.
func (l *loader) adPassword(rt *ResourceType, a *AttrMap, v *node) {
	pls := v.get("pwdLastSet")
	if pls != nil {
		a.PwdLastSet = oneOf(l, pls, a.Key+".pwdLastSet", "0", "-1")
		if !a.Password || !rt.dialect.IsAD() {
			l.errorf(pls, "pwdLastSet applies to password with directory.flavor: %s", FlavorActiveDirectory)
		}
	}
	if a.Password && rt.dialect.IsAD() && !strings.EqualFold(a.LDAP, "unicodePwd") {
		l.errorf(v.get("ldap"), "on Active Directory, password is stored in unicodePwd, not %s", a.LDAP)
	}
}
