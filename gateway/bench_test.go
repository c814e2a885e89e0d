package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/rs/zerolog"

	"github.com/scim2ldap/scim2ldap/gateway"
	"github.com/scim2ldap/scim2ldap/ldapstore"
)

// The benchmarks run the same directory work twice: through the gateway (HTTP,
// JSON, mapping, LDAP) and straight to slapd with go-ldap (what a correct SCIM
// operation must ask the directory: for a create, the uniqueness search, the add
// and the read of the new id and meta). The ratio is the gateway's own cost.
//
//	go test -run '^$' -bench . -benchtime 2000x ./gateway/

var benchSeq atomic.Int64

func benchGateway(b *testing.B) (*httptest.Server, *http.Client) {
	gw := gateway.New(gateway.Config{Mapping: exampleMapping(b), Store: openStore(b), Log: zerolog.Nop(), Tokens: []string{token}})
	srv := httptest.NewServer(gw)
	b.Cleanup(srv.Close)
	return srv, srv.Client()
}

func benchLDAP(b *testing.B) *ldap.Conn {
	c, err := ldap.DialURL(slapd.URL)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Bind(slapd.BindDN, slapd.Password); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func benchUser(name string) []byte {
	body, _ := json.Marshal(map[string]any{
		"schemas": []string{userSchema}, "userName": name, "externalId": "ext-" + name,
		"name":   map[string]any{"givenName": "Bench", "familyName": "User"},
		"emails": []any{map[string]any{"type": "work", "value": name + "@example.org", "primary": true}},
		"title":  "Benchmarker",
	})
	return body
}

func gwRequest(b *testing.B, c *http.Client, method, url string, body []byte, want int) []byte {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		b.Fatalf("%s %s: %d %s", method, url, res.StatusCode, out)
	}
	return out
}

var readAttrs = []string{"entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp", "uid", "uniqueIdentifier", "cn", "sn", "givenName", "displayName", "title", "mail", "telephoneNumber", "mobile", "employeeNumber", "departmentNumber", "manager"}

func directCreate(b *testing.B, c *ldap.Conn, name string) string {
	res, err := c.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 2, 0, false,
		"(&(objectClass=inetOrgPerson)(|(uid="+ldap.EscapeFilter(name)+")))", []string{"entryUUID"}, nil))
	if err != nil || len(res.Entries) != 0 {
		b.Fatal("uniqueness search", err)
	}
	dn := "uid=" + ldap.EscapeDN(name) + ",ou=people,dc=example,dc=org"
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson", "extensibleObject"})
	add.Attribute("uid", []string{name})
	add.Attribute("uniqueIdentifier", []string{"ext-" + name})
	add.Attribute("cn", []string{"Bench User"})
	add.Attribute("sn", []string{"User"})
	add.Attribute("givenName", []string{"Bench"})
	add.Attribute("mail", []string{name + "@example.org"})
	add.Attribute("title", []string{"Benchmarker"})
	if err := c.Add(add); err != nil {
		b.Fatal(err)
	}
	res, err = c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 1, 0, false, "(objectClass=*)", readAttrs, nil))
	if err != nil || len(res.Entries) != 1 {
		b.Fatal("read back", err)
	}
	return res.Entries[0].GetAttributeValue("entryUUID")
}

func BenchmarkCreate(b *testing.B) {
	b.Run("gateway", func(b *testing.B) {
		srv, c := benchGateway(b)
		for b.Loop() {
			gwRequest(b, c, "POST", srv.URL+"/scim/v2/Users", benchUser(fmt.Sprintf("bg%d", benchSeq.Add(1))), 201)
		}
	})
	b.Run("direct", func(b *testing.B) {
		c := benchLDAP(b)
		for b.Loop() {
			directCreate(b, c, fmt.Sprintf("bd%d", benchSeq.Add(1)))
		}
	})
}

func BenchmarkGetByID(b *testing.B) {
	c := benchLDAP(b)
	id := directCreate(b, c, fmt.Sprintf("bget%d", benchSeq.Add(1)))
	b.Run("gateway", func(b *testing.B) {
		srv, hc := benchGateway(b)
		for b.Loop() {
			gwRequest(b, hc, "GET", srv.URL+"/scim/v2/Users/"+id, nil, 200)
		}
	})
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			res, err := c.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 2, 0, false,
				"(&(objectClass=inetOrgPerson)(entryUUID="+ldap.EscapeFilter(id)+"))", readAttrs, nil))
			if err != nil || len(res.Entries) != 1 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetGroup10k reads a 10,000-member group with and without its members
// (excludedAttributes=members must not touch the member list).
func BenchmarkGetGroup10k(b *testing.B) {
	dns := addPeople(b, fmt.Sprintf("bg%d-", benchSeq.Add(1)), 10000)
	cn := fmt.Sprintf("Bench10k-%d", benchSeq.Add(1))
	addGroup(b, cn, dns)
	c := benchLDAP(b)
	res, err := c.Search(ldap.NewSearchRequest("ou=groups,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false, "(cn="+cn+")", []string{"entryUUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		b.Fatal(err)
	}
	gid := res.Entries[0].GetAttributeValue("entryUUID")
	srv, hc := benchGateway(b)
	b.Run("withMembers", func(b *testing.B) {
		for b.Loop() {
			body := gwRequest(b, hc, "GET", srv.URL+"/scim/v2/Groups/"+gid, nil, 200)
			if len(body) < 10000*40 {
				b.Fatalf("response too short for 10,000 members: %d bytes", len(body))
			}
		}
	})
	b.Run("excludedMembers", func(b *testing.B) {
		for b.Loop() {
			gwRequest(b, hc, "GET", srv.URL+"/scim/v2/Groups/"+gid+"?excludedAttributes=members", nil, 200)
		}
	})
}

// BenchmarkFilterUserName is Entra's lookup: GET /Users?filter=userName eq "…"
// with one match, against the one LDAP search it needs.
func BenchmarkFilterUserName(b *testing.B) {
	c := benchLDAP(b)
	name := fmt.Sprintf("bfilter%d", benchSeq.Add(1))
	directCreate(b, c, name)
	b.Run("gateway", func(b *testing.B) {
		srv, hc := benchGateway(b)
		u := srv.URL + "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "`+name+`"`)
		for b.Loop() {
			gwRequest(b, hc, "GET", u, nil, 200)
		}
	})
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			res, err := c.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 0, 0, false,
				"(&(objectClass=inetOrgPerson)(uid="+ldap.EscapeFilter(name)+"))", readAttrs, nil))
			if err != nil || len(res.Entries) != 1 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPatchReplace is a PATCH replace of two attributes: the read for the
// update, the guarded modify and the read of the result.
func BenchmarkPatchReplace(b *testing.B) {
	c := benchLDAP(b)
	name := fmt.Sprintf("bpatch%d", benchSeq.Add(1))
	id := directCreate(b, c, name)
	b.Run("gateway", func(b *testing.B) {
		srv, hc := benchGateway(b)
		i := 0
		for b.Loop() {
			i++
			body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"P %d"},{"op":"Replace","path":"title","value":"T %d"}]}`, i, i)
			gwRequest(b, hc, "PATCH", srv.URL+"/scim/v2/Users/"+id, []byte(body), 200)
		}
	})
	b.Run("direct", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			res, err := c.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=org", ldap.ScopeSingleLevel, 0, 2, 0, false,
				"(&(objectClass=inetOrgPerson)(entryUUID="+id+"))", readAttrs, nil))
			if err != nil || len(res.Entries) != 1 {
				b.Fatal(err)
			}
			m := ldap.NewModifyRequest(res.Entries[0].DN, []ldap.Control{&ldapstore.AssertionControl{Filter: "(entryCSN=" + ldap.EscapeFilter(res.Entries[0].GetAttributeValue("entryCSN")) + ")"}})
			m.Replace("displayName", []string{fmt.Sprintf("P %d", i)})
			m.Replace("title", []string{fmt.Sprintf("T %d", i)})
			if err := c.Modify(m); err != nil {
				b.Fatal(err)
			}
			if back, err := c.Search(ldap.NewSearchRequest(res.Entries[0].DN, ldap.ScopeBaseObject, 0, 1, 0, false, "(objectClass=*)", readAttrs, nil)); err != nil || len(back.Entries) != 1 {
				b.Fatal("read back", err)
			}
		}
	})
}

// BenchmarkGetByIDParallel is GET /Users/{id} with 32 concurrent clients (the
// harness's load, in one process): for profiles of the gateway under load.
//
//	go test -run '^$' -bench GetByIDParallel -benchtime 20000x -cpuprofile cpu.out ./gateway/
func BenchmarkGetByIDParallel(b *testing.B) {
	c := benchLDAP(b)
	id := directCreate(b, c, fmt.Sprintf("bgetp%d", benchSeq.Add(1)))
	srv, hc := benchGateway(b)
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.SetParallelism(16) // × GOMAXPROCS (2) = 32 clients
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			gwRequest(b, hc, "GET", srv.URL+"/scim/v2/Users/"+id, nil, 200)
		}
	})
}
