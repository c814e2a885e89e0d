package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldif"

	"github.com/scim2ldap/scim2ldap/mapping"
)

const explainUsage = `usage: scim2ldap mapping explain [--mapping FILE] [--type User] INPUT
  a dry run, without a directory: INPUT is a SCIM resource (JSON, e.g. a POST body), printed as
  the LDAP entry (LDIF) the gateway would add; or LDIF entries, printed as the SCIM resources the
  gateway would return. INPUT "-" reads standard input. References can't be resolved offline:
  ids show as <DN of User id …>, DNs as <id of …>. A password shows as a comment: the gateway
  sets it with the Password Modify operation, and the directory stores only its hash.
  --mapping FILE   the mapping (default $SCIM2LDAP_MAPPING_FILE, then mappings.example.yaml)
  --type NAME      the resource type INPUT is (default User)
`

// explainCmd implements `scim2ldap mapping explain`. It uses the same mapping
// code as the gateway (WriteValues, ParentDN, AddRequest; FromLDAP).
func explainCmd(args []string, stdout, stderr io.Writer) int {
	m, rt, input, code := mappingVerbArgs("mapping explain", explainUsage, args, stderr)
	if rt == nil {
		return code
	}
	var (
		data []byte
		err  error
	)
	if input == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(input)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap mapping explain: %v\n", err)
		return 1
	}
	if text := strings.TrimSpace(string(data)); strings.HasPrefix(text, "{") {
		err = explainSCIM(rt, data, stdout)
	} else {
		err = explainLDIF(m, rt, text, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap mapping explain: %v\n", err)
		return 1
	}
	return 0
}

// explainSCIM prints the LDIF of the entry a SCIM resource becomes.
func explainSCIM(rt *mapping.ResourceType, data []byte, w io.Writer) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		return fmt.Errorf("the input is not a JSON object: %v", err)
	}
	vals, err := rt.WriteValues(res, func(refTypes, ids []string) (map[string]string, error) {
		out := map[string]string{}
		for _, id := range ids {
			out[id] = fmt.Sprintf("<DN of %s %s>", strings.Join(refTypes, "|"), id)
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	parent, err := rt.ParentDN(res)
	if err != nil {
		return err
	}
	if _, ok, err := rt.Password(res); err != nil {
		return err
	} else if ok {
		fmt.Fprintln(w, "# password: set after the add with the Password Modify extended operation (RFC 3062); the directory stores its hash")
	}
	return ldif.Dump(w, 0, rt.AddRequest(vals, parent))
}

// explainLDIF prints the SCIM resources LDIF entries become.
func explainLDIF(m *mapping.Mapping, rt *mapping.ResourceType, text string, w io.Writer) error {
	l, err := ldif.Parse(text + "\n")
	if err != nil {
		return fmt.Errorf("the input is neither a JSON object nor LDIF: %v", err)
	}
	var entries []*ldap.Entry
	for _, le := range l.Entries {
		switch {
		case le.Entry != nil:
			entries = append(entries, le.Entry)
		case le.Add != nil: // "changetype: add", as explain itself prints
			attrs := map[string][]string{}
			for _, a := range le.Add.Attributes {
				attrs[a.Type] = append(attrs[a.Type], a.Vals...)
			}
			entries = append(entries, ldap.NewEntry(le.Add.DN, attrs))
		}
	}
	if len(entries) == 0 {
		return fmt.Errorf("the LDIF holds no entry")
	}
	var out []any
	for _, e := range entries {
		refs := map[string]mapping.Ref{}
		for _, dn := range rt.ReferenceDNs(e, nil) {
			ref := mapping.Ref{ID: "<id of " + dn + ">"}
			for _, t := range m.TypesBySpecificity() {
				if t.Holds(mapping.RefKey(dn)) {
					ref.Type, ref.Endpoint = t.Name, t.Endpoint
					break
				}
			}
			refs[mapping.RefKey(dn)] = ref
		}
		if e.GetAttributeValue(rt.Dialect().ID) == "" {
			e.Attributes = append(e.Attributes, ldap.NewEntryAttribute(rt.Dialect().ID, []string{"<" + rt.Dialect().ID + ">"}))
		}
		out = append(out, rt.FromLDAP(e, mapping.NewRefs(refs), "https://scim.example.org/scim/v2", nil))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if len(out) == 1 {
		return enc.Encode(out[0])
	}
	return enc.Encode(out)
}
