package mapping

import (
	"fmt"
	"strings"

	"github.com/scim2ldap/scim2ldap/filterxlate"
)

// parseMapKey splits a mapping key — a PATCH-style path (RFC 7644 §3.5.2) such as
// `name.givenName`, `emails[type eq "work"].value` or
// `urn:…:enterprise:2.0:User:employeeNumber` — into its schema URN, attribute,
// sub-attribute and the slot constants of its value filter. A value filter may
// only be a conjunction of `eq` comparisons (it names a slot, not a query).
func parseMapKey(key string) (urn, name, sub string, fixed map[string]string, err error) {
	p, err := filterxlate.ParsePath(key)
	if err != nil {
		return "", "", "", nil, err
	}
	urn, name, sub = p.Attr.URN, p.Attr.Name, p.Attr.Sub
	if p.Filter != nil {
		sub = p.Sub
		fixed = map[string]string{}
		if err := slotConstants(p.Filter, fixed); err != nil {
			return "", "", "", nil, err
		}
	}
	return urn, name, sub, fixed, nil
}

func slotConstants(e filterxlate.Expr, fixed map[string]string) error {
	switch x := e.(type) {
	case *filterxlate.Logical:
		if x.Op != filterxlate.And {
			return fmt.Errorf("a mapping's value filter may only join eq comparisons with and")
		}
		if err := slotConstants(x.Left, fixed); err != nil {
			return err
		}
		return slotConstants(x.Right, fixed)
	case *filterxlate.Compare:
		if x.Op != filterxlate.Eq || x.Value == nil || x.Path.Sub != "" {
			return fmt.Errorf("a mapping's value filter may only use sub-attribute eq \"value\" comparisons (got %s)", x)
		}
		fixed[strings.ToLower(x.Path.Name)] = strings.ToLower(fmt.Sprint(x.Value))
		return nil
	}
	return fmt.Errorf("a mapping's value filter may only join eq comparisons with and (got %s)", e)
}
