package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const emfImport = "github.com/coattailcapital/ctc/metrics/emf"

// TestEMFCallSitesPassNoDimensions keeps true what TestPlanAlarmMetrics assumes of the code's EMF
// lines: Quality, Alerts and Batch are emitted with no dimension, BatchJob with its Job only, and
// no logger has base dimensions (emf.Config.Dimensions). A CloudWatch metric is its namespace,
// name and full set of dimensions, so an alarm on QualityScore without dimensions would never see
// a QualityScore emitted with one. It reads the module's Go source (not tests): a call of those
// methods with more arguments, an emf.Dimension literal or a Dimensions field outside package emf
// fails it, with the place to change.
func TestEMFCallSitesPassNoDimensions(t *testing.T) {
	maxArgs := map[string]int{"Quality": 1, "Alerts": 1, "Batch": 1, "BatchJob": 2}
	root := ".."
	files, calls := 0, 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".tools", "node_modules", "build", "testdata", "bench", "out":
				return filepath.SkipDir
			}
			if filepath.Base(filepath.Dir(p)) == "metrics" && d.Name() == "emf" {
				return filepath.SkipDir // the emitter itself
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		emfName := ""
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == emfImport {
				emfName = "emf"
				if imp.Name != nil {
					emfName = imp.Name.Name
				}
			}
		}
		if emfName == "" {
			return nil // the emitter's methods are reachable without the import (awsenv's Env.Metrics), but not its Dimension type
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					max, ok := maxArgs[sel.Sel.Name]
					if ok && !isPkg(sel.X) {
						calls++
					}
					if ok && len(n.Args) > max && !isPkg(sel.X) {
						t.Errorf("%s: %s(…) with %d arguments passes EMF dimensions: update TestPlanAlarmMetrics's emitted() and the alarms", fset.Position(n.Pos()), sel.Sel.Name, len(n.Args))
					}
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && isIdent(sel.X, emfName) {
					switch sel.Sel.Name {
					case "Dimension":
						t.Errorf("%s: an emf.Dimension: the metrics gain a dimension; update TestPlanAlarmMetrics's emitted() and the alarms", fset.Position(n.Pos()))
					case "Config":
						for _, e := range n.Elts {
							if kv, ok := e.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Dimensions") {
								t.Errorf("%s: emf.Config with Dimensions: every metric gains them; update TestPlanAlarmMetrics's emitted() and the alarms", fset.Position(n.Pos()))
							}
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 || calls == 0 {
		t.Fatalf("%d Go files import the EMF package, %d calls of its emitting methods: the walk found nothing to check", files, calls)
	}
	t.Logf("%d files importing the EMF package, %d emitting calls checked", files, calls)
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// isPkg reports whether x looks like a package name (a call such as quality.Alerts(...) is no
// method call on a logger): a lower-case identifier that is not a local variable can't be told
// apart syntactically, so only well-known package qualifiers are excluded.
func isPkg(x ast.Expr) bool {
	id, ok := x.(*ast.Ident)
	return ok && (id.Name == "emf" || id.Name == "quality" || id.Name == "ctc")
}
