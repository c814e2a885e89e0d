package slapdtest

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// GrantWrite lets the service account (BindDN) create, change, rename and
// delete entries below base, as docs/directory.md has an administrator do for
// every base a mapping writes besides ou=people and ou=groups: write on the
// base's children and on every entry below it. The rules go in before the
// directory's last one (users read everything), through the ldapi socket as
// the user running slapd (the peercred identity that manages cn=config).
func (s *Server) GrantWrite(base string) error {
	c, err := ldap.DialURL(s.ldapiURL())
	if err != nil {
		return fmt.Errorf("slapdtest: GrantWrite: %w", err)
	}
	defer c.Close()
	if err := c.ExternalBind(); err != nil {
		return fmt.Errorf("slapdtest: GrantWrite: EXTERNAL bind: %w", err)
	}
	const db = "olcDatabase={1}mdb,cn=config"
	res, err := c.Search(ldap.NewSearchRequest(db, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"olcAccess"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return fmt.Errorf("slapdtest: GrantWrite: read %s: %v", db, err)
	}
	last := len(res.Entries[0].GetAttributeValues("olcAccess")) - 1
	m := ldap.NewModifyRequest(db, nil)
	m.Add("olcAccess", []string{
		fmt.Sprintf(`{%d}to dn.base="%s" attrs=children by dn.exact="%s" write by * break`, last, base, s.BindDN),
		fmt.Sprintf(`{%d}to dn.children="%s" by dn.exact="%s" write by * break`, last+1, base, s.BindDN),
	})
	if err := c.Modify(m); err != nil {
		return fmt.Errorf("slapdtest: GrantWrite %q: %w", base, err)
	}
	return nil
}

// ldapiURL is the ldapi:// URL of the server's socket (slapd-up.sh's DIR/ldapi).
func (s *Server) ldapiURL() string {
	return "ldapi://" + strings.ReplaceAll(url.PathEscape(filepath.Join(s.Dir, "ldapi")), "/", "%2F")
}
