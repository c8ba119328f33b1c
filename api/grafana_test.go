package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/feed"
)

// The Grafana dashboard in deploy/monitoring is a dashboard Grafana imports (its data source an
// input, every panel with a type, a title, a place and queries), with pipeline, quality and API
// panels, and every metric its queries name is one the consumer serves at /prometheus — checked
// against a registry holding every ctc collector, each with a sample, as the consumer builds it.
func TestGrafanaDashboardQueriesExist(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "deploy", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs []struct{ Name, Type, PluginID string } `json:"__inputs"`
		Title  string                                  `json:"title"`
		UID    string                                  `json:"uid"`
		Schema int                                     `json:"schemaVersion"`
		Panels []struct {
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.Schema < 30 || len(d.Inputs) != 1 || d.Inputs[0].PluginID != "prometheus" {
		t.Fatalf("dashboard header: %+v", d)
	}

	// Every metric a ctc consumer serves.
	reg := prometheus.NewRegistry()
	h := newTestHandler(t, Config{Registerer: reg, Quality: testQuality})
	get(t, h, "/alerts")
	reg.MustRegister(NewCollector(func() ctc.Stats { return ctc.Stats{Records: 1} }, testQuality),
		NewFeedCollector(map[string]func() feed.StatsSnapshot{"binance": func() feed.StatsSnapshot { return feed.StatsSnapshot{} }}))
	obs, err := NewSinkObserver(reg)
	if err != nil {
		t.Fatal(err)
	}
	obs.SinkCall("iceberg", "commit", time.Millisecond, errors.New("x"))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				served[f.GetName()+s] = true
			}
		}
	}

	metric := regexp.MustCompile(`\bctc_[a-z_]+\b`)
	titles := map[string]bool{}
	queries := 0
	for _, p := range d.Panels {
		if p.Type == "" || p.Title == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %+v lacks a type, title or place", p)
		}
		if p.Type == "row" {
			titles[p.Title] = true
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: no queries on the imported data source", p.Title)
		}
		for _, q := range p.Targets {
			names := metric.FindAllString(q.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no ctc metric", p.Title, q.Expr)
			}
			for _, n := range names {
				if !served[n] {
					t.Errorf("panel %q: query %q names %s, which no ctc collector serves", p.Title, q.Expr, n)
				}
			}
			queries++
		}
	}
	for _, want := range []string{"Pipeline", "Quality", "API"} {
		if !titles[want] {
			t.Errorf("no %q row", want)
		}
	}
	t.Logf("%d panels, %d queries, %d metric names served", len(d.Panels), queries, len(served))

	// The scrape config points at the endpoint the handler serves.
	cfg, err := os.ReadFile(filepath.Join("..", "deploy", "monitoring", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+metrics_path:\s*(\S+)`).FindSubmatch(cfg)
	if m == nil {
		t.Fatal("prometheus.yml sets no metrics_path")
	}
	if r := get(t, h, string(m[1])); r.code != http.StatusOK || !strings.Contains(string(r.body), "ctc_api_requests_total") {
		t.Errorf("the scrape config's metrics_path %s answers %d", m[1], r.code)
	}
}
