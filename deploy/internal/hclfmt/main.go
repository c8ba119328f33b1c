// Command hclfmt checks that .tf and .tfvars files are in HCL's canonical format — the
// formatting `terraform fmt` and `tofu fmt` apply, computed by hclwrite.Format, the same library
// they use. scripts/check-infra.sh runs it when neither terraform nor tofu is installed (OpenTofu
// cannot be installed with go install: its go.mod has replace directives).
//
//	go run ./deploy/internal/hclfmt [-w] DIR...
//
// It walks each DIR, prints the name of every file whose bytes differ from their formatted form
// (and a line-by-line diff of the first difference), and exits 1 if any did; with -w it rewrites
// them instead. A file that does not parse is an error (exit 2).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

func main() {
	write := flag.Bool("w", false, "rewrite files in canonical format instead of reporting them")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: hclfmt [-w] DIR...")
		os.Exit(2)
	}
	unformatted, err := run(flag.Args(), *write)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hclfmt:", err)
		os.Exit(2)
	}
	if unformatted > 0 && !*write {
		os.Exit(1)
	}
}

// run checks (or rewrites) every .tf and .tfvars file under dirs and returns how many were not
// in canonical format.
func run(dirs []string, write bool) (int, error) {
	n := 0
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".terraform" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".tf") && !strings.HasSuffix(path, ".tfvars") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if _, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos); diags.HasErrors() {
				return fmt.Errorf("%s does not parse: %s", path, diags.Error())
			}
			out := hclwrite.Format(src)
			if bytes.Equal(src, out) {
				return nil
			}
			n++
			if write {
				return os.WriteFile(path, out, 0o644)
			}
			fmt.Println(path)
			printFirstDiff(src, out)
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// printFirstDiff prints the first line that differs between a file and its formatted form.
func printFirstDiff(a, b []byte) {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			fmt.Printf("  line %d:\n  - %s\n  + %s\n", i+1, al[i], bl[i])
			return
		}
	}
	fmt.Printf("  line count differs: %d, formatted %d\n", len(al), len(bl))
}
