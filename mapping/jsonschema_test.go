package mapping

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The published JSON Schema (mapping.schema.json, for editors) accepts every
// mapping we ship and rejects what the loader rejects structurally.
func TestPublishedJSONSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("../mapping.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../docs/examples/*.yaml")
	files = append(files, "../mappings.example.yaml", "../mappings.ad.example.yaml")
	for _, f := range files {
		if err := sch.Validate(yamlDoc(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// What the loader accepts beyond the shipped files.
	for name, src := range map[string]string{
		"unmapped refuse": "unmappedAttributes: refuse\nresourceTypes: {User: {ldap: {base: \"o=x\", objectClasses: [a], rdn: uid}, attributes: {userName: uid}}}",
	} {
		path := filepath.Join(t.TempDir(), "m.yaml")
		os.WriteFile(path, []byte(src), 0o644)
		if err := sch.Validate(yamlDoc(t, path)); err != nil {
			t.Errorf("%s: the JSON Schema refuses it: %v", name, err)
		}
		if _, err := Load(path); err != nil {
			t.Errorf("%s: the loader refuses it: %v", name, err)
		}
	}
	for name, src := range map[string]string{
		"unknown key":      "resourceTypes: {User: {ldap: {base: x, objectClasses: [a], rdn: uid}, attributes: {userName: {ldap: uid, uniqness: server}}}}",
		"bad scope":        "resourceTypes: {User: {ldap: {base: x, objectClasses: [a], rdn: uid, scope: deep}, attributes: {userName: uid}}}",
		"caseExact string": "resourceTypes: {User: {ldap: {base: x, objectClasses: [a], rdn: uid}, attributes: {userName: {ldap: uid, caseExact: maybe}}}}",
		"no rdn":           "resourceTypes: {User: {ldap: {base: x, objectClasses: [a]}, attributes: {userName: uid}}}",
		"unmapped strict":  "unmappedAttributes: strict\nresourceTypes: {User: {ldap: {base: x, objectClasses: [a], rdn: uid}, attributes: {userName: uid}}}",
	} {
		path := filepath.Join(t.TempDir(), "m.yaml")
		os.WriteFile(path, []byte(src), 0o644)
		if err := sch.Validate(yamlDoc(t, path)); err == nil {
			t.Errorf("%s: the JSON Schema accepts it", name)
		}
		if _, err := Load(path); err == nil {
			t.Errorf("%s: the loader accepts it", name)
		}
	}
}

func yamlDoc(t *testing.T, path string) any {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	// jsonschema wants JSON-shaped values: YAML integers become json numbers.
	return normalize(v)
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return v
}

// The published JSON Schema and the loader agree key for key at every level of
// a mapping file, and on the values of each enumerated option: an editor
// neither flags what the loader takes nor offers what it refuses.
func TestPublishedJSONSchemaMatchesLoaderKeys(t *testing.T) {
	data, err := os.ReadFile("../mapping.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	// at walks the schema: a string step is an object member, an int an array item.
	at := func(path ...any) map[string]any {
		var cur any = root
		for _, step := range path {
			switch s := step.(type) {
			case string:
				m, _ := cur.(map[string]any)
				cur = m[s]
			case int:
				list, _ := cur.([]any)
				if s >= len(list) {
					cur = nil
					break
				}
				cur = list[s]
			}
		}
		m, _ := cur.(map[string]any)
		if m == nil {
			t.Fatalf("mapping.schema.json has no object at %v", path)
		}
		return m
	}
	keys := func(obj map[string]any) []string {
		props, _ := obj["properties"].(map[string]any)
		var out []string
		for k := range props {
			out = append(out, k)
		}
		return out
	}
	enum := func(obj map[string]any, key string) []string {
		prop, _ := obj["properties"].(map[string]any)[key].(map[string]any)
		values, _ := prop["enum"].([]any)
		var out []string
		for _, v := range values {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	rt := at("$defs", "resourceType")
	ldapSection := at("$defs", "resourceType", "properties", "ldap")
	// An attribute's mapping is a string (the shorthand) or an object of options.
	attribute := at("$defs", "resourceType", "properties", "attributes", "additionalProperties", "oneOf", 1)
	schema := at("properties", "schemas", "items")
	customAttr := at("properties", "schemas", "items", "properties", "attributes", "additionalProperties")
	for _, c := range []struct {
		what          string
		schema, files []string
	}{
		{"mapping file keys", keys(root), mappingKeys},
		{"directory keys", keys(at("properties", "directory")), directoryKeys},
		{"resource type keys", keys(rt), resourceTypeKeys},
		{"ldap keys", keys(ldapSection), ldapKeys},
		{"attribute options", keys(attribute), attrOptionKeys},
		{"custom schema keys", keys(schema), customSchemaKeys},
		{"custom attribute options", keys(customAttr), customAttrOptions},
		{"unmappedAttributes", enum(root, "unmappedAttributes"), unmappedValues},
		{"directory.flavor", enum(at("properties", "directory"), "flavor"), names(flavors)},
		{"ldap.scope", enum(ldapSection, "scope"), scopes},
		{"ldap.onDelete", enum(ldapSection, "onDelete"), names(onDeletes)},
		{"attribute uniqueness", enum(attribute, "uniqueness"), names(mappedUniqueness)},
		{"attribute mutability", enum(attribute, "mutability"), names(mutabilities)},
		{"attribute returned", enum(attribute, "returned"), names(mappedReturned)},
		{"attribute accountState", enum(attribute, "accountState"), accountStateNames},
		{"attribute pwdLastSet", enum(attribute, "pwdLastSet"), pwdLastSets},
		{"custom attribute type", enum(customAttr, "type"), customTypes},
		{"custom attribute mutability", enum(customAttr, "mutability"), names(mutabilities)},
		{"custom attribute returned", enum(customAttr, "returned"), returnedValues},
		{"custom attribute uniqueness", enum(customAttr, "uniqueness"), names(uniquenessValues)},
	} {
		for _, k := range c.files {
			if !slices.Contains(c.schema, k) {
				t.Errorf("%s: the loader takes %q, mapping.schema.json does not", c.what, k)
			}
		}
		for _, k := range c.schema {
			if !slices.Contains(c.files, k) {
				t.Errorf("%s: mapping.schema.json takes %q, the loader does not", c.what, k)
			}
		}
	}
	for name := range accountStates {
		if !slices.Contains(accountStateNames, name) {
			t.Errorf("accountState %s is not listed in accountStateNames", name)
		}
	}
}

func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
