package preflight

import "testing"

// The soft limits of olcSizeLimit, olcTimeLimit and olcLimits values, as
// slapd-config(5) writes them.
func TestSoftLimit(t *testing.T) {
	for _, c := range []struct {
		v, kind string
		bare    bool
		want    int
		ok      bool
	}{
		{"500", "size", true, 500, true},
		{"size.soft=500 size.hard=unlimited size.pr=unlimited", "size", true, 500, true},
		{"unlimited", "size", true, -1, true},
		{`dn.exact="cn=gw,dc=example,dc=org" size=unlimited`, "size", false, -1, true},
		{`dn.exact="cn=gw,dc=example,dc=org" size.soft=1000 size.hard=1000 time.soft=5`, "time", false, 5, true},
		{`dn.exact="cn=gw,dc=example,dc=org" time=30`, "size", false, 0, false},
		{`users size.hard=100`, "size", false, 0, false},
		{"3600", "time", true, 3600, true},
		{"", "size", true, 0, false},
	} {
		got, ok := softLimit(c.v, c.kind, c.bare)
		if got != c.want || ok != c.ok {
			t.Errorf("softLimit(%q, %s, %v) = %d, %v; want %d, %v", c.v, c.kind, c.bare, got, ok, c.want, c.ok)
		}
	}
}
