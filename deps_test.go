package ctc_test

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Dependencies stay where they are used (DESIGN §2): a program that imports the vocabulary, the
// detectors and the engine, or runs ctc on Kafka, links no cloud SDK, Iceberg or WebSocket
// library. The import graph is go list's, so a new import anywhere below these packages — in
// ctc or in a dependency — that pulls one in fails here, with the chain of imports that did.
func TestDependenciesStayWhereUsed(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the import graph with")
	}
	const mod = "github.com/coattailcapital/ctc"
	vocabulary := []string{"github.com/aws/", "github.com/apache/iceberg-go", "github.com/gorilla/websocket"}
	for _, c := range []struct {
		pkg       string
		forbidden []string // module path prefixes
	}{
		{mod, vocabulary},
		{mod + "/detect", vocabulary},
		{mod + "/window", vocabulary},
		{mod + "/quality", vocabulary},
		// The engine every host shares, and the Kafka consumer: a Kafka user imports shardrunner
		// only for DynamoStateStore.
		{mod + "/partrunner", vocabulary},
		{mod + "/kafkarunner", []string{"github.com/aws/"}},
	} {
		name := strings.TrimPrefix(strings.TrimPrefix(c.pkg, mod), "/")
		if name == "" {
			name = "ctc"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(goBin, "list", "-deps",
				"-f", "{{.ImportPath}}\t{{with .Module}}{{.Path}}{{end}}\t{{join .Imports \" \"}}", c.pkg).Output()
			if err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					t.Fatalf("go list -deps %s: %v\n%s", c.pkg, err, ee.Stderr)
				}
				t.Fatalf("go list -deps %s: %v", c.pkg, err)
			}
			imports, module := map[string][]string{}, map[string]string{}
			for line := range strings.Lines(strings.TrimSpace(string(out))) {
				f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
				if len(f) != 3 {
					t.Fatalf("go list printed %q", line)
				}
				module[f[0]], imports[f[0]] = f[1], strings.Fields(f[2])
			}
			if _, ok := module[c.pkg]; !ok {
				t.Fatalf("go list -deps %s did not list the package itself", c.pkg)
			}
			bad := func(p string) bool {
				return slices.ContainsFunc(c.forbidden, func(f string) bool { return strings.HasPrefix(module[p], f) })
			}
			// Name each way in, not all it brings along: a forbidden package imported by an allowed one.
			entries := map[string]bool{}
			for p, ims := range imports {
				if !bad(p) {
					for _, q := range ims {
						if bad(q) {
							entries[q] = true
						}
					}
				}
			}
			for _, p := range slices.Sorted(maps.Keys(entries)) {
				t.Errorf("%s depends on module %s: %s", c.pkg, module[p], strings.Join(chain(imports, c.pkg, p), " → "))
			}
		})
	}
}

// chain is a shortest import path from one package to another.
func chain(imports map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var path []string
			for ; p != ""; p = prev[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			return path
		}
		for _, q := range imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return []string{from, "…", to}
}
