package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/scim2ldap/scim2ldap/ldapstore"
	"github.com/scim2ldap/scim2ldap/mapping/draft"
)

const initUsage = `usage: scim2ldap mapping init --ldap-url URL [--idp entra|okta] [-o FILE] [flags]
  drafts a mapping file from the live directory: reads the root DSE and the schema (cn=Subschema),
  detects the flavor (OpenLDAP, Active Directory / Samba AD, 389 DS), finds the user and group
  containers and object classes, maps the well-known LDAP attributes to their SCIM paths, and
  offers the other attributes the object classes allow as a generated extension schema typed from
  their LDAP syntaxes. The draft is commented YAML that passes mapping check --ldap-url against
  the same directory; read it before you serve it. Read-only. Defaults come from the gateway's
  own SCIM2LDAP_* variables; the bind password only from them or a file.
` + ldapFlagsUsage + `  --idp entra|okta             also print, on stderr, the attribute mappings to configure in the IdP
  -o FILE                      write the draft to FILE (refused when it exists) instead of stdout
  --map-all                    map every attribute of the generated extension schemas instead of
                               writing their lines commented out
`

// initFlags are mapping init's flags (initUsage describes each).
type initFlags struct {
	fs       *flag.FlagSet
	ldap     ldapFlags
	idp, out *string
	mapAll   *bool
}

func newInitFlags() initFlags {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return initFlags{fs: fs,
		ldap:   addLDAPFlags(fs),
		idp:    fs.String("idp", "", ""),
		out:    fs.String("o", "", ""),
		mapAll: fs.Bool("map-all", false, ""),
	}
}

// mappingInit implements `scim2ldap mapping init`: draft.Read, then
// draft.Draft, the YAML on stdout (or -o FILE) and the IdP's table on stderr.
// Exit 0 with a draft, 1 when the directory cannot be read, 2 for bad usage.
func mappingInit(args []string, stdout, stderr io.Writer) int {
	f := newInitFlags()
	if !parseFlags(f.fs, args, "mapping init", initUsage, stderr) {
		return 2
	}
	if *f.idp != "" && *f.idp != "entra" && *f.idp != "okta" {
		fmt.Fprintf(stderr, "scim2ldap mapping init: --idp %q: entra or okta\n", *f.idp)
		return 2
	}
	if *f.out != "" {
		// Checked again when the file is created (O_EXCL); here, before the directory is read.
		if _, err := os.Lstat(*f.out); !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "scim2ldap mapping init: %s\n", existsMsg(*f.out, err))
			return 2
		}
	}
	ldapCfg, err := f.ldap.config(1)
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap mapping init: %v\n", err)
		return 2
	}
	store, err := ldapstore.Open(ldapCfg)
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap mapping init: %v\n", err)
		return 1
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	facts, err := draft.Read(ctx, store, ldapCfg.URL)
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap mapping init: %v\n", err)
		return 1
	}
	file := *f.out
	if file == "" {
		file = "mapping-init.yaml"
	}
	res, err := draft.Draft(facts, draft.Options{IdP: *f.idp, MapAll: *f.mapAll, File: file})
	if err != nil {
		fmt.Fprintf(stderr, "scim2ldap mapping init: %v\n", err)
		return 1
	}
	if *f.out == "" {
		stdout.Write(res.YAML)
	} else {
		out, err := os.OpenFile(*f.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			fmt.Fprintf(stderr, "scim2ldap mapping init: %s\n", existsMsg(*f.out, nil))
			return 2
		}
		if err == nil {
			_, err = out.Write(res.YAML)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "scim2ldap mapping init: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "scim2ldap mapping init: wrote %s (%s: users in %s, groups in %s)\n", *f.out, facts.Flavor, facts.Users.DN, facts.Groups.DN)
	}
	if res.IdPTable != "" {
		fmt.Fprint(stderr, res.IdPTable)
	}
	return 0
}

// existsMsg says why -o FILE is refused: it exists (err nil), or it could not
// be looked at.
func existsMsg(file string, err error) string {
	if err != nil {
		return fmt.Sprintf("-o %s: %v", file, err)
	}
	return file + " exists: remove it or name another file (a draft never overwrites a mapping)"
}
