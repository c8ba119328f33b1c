package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/kafkaenv"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/shardrunner"
	ctcdynamodb "github.com/coattailcapital/ctc/sink/dynamodb"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
)

// The TestPlan* tests read the JSON of a real plan of deploy/terraform (terraform show -json),
// which `bash scripts/check-infra.sh --plan` makes with the AWS provider it builds, offline, from
// example.tfvars, and saves to planPath. Without that file they skip (the provider takes 40-80 min to
// build, so the test command does not make it); the script runs them with CTC_REQUIRE_PLAN=1, which
// turns the skip into a failure.
const planPath = "../build/infra/plan.json"

// tfPlan is the part of Terraform's JSON plan format (format_version 1.x) the tests read.
type tfPlan struct {
	FormatVersion    string `json:"format_version"`
	TerraformVersion string `json:"terraform_version"`
	PlannedValues    struct {
		RootModule tfModule `json:"root_module"`
	} `json:"planned_values"`
	PriorState struct {
		Values struct {
			RootModule tfModule `json:"root_module"`
		} `json:"values"`
	} `json:"prior_state"`
	ResourceChanges []tfChange `json:"resource_changes"`
	Configuration   struct {
		RootModule tfConfigModule `json:"root_module"`
	} `json:"configuration"`
}

type tfModule struct {
	Address      string       `json:"address"`
	Resources    []tfResource `json:"resources"`
	ChildModules []tfModule   `json:"child_modules"`
}

type tfResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Values  map[string]any `json:"values"`
}

type tfChange struct {
	Address       string `json:"address"`
	ModuleAddress string `json:"module_address"`
	Mode          string `json:"mode"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	Change        struct {
		Actions      []string       `json:"actions"`
		After        map[string]any `json:"after"`
		AfterUnknown map[string]any `json:"after_unknown"`
	} `json:"change"`
}

type tfConfigModule struct {
	Resources []struct {
		Address     string                     `json:"address"`
		Mode        string                     `json:"mode"`
		Type        string                     `json:"type"`
		Expressions map[string]json.RawMessage `json:"expressions"`
		ForEach     json.RawMessage            `json:"for_each_expression"`
	} `json:"resources"`
	ModuleCalls map[string]struct {
		Module tfConfigModule `json:"module"`
	} `json:"module_calls"`
}

var (
	planOnce sync.Once
	planVal  *tfPlan
	planErr  error
)

// loadPlan returns the plan, or skips the test (fails it under CTC_REQUIRE_PLAN) when there is none.
func loadPlan(t *testing.T) *tfPlan {
	t.Helper()
	planOnce.Do(func() {
		data, err := os.ReadFile(planPath)
		if err != nil {
			planErr = err
			return
		}
		var p tfPlan
		if err := json.Unmarshal(data, &p); err != nil {
			planErr = fmt.Errorf("%s: %w", planPath, err)
			return
		}
		if !strings.HasPrefix(p.FormatVersion, "1.") {
			planErr = fmt.Errorf("%s: plan format_version %q, the tests read 1.x", planPath, p.FormatVersion)
			return
		}
		planVal = &p
	})
	switch {
	case planErr == nil:
		return planVal
	case os.IsNotExist(planErr) && os.Getenv("CTC_REQUIRE_PLAN") == "":
		t.Skipf("no plan at %s: run `bash scripts/check-infra.sh --plan` (it builds the Terraform AWS provider once, 40-80 min, then validates and plans deploy/terraform offline and saves the plan's JSON there)", planPath)
	}
	t.Fatal(planErr)
	return nil
}

// managed lists the plan's managed resources (planned_values), in every module.
func (p *tfPlan) managed() []tfResource {
	var out []tfResource
	var walk func(m tfModule)
	walk = func(m tfModule) {
		for _, r := range m.Resources {
			if r.Mode == "managed" {
				out = append(out, r)
			}
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(p.PlannedValues.RootModule)
	return out
}

func (p *tfPlan) ofType(typ string) []tfResource {
	var out []tfResource
	for _, r := range p.managed() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// accountID is the account the plan's aws_caller_identity read (deploy/internal/fakests's).
func (p *tfPlan) accountID(t *testing.T) string {
	t.Helper()
	var walk func(m tfModule) string
	walk = func(m tfModule) string {
		for _, r := range m.Resources {
			if r.Type == "aws_caller_identity" {
				return str(r.Values["account_id"])
			}
		}
		for _, c := range m.ChildModules {
			if a := walk(c); a != "" {
				return a
			}
		}
		return ""
	}
	a := walk(p.PriorState.Values.RootModule)
	if a == "" {
		t.Fatal("the plan read no aws_caller_identity")
	}
	return a
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs returns v's strings, whether v is one string or a list of them.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// block returns the first element of a nested block (a list of objects in the plan's JSON).
func block(v any) map[string]any {
	if l, ok := v.([]any); ok && len(l) > 0 {
		m, _ := l[0].(map[string]any)
		return m
	}
	return nil
}

func blocks(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func names(rs []tfResource, attr string) []string {
	var out []string
	for _, r := range rs {
		out = append(out, str(r.Values[attr]))
	}
	sort.Strings(out)
	return out
}

// TestPlanPromisedResources: every resource README "Deploy to AWS" promises is in the plan, named
// as the code's defaults name it (example.tfvars keeps the default project).
func TestPlanPromisedResources(t *testing.T) {
	p := loadPlan(t)
	account := p.accountID(t)
	project := strings.TrimSuffix(sinkkinesis.DefaultStream, "-trades")

	wantNames := []struct {
		typ, attr, what string
		want            []string
	}{
		{"aws_kinesis_stream", "name", "the trade stream and its DLQ", []string{sinkkinesis.DefaultStream, sinkkinesis.DefaultStream + "-dlq"}},
		{"aws_s3_bucket", "bucket", "raw, processed (the warehouse) and Athena results buckets", []string{
			project + "-athena-results-" + account, project + "-processed-" + account, project + "-raw-" + account}},
		{"aws_glue_catalog_database", "name", "the Glue database", []string{project}},
		{"aws_dynamodb_table", "name", "the four DynamoDB tables", []string{
			ctcdynamodb.DefaultAggregatesTable, ctcdynamodb.DefaultAlertsTable, shardrunner.DefaultLeaseTable, shardrunner.DefaultStateTable}},
		{"aws_lambda_function", "function_name", "the three Lambdas", []string{project + "-api", project + "-batch", project + "-stream"}},
		{"aws_sqs_queue", "name", "the stream Lambda's on-failure queue", []string{project + "-stream-failures"}},
		{"aws_apigatewayv2_api", "name", "the HTTP API", []string{project + "-api"}},
		{"aws_sfn_state_machine", "name", "the batch workflow", []string{project + "-batch-workflow"}},
		{"aws_cloudwatch_dashboard", "dashboard_name", "the CloudWatch dashboard", []string{project}},
		{"aws_athena_workgroup", "name", "the analyst workgroup", []string{project + "-analyst"}},
		{"aws_cognito_user_pool", "name", "the API's user pool", []string{project + "-api-users"}},
	}
	for _, w := range wantNames {
		if got := names(p.ofType(w.typ), w.attr); !slices.Equal(got, w.want) {
			t.Errorf("%s (%s): planned %q, want %q", w.what, w.typ, got, w.want)
		}
	}

	// Named resources that must be among others of their type.
	contains := []struct {
		typ, attr string
		want      []string
	}{
		{"aws_iam_role", "name", []string{project + "-stream-lambda", project + "-api-lambda", project + "-batch-lambda",
			project + "-batch-workflow", project + "-batch-schedule", project + "-producer", project + "-consumer", project + "-analyst"}},
		{"aws_cloudwatch_event_rule", "name", []string{project + "-batch-daily"}},
		{"aws_sns_topic", "name", []string{project + "-alarms"}},
		{"aws_ssm_parameter", "name", []string{"/" + project + "/stream", "/" + project + "/alerts-table", "/" + project + "/warehouse", "/" + project + "/api-url"}},
	}
	for _, c := range contains {
		got := names(p.ofType(c.typ), c.attr)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("no %s named %s in the plan (planned: %q)", c.typ, w, got)
			}
		}
	}

	for typ, min := range map[string]int{
		"aws_lambda_event_source_mapping": 1, "aws_apigatewayv2_stage": 1, "aws_cloudwatch_metric_alarm": 4,
		"aws_lakeformation_permissions": 2, "aws_cognito_user_pool_client": 1, "aws_s3_bucket_lifecycle_configuration": 3,
		"aws_s3_bucket_public_access_block": 3, "aws_s3_bucket_server_side_encryption_configuration": 3,
	} {
		if n := len(p.ofType(typ)); n < min {
			t.Errorf("%d %s planned, want at least %d", n, typ, min)
		}
	}

	// The Lambdas: arm64, provided.al2023, bootstrap (scripts/build-lambdas.sh's zips).
	for _, f := range p.ofType("aws_lambda_function") {
		if arch := strs(f.Values["architectures"]); !slices.Equal(arch, []string{"arm64"}) || str(f.Values["runtime"]) != "provided.al2023" || str(f.Values["handler"]) != "bootstrap" {
			t.Errorf("%s: architectures %q runtime %q handler %q, want arm64 provided.al2023 bootstrap", f.Address, arch, f.Values["runtime"], f.Values["handler"])
		}
	}

	// The alerts table: the key and indexes sink/dynamodb queries, TTL; PITR on every table.
	for _, tb := range p.ofType("aws_dynamodb_table") {
		if pitr := block(tb.Values["point_in_time_recovery"]); pitr == nil || pitr["enabled"] != true {
			t.Errorf("%s: point-in-time recovery is off", tb.Address)
		}
		if str(tb.Values["name"]) != ctcdynamodb.DefaultAlertsTable {
			continue
		}
		var idx []string
		for _, g := range blocks(tb.Values["global_secondary_index"]) {
			idx = append(idx, str(g["name"]))
		}
		sort.Strings(idx)
		if want := []string{ctcdynamodb.SymbolTimeIndex, ctcdynamodb.TypeTimeIndex}; !slices.Equal(idx, want) {
			t.Errorf("%s: indexes %q, want %q (package sink/dynamodb)", tb.Address, idx, want)
		}
		if ttl := block(tb.Values["ttl"]); ttl == nil || ttl["enabled"] != true || ttl["attribute_name"] != "ttl_epoch" {
			t.Errorf("%s: ttl %v, want enabled on ttl_epoch", tb.Address, ttl)
		}
	}

	// The API: data routes behind the JWT authorizer, only the page, its files and the health
	// check open.
	open := map[string]bool{"GET /": true, "GET /index.html": true, "GET /static/{file}": true, "GET /healthz": true}
	routes := p.ofType("aws_apigatewayv2_route")
	if len(routes) == 0 {
		t.Error("no API routes planned")
	}
	for _, r := range routes {
		key, auth := str(r.Values["route_key"]), str(r.Values["authorization_type"])
		if open[key] != (auth == "NONE") || (auth != "NONE" && auth != "JWT") {
			t.Errorf("route %s: authorization %s (open routes: the dashboard's page and files and /healthz; every other one JWT)", key, auth)
		}
	}
	for _, a := range p.ofType("aws_apigatewayv2_authorizer") {
		if str(a.Values["authorizer_type"]) != "JWT" || !slices.Equal(strs(a.Values["identity_sources"]), []string{"$request.header.Authorization"}) {
			t.Errorf("%s: %v %v, want a JWT authorizer on the Authorization header", a.Address, a.Values["authorizer_type"], a.Values["identity_sources"])
		}
	}
	for _, api := range p.ofType("aws_apigatewayv2_api") {
		for _, c := range blocks(api.Values["cors_configuration"]) {
			for _, o := range strs(c["allow_origins"]) {
				if strings.Contains(o, "*") {
					t.Errorf("%s: CORS allows %q: only the dashboard's origins (variable dashboard_origins)", api.Address, o)
				}
			}
		}
	}
}

// policyStatement is one statement of an IAM policy, from a policy's JSON or from an
// aws_iam_policy_document's statement blocks.
type policyStatement struct {
	where                  string
	effect                 string
	actions, notActions    []string
	resources, notResource []string
}

func parsePolicyJSON(where, doc string) ([]policyStatement, error) {
	var d struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("%s: policy is not JSON: %w", where, err)
	}
	var list []map[string]any
	if err := json.Unmarshal(d.Statement, &list); err != nil {
		var one map[string]any
		if err := json.Unmarshal(d.Statement, &one); err != nil {
			return nil, fmt.Errorf("%s: Statement is neither a list nor an object", where)
		}
		list = []map[string]any{one}
	}
	var out []policyStatement
	for i, s := range list {
		out = append(out, policyStatement{
			where: fmt.Sprintf("%s statement %d (%v)", where, i, s["Sid"]), effect: str(s["Effect"]),
			actions: strs(s["Action"]), notActions: strs(s["NotAction"]),
			resources: strs(s["Resource"]), notResource: strs(s["NotResource"]),
		})
	}
	return out, nil
}

// broad reports whether an action matches every action of a service or of all services.
func broad(action string) bool {
	return action == "*" || strings.HasSuffix(action, ":*")
}

// TestPlanIAMPolicies: no IAM policy in the plan allows "*" (or a whole service, "svc:*") on
// resource "*", or allows with NotAction or NotResource. Identity policies whose JSON is not known
// until apply (they name ARNs Terraform has not created yet) must come from an
// aws_iam_policy_document, whose statements the plan shows, so that every policy is checked.
func TestPlanIAMPolicies(t *testing.T) {
	p := loadPlan(t)
	var stmts []policyStatement
	checked := 0

	// Policy documents: read at plan time (prior_state) or deferred to apply (resource_changes,
	// with the statements' known parts).
	docs := map[string][]map[string]any{}
	var walk func(m tfModule)
	walk = func(m tfModule) {
		for _, r := range m.Resources {
			if r.Mode == "data" && r.Type == "aws_iam_policy_document" {
				docs[r.Address] = blocks(r.Values["statement"])
			}
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(p.PriorState.Values.RootModule)
	for _, c := range p.ResourceChanges {
		if c.Mode == "data" && c.Type == "aws_iam_policy_document" && c.Change.After != nil {
			docs[c.Address] = blocks(c.Change.After["statement"])
		}
	}
	if len(docs) == 0 {
		t.Fatal("the plan has no aws_iam_policy_document")
	}
	for addr, sts := range docs {
		checked++
		for i, s := range sts {
			effect := str(s["effect"])
			if effect == "" {
				effect = "Allow"
			}
			stmts = append(stmts, policyStatement{
				where: fmt.Sprintf("%s statement %d (%v)", addr, i, s["sid"]), effect: effect,
				actions: strs(s["actions"]), notActions: strs(s["not_actions"]),
				resources: strs(s["resources"]), notResource: strs(s["not_resources"]),
			})
		}
	}

	// Policies on managed resources: parse the JSON when known; when not, it must be a
	// policy document's json (checked above).
	policyAttrs := map[string]string{
		"aws_iam_role_policy": "policy", "aws_iam_policy": "policy", "aws_iam_user_policy": "policy",
		"aws_iam_group_policy": "policy", "aws_iam_role": "assume_role_policy",
		"aws_s3_bucket_policy": "policy", "aws_sqs_queue_policy": "policy", "aws_sns_topic_policy": "policy",
	}
	identity := map[string]bool{"aws_iam_role_policy": true, "aws_iam_policy": true, "aws_iam_user_policy": true, "aws_iam_group_policy": true}
	cfg := configExpressions(p)
	for _, c := range p.ResourceChanges {
		attr, ok := policyAttrs[c.Type]
		if !ok || c.Mode != "managed" || slices.Contains(c.Change.Actions, "delete") && len(c.Change.Actions) == 1 {
			continue
		}
		if doc := str(c.Change.After[attr]); doc != "" {
			s, err := parsePolicyJSON(c.Address, doc)
			if err != nil {
				t.Error(err)
				continue
			}
			stmts = append(stmts, s...)
			checked++
			continue
		}
		if !identity[c.Type] {
			continue // a resource policy not known until apply: the documents above cover those built with one
		}
		exprs := cfg[configKey(c)]
		refs := exprs[attr]
		if slices.Contains(refs, "each.value") {
			refs = append(refs, exprs["for_each"]...) // policy = each.value over a map of documents
		}
		if !slices.ContainsFunc(refs, func(r string) bool { return strings.HasPrefix(r, "data.aws_iam_policy_document.") }) {
			t.Errorf("%s: its %s is not known at plan time and is not an aws_iam_policy_document's json (references %q): write it as a policy document so the plan shows its actions", c.Address, attr, refs)
		}
	}

	for _, problem := range checkStatements(stmts) {
		t.Error(problem)
	}
	t.Logf("%d policies, %d statements checked", checked, len(stmts))
}

// checkStatements returns what is wrong with the statements: an Allow of "*" or of a whole
// service on resource "*", of every action anywhere, or with NotAction or NotResource.
func checkStatements(stmts []policyStatement) []string {
	var out []string
	for _, s := range stmts {
		if !strings.EqualFold(s.effect, "Allow") {
			continue
		}
		if len(s.notActions) > 0 || len(s.notResource) > 0 {
			out = append(out, fmt.Sprintf("%s: Allow with NotAction %q / NotResource %q", s.where, s.notActions, s.notResource))
		}
		for _, a := range s.actions {
			switch {
			case a == "*":
				out = append(out, fmt.Sprintf("%s: allows every action (*)", s.where))
			case broad(a) && slices.Contains(s.resources, "*"):
				out = append(out, fmt.Sprintf("%s: allows %s on *", s.where, a))
			}
		}
	}
	return out
}

// configExpressions maps "module path|resource address" to each expression's references, from the
// plan's configuration section.
func configExpressions(p *tfPlan) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	var walk func(prefix string, m tfConfigModule)
	walk = func(prefix string, m tfConfigModule) {
		for _, r := range m.Resources {
			exprs := map[string][]string{}
			all := maps.Clone(r.Expressions)
			if all == nil {
				all = map[string]json.RawMessage{}
			}
			if r.ForEach != nil {
				all["for_each"] = r.ForEach
			}
			for k, raw := range all {
				var e struct {
					References []string `json:"references"`
				}
				_ = json.Unmarshal(raw, &e)
				exprs[k] = e.References
			}
			out[prefix+"|"+r.Address] = exprs
		}
		for name, c := range m.ModuleCalls {
			next := "module." + name
			if prefix != "" {
				next = prefix + "." + next
			}
			walk(next, c.Module)
		}
	}
	walk("", p.Configuration.RootModule)
	return out
}

// configKey is a resource change's key in configExpressions: its module path (without instance
// keys) and its address within the module (without its own).
func configKey(c tfChange) string {
	mod := c.ModuleAddress
	if i := strings.Index(mod, "["); i >= 0 { // module instance keys: module.a["x"] → module.a
		mod = mod[:i]
	}
	return mod + "|" + c.Type + "." + c.Name
}

// leftToDefault are the variables awsenv reads that the Lambdas' environment leaves unset on
// purpose. A variable awsenv starts reading must be added to the Terraform or here, with a reason.
var leftToDefault = map[string]string{
	"AWS_REGION":            "set by the Lambda runtime itself (a reserved variable)",
	"AWS_DEFAULT_REGION":    "set by the Lambda runtime itself",
	"CTC_APP":               "the long-running consumer's application name (its leases); the Lambdas have no leases",
	"CTC_START":             "the consumer's start position; the event-source mapping has its own (starting_position)",
	"CTC_OWNER":             "the consumer's lease owner name",
	"CTC_STATE_BUCKET":      "falls back to CTC_RAW_BUCKET, which is set",
	"CTC_CATALOG_URI":       "the sql catalog's file; the Lambdas use the glue catalog",
	"CTC_SYMBOLS":           "the producer's symbols (variable producer_symbols, on its ECS task)",
	"CTC_BINANCE_ENDPOINT":  "the batch Lambda's Binance REST base; its default, api.binance.com, serves the default region (eu-west-1)",
	"CTC_COINBASE_ENDPOINT": "the batch Lambda's Coinbase Exchange REST base; its default, api.exchange.coinbase.com, is the only public one",
	"CTC_KINESIS_ENDPOINT":  "emulators only",
	"CTC_DYNAMODB_ENDPOINT": "emulators only",
	"CTC_S3_ENDPOINT":       "emulators only",
}

// awsenvVariables returns the variables awsenv.FromEnv reads, found by calling it.
func awsenvVariables() []string {
	seen := map[string]bool{}
	awsenv.FromEnv(func(name string) string { seen[name] = true; return "" })
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func lambdaEnv(f tfResource) map[string]string {
	env := map[string]string{}
	if e := block(f.Values["environment"]); e != nil {
		if vars, ok := e["variables"].(map[string]any); ok {
			for k, v := range vars {
				env[k] = str(v)
			}
		}
	}
	return env
}

// TestPlanLambdaEnvironment: each Lambda's environment is what the code reads (package awsenv,
// asked which variables it reads) and names the planned resources.
func TestPlanLambdaEnvironment(t *testing.T) {
	p := loadPlan(t)
	reads := awsenvVariables()
	for name := range leftToDefault {
		if !slices.Contains(reads, name) {
			t.Errorf("leftToDefault names %s, which awsenv no longer reads: remove it", name)
		}
	}

	streams := names(p.ofType("aws_kinesis_stream"), "name")
	tables := names(p.ofType("aws_dynamodb_table"), "name")
	buckets := map[string]string{} // role (raw, processed, athena) → name
	for _, b := range p.ofType("aws_s3_bucket") {
		name := str(b.Values["bucket"])
		for _, role := range []string{"raw", "processed", "athena-results"} {
			if strings.Contains(name, "-"+role+"-") {
				buckets[role] = name
			}
		}
	}
	glue := names(p.ofType("aws_glue_catalog_database"), "name")
	var cors []string
	for _, api := range p.ofType("aws_apigatewayv2_api") {
		for _, c := range blocks(api.Values["cors_configuration"]) {
			cors = append(cors, strs(c["allow_origins"])...)
		}
	}
	sort.Strings(cors)

	fns := p.ofType("aws_lambda_function")
	if len(fns) == 0 {
		t.Fatal("no Lambda functions planned")
	}
	for _, f := range fns {
		env := lambdaEnv(f)
		for k := range env {
			if strings.HasPrefix(k, "CTC_") && !slices.Contains(reads, k) {
				t.Errorf("%s sets %s, which no code reads (awsenv reads %q)", f.Address, k, reads)
			}
		}
		for _, k := range reads {
			if _, set := env[k]; !set && leftToDefault[k] == "" {
				t.Errorf("%s does not set %s, which awsenv reads: set it in main.tf's environment, or add it to leftToDefault with a reason", f.Address, k)
			}
		}
		e := awsenv.FromEnv(func(k string) string { return env[k] })
		check := func(what, got string, want ...string) {
			t.Helper()
			if !slices.Contains(want, got) {
				t.Errorf("%s: %s is %q, the plan has %q", f.Address, what, got, want)
			}
		}
		check("the trade stream (CTC_STREAM)", e.Stream, sinkkinesis.DefaultStream)
		check("the trade stream (CTC_STREAM)", e.Stream, streams...)
		check("the DLQ stream (CTC_DLQ_STREAM)", e.DLQStream, streams...)
		for what, tb := range map[string]string{"CTC_ALERTS_TABLE": e.AlertsTable, "CTC_AGGREGATES_TABLE": e.AggregatesTable,
			"CTC_STATE_TABLE": e.StateTable, "CTC_LEASES_TABLE": e.LeasesTable} {
			check(what, tb, tables...)
		}
		check("the state bucket (CTC_RAW_BUCKET)", e.StateBucket, buckets["raw"])
		check("the warehouse (CTC_WAREHOUSE)", e.Warehouse, "s3://"+buckets["processed"]+"/warehouse")
		check("the catalog (CTC_CATALOG, else by the warehouse)", e.CatalogKind(), "glue")
		check("the Glue database (CTC_NAMESPACE)", e.Namespace, glue...)
		if o, err := awsenv.ParseS3URI(e.EvidenceURI); err != nil || o.Bucket != buckets["processed"] {
			t.Errorf("%s: CTC_EVIDENCE_URI %q is not an object of the processed bucket %s (%v)", f.Address, e.EvidenceURI, buckets["processed"], err)
		}
		got := slices.Clone(e.CORSOrigins)
		sort.Strings(got)
		if !slices.Equal(got, cors) {
			t.Errorf("%s: CTC_CORS_ORIGINS %q, the HTTP API's CORS allows %q", f.Address, got, cors)
		}
	}

	// The hosted producer's container reads awsenv too, and kafkaenv (CTC_KAFKA_*) for MSK.
	producerReads := slices.Clone(reads)
	kafkaenv.FromEnv(func(name string) string { producerReads = append(producerReads, name); return "" })
	for _, td := range p.ofType("aws_ecs_task_definition") {
		var containers []struct {
			Name        string `json:"name"`
			Environment []struct {
				Name, Value string
			} `json:"environment"`
		}
		defs := str(td.Values["container_definitions"])
		if defs == "" {
			t.Logf("%s: container definitions not known until apply (with kafka_enabled they name the MSK brokers): not checked", td.Address)
			continue
		}
		if err := json.Unmarshal([]byte(defs), &containers); err != nil {
			t.Errorf("%s: container_definitions: %v", td.Address, err)
			continue
		}
		for _, c := range containers {
			for _, v := range c.Environment {
				if strings.HasPrefix(v.Name, "CTC_") && !slices.Contains(producerReads, v.Name) {
					t.Errorf("%s container %s sets %s, which no code reads", td.Address, c.Name, v.Name)
				}
				if (v.Name == "CTC_STREAM" || v.Name == "CTC_DLQ_STREAM") && !slices.Contains(streams, v.Value) {
					t.Errorf("%s container %s: %s=%q, the plan's streams are %q", td.Address, c.Name, v.Name, v.Value, streams)
				}
			}
		}
	}
}

// awsMetrics are the AWS-published metrics the alarms may watch, with the dimension sets AWS
// publishes them under (an alarm names one set exactly, or it watches a metric that does not
// exist). From the AWS documentation:
//   - Kinesis Data Streams, "Monitoring the Amazon Kinesis Data Streams service with Amazon
//     CloudWatch": stream-level metrics such as GetRecords.IteratorAgeMilliseconds and
//     IncomingRecords have the dimension StreamName.
//   - DynamoDB, "DynamoDB Metrics and dimensions": ReadThrottleEvents and WriteThrottleEvents are
//     published per TableName, and per TableName + GlobalSecondaryIndexName for an index;
//     ThrottledRequests only per TableName + Operation (which is why an alarm on TableName
//     alone never fires); ConsumedWriteCapacityUnits per TableName (and per index).
//   - Lambda, "Types of metrics for Lambda functions": Errors, Throttles and Duration per
//     FunctionName (also per Resource and ExecutedVersion, and with no dimension at all).
//   - Billing, "Create a billing alarm to monitor your estimated AWS charges": EstimatedCharges
//     in us-east-1 per Currency (and per ServiceName + Currency).
//   - SQS, "Available CloudWatch metrics for Amazon SQS": per QueueName.
//   - ECS, "Amazon ECS CloudWatch metrics": CPUUtilization, MemoryUtilization per ClusterName +
//     ServiceName.
var awsMetrics = map[string]map[string][][]string{
	"AWS/Kinesis": {
		"GetRecords.IteratorAgeMilliseconds": {{"StreamName"}},
		"IncomingRecords":                    {{"StreamName"}},
		"WriteProvisionedThroughputExceeded": {{"StreamName"}},
	},
	"AWS/DynamoDB": {
		"ReadThrottleEvents":         {{"TableName"}, {"GlobalSecondaryIndexName", "TableName"}},
		"WriteThrottleEvents":        {{"TableName"}, {"GlobalSecondaryIndexName", "TableName"}},
		"ThrottledRequests":          {{"Operation", "TableName"}},
		"ConsumedWriteCapacityUnits": {{"TableName"}, {"GlobalSecondaryIndexName", "TableName"}},
	},
	"AWS/Lambda": {
		"Errors":    {{}, {"FunctionName"}},
		"Throttles": {{}, {"FunctionName"}},
		"Duration":  {{}, {"FunctionName"}},
	},
	"AWS/Billing": {
		"EstimatedCharges": {{"Currency"}, {"Currency", "ServiceName"}},
	},
	"AWS/SQS": {
		"ApproximateNumberOfMessagesVisible": {{"QueueName"}},
		"ApproximateAgeOfOldestMessage":      {{"QueueName"}},
	},
	"AWS/ECS": {
		"CPUUtilization":    {{"ClusterName", "ServiceName"}},
		"MemoryUtilization": {{"ClusterName", "ServiceName"}},
	},
}

// emitted returns the metrics the code emits as EMF lines, each as "namespace|metric|dimension
// names", by running the emitter (package metrics/emf) configured from env as the Lambdas
// configure it (awsenv's Env.Metrics), with the dimensions the code's call sites pass:
// Quality and Alerts none (TestEMFCallSitesPassNoDimensions keeps that so), BatchJob its Job.
func emitted(t *testing.T, env map[string]string) map[string]bool {
	t.Helper()
	var buf bytes.Buffer
	m, err := awsenv.FromEnv(func(k string) string { return env[k] }).Metrics(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Quality(quality.Stats{Processed: 1, Passed: 1, QualityScore: 100}); err != nil {
		t.Fatal(err)
	}
	if err := m.Alerts(emf.AlertCounts{Anomalies: 1}); err != nil {
		t.Fatal(err)
	}
	if err := m.BatchJob("historical_load", nil); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("EMF line %s: %v", sc.Bytes(), err)
		}
		for _, d := range line.AWS.CloudWatchMetrics {
			for _, set := range d.Dimensions {
				dims := slices.Clone(set)
				sort.Strings(dims)
				for _, mt := range d.Metrics {
					out[d.Namespace+"|"+mt.Name+"|"+strings.Join(dims, ",")] = true
				}
			}
		}
	}
	return out
}

// TestPlanAlarmMetrics: every alarm watches a metric that exists: one the code emits (EMF, in the
// namespaces the Lambdas are configured with), or one AWS publishes for a planned resource, under
// exactly the dimensions it is published with.
func TestPlanAlarmMetrics(t *testing.T) {
	p := loadPlan(t)
	fns := p.ofType("aws_lambda_function")
	if len(fns) == 0 {
		t.Fatal("no Lambda functions planned")
	}
	emits := emitted(t, lambdaEnv(fns[0]))
	for _, f := range fns[1:] {
		if e := emitted(t, lambdaEnv(f)); fmt.Sprint(e) != fmt.Sprint(emits) {
			t.Errorf("%s emits under other namespaces than %s", f.Address, fns[0].Address)
		}
	}
	resources := map[string][]string{
		"StreamName":               names(p.ofType("aws_kinesis_stream"), "name"),
		"TableName":                names(p.ofType("aws_dynamodb_table"), "name"),
		"FunctionName":             names(fns, "function_name"),
		"QueueName":                names(p.ofType("aws_sqs_queue"), "name"),
		"Currency":                 {"USD"},
		"ClusterName":              names(p.ofType("aws_ecs_cluster"), "name"),
		"ServiceName":              names(p.ofType("aws_ecs_service"), "name"),
		"GlobalSecondaryIndexName": nil,
	}
	for _, tb := range p.ofType("aws_dynamodb_table") {
		for _, g := range blocks(tb.Values["global_secondary_index"]) {
			resources["GlobalSecondaryIndexName"] = append(resources["GlobalSecondaryIndexName"], str(g["name"]))
		}
	}

	alarms := p.ofType("aws_cloudwatch_metric_alarm")
	if len(alarms) == 0 {
		t.Fatal("no alarms planned")
	}
	for _, a := range alarms {
		for _, problem := range checkAlarm(a, emits, resources) {
			t.Error(problem)
		}
	}
}

// checkAlarm returns what is wrong with an alarm: a custom-namespace metric the code does not emit
// (emits: "namespace|metric|dimension names"), an AWS metric not in awsMetrics or with other
// dimensions than AWS publishes it with, a dimension value naming no planned resource
// (resources: dimension → planned names), a billing alarm outside us-east-1.
func checkAlarm(a tfResource, emits map[string]bool, resources map[string][]string) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	ns, metric := str(a.Values["namespace"]), str(a.Values["metric_name"])
	if ns == "" || metric == "" {
		errorf("%s: no namespace or metric_name (a metric-math alarm? check its metric_query here)", a.Address)
		return out
	}
	dims := map[string]string{}
	if d, ok := a.Values["dimensions"].(map[string]any); ok {
		for k, v := range d {
			dims[k] = str(v)
		}
	}
	dimNames := make([]string, 0, len(dims))
	for k := range dims {
		dimNames = append(dimNames, k)
	}
	sort.Strings(dimNames)

	if !strings.HasPrefix(ns, "AWS/") {
		if !emits[ns+"|"+metric+"|"+strings.Join(dimNames, ",")] {
			known := slices.Sorted(maps.Keys(emits))
			errorf("%s watches %s %s with dimensions %q, which the code does not emit (it emits namespace|metric|dimensions: %q)", a.Address, ns, metric, dimNames, known)
		}
		return out
	}
	sets, ok := awsMetrics[ns][metric]
	if !ok {
		errorf("%s watches %s %s, which is not in this test's table of AWS metrics: add it, citing AWS's documentation of its dimensions", a.Address, ns, metric)
		return out
	}
	if !slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(s, dimNames) }) {
		errorf("%s watches %s %s with dimensions %q; AWS publishes it with %q only", a.Address, ns, metric, dimNames, sets)
	}
	for _, k := range dimNames {
		if !slices.Contains(resources[k], dims[k]) {
			errorf("%s: dimension %s=%q names nothing in the plan (%q)", a.Address, k, dims[k], resources[k])
		}
	}
	if ns == "AWS/Billing" && str(a.Values["region"]) != "us-east-1" {
		errorf("%s: the billing alarm is in %q; EstimatedCharges exists only in us-east-1", a.Address, a.Values["region"])
	}
	return out
}

// lifecycleRule is the part of an S3 lifecycle rule the checks read.
type lifecycleRule struct {
	id, prefix       string
	enabled, scoped  bool // scoped: filtered by something other than a prefix (tags, size)
	expireDays       float64
	expireDate       string
	noncurrentExpire float64
}

func lifecycleRules(r tfResource) []lifecycleRule {
	var out []lifecycleRule
	for _, b := range blocks(r.Values["rule"]) {
		lr := lifecycleRule{id: str(b["id"]), enabled: str(b["status"]) == "Enabled", prefix: str(b["prefix"])}
		if f := block(b["filter"]); f != nil {
			if p := str(f["prefix"]); p != "" {
				lr.prefix = p
			}
			if and := block(f["and"]); and != nil {
				lr.prefix = str(and["prefix"])
				lr.scoped = true
			}
			if block(f["tag"]) != nil {
				lr.scoped = true
			}
		}
		if e := block(b["expiration"]); e != nil {
			lr.expireDays, _ = e["days"].(float64)
			lr.expireDate = str(e["date"])
		}
		if n := block(b["noncurrent_version_expiration"]); n != nil {
			lr.noncurrentExpire, _ = n["noncurrent_days"].(float64)
		}
		out = append(out, lr)
	}
	return out
}

// TestPlanRawLifecycle: in the raw bucket, no rule expires the current versions of the shard
// states (package shardrunner keeps them under shard-state/ and deletes superseded ones itself),
// while a rule still expires their noncurrent versions; and something does expire elsewhere.
func TestPlanRawLifecycle(t *testing.T) {
	p := loadPlan(t)
	prefix := goStrings(t, "shardrunner/kinesislambda/env.go", "StatePrefix")[0] + "/"
	key := prefix + "shardId-000000000000/00000042-0123abcd.state.gz"
	var raw *tfResource
	for _, r := range p.ofType("aws_s3_bucket_lifecycle_configuration") {
		if path.Base(strings.ReplaceAll(r.Address, ".", "/")) == "raw" {
			raw = &r
		}
	}
	if raw == nil {
		t.Fatal("no aws_s3_bucket_lifecycle_configuration named raw in the plan")
	}
	for _, problem := range checkRawLifecycle(lifecycleRules(*raw), key) {
		t.Error(problem)
	}
}

// checkRawLifecycle returns what is wrong with the raw bucket's rules for a shard state's key:
// a rule covering it that expires current versions, no rule covering it that expires noncurrent
// ones, or no expiry of anything else.
func checkRawLifecycle(rules []lifecycleRule, key string) []string {
	var out []string
	noncurrent, expiresElsewhere := false, false
	for _, r := range rules {
		if !r.enabled {
			continue
		}
		covers := strings.HasPrefix(key, r.prefix) // rules scoped by tags or size count as covering it
		if covers && (r.expireDays > 0 || r.expireDate != "") {
			out = append(out, fmt.Sprintf("raw bucket rule %q (prefix %q) expires current versions, and covers %s", r.id, r.prefix, key))
		}
		if covers && r.noncurrentExpire > 0 {
			noncurrent = true
		}
		if !covers && r.expireDays > 0 {
			expiresElsewhere = true
		}
	}
	if !noncurrent {
		out = append(out, fmt.Sprintf("no raw bucket rule expires the noncurrent versions of %s: superseded states would be kept forever", key))
	}
	if !expiresElsewhere {
		out = append(out, "no raw bucket rule expires anything: the raw tier's 90-day expiry is gone")
	}
	return out
}

// TestCheckersCatchMistakes: the plan checks are not vacuous. It needs no plan: it feeds them
// the defects this deployment had or could have.
func TestCheckersCatchMistakes(t *testing.T) {
	stmts := []policyStatement{
		{where: "admin", effect: "Allow", actions: []string{"*"}, resources: []string{"*"}},
		{where: "s3 on all", effect: "Allow", actions: []string{"s3:*"}, resources: []string{"*"}},
		{where: "not-action", effect: "Allow", notActions: []string{"iam:*"}, resources: []string{"*"}},
		{where: "deny is fine", effect: "Deny", actions: []string{"*"}, resources: []string{"*"}},
		{where: "scoped is fine", effect: "Allow", actions: []string{"s3:GetObject"}, resources: []string{"arn:aws:s3:::b/*"}},
		{where: "no resource type", effect: "Allow", actions: []string{"cloudwatch:PutMetricData"}, resources: []string{"*"}},
	}
	got := checkStatements(stmts)
	for _, want := range []string{"admin", "s3 on all", "not-action"} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, want+":") }) {
			t.Errorf("checkStatements did not flag %q: %q", want, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("checkStatements: %d findings, want 3: %q", len(got), got)
	}
	for _, p := range got {
		if strings.HasPrefix(p, "deny is fine") || strings.HasPrefix(p, "scoped is fine") || strings.HasPrefix(p, "no resource type") {
			t.Errorf("checkStatements flagged an acceptable statement: %s", p)
		}
	}

	resources := map[string][]string{"TableName": {"coattail-alerts"}, "StreamName": {"coattail-trades"}}
	emits := map[string]bool{"CoatTail/Quality|QualityScore|": true}
	alarm := func(ns, metric string, dims map[string]any) tfResource {
		return tfResource{Address: metric, Values: map[string]any{"namespace": ns, "metric_name": metric, "dimensions": dims}}
	}
	for _, bad := range []tfResource{
		alarm("AWS/DynamoDB", "ThrottledRequests", map[string]any{"TableName": "coattail-alerts"}),   // the old alarm: needs Operation too
		alarm("AWS/DynamoDB", "ReadThrottleEvents", map[string]any{"TableName": "coattail-missing"}), // no such table
		alarm("CoatTail/Quality", "QualityScore", map[string]any{"Symbol": "BTC-USDT"}),              // emitted without dimensions
		alarm("CoatTail/Quality", "Qualityscore", nil),                                               // misspelt
		alarm("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", map[string]any{"Stream": "x"}),    // wrong dimension name
		{Address: "billing", Values: map[string]any{"namespace": "AWS/Billing", "metric_name": "EstimatedCharges", "dimensions": map[string]any{}}},
	} {
		if len(checkAlarm(bad, emits, resources)) == 0 {
			t.Errorf("checkAlarm passed %s %v %v", bad.Values["namespace"], bad.Values["metric_name"], bad.Values["dimensions"])
		}
	}
	for _, good := range []tfResource{
		alarm("AWS/DynamoDB", "WriteThrottleEvents", map[string]any{"TableName": "coattail-alerts"}),
		alarm("CoatTail/Quality", "QualityScore", nil),
	} {
		if p := checkAlarm(good, emits, resources); len(p) > 0 {
			t.Errorf("checkAlarm flagged a good alarm: %q", p)
		}
	}

	key := "shard-state/shardId-0/1.state.gz"
	old := []lifecycleRule{{id: "raw-ia-30d-expire-90d", enabled: true, expireDays: 90, noncurrentExpire: 7}} // filter {}: the first version
	if len(checkRawLifecycle(old, key)) == 0 {
		t.Error("checkRawLifecycle passed a bucket-wide 90-day expiry")
	}
	good := []lifecycleRule{
		{id: "all-noncurrent", enabled: true, noncurrentExpire: 7},
		{id: "captures", enabled: true, prefix: "captures/", expireDays: 90},
	}
	if p := checkRawLifecycle(good, key); len(p) > 0 {
		t.Errorf("checkRawLifecycle flagged the scoped rules: %q", p)
	}
	if len(checkRawLifecycle(good[1:], key)) == 0 {
		t.Error("checkRawLifecycle passed rules that keep noncurrent states forever")
	}
}

// offlineData are the data sources a plan of deploy/terraform may read: the caller identity (from
// the loopback STS) and those the provider computes without calling AWS.
var offlineData = map[string]bool{
	"aws_caller_identity": true, "aws_iam_policy_document": true, "aws_region": true, "aws_partition": true,
}

// TestPlanReadsNothingFromAWS: the plan stays offline, so that check-infra.sh --plan needs no AWS
// account: no data source reads AWS beyond the caller identity.
func TestPlanReadsNothingFromAWS(t *testing.T) {
	p := loadPlan(t)
	seen := map[string]bool{}
	var walk func(m tfModule)
	walk = func(m tfModule) {
		for _, r := range m.Resources {
			if r.Mode == "data" {
				seen[r.Type+" "+r.Address] = true
			}
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(p.PriorState.Values.RootModule)
	for _, c := range p.ResourceChanges {
		if c.Mode == "data" {
			seen[c.Type+" "+c.Address] = true
		}
	}
	for k := range seen {
		if typ, addr, _ := strings.Cut(k, " "); !offlineData[typ] {
			t.Errorf("%s: data source %s reads AWS at plan time; the plan must stay offline (pass the value in, or add the type to offlineData if the provider computes it locally)", addr, typ)
		}
	}
}
