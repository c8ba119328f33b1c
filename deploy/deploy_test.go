package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

const (
	aslPath      = "terraform/modules/workflow/workflow.asl.json"
	workflowTF   = "terraform/modules/workflow/main.tf"
	dummyBatch   = "arn:aws:lambda:us-east-1:123456789012:function:coattail-batch"
	dummyTopic   = "arn:aws:sns:us-east-1:123456789012:coattail-alarms"
	dummyNS      = "CoatTail/Batch"
	lambdaInvoke = "arn:aws:states:::lambda:invoke"
	snsPublish   = "arn:aws:states:::sns:publish"
	putMetrics   = "arn:aws:states:::aws-sdk:cloudwatch:putMetricData"
)

// placeholderRE matches a templatefile interpolation; the definition uses only plain names.
var placeholderRE = regexp.MustCompile(`\$\{([a-z_]+)\}`)

// batchTasks are the batch Lambda's tasks (package adapters/lambda/internal/batchfn).
var batchTasks = []string{"historical_load", "reprocess", "reprocess_status", "quality_check", "catalog_update", "maintain", "evidence"}

// state is the part of an Amazon States Language state the checks read.
type state struct {
	Type       string          `json:"Type"`
	Next       string          `json:"Next"`
	End        bool            `json:"End"`
	Default    string          `json:"Default"`
	Resource   string          `json:"Resource"`
	Parameters json.RawMessage `json:"Parameters"`
	Result     json.RawMessage `json:"Result"`
	Choices    []struct {
		Next string `json:"Next"`
	} `json:"Choices"`
	Catch []struct {
		ErrorEquals []string `json:"ErrorEquals"`
		Next        string   `json:"Next"`
	} `json:"Catch"`
}

// machine is a state machine definition.
type machine struct {
	StartAt string           `json:"StartAt"`
	States  map[string]state `json:"States"`
}

// templateVars returns the names of the variables workflow/main.tf passes to templatefile for
// the definition.
func templateVars(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(workflowTF)
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i := strings.Index(s, `templatefile("${path.module}/workflow.asl.json", {`)
	if i < 0 {
		t.Fatalf("%s: no templatefile call rendering workflow.asl.json", workflowTF)
	}
	body := s[i:]
	body = body[strings.Index(body, "{")+1 : strings.Index(body, "})")]
	var names []string
	for _, line := range strings.Split(body, "\n") {
		if k, _, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			names = append(names, strings.TrimSpace(k))
		}
	}
	sort.Strings(names)
	return names
}

// render substitutes the placeholders as templatefile would with dummy values: quoted ones (ARNs,
// names) get strings, bare ones (numbers) get 60.
func render(src string) string {
	dummies := map[string]string{"batch_function_arn": dummyBatch, "sns_topic_arn": dummyTopic, "metrics_namespace": dummyNS}
	return placeholderRE.ReplaceAllStringFunc(src, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if v, ok := dummies[name]; ok {
			return v
		}
		return "60"
	})
}

func loadMachine(t *testing.T) (machine, string) {
	t.Helper()
	src, err := os.ReadFile(aslPath)
	if err != nil {
		t.Fatal(err)
	}
	rendered := render(string(src))
	var m machine
	dec := json.NewDecoder(strings.NewReader(rendered))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s after substitution is not valid JSON: %v", aslPath, err)
	}
	return m, rendered
}

// TestWorkflowPlaceholdersMatchTerraform: every ${name} in the definition is passed by the
// templatefile call, and every variable passed is used (templatefile fails on a missing one at
// plan time; an unused one is a sign of drift).
func TestWorkflowPlaceholdersMatchTerraform(t *testing.T) {
	src, err := os.ReadFile(aslPath)
	if err != nil {
		t.Fatal(err)
	}
	var used []string
	for _, m := range placeholderRE.FindAllStringSubmatch(string(src), -1) {
		if !slices.Contains(used, m[1]) {
			used = append(used, m[1])
		}
	}
	sort.Strings(used)
	passed := templateVars(t)
	if !slices.Equal(used, passed) {
		t.Fatalf("placeholders in %s %v, variables passed by %s %v", aslPath, used, workflowTF, passed)
	}
	// Any other "${" or "%{" would be interpreted by templatefile too.
	rest := placeholderRE.ReplaceAllString(string(src), "")
	if strings.Contains(rest, "${") || strings.Contains(rest, "%{") {
		t.Fatalf("%s has a template sequence other than ${name}: escape it as $${ or %%%%{", aslPath)
	}
}

// TestWorkflowDefinition checks the rendered definition's graph and resources.
func TestWorkflowDefinition(t *testing.T) {
	m, _ := loadMachine(t)
	if errs := validate(m); len(errs) > 0 {
		t.Fatalf("invalid definition:\n%s", strings.Join(errs, "\n"))
	}
	// The seed's §5.1 order along the success path.
	path := successPath(m)
	want := []string{"HistoricalLoad", "Reprocess", "WaitForReprocess", "ReprocessStatus", "ReprocessDone", "QualityCheck", "QualityPassed", "CatalogUpdate", "Maintain", "Evidence", "PublishSuccess", "Done"}
	if !slices.Equal(path[1:], want) {
		t.Fatalf("success path %v, want Init then %v", path, want)
	}
	// Every task that can fail is caught and leads to the alert.
	for name, s := range m.States {
		if s.Type != "Task" || name == "SendAlert" || name == "PublishSuccess" || name == "PublishFailure" {
			continue
		}
		if len(s.Catch) == 0 || s.Catch[0].Next != "SendAlert" || !slices.Contains(s.Catch[0].ErrorEquals, "States.ALL") {
			t.Errorf("state %s: want a Catch of States.ALL leading to SendAlert", name)
		}
	}
	if m.States["SendAlert"].Next != "PublishFailure" || m.States["PublishFailure"].Next != "Failed" {
		t.Error("failure path is not SendAlert → PublishFailure → Failed")
	}
}

// TestWorkflowResourcesAreGranted: the role in workflow/main.tf allows what the definition calls.
func TestWorkflowResourcesAreGranted(t *testing.T) {
	m, _ := loadMachine(t)
	src, err := os.ReadFile(workflowTF)
	if err != nil {
		t.Fatal(err)
	}
	grants := map[string]string{lambdaInvoke: "lambda:InvokeFunction", snsPublish: "sns:Publish", putMetrics: "cloudwatch:PutMetricData"}
	for name, s := range m.States {
		if s.Type != "Task" {
			continue
		}
		if !strings.Contains(string(src), `"`+grants[s.Resource]+`"`) {
			t.Errorf("state %s calls %s but %s does not grant %s", name, s.Resource, workflowTF, grants[s.Resource])
		}
	}
}

// TestValidateCatchesMistakes: the validator is not vacuous.
func TestValidateCatchesMistakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m machine)
		want string
	}{
		{"dangling Next", func(m machine) { s := m.States["Reprocess"]; s.Next = "Nowhere"; m.States["Reprocess"] = s }, `"Nowhere"`},
		{"dangling Catch", func(m machine) {
			s := m.States["QualityCheck"]
			s.Catch = slices.Clone(s.Catch)
			s.Catch[0].Next = "Gone"
			m.States["QualityCheck"] = s
		}, `"Gone"`},
		{"unreachable", func(m machine) { m.States["Orphan"] = state{Type: "Succeed"} }, "Orphan is unreachable"},
		{"unknown resource", func(m machine) {
			s := m.States["PublishSuccess"]
			s.Resource = "arn:aws:states:::dynamodb:putItem"
			m.States["PublishSuccess"] = s
		}, "unknown Resource"},
		{"no end", func(m machine) { s := m.States["Done"]; s.Type = "Pass"; m.States["Done"] = s }, "neither Next nor End"},
		{"unedited", func(m machine) {}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := loadMachine(t)
			tc.edit(m)
			errs := strings.Join(validate(m), "\n")
			if tc.want == "" {
				if errs != "" {
					t.Fatalf("unedited definition: %s", errs)
				}
				return
			}
			if !strings.Contains(errs, tc.want) {
				t.Fatalf("validate found %q, want an error containing %q", errs, tc.want)
			}
		})
	}
}

// validate returns what is wrong with m.
func validate(m machine) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if _, ok := m.States[m.StartAt]; !ok {
		bad("StartAt %q names no state", m.StartAt)
	}
	ref := func(from, field, to string) {
		if _, ok := m.States[to]; !ok {
			bad("state %s: %s %q names no state", from, field, to)
		}
	}
	terminals := map[string]int{}
	for name, s := range m.States {
		switch s.Type {
		case "Succeed", "Fail":
			terminals[s.Type]++
		case "Choice":
			if len(s.Choices) == 0 {
				bad("state %s: Choice without Choices", name)
			}
			for _, c := range s.Choices {
				ref(name, "Choices Next", c.Next)
			}
			if s.Default != "" {
				ref(name, "Default", s.Default)
			}
		case "Task", "Pass", "Wait":
			switch {
			case s.Next != "":
				ref(name, "Next", s.Next)
			case !s.End:
				bad("state %s: neither Next nor End", name)
			}
		default:
			bad("state %s: unexpected Type %q", name, s.Type)
		}
		for _, c := range s.Catch {
			ref(name, "Catch Next", c.Next)
		}
		if s.Type == "Task" {
			errs = append(errs, checkResource(name, s)...)
		}
	}
	if terminals["Succeed"] == 0 || terminals["Fail"] == 0 {
		bad("want a Succeed and a Fail state, have %v", terminals)
	}
	reached := reachable(m)
	for name := range m.States {
		if !reached[name] {
			bad("state %s is unreachable from %s", name, m.StartAt)
		}
	}
	sort.Strings(errs)
	return errs
}

// checkResource checks a Task's Resource is one the Terraform passes or grants, with the
// parameters that go with it.
func checkResource(name string, s state) []string {
	var p map[string]any
	if err := json.Unmarshal(s.Parameters, &p); err != nil {
		return []string{fmt.Sprintf("state %s: Parameters: %v", name, err)}
	}
	switch s.Resource {
	case lambdaInvoke:
		if p["FunctionName"] != dummyBatch {
			return []string{fmt.Sprintf("state %s: FunctionName %v, want ${batch_function_arn}", name, p["FunctionName"])}
		}
		if payload, ok := p["Payload"].(map[string]any); ok {
			if task, _ := payload["task"].(string); !slices.Contains(batchTasks, task) {
				return []string{fmt.Sprintf("state %s: task %q is not one of the batch Lambda's %v", name, task, batchTasks)}
			}
		} else if _, ok := p["Payload.$"]; !ok {
			return []string{fmt.Sprintf("state %s: no Payload", name)}
		}
	case snsPublish:
		if p["TopicArn"] != dummyTopic {
			return []string{fmt.Sprintf("state %s: TopicArn %v, want ${sns_topic_arn}", name, p["TopicArn"])}
		}
	case putMetrics:
		if p["Namespace"] != dummyNS {
			return []string{fmt.Sprintf("state %s: Namespace %v, want ${metrics_namespace}", name, p["Namespace"])}
		}
	default:
		return []string{fmt.Sprintf("state %s: unknown Resource %q", name, s.Resource)}
	}
	return nil
}

// successors lists the states s can go to.
func successors(s state) []string {
	var out []string
	for _, n := range []string{s.Next, s.Default} {
		if n != "" {
			out = append(out, n)
		}
	}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

func reachable(m machine) map[string]bool {
	seen := map[string]bool{}
	queue := []string{m.StartAt}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		s, ok := m.States[n]
		if !ok || seen[n] {
			continue
		}
		seen[n] = true
		queue = append(queue, successors(s)...)
	}
	return seen
}

// successPath follows Next, the first Choice and Default-free success branches from StartAt.
func successPath(m machine) []string {
	var path []string
	for n := m.StartAt; n != "" && len(path) < 50; {
		if slices.Contains(path, n) {
			break
		}
		path = append(path, n)
		s := m.States[n]
		switch {
		case s.Type == "Choice" && len(s.Choices) > 0:
			n = s.Choices[0].Next
		default:
			n = s.Next
		}
	}
	return path
}

// TestLambdaEnvironment: the Terraform sets every variable the Lambdas read (package awsenv).
func TestLambdaEnvironment(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("terraform", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{
		"CTC_STREAM", "CTC_DLQ_STREAM", "CTC_ALERTS_TABLE", "CTC_AGGREGATES_TABLE", "CTC_STATE_TABLE",
		"CTC_LEASES_TABLE", "CTC_CATALOG", "CTC_NAMESPACE", "CTC_WAREHOUSE", "CTC_RAW_BUCKET",
		"CTC_CORS_ORIGINS", "CTC_METRICS_NAMESPACE_QUALITY", "CTC_METRICS_NAMESPACE_ALERTS", "CTC_METRICS_NAMESPACE_BATCH",
		"CTC_EVIDENCE_URI",
	} {
		if !regexp.MustCompile(`(?m)^\s+` + v + `\s+=`).Match(src) {
			t.Errorf("terraform/main.tf does not set %s in the Lambdas' environment", v)
		}
	}
}
