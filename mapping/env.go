package mapping

import (
	"encoding/json"
	"strings"
)

// exprVars are the variables expressions of rt may use, with a sample value
// whose type lets the compiler check names: nil for simple attributes (any
// type), an object for complex ones and extensions (fields checked at run
// time), a list for multi-valued ones.
func (rt *ResourceType) exprVars() map[string]any {
	vars := map[string]any{"id": nil, "externalId": nil, "value": nil}
	for _, def := range rt.Schema.Attributes {
		switch {
		case def.MultiValued:
			vars[def.Name] = []any{}
		case def.Type == "complex":
			vars[def.Name] = map[string]any{}
		default:
			vars[def.Name] = nil
		}
	}
	for _, e := range rt.Extensions {
		vars[e.Alias] = map[string]any{}
	}
	return vars
}

// exprEnv builds an expression environment from a SCIM resource (a client's body
// or the stored view): attributes under their canonical names whatever case the
// client used, numbers as int64 or float64, extensions under their alias.
func (rt *ResourceType) exprEnv(res map[string]any) map[string]any {
	env := rt.exprVars() // absent attributes: nil, or an empty object or list

	for _, name := range []string{"id", "externalId"} {
		if v, ok := Lookup(res, name); ok {
			env[name] = plain(nil, v)
		}
	}
	fill := func(dst, obj map[string]any, defs []*AttrDef) {
		for _, def := range defs {
			if v, ok := Lookup(obj, def.Name); ok {
				dst[def.Name] = plain(def, v)
			}
		}
	}
	fill(env, res, rt.Schema.Attributes)
	for _, e := range rt.Extensions {
		m := map[string]any{}
		if obj := rt.schemaObject(res, e.Schema.ID); obj != nil {
			fill(m, obj, e.Schema.Attributes)
		}
		env[e.Alias] = m
	}
	return env
}

// plain converts a JSON value for expressions: canonical sub-attribute names,
// json.Number as int64 or float64.
func plain(def *AttrDef, v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = plain(def, el)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			var sd *AttrDef
			if def != nil {
				sd = def.Sub(k)
			}
			if sd != nil {
				k = sd.Name
			}
			out[k] = plain(sd, el)
		}
		return out
	}
	return v
}

func aliasOf(s *SchemaDef) string {
	if s.ID == EnterpriseSchema {
		return "enterprise"
	}
	return strings.ToLower(s.Name[:1]) + s.Name[1:]
}
