package draft

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
)

// render writes the mapping file.
func (d *drafter) render() []byte {
	f := d.f
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# yaml-language-server: $schema=./mapping.schema.json\n")
	p("# scim2ldap mapping drafted by `scim2ldap mapping init` from %s (base %s).\n", f.URL, f.Base)
	p("# Directory: %s (%s).\n", f.Flavor, f.Why)
	p("#\n# A draft: read every comment, remove what your IdP should not write, then check it with\n")
	p("#   scim2ldap mapping check --ldap-url %s FILE\n#   scim2ldap doctor --mapping FILE\n", f.URL)
	p("# Keys are SCIM attribute paths (RFC 7644 §3.5.2); values name the LDAP attribute (docs/mapping.md).\n")
	p("directory:\n")
	switch {
	case f.Flavor == ActiveDirectory:
		p("  flavor: activedirectory     # id = objectGUID, version (ETag) = uSNChanged\n")
	case f.Flavor == DS389 && f.FlavorOK:
		p("  flavor: 389ds               # id = nsUniqueId, version (ETag) = entryusn (the USN plugin)\n")
	case f.Flavor == DS389:
		p("  # 389 Directory Server: set flavor: 389ds once your scim2ldap knows it (it has no entryCSN\n")
		p("  # for ETags); drafted as openldap meanwhile, not tested against 389 DS here.\n")
		p("  flavor: openldap\n")
	default:
		p("  flavor: openldap            # id = entryUUID, version (ETag) = entryCSN\n")
	}
	var exts []*extSchema
	for _, rt := range []*resType{d.user, d.group} {
		if rt.ext != nil {
			exts = append(exts, rt.ext)
		}
	}
	if len(exts) > 0 {
		p("\n# Extension schemas of the attributes the object classes allow that the mapping below does not\n")
		p("# map, typed from their LDAP syntaxes (INTEGER → integer, Boolean → boolean, GeneralizedTime →\n")
		p("# dateTime, DN → reference, octet strings → binary, else string; multi-valued unless SINGLE-VALUE).\n")
		p("# Clients send them under the URN; rename it as your IdP wants. /Schemas shows only mapped ones.\n")
		p("schemas:\n")
		for _, e := range exts {
			p("  - id: %s\n    name: %s\n    alias: %s\n    description: %s\n    attributes:\n", e.id, e.name, e.alias, yamlScalar(e.desc))
			width := 0
			for _, a := range e.attrs {
				width = max(width, len(a.name)+1)
			}
			for _, a := range e.attrs {
				v := "{type: " + a.typ
				if a.multi {
					v += ", multiValued: true"
				}
				v += "}"
				syntax := a.syntax
				if syntax == "" {
					syntax = "no syntax published"
				}
				p("      %-*s %-40s # %s\n", width, a.name+":", v, syntax)
			}
		}
	}
	p("\nresourceTypes:\n")
	for _, rt := range []*resType{d.user, d.group} {
		d.renderType(&b, rt)
	}
	return []byte(b.String())
}

func (d *drafter) renderType(b *strings.Builder, rt *resType) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("  %s:\n    endpoint: %s\n    schema: %s\n", rt.name, rt.endpoint, rt.schema)
	if len(rt.extensions) > 0 {
		p("    extensions:\n")
		for _, e := range rt.extensions {
			p("      - %s\n", e)
		}
	}
	p("    ldap:\n")
	for _, n := range rt.notes {
		p("      # %s\n", n)
	}
	p("      base: %s\n      scope: %s\n      filter: %s\n", yamlScalar(rt.base), rt.scope, yamlScalar(rt.filter))
	p("      objectClasses: [%s]\n", strings.Join(rt.classes, ", "))
	p("      rdn: %s                             # new entries: %s=<%s>,%s\n", rt.rdn, rt.rdn, rdnSource(rt), rt.base)
	if len(rt.computed) > 0 {
		p("      computed:\n")
		for _, c := range rt.computed {
			p("        %s: %s\n", c[0], c[1])
		}
	}
	if len(rt.defaults) > 0 {
		p("      defaults:                          # MUST attributes the client sent nothing for: the first\n")
		p("                                         # template that can be filled is used\n")
		for _, c := range rt.defaults {
			sep := " "
			if strings.HasPrefix(c[1], "\n") {
				sep = ""
			}
			p("        %s:%s%s\n", c[0], sep, c[1])
		}
	}
	p("    attributes:\n")
	for _, l := range rt.attrs {
		for _, c := range l.comment {
			p("      # %s\n", c)
		}
		hash := ""
		if l.commented {
			hash = "# "
		}
		p("      %s%-30s %s\n", hash, yamlKey(l.key)+":", l.value)
	}
	if rt.ext != nil {
		if d.opts.MapAll {
			p("      # The generated extension %s, every attribute mapped (mapping init --map-all).\n", rt.ext.id)
		} else {
			p("      # The generated extension %s: uncomment what your IdP should write\n", rt.ext.id)
			p("      # (each mapped attribute is writable by every read-write SCIM client).\n")
		}
		hash := "# "
		if d.opts.MapAll {
			hash = ""
		}
		for _, a := range rt.ext.attrs {
			p("      %s%s {ldap: %s}\n", hash, yamlKey(rt.ext.id+":"+a.name)+":", a.ldap)
		}
	}
	if len(rt.withheld) > 0 {
		p("      # Never offered, being security-relevant (who may log on, as what, with which rights; passwords,\n")
		p("      # hashes, keys): map one by hand only knowing that every SCIM client could read it and every\n")
		p("      # read-write one write it:\n")
		line := "      #"
		for _, a := range rt.withheld {
			if len(line)+1+len(a) > 110 {
				p("%s\n", line)
				line = "      #"
			}
			line += " " + a
		}
		p("%s\n", line)
	}
}

// rdnSource names what fills a new entry's RDN.
func rdnSource(rt *resType) string {
	for _, l := range rt.attrs {
		if !l.commented && strings.Contains(strings.ToLower(l.value), "{ldap: "+strings.ToLower(rt.rdn)) {
			return l.key
		}
	}
	for _, c := range rt.computed {
		if strings.EqualFold(c[0], rt.rdn) {
			return c[1]
		}
	}
	return rt.rdn
}

// plainRe matches the scalars written without quotes: no YAML indicator
// first, none of the characters that end or change a plain scalar.
var plainRe = regexp.MustCompile(`^[A-Za-z0-9(][^#:{}\[\]'"` + "`" + `\\]*$`)

// yamlScalar is s as a YAML scalar: plain when that reads back as s, else
// single-quoted (YAML 1.2 §7.3.2).
func yamlScalar(s string) string {
	if plainRe.MatchString(s) && strings.TrimSpace(s) == s && resolvesToString(s) {
		return s
	}
	return yamlSingle(s)
}

// resolvesToString reports whether the plain scalar s reads as the string s:
// YAML resolves some plain scalars to other types (YAML 1.2 §10.3.2, the core
// schema: 00 and 0x1F are integers, 1e3 a float, true a boolean, null and ~
// null), which a string field then reads differently ("00" as "0").
func resolvesToString(s string) bool {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return false
	}
	str, ok := v.(string)
	return ok && str == s
}

// yamlKey is a mapping key: plain for simple paths, single-quoted for URNs and
// value filters, as the example mappings quote them.
func yamlKey(s string) string {
	if strings.ContainsAny(s, ":[\"' ") {
		return yamlSingle(s)
	}
	return s
}

// yamlSingle single-quotes s (YAML 1.2 §7.3.2: a quote is doubled).
func yamlSingle(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// idpTable is the attribute table to configure in the IdP: for each SCIM
// attribute the draft maps, the IdP's source attribute or expression.
func (d *drafter) idpTable() string {
	src := idpSource[d.opts.IdP]
	var b strings.Builder
	name := map[string]string{"entra": "Microsoft Entra ID", "okta": "Okta"}[d.opts.IdP]
	fmt.Fprintf(&b, "%s attribute mappings for this mapping (IdP source → SCIM attribute [LDAP attribute]):\n", name)
	row := func(source, path, ldap string) {
		fmt.Fprintf(&b, "  %-62s → %s [%s]\n", source, path, ldap)
	}
	none := "(no default source: pick one, or delete this mapping in the IdP)"
	b.WriteString(" Users:\n")
	for _, l := range d.user.attrs {
		if l.commented || l.key == "groups" { // groups is read-only: no IdP writes it
			continue
		}
		s := src[l.key]
		if s == "" {
			s = none
		}
		row(s, l.key, ldapOf(l.value))
	}
	b.WriteString(" Groups:\n")
	for _, l := range d.group.attrs {
		if l.commented {
			continue
		}
		s := src["Group "+l.key]
		if s == "" {
			s = none
		}
		row(s, l.key, ldapOf(l.value))
	}
	b.WriteString("Delete the IdP's mappings of SCIM attributes not listed here: /Schemas lists what the gateway maps,\n" +
		"and filters on other attributes are answered 400.\n")
	return b.String()
}

// ldapOf is the LDAP attribute (or account state) a flow map names.
func ldapOf(v string) string {
	for _, k := range []string{"{ldap: ", "{accountState: "} {
		if i := strings.Index(v, k); i >= 0 {
			rest := v[i+len(k):]
			if j := strings.IndexAny(rest, ",}"); j >= 0 {
				return rest[:j]
			}
		}
	}
	return v
}
