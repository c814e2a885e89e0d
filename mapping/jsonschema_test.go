package mapping

import (
	"os"
	"path/filepath"
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
