package main

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// Help is asked for, so it goes to stdout and exits 0, for every command and
// every way of asking; the text describes the command.
func TestHelpExitsZeroEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "serve"}, {"help", "mapping", "check"}, {"help", "mapping"},
		{"serve", "--help"}, {"serve", "-h"}, {"doctor", "--help"}, {"healthcheck", "-h"},
		{"mapping", "--help"}, {"mapping", "check", "--help"}, {"mapping", "check", "--ldap-url", "ldap://x", "-h"},
		{"mapping", "explain", "-help"}, {"filter", "--help"}, {"version", "--help"},
	} {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if code != 0 || errOut.Len() != 0 || !strings.Contains(strings.ToLower(out.String()), "usage") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errOut.String())
		}
	}
	// After "--", --help is an operand, not a request for help.
	var out, errOut bytes.Buffer
	if code := run([]string{"mapping", "check", "--", "--help"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "--help") {
		t.Errorf("a file named --help: exit %d, %s", code, errOut.String())
	}
	// Bad usage is still 2, on stderr.
	out.Reset()
	errOut.Reset()
	if code := run([]string{"help", "frobnicate"}, &out, &errOut); code != 2 || out.Len() != 0 {
		t.Errorf("help for an unknown command: exit %d", code)
	}
	if code := run([]string{"serve", "extra"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "serve --help") {
		t.Errorf("serve with an argument: exit %d: %s", code, errOut.String())
	}
}

// The top-level usage names every command; each command's usage names each of
// its flags.
func TestHelpDescribesEveryVerbAndFlag(t *testing.T) {
	for name := range commands {
		if !strings.Contains(usage, "scim2ldap "+name) {
			t.Errorf("the usage does not describe %q", name)
		}
	}
	for _, name := range []string{"mapping explain", "filter"} { // mappingVerbArgs' flags
		for _, f := range []string{"--mapping FILE ", "--type NAME "} {
			if !strings.Contains(commands[name].usage, f) {
				t.Errorf("%s --help does not describe %s", name, f)
			}
		}
	}
	for name, fs := range map[string]*flag.FlagSet{"doctor": newDoctorFlags().fs, "mapping check": newCheckFlags().fs} {
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(commands[name].usage, "--"+f.Name+" ") {
				t.Errorf("%s --help does not describe --%s", name, f.Name)
			}
		})
	}
}

// serve --help lists every variable Config reads with its default, from the
// struct's tags.
func TestServeHelpListsEveryVariable(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	known := knownVariables()
	if len(known) < 30 {
		t.Fatalf("only %d variables known: %v", len(known), known)
	}
	for _, k := range known {
		if !strings.Contains(out.String(), "  "+k+" ") {
			t.Errorf("serve --help lacks %s", k)
		}
	}
	for _, want := range []string{`SCIM2LDAP_LDAP_CONNS\s+Integer\s+4\s+shared LDAP connections`, `SCIM2LDAP_WRITE_TIMEOUT\s+Duration\s+60s\s`,
		`SCIM2LDAP_MAPPING_FILE\s+String\s+mappings.example.yaml\s`, `SCIM2LDAP_CPU_PROFILE\s`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("serve --help lacks %s:\n%s", want, out.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var a, b, errOut bytes.Buffer
	if run([]string{"--version"}, &a, &errOut) != 0 || run([]string{"version"}, &b, &errOut) != 0 || a.String() != b.String() {
		t.Fatalf("--version %q, version %q", a.String(), b.String())
	}
	// A test binary has no module version or VCS stamp: the fallbacks.
	if want := "scim2ldap dev (revision unknown, " + runtime.Version() + ")\n"; a.String() != want {
		t.Errorf("got %q, want %q", a.String(), want)
	}
	// -ldflags "-X main.version=… -X main.revision=…" wins.
	defer func(v, r string) { version, revision = v, r }(version, revision)
	version, revision = "v1.2.3", "0123abc"
	a.Reset()
	run([]string{"--version"}, &a, &errOut)
	if want := "scim2ldap v1.2.3 (revision 0123abc, " + runtime.Version() + ")\n"; a.String() != want {
		t.Errorf("got %q, want %q", a.String(), want)
	}
}

// The start-up log line and /metrics name the build; the log line also the
// memory in force (memory_limit, list_memory, in bytes).
func TestBuildInfoLoggedAndExported(t *testing.T) {
	defer func(v, r string) { version, revision = v, r }(version, revision)
	version, revision = "v0.9.0-test", "feedbeef"
	base, logs := startServe(t, map[string]string{"BEARER_TOKENS": "build-info-test-token", "MAPPING_FILE": "../../mappings.example.yaml",
		"LIST_MEMORY_BYTES": "12345678"})
	if !regexp.MustCompile(`"version":"v0.9.0-test","revision":"feedbeef".*"memory_limit":\d+,"list_memory":12345678,.*"message":"scim2ldap serving"`).MatchString(logs.String()) {
		t.Errorf("start-up line: %s", logs.String())
	}
	res, err := http.Get(strings.TrimSuffix(base, "/scim/v2") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	want := `scim2ldap_build_info{goversion="` + runtime.Version() + `",revision="feedbeef",version="v0.9.0-test"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
