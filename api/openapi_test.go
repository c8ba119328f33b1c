package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc/incident"
)

// oapiDoc is the part of an OpenAPI document the test reads.
type oapiDoc struct {
	OpenAPI    string                           `json:"openapi"`
	Paths      map[string]map[string]oapiOp     `json:"paths"`
	Components struct{ Schemas map[string]any } `json:"components"`
}

type oapiOp struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

// validator checks JSON values against the document's schemas (the subset it uses: type, enum,
// properties, required, additionalProperties, items, oneOf, $ref, format) and records which
// properties of which named schema it has seen.
type validator struct {
	schemas map[string]any
	seen    map[string]bool // "Schema.property"
}

func (v *validator) check(s any, val any, at, named string) []string {
	m, _ := s.(map[string]any)
	if r, ok := m["$ref"].(string); ok {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		return v.check(v.schemas[name], val, at, name)
	}
	var errs []string
	if alts, ok := m["oneOf"].([]any); ok {
		matched := 0
		for _, a := range alts {
			if len(v.try(a, val, at, named)) == 0 {
				matched++
			}
		}
		if matched != 1 {
			return []string{fmt.Sprintf("%s: matches %d of oneOf's %d schemas", at, matched, len(alts))}
		}
		for _, a := range alts { // record what the matching one saw
			if len(v.try(a, val, at, named)) == 0 {
				v.check(a, val, at, named)
			}
		}
		return nil
	}
	if t, ok := m["type"]; ok && !typeOK(t, val) {
		return []string{fmt.Sprintf("%s: %s is not of type %v", at, short(val), t)}
	}
	if e, ok := m["enum"].([]any); ok && !slices.Contains(e, val) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, val, e))
	}
	if str, ok := val.(string); ok {
		switch m["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", at, str))
			}
		case "uuid":
			if _, err := uuid.Parse(str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a uuid", at, str))
			}
		}
	}
	switch x := val.(type) {
	case map[string]any:
		props, _ := m["properties"].(map[string]any)
		for _, r := range asStrings(m["required"]) {
			if _, ok := x[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required %q is missing", at, r))
			}
		}
		for k, fv := range x {
			if ps, ok := props[k]; ok {
				if named != "" {
					v.seen[named+"."+k] = true
				}
				errs = append(errs, v.check(ps, fv, at+"."+k, named+"."+k)...)
				continue
			}
			switch ap := m["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: %q is not documented", at, k))
				}
			case map[string]any:
				errs = append(errs, v.check(ap, fv, at+"."+k, "")...)
			}
		}
	case []any:
		if items, ok := m["items"]; ok {
			for i, e := range x {
				errs = append(errs, v.check(items, e, at+"["+strconv.Itoa(i)+"]", named)...)
			}
		}
	}
	return errs
}

// try checks without recording.
func (v *validator) try(s any, val any, at, named string) []string {
	saved := v.seen
	v.seen = map[string]bool{}
	defer func() { v.seen = saved }()
	return v.check(s, val, at, named)
}

func typeOK(t any, val any) bool {
	for _, name := range asStrings(t) {
		switch x := val.(type) {
		case nil:
			if name == "null" {
				return true
			}
		case string:
			if name == "string" {
				return true
			}
		case bool:
			if name == "boolean" {
				return true
			}
		case float64:
			if name == "number" || (name == "integer" && x == math.Trunc(x)) {
				return true
			}
		case map[string]any:
			if name == "object" {
				return true
			}
		case []any:
			if name == "array" {
				return true
			}
		}
	}
	return false
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:80], "…"...)
	}
	return string(b)
}

// TestOpenAPI checks the handler against /openapi.json: every documented path and method is
// served and every served route documented; every documented status of every operation is
// answered (by a handler configured to give it), with a body valid under the documented schema,
// which allows no undocumented field; and every field of every documented schema appears in some
// answer.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	var doc oapiDoc
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	served := []string{"/metrics/{symbol}"}
	for p := range exactRoutes {
		if p != "/" && p != "/index.html" {
			served = append(served, p)
		}
	}
	var documented []string
	for p := range doc.Paths {
		documented = append(documented, p)
	}
	sort.Strings(served)
	sort.Strings(documented)
	if !slices.Equal(served, documented) {
		t.Fatalf("served routes %v, documented paths %v", served, documented)
	}

	now := testNow
	evidence := []byte(`{"alerts":3,"groups":[{"alert_type":"whale"}]}`)
	cfg := func(c Config) Config {
		c.Now = func() time.Time { return now }
		if c.Quality == nil {
			c.Quality = testQuality
		}
		return c
	}
	pol := incident.Policy{}
	plain := newTestHandler(t, cfg(Config{SpreadThreshold: 0.5, Evidence: func(context.Context) ([]byte, error) { return evidence, nil },
		Market: func() Market { return Market{EventTime: now.Add(time.Hour), Simulated: true, Speed: 10} }}))
	incidents := newTestHandler(t, cfg(Config{Incidents: &pol}))
	keyed := newTestHandler(t, cfg(Config{Keys: []string{testKey}}))
	failing := newFixture(testNow).store(t)
	failing.FailQueries(-1, errors.New("down"))
	broken := newTestHandler(t, cfg(Config{Store: failing, Evidence: func(context.Context) ([]byte, error) { return nil, errors.New("unreadable") }}))
	bare := newTestHandler(t, Config{Now: func() time.Time { return now }, NoStream: true})

	type call struct {
		h             http.Handler
		method, query string
		hdr           []string
	}
	// How to get each documented status of each operation.
	calls := map[string]call{
		"GET /alerts 200":                {h: plain, query: "?limit=2"},
		"GET /alerts 200 incidents":      {h: incidents},
		"GET /alerts 200 closed":         {h: incidents, query: "?type=whale&limit=1"},
		"GET /alerts 200 last page":      {h: plain, query: "?limit=200"},
		"GET /alerts 400":                {h: plain, query: "?limit=0"},
		"GET /alerts 401":                {h: keyed},
		"GET /alerts 500":                {h: broken},
		"GET /alerts/stream 200":         {h: plain},
		"GET /alerts/stream 400":         {h: plain, query: "?type=Whale"},
		"GET /alerts/stream 401":         {h: keyed},
		"GET /alerts/stream 501":         {h: bare},
		"GET /metrics/{symbol} 200":      {h: plain},
		"GET /metrics/{symbol} 200 none": {h: plain, query: "NOPE-USD"},
		"GET /metrics/{symbol} 400":      {h: plain, query: "BTC-USDT?x=1"},
		"GET /metrics/{symbol} 401":      {h: keyed},
		"GET /metrics/{symbol} 500":      {h: broken},
		"GET /volumes 200":               {h: plain, query: "?symbol=BTC-USDT"},
		"GET /volumes 400":               {h: plain, query: "?since=yesterday"},
		"GET /volumes 401":               {h: keyed},
		"GET /volumes 500":               {h: broken, query: "?symbol=BTC-USDT"},
		"GET /spreads 200":               {h: plain, query: "?symbol=BTC"},
		"GET /spreads 400":               {h: plain, query: "?symbol=%20"},
		"GET /spreads 401":               {h: keyed},
		"GET /spreads 500":               {h: broken, query: "?symbol=BTC"},
		"GET /symbols 200":               {h: plain},
		"GET /symbols 400":               {h: plain, query: "?x=1"},
		"GET /symbols 401":               {h: keyed},
		"GET /symbols 500":               {h: broken},
		"GET /quality 200":               {h: plain},
		"GET /quality 400":               {h: plain, query: "?x=1"},
		"GET /quality 401":               {h: keyed},
		"GET /quality 404":               {h: bare},
		"GET /healthz 200":               {h: plain},
		"GET /healthz 400":               {h: plain, query: "?x=1"},
		"GET /prometheus 200":            {h: plain},
		"GET /prometheus 401":            {h: keyed},
		"GET /evidence 200":              {h: plain},
		"GET /evidence 400":              {h: plain, query: "?x=1"},
		"GET /evidence 401":              {h: keyed},
		"GET /evidence 404":              {h: bare},
		"GET /evidence 500":              {h: broken},
		"POST /session 204":              {h: keyed, hdr: []string{"Authorization", "Bearer " + testKey}},
		"POST /session 401":              {h: keyed},
		"POST /session 404":              {h: plain},
		"DELETE /session 204":            {h: keyed},
		"GET /openapi.json 200":          {h: plain},
	}
	v := &validator{schemas: doc.Components.Schemas, seen: map[string]bool{}}
	answered := map[string]bool{}
	for name, c := range calls {
		f := strings.Fields(name)
		method, path, status := f[0], f[1], f[2]
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s: not documented", name)
			continue
		}
		resp, ok := op.Responses[status]
		if !ok {
			t.Errorf("%s: status %s not documented", name, status)
			continue
		}
		answered[method+" "+path+" "+status] = true
		target := path + c.query
		if path == "/metrics/{symbol}" {
			target = "/metrics/BTC-USDT"
			if c.query != "" {
				target = "/metrics/" + c.query
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		req := httptest.NewRequestWithContext(ctx, method, target, nil)
		for i := 0; i+1 < len(c.hdr); i += 2 {
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		cancel()
		if strconv.Itoa(rec.Code) != status {
			t.Errorf("%s: answered %d %s", name, rec.Code, short(rec.Body.String()))
			continue
		}
		if len(resp.Content) == 0 {
			if rec.Body.Len() != 0 {
				t.Errorf("%s: a body where none is documented", name)
			}
			continue
		}
		ct := strings.TrimSpace(strings.Split(rec.Header().Get("Content-Type"), ";")[0])
		media, ok := resp.Content[ct]
		if !ok {
			t.Errorf("%s: Content-Type %q not documented", name, ct)
			continue
		}
		if ct != "application/json" {
			continue
		}
		var body any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s: not JSON: %v", name, err)
			continue
		}
		for _, e := range v.check(media.Schema, body, name, "") {
			t.Error(e)
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for status := range op.Responses {
				if k := strings.ToUpper(method) + " " + path + " " + status; !answered[k] {
					t.Errorf("%s: documented, never answered by the test", k)
				}
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		props, _ := s.(map[string]any)["properties"].(map[string]any)
		for p := range props {
			if !v.seen[name+"."+p] {
				t.Errorf("schema %s: field %q never appears in an answer", name, p)
			}
		}
	}
}
