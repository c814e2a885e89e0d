package mapping

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Load reads and validates a mapping file. On any problem it returns Problems
// (every problem found, each with file:line:col), never a partial mapping.
func Load(path string) (*Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping file: %w", err)
	}
	return Parse(path, data)
}

// Parse validates mapping text; file names the source in problems.
func Parse(file string, data []byte) (*Mapping, error) {
	m, ps := ParseAll(file, data)
	if len(ps) > 0 {
		return nil, ps
	}
	return m, nil
}

// ParseAll returns every problem and, unless the YAML itself is broken, the
// part of the mapping that could be read, so that `mapping check` can also
// check that part against the directory's schema. Never serve a mapping that
// has problems: use Load or Parse for that.
func ParseAll(file string, data []byte) (*Mapping, Problems) {
	root, perr := parseTree(file, data)
	if perr != nil {
		return nil, Problems{*perr}
	}
	l := &loader{file: file, schemas: map[string]*SchemaDef{}, aliases: map[string]string{}}
	for id, sc := range builtinSchemas {
		l.schemas[id] = sc
	}
	m := l.mapping(root)
	sort.SliceStable(l.problems, func(i, j int) bool {
		a, b := l.problems[i], l.problems[j]
		return a.Line < b.Line || (a.Line == b.Line && a.Col < b.Col)
	})
	return m, l.problems
}

type loader struct {
	file     string
	problems Problems
	schemas  map[string]*SchemaDef // built-in and the file's custom schemas, by URN
	aliases  map[string]string     // custom schema URN → alias in expressions
}

func (l *loader) errorf(n *node, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Col
	}
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// fields checks that n is a mapping whose keys are all in allowed, reporting
// unknown keys with the closest known one as a hint.
func (l *loader) fields(n *node, what string, allowed ...string) bool {
	if n == nil {
		return false
	}
	if n.Kind != mapNode {
		l.errorf(n, "%s must be a mapping, not %s", what, n.Kind)
		return false
	}
	l.duplicates(n, what)
	for _, k := range n.Keys {
		if !slices.Contains(allowed, k.Scalar) {
			hint := ""
			if s := closest(k.Scalar, allowed); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			l.errorf(k, "unknown key %q in %s%s; known keys: %s", k.Scalar, what, hint, strings.Join(allowed, ", "))
		}
	}
	return true
}

// duplicates reports keys defined twice in one mapping (YAML would silently
// keep the last).
func (l *loader) duplicates(n *node, what string) {
	first := map[string]*node{}
	for _, k := range n.Keys {
		if prev, ok := first[k.Scalar]; ok {
			l.errorf(k, "%q is defined twice in %s (first at line %d)", k.Scalar, what, prev.Line)
			continue
		}
		first[k.Scalar] = k
	}
}

// str returns a scalar's text; kind problems are reported.
func (l *loader) str(n *node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != scalarNode {
		l.errorf(n, "%s must be a string, not %s", what, n.Kind)
		return ""
	}
	return n.Scalar
}

func (l *loader) strList(n *node, what string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == scalarNode {
		return []string{n.Scalar}
	}
	if n.Kind != seqNode {
		l.errorf(n, "%s must be a list of strings, not %s", what, n.Kind)
		return nil
	}
	var out []string
	for _, it := range n.Values {
		if s := l.str(it, what+" item"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (l *loader) boolean(n *node, what string) bool {
	if n == nil {
		return false
	}
	switch strings.ToLower(n.Scalar) {
	case "true":
		return n.Kind == scalarNode
	case "false":
		if n.Kind == scalarNode {
			return false
		}
	}
	l.errorf(n, "%s must be true or false", what)
	return false
}

// oneOf returns a scalar's text as a T; a value not in allowed is reported.
func oneOf[T ~string](l *loader, n *node, what string, allowed ...T) T {
	s := T(l.str(n, what))
	if n != nil && s != "" && !slices.Contains(allowed, s) {
		names := make([]string, len(allowed))
		for i, v := range allowed {
			names[i] = string(v)
		}
		l.errorf(n, "%s is %q; want one of: %s", what, s, strings.Join(names, ", "))
	}
	return s
}

// The keys the loader accepts at each level of a mapping file, in the order
// its "unknown key" message lists them (an attribute's are attrOptionKeys,
// a custom schema's customSchemaKeys and customAttrOptions), and the values of
// its enumerated options. mapping.schema.json, the JSON Schema editors check
// mapping files with, must list the same (jsonschema_test.go holds them
// together).
var (
	mappingKeys      = []string{"directory", "schemas", "resourceTypes", "unmappedAttributes"}
	directoryKeys    = []string{"flavor"}
	resourceTypeKeys = []string{"endpoint", "description", "schema", "extensions", "ldap", "attributes"}
	ldapKeys         = []string{"base", "bases", "scope", "filter", "objectClasses", "rdn", "defaults", "computed", "parent", "onDelete"}

	flavors        = []Flavor{FlavorOpenLDAP, FlavorActiveDirectory, Flavor389DS}
	unmappedValues = []string{UnmappedIgnore, UnmappedRefuse}
	scopes         = []string{"one", "sub"}
	onDeletes      = []OnDelete{OnDeleteDelete, OnDeleteDeactivate}
)

var (
	ldapAttrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$|^[0-9]+(\.[0-9]+)+$`)
	endpointRe   = regexp.MustCompile(`^/[A-Za-z][A-Za-z0-9_-]*$`)
	templateRe   = regexp.MustCompile(`\{([^{}]+)\}`)
)

func (l *loader) mapping(root *node) *Mapping {
	m := &Mapping{File: l.file, Flavor: FlavorOpenLDAP, Dialect: openLDAP, UnmappedAttributes: UnmappedIgnore}
	if root.Kind == nullNode {
		l.errorf(root, "the mapping file is empty; it needs at least resourceTypes")
		return m
	}
	if !l.fields(root, "the mapping file", mappingKeys...) {
		return m
	}
	if u := root.get("unmappedAttributes"); u != nil {
		if s := oneOf(l, u, "unmappedAttributes", unmappedValues...); s == UnmappedRefuse {
			m.UnmappedAttributes = s
		}
	}
	if sc := root.get("schemas"); sc != nil {
		l.customSchemas(sc)
	}
	if d := root.get("directory"); d != nil && l.fields(d, "directory", directoryKeys...) {
		if f := d.get("flavor"); f != nil {
			m.Flavor = oneOf(l, f, "directory.flavor", flavors...)
			switch m.Flavor {
			case FlavorActiveDirectory:
				m.Dialect = activeDirectory
			case Flavor389DS:
				m.Dialect = ds389
			}
		}
	}
	rts := root.get("resourceTypes")
	if rts == nil {
		l.errorf(root, "missing resourceTypes: declare at least the User resource type")
		return m
	}
	if rts.Kind != mapNode {
		l.errorf(rts, "resourceTypes must be a mapping of resource type names (User, Group) to their definitions")
		return m
	}
	endpoints := map[string]*node{}
	for i, k := range rts.Keys {
		rt := l.resourceType(k, rts.Values[i], m.Dialect)
		if rt == nil {
			continue
		}
		if prev, dup := endpoints[strings.ToLower(rt.Endpoint)]; dup {
			l.errorf(rts.Values[i], "endpoint %s is already used by the resource type at line %d", rt.Endpoint, prev.Line)
		}
		endpoints[strings.ToLower(rt.Endpoint)] = k
		rt.RefuseUnmapped = m.UnmappedAttributes == UnmappedRefuse
		m.Types = append(m.Types, rt)
	}
	// References must name declared resource types.
	for _, rt := range m.Types {
		for _, a := range rt.Attrs {
			for _, ref := range a.RefTypes {
				if m.ResourceType(ref) == nil {
					l.problems = append(l.problems, Problem{File: l.file, Line: a.Pos.Line, Col: a.Pos.Col,
						Msg: fmt.Sprintf("%s.%s: reference to resource type %q, which the mapping does not declare", rt.Name, a.Key, ref)})
				}
			}
		}
	}
	return m
}

// The values of the top-level unmappedAttributes.
const (
	UnmappedIgnore = "ignore"
	UnmappedRefuse = "refuse"
)

var builtinTypes = map[string]struct {
	endpoint, schema string
}{
	"User":  {"/Users", UserSchema},
	"Group": {"/Groups", GroupSchema},
}

func (l *loader) resourceType(key, n *node, d Dialect) *ResourceType {
	name := key.Scalar
	if !l.fields(n, "resource type "+name, resourceTypeKeys...) {
		return nil
	}
	rt := &ResourceType{Name: name, dialect: d, Scope: ldap.ScopeSingleLevel, Pos: posOf(key)}
	bt, known := builtinTypes[name]
	rt.Endpoint = l.str(n.get("endpoint"), name+".endpoint")
	if rt.Endpoint == "" {
		rt.Endpoint = bt.endpoint
	}
	if rt.Endpoint == "" {
		l.errorf(key, "resource type %s needs an endpoint, e.g. /%ss", name, name)
	} else if !endpointRe.MatchString(rt.Endpoint) {
		l.errorf(n.get("endpoint"), "endpoint %q must look like /Name", rt.Endpoint)
	}
	rt.Description = l.str(n.get("description"), name+".description")
	if rt.Description == "" {
		rt.Description = name
	}
	schemaURN := l.str(n.get("schema"), name+".schema")
	if schemaURN == "" {
		schemaURN = bt.schema
	}
	if !known && schemaURN == "" {
		l.errorf(key, "resource type %s needs a schema URN", name)
		return nil
	}
	rt.Schema = l.schemas[schemaURN]
	if rt.Schema == nil {
		l.errorf(orNode(n.get("schema"), key), "unknown schema %q; known: %s, %s", schemaURN, UserSchema, GroupSchema)
		return nil
	}
	if ext := n.get("extensions"); ext != nil {
		for _, e := range l.strList(ext, name+".extensions") {
			s := l.schemas[e]
			if s == nil || s == rt.Schema || e == UserSchema || e == GroupSchema {
				l.errorf(ext, "unknown schema extension %q; known: %s, or declare it under schemas:", e, EnterpriseSchema)
				continue
			}
			alias := aliasOf(s)
			if a, ok := l.aliases[s.ID]; ok {
				alias = a
			}
			rt.Extensions = append(rt.Extensions, Extension{Schema: s, Alias: alias})
		}
	}
	l.ldapSection(rt, key, n.get("ldap"))
	l.attributes(rt, key, n.get("attributes"))
	return rt
}

func subName(a *AttrMap) string {
	if a.Sub == nil {
		return ""
	}
	return a.Sub.Name
}

// bases reads `bases: [DN, …]`: the resource type's entries live under any of
// them; Base becomes their common ancestor (searched with scope sub) and new
// entries go under the first unless `parent` says otherwise.
func (l *loader) bases(rt *ResourceType, n *node, hasBase bool, what string) {
	if hasBase {
		l.errorf(n, "%s: give base or bases, not both", what)
		return
	}
	rt.Bases = l.strList(n, what+".bases")
	var dns []*ldap.DN
	for _, b := range rt.Bases {
		d, err := ldap.ParseDN(b)
		if err != nil {
			l.errorf(n, "%s.bases: %q is not a valid DN: %v", what, b, err)
			return
		}
		dns = append(dns, d)
	}
	if len(dns) == 0 {
		l.errorf(n, "%s.bases must list at least one DN", what)
		return
	}
	common := dns[0].RDNs
	for _, d := range dns[1:] {
		k := 0
		for k < len(common) && k < len(d.RDNs) && (&ldap.DN{RDNs: []*ldap.RelativeDN{common[len(common)-1-k]}}).EqualFold(&ldap.DN{RDNs: []*ldap.RelativeDN{d.RDNs[len(d.RDNs)-1-k]}}) {
			k++
		}
		common = common[len(common)-k:]
	}
	if len(common) == 0 {
		l.errorf(n, "%s.bases %q have no common ancestor; they must be in one naming context (in a [ ] list, quote each DN: commas split items)", what, rt.Bases)
		return
	}
	rt.Base = (&ldap.DN{RDNs: common}).String()
	rt.ParentBase = rt.Bases[0]
	if len(rt.Bases) > 1 {
		rt.Scope = ldap.ScopeWholeSubtree
	} else {
		rt.Base = rt.Bases[0]
	}
}

func posOf(n *node) Pos { return Pos{n.Line, n.Col} }

func orNode(a, b *node) *node {
	if a != nil {
		return a
	}
	return b
}

func (l *loader) ldapSection(rt *ResourceType, key, n *node) {
	what := rt.Name + ".ldap"
	if n == nil {
		l.errorf(key, "resource type %s needs an ldap section (base, objectClasses, rdn)", rt.Name)
		return
	}
	if !l.fields(n, what, ldapKeys...) {
		return
	}
	rt.OnDelete = OnDeleteDelete
	if od := n.get("onDelete"); od != nil {
		rt.OnDelete = oneOf(l, od, what+".onDelete", onDeletes...)
	}
	if p := n.get("parent"); p != nil {
		rt.Parent = l.expr(p, rt, what+".parent")
	}
	if c := n.get("computed"); c != nil {
		if c.Kind != mapNode {
			l.errorf(c, "%s.computed must map LDAP attributes to expressions, e.g. {homeDirectory: '\"/home/\" + userName'}", what)
		} else {
			for i, k := range c.Keys {
				if !ldapAttrName.MatchString(k.Scalar) {
					l.errorf(k, "%q is not a valid LDAP attribute name", k.Scalar)
				}
				if x := l.expr(c.Values[i], rt, what+".computed."+k.Scalar); x != nil {
					rt.Computed = append(rt.Computed, Computed{LDAP: k.Scalar, Expr: x, Pos: posOf(k)})
				}
			}
		}
	}
	rt.Base = l.str(n.get("base"), what+".base")
	if b := n.get("bases"); b != nil {
		l.bases(rt, b, n.get("base") != nil, what)
	} else if rt.Base == "" {
		l.errorf(n, "%s.base is required: the DN under which %s entries live (or bases: a list)", what, rt.Name)
	} else if _, err := ldap.ParseDN(rt.Base); err != nil {
		l.errorf(n.get("base"), "%s.base %q is not a valid DN: %v", what, rt.Base, err)
	}
	switch s := oneOf(l, n.get("scope"), what+".scope", scopes...); s {
	case "sub":
		rt.Scope = ldap.ScopeWholeSubtree
	}
	rt.ObjectClasses = l.strList(n.get("objectClasses"), what+".objectClasses")
	rt.ObjectClassesPos, rt.RDNPos = posOf(orNode(n.get("objectClasses"), n)), posOf(orNode(n.get("rdn"), n))
	if len(rt.ObjectClasses) == 0 {
		l.errorf(n, "%s.objectClasses is required, e.g. [inetOrgPerson]", what)
	}
	for _, oc := range rt.ObjectClasses {
		if !ldapAttrName.MatchString(oc) {
			l.errorf(n.get("objectClasses"), "%q is not a valid object class name", oc)
		}
	}
	rt.Filter = l.str(n.get("filter"), what+".filter")
	if rt.Filter == "" && len(rt.ObjectClasses) > 0 {
		rt.Filter = "(objectClass=" + ldap.EscapeFilter(rt.ObjectClasses[0]) + ")"
	}
	if len(rt.Bases) > 1 && rt.Filter != "" {
		// Several bases: one subtree search from their common ancestor, limited to
		// the bases by OpenLDAP's dnSubtreeMatch on entryDN, so paging and sorting
		// stay one directory search.
		var b strings.Builder
		b.WriteString("(&" + rt.Filter + "(|")
		for _, base := range rt.Bases {
			b.WriteString("(entryDN:dnSubtreeMatch:=" + ldap.EscapeFilter(base) + ")")
		}
		b.WriteString("))")
		rt.Filter = b.String()
	}
	if _, err := ldap.CompileFilter(rt.Filter); rt.Filter != "" && err != nil {
		l.errorf(n.get("filter"), "%s.filter %q is not a valid LDAP filter (RFC 4515): %v", what, rt.Filter, err)
	}
	rt.RDN = l.str(n.get("rdn"), what+".rdn")
	if rt.RDN == "" {
		l.errorf(n, "%s.rdn is required: the LDAP attribute that names new entries (uid, cn)", what)
	} else if !ldapAttrName.MatchString(rt.RDN) {
		l.errorf(n.get("rdn"), "%q is not a valid LDAP attribute name", rt.RDN)
	}
	if d := n.get("defaults"); d != nil {
		if d.Kind != mapNode {
			l.errorf(d, "%s.defaults must map LDAP attributes to templates, e.g. {sn: \"{userName}\"} or a list tried in order", what)
			return
		}
		for i, k := range d.Keys {
			tpls := l.strList(d.Values[i], what+".defaults."+k.Scalar)
			if !ldapAttrName.MatchString(k.Scalar) {
				l.errorf(k, "%q is not a valid LDAP attribute name", k.Scalar)
			}
			rt.Defaults = append(rt.Defaults, Default{LDAP: k.Scalar, Templates: tpls, Pos: posOf(k)})
		}
	}
}

// attributes reads a resource type's attributes section: one mapping per
// SCIM attribute (loader.attribute, load_attr.go), then what spans several of
// them (checkAttributes).
func (l *loader) attributes(rt *ResourceType, key, n *node) {
	if n == nil {
		l.errorf(key, "resource type %s maps no attributes", rt.Name)
		return
	}
	if n.Kind != mapNode {
		l.errorf(n, "%s.attributes must map SCIM attributes to LDAP, e.g. userName: {ldap: uid}", rt.Name)
		return
	}
	byLDAP := map[string]*AttrMap{}
	bySCIM := map[string]*AttrMap{}
	for i, k := range n.Keys {
		v := n.Values[i]
		a := l.attrKey(rt, k)
		if a != nil {
			// The same SCIM path twice, also when spelled in another case.
			path := strings.ToLower(a.SchemaURN + ":" + a.Def.Name + "." + subName(a) + "[" + fixedKey(a.Fixed) + "]")
			if prev, dup := bySCIM[path]; dup {
				l.errorf(k, "%s maps the same SCIM attribute as %s (line %d); keep one", k.Scalar, prev.Key, prev.Pos.Line)
				continue
			}
			bySCIM[path] = a
		}
		if v.Kind == scalarNode { // shorthand: `title: title`
			v = &node{Line: v.Line, Col: v.Col, Kind: mapNode, Keys: []*node{{Scalar: "ldap"}}, Values: []*node{v}}
		}
		if !l.fields(v, rt.Name+" attribute "+k.Scalar, attrOptionKeys...) || a == nil {
			continue
		}
		if v = l.attribute(rt, a, k, v); v == nil {
			continue
		}
		if prev, dup := byLDAP[strings.ToLower(a.LDAP)]; dup && a.Writable() && prev.Writable() {
			l.errorf(v.get("ldap"), "LDAP attribute %s is already mapped by %s; one LDAP attribute can store one SCIM attribute", a.LDAP, prev.Key)
		}
		if a.Writable() {
			byLDAP[strings.ToLower(a.LDAP)] = a
		}
		rt.Attrs = append(rt.Attrs, a)
	}
	l.checkAttributes(rt, key, n, byLDAP)
}

// checkAttributes reports what spans a resource type's attributes: the RDN
// attribute's feed, typed slots beside an untyped mapping, LDAP attributes both
// mapped and computed or defaulted, templates naming what is not mapped,
// onDelete: deactivate without active, and required attributes not mapped.
// byLDAP holds the writable mappings by lower-cased LDAP attribute.
func (l *loader) checkAttributes(rt *ResourceType, key, n *node, byLDAP map[string]*AttrMap) {
	if rt.RDN != "" {
		if rdn := rt.RDNAttr(); rdn == nil && !hasDefault(rt, rt.RDN) && !hasComputed(rt, rt.RDN) {
			l.errorf(key, "%s: the RDN attribute %s is not mapped from any SCIM attribute", rt.Name, rt.RDN)
		} else if rdn != nil && (rdn.Def.MultiValued || !rdn.Writable()) {
			l.errorf(key, "%s: the RDN attribute %s must be fed by a single-valued, writable SCIM attribute (%s is not)", rt.Name, rt.RDN, rdn.Key)
		}
	}
	for _, a := range rt.Attrs {
		if len(a.Fixed) > 0 || !a.Def.MultiValued || a.Sub == nil {
			continue
		}
		for _, b := range rt.Attrs {
			if b.Def == a.Def && len(b.Fixed) > 0 {
				l.errorf(&node{Line: a.Pos.Line, Col: a.Pos.Col}, "%s takes every %s, but %s (line %d) takes some of them too: a value would be stored twice; map typed slots only, or this one only",
					a.Key, a.Def.Name, b.Key, b.Pos.Line)
				break
			}
		}
	}
	for _, c := range rt.Computed {
		if m, ok := byLDAP[strings.ToLower(c.LDAP)]; ok {
			l.errorf(n, "%s: LDAP attribute %s is both mapped (by %s) and computed; keep one", rt.Name, c.LDAP, m.Key)
		}
		if hasDefault(rt, c.LDAP) {
			l.errorf(n, "%s: LDAP attribute %s is both computed and in defaults; keep one", rt.Name, c.LDAP)
		}
	}
	for _, d := range rt.Defaults {
		for _, tpl := range d.Templates {
			for _, m := range templateRe.FindAllStringSubmatch(tpl, -1) {
				if rt.attrByPath(m[1]) == nil {
					l.errorf(&node{Line: d.Pos.Line, Col: d.Pos.Col}, "%s.ldap.defaults.%s: template names %q, which is not a mapped single-valued SCIM attribute", rt.Name, d.LDAP, m[1])
				}
			}
		}
	}
	if rt.OnDelete == OnDeleteDeactivate && rt.attrByPath("active") == nil {
		l.errorf(key, "%s: onDelete: deactivate needs active mapped (e.g. active: {accountState: ppolicy})", rt.Name)
	}
	for _, def := range rt.Schema.Attributes {
		if def.Required && len(rt.MappedAttrs(rt.Schema.ID, def)) == 0 {
			l.errorf(key, "%s: the required SCIM attribute %s is not mapped", rt.Name, def.Name)
		}
	}
}

// expr compiles an expression-valued key, reporting problems at its position.
func (l *loader) expr(n *node, rt *ResourceType, what string) *Expr {
	src := l.str(n, what)
	if src == "" {
		return nil
	}
	x, err := compileExpr(src, rt.exprVars())
	if err != nil {
		l.errorf(n, "%s: expression does not compile: %v", what, err)
		return nil
	}
	return x
}

func hasComputed(rt *ResourceType, ldapAttr string) bool {
	for _, c := range rt.Computed {
		if strings.EqualFold(c.LDAP, ldapAttr) {
			return true
		}
	}
	return false
}

func hasDefault(rt *ResourceType, ldapAttr string) bool {
	for _, d := range rt.Defaults {
		if strings.EqualFold(d.LDAP, ldapAttr) {
			return true
		}
	}
	return false
}

// attrKey resolves a mapping key (`name.givenName`, `emails[type eq "work"].value`,
// `urn:…:enterprise:2.0:User:manager`) against the resource type's schemas.
func (l *loader) attrKey(rt *ResourceType, k *node) *AttrMap {
	urn, name, sub, fixed, err := parseMapKey(k.Scalar)
	if err != nil {
		l.errorf(k, "attribute %q: %v", k.Scalar, err)
		return nil
	}
	schema := rt.Schema
	if urn != "" {
		schema = nil
		for _, s := range append([]*SchemaDef{rt.Schema}, extSchemas(rt)...) {
			if strings.EqualFold(s.ID, urn) {
				schema = s
			}
		}
		if schema == nil {
			l.errorf(k, "attribute %q: schema %s is not the resource type's schema or one of its extensions", k.Scalar, urn)
			return nil
		}
	}
	def := schema.Attr(name)
	if def == nil && urn == "" {
		if strings.EqualFold(name, "externalId") {
			def = externalIDDef
		} else if strings.EqualFold(name, "id") {
			l.errorf(k, "id cannot be mapped: it is the directory's %s", rt.dialect.ID)
			return nil
		}
	}
	if def == nil {
		l.errorf(k, "unknown SCIM attribute %q in schema %s%s", name, schema.ID, didYouMean(name, schema))
		return nil
	}
	a := &AttrMap{Key: k.Scalar, SchemaURN: schema.ID, Def: def, Fixed: fixed, Pos: posOf(k)}
	if def == externalIDDef {
		a.SchemaURN = rt.Schema.ID
	}
	if sub == "" && def.Type == "complex" && def.Sub("value") != nil {
		sub = "value" // `manager: {ldap: manager}` means manager.value
	}
	if sub != "" {
		a.Sub = def.Sub(sub)
		if a.Sub == nil {
			l.errorf(k, "%s has no sub-attribute %q", def.Name, sub)
			return nil
		}
		if a.Sub.Mutability == MutabilityReadOnly && def.Mutability != MutabilityReadOnly {
			l.errorf(k, "%s.%s is read-only (computed by the gateway); it cannot be mapped", def.Name, a.Sub.Name)
			return nil
		}
	}
	if len(fixed) > 0 && !def.MultiValued {
		l.errorf(k, "a value filter [...] applies to multi-valued attributes; %s is single-valued", def.Name)
		return nil
	}
	for f := range fixed {
		if def.Sub(f) == nil {
			l.errorf(k, "%s has no sub-attribute %q to filter on", def.Name, f)
			return nil
		}
		if f == "value" {
			l.errorf(k, "a mapping's value filter names a slot (type eq \"work\"), not a value; %s filters on value", k.Scalar)
			return nil
		}
	}
	a.proj = a.computeProjKeys()
	return a
}

func extSchemas(rt *ResourceType) []*SchemaDef {
	var out []*SchemaDef
	for _, e := range rt.Extensions {
		out = append(out, e.Schema)
	}
	return out
}

func didYouMean(name string, s *SchemaDef) string {
	var names []string
	for _, a := range s.Attributes {
		names = append(names, a.Name)
	}
	if c := closest(name, names); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// closest returns the candidate within edit distance 2 of s (case-insensitive), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
