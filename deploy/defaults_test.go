package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/shardrunner"
	ctcdynamodb "github.com/coattailcapital/ctc/sink/dynamodb"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
)

// These tests read the Terraform's defaults without a provider (they run in the test command)
// and compare them with the code's constants where the two must agree: a deployment with the
// defaults then does what the code does when nobody configures it.

// hclBody parses one .tf file of deploy/terraform.
func hclBody(t *testing.T, name string) *hclsyntax.Body {
	t.Helper()
	path := filepath.Join("terraform", name)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	return f.Body.(*hclsyntax.Body)
}

// tfDefaults returns the constant default of every variable in terraform/variables.tf.
func tfDefaults(t *testing.T) map[string]cty.Value {
	t.Helper()
	out := map[string]cty.Value{}
	for _, b := range hclBody(t, "variables.tf").Blocks {
		if b.Type != "variable" || len(b.Labels) != 1 {
			continue
		}
		if a, ok := b.Body.Attributes["default"]; ok {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("variable %s: default is not a constant: %v", b.Labels[0], diags)
			}
			out[b.Labels[0]] = v
		}
	}
	return out
}

// tfLocal evaluates the constant local NAME of terraform/FILE.
func tfLocal(t *testing.T, file, name string) cty.Value {
	t.Helper()
	for _, b := range hclBody(t, file).Blocks {
		if b.Type != "locals" {
			continue
		}
		if a, ok := b.Body.Attributes[name]; ok {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("%s: local.%s is not a constant: %v", file, name, diags)
			}
			return v
		}
	}
	t.Fatalf("%s: no local %s", file, name)
	return cty.NilVal
}

func ctyStrings(t *testing.T, what string, v cty.Value) []string {
	t.Helper()
	if v.IsNull() || !(v.Type().IsListType() || v.Type().IsTupleType()) {
		t.Fatalf("%s is %s, want a list of strings", what, v.Type().FriendlyName())
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		if e.Type() != cty.String {
			t.Fatalf("%s holds a %s, want strings", what, e.Type().FriendlyName())
		}
		out = append(out, e.AsString())
	}
	return out
}

func ctyString(t *testing.T, what string, v cty.Value) string {
	t.Helper()
	if v.IsNull() || v.Type() != cty.String {
		t.Fatalf("%s is %s, want a string", what, v.Type().FriendlyName())
	}
	return v.AsString()
}

// goStrings returns the string literals of the package-level var or const NAME in the Go file
// PATH (from the module root): one for a string, several for a []string literal. It reads the
// source because some of these live in internal packages this one cannot import.
func goStrings(t *testing.T, path, name string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", path), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range g.Specs {
			vs, ok := s.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, id := range vs.Names {
				if id.Name != name || i >= len(vs.Values) {
					continue
				}
				var lits []ast.Expr
				switch v := vs.Values[i].(type) {
				case *ast.BasicLit:
					lits = []ast.Expr{v}
				case *ast.CompositeLit:
					lits = v.Elts
				}
				var out []string
				for _, e := range lits {
					bl, ok := e.(*ast.BasicLit)
					if !ok || bl.Kind != token.STRING {
						t.Fatalf("%s: %s is not made of string literals", path, name)
					}
					s, _ := strconv.Unquote(bl.Value)
					out = append(out, s)
				}
				return out
			}
		}
	}
	t.Fatalf("%s: no var or const %s", path, name)
	return nil
}

// TestDefaultsAgreeWithCode compares variables.tf's defaults and main.tf's constants with the
// code's.
func TestDefaultsAgreeWithCode(t *testing.T) {
	defs := tfDefaults(t)
	need := func(name string) cty.Value {
		t.Helper()
		v, ok := defs[name]
		if !ok {
			t.Fatalf("variables.tf: variable %s has no default", name)
		}
		return v
	}

	// The scheduled historical load and the batch Lambda's own default (an input without
	// symbols) load the same symbols.
	batchDefault := goStrings(t, "adapters/lambda/internal/batchfn/batchfn.go", "DefaultSymbols")
	if got := ctyStrings(t, "batch_symbols", need("batch_symbols")); !slices.Equal(got, batchDefault) {
		t.Errorf("variable batch_symbols defaults to %q, the batch code (batchfn.DefaultSymbols) to %q", got, batchDefault)
	}

	// The hosted producer watches what the producer watches by default (CTC_SYMBOLS).
	if v, ok := defs["producer_symbols"]; ok {
		if got := ctyString(t, "producer_symbols", v); got != awsenv.DefaultSymbols {
			t.Errorf("variable producer_symbols defaults to %q, the producer (awsenv.DefaultSymbols) to %q", got, awsenv.DefaultSymbols)
		}
	}

	// Names: with the default project the deployment's names are the code's defaults, so a
	// program run without CTC_* variables finds the deployed stream, tables and namespace.
	project := ctyString(t, "project", need("project"))
	for suffix, code := range map[string]string{
		"-trades":       sinkkinesis.DefaultStream,
		"-alerts":       ctcdynamodb.DefaultAlertsTable,
		"-aggregates":   ctcdynamodb.DefaultAggregatesTable,
		"-shard-state":  shardrunner.DefaultStateTable,
		"-shard-leases": shardrunner.DefaultLeaseTable,
	} {
		if project+suffix != code {
			t.Errorf("project %q names %q, the code's default is %q", project, project+suffix, code)
		}
	}
	if ns := goStrings(t, "sink/iceberg/schema.go", "DefaultNamespace"); project != ns[0] {
		t.Errorf("project %q is the Glue database; the code's default namespace (iceberg.DefaultNamespace) is %q", project, ns[0])
	}

	// EMF namespaces: the alarms and dashboard (main.tf's local.namespaces) watch what the code
	// emits by default (and CTC_METRICS_NAMESPACE_* pass the same values to the Lambdas).
	ns := tfLocal(t, "main.tf", "namespaces").AsValueMap()
	for key, code := range map[string]string{"quality": emf.QualityNamespace, "alerts": emf.AlertsNamespace, "batch": emf.BatchNamespace} {
		if v, ok := ns[key]; !ok || v.AsString() != code {
			t.Errorf("main.tf local.namespaces[%q] = %v, emf's default is %q", key, v, code)
		}
	}

	// Region: Binance answers HTTP 451 ("unavailable for legal reasons") to addresses in the US,
	// AWS's US regions included, so the stack's default region must be one it serves (the batch
	// Lambda's historical load calls its REST API from the stack's region).
	if region := ctyString(t, "region", need("region")); strings.HasPrefix(region, "us-") {
		t.Errorf("variable region defaults to %s: Binance refuses US addresses (HTTP 451)", region)
	}
}

// TestExampleVarsAreDeclared: every entry of example.tfvars (which check-infra.sh --plan plans
// with) is a declared variable, and every variable without a default has an entry, so the plan
// needs no input.
func TestExampleVarsAreDeclared(t *testing.T) {
	declared := map[string]bool{}
	defs := tfDefaults(t)
	for _, b := range hclBody(t, "variables.tf").Blocks {
		if b.Type == "variable" && len(b.Labels) == 1 {
			declared[b.Labels[0]] = true
		}
	}
	example := hclBody(t, "example.tfvars")
	for name := range example.Attributes {
		if !declared[name] {
			t.Errorf("example.tfvars sets %s, which variables.tf does not declare", name)
		}
	}
	for name := range declared {
		if _, ok := defs[name]; !ok && example.Attributes[name] == nil {
			t.Errorf("variable %s has no default and no entry in example.tfvars: check-infra.sh --plan would stop for input", name)
		}
	}
}
