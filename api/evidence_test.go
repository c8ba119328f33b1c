package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/evidence"
)

// evidenceReport is a report of a whale and a spread alert on a made-up market, as JSON, with a
// hostile alert type that the page must show as text.
func evidenceReport(t testing.TB) []byte {
	t.Helper()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var trades evidence.Trades
	for s := -3600; s < 2*3600; s++ {
		p := 60_000.0
		if s >= 30 {
			p = 60_300
		}
		trades.Add(ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(s+10_000)), Exchange: ctc.Binance,
			Symbol: "BTC-USDT", Price: p, Quantity: 0.25, Timestamp: t0.Add(time.Duration(s) * time.Second)})
	}
	alerts := []ctc.Alert{
		{AlertID: ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", "1"), AlertType: ctc.Whale, Severity: ctc.High,
			Exchange: ctc.Binance, Symbol: "BTC-USDT", DetectedAt: t0, Message: "BTC-USDT on binance: $600.0k buy of 10 at 60000.00"},
		{AlertID: ctc.NewAlertID(ctc.VolumeSpike, ctc.Binance, "BTC-USDT", "2"), AlertType: ctc.VolumeSpike, Severity: ctc.Medium,
			Exchange: ctc.Binance, Symbol: "BTC-USDT", DetectedAt: t0.Add(time.Minute)},
		{AlertID: ctc.NewAlertID("x", ctc.Binance, "BTC-USDT", "3"), AlertType: `<img src=x onerror=alert(1)>`, Severity: ctc.Low,
			Exchange: ctc.Binance, Symbol: "BTC-USDT", DetectedAt: t0.Add(2 * time.Minute)},
	}
	r, err := evidence.Evaluate(evidence.Config{Seed: 1}, alerts, &trades)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEvidenceEndpoint(t *testing.T) {
	t.Parallel()
	report := evidenceReport(t)
	for _, c := range []struct {
		name string
		fn   func(context.Context) ([]byte, error)
		path string
		code int
		want string
	}{
		{"not configured", nil, "/evidence", 404, "started without one"},
		{"no report yet", func(context.Context) ([]byte, error) { return nil, ErrNoEvidence }, "/evidence", 404, "adapters/evidence -out"},
		{"broken", func(context.Context) ([]byte, error) { return nil, errors.New("disk on fire") }, "/evidence", 500, "server log"},
		{"served", func(context.Context) ([]byte, error) { return report, nil }, "/evidence", 200, `"groups":[`},
		{"a parameter", func(context.Context) ([]byte, error) { return report, nil }, "/evidence?x=1", 400, "x"},
	} {
		h := newTestHandler(t, Config{Evidence: c.fn})
		r := get(t, h, c.path)
		if r.code != c.code || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s: %d %s; want %d and %q", c.name, r.code, r.body, c.code, c.want)
		}
		if c.code == 200 && r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", c.name, r.header.Get("Content-Type"))
		}
	}
}

func TestEvidenceFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "evidence.json")
	fn := EvidenceFile(path)
	if _, err := fn(t.Context()); !errors.Is(err, ErrNoEvidence) {
		t.Errorf("missing file: %v, want ErrNoEvidence", err)
	}
	if err := os.WriteFile(path, []byte("[1, 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fn(t.Context()); err == nil || errors.Is(err, ErrNoEvidence) {
		t.Errorf("a file that is not a JSON object: %v", err)
	}
	report := evidenceReport(t)
	if err := os.WriteFile(path, report, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := fn(t.Context())
	if err != nil || string(b) != string(report) {
		t.Errorf("served %d bytes, %v", len(b), err)
	}
}

// EvidenceReader maps fs.ErrNotExist to ErrNoEvidence, passes other errors on, and refuses a
// report over 8 MiB or not a JSON object without reading past the bound.
func TestEvidenceReader(t *testing.T) {
	t.Parallel()
	report := evidenceReport(t)
	var read int64
	open := func(body io.Reader, err error) func(context.Context) (io.ReadCloser, error) {
		return func(context.Context) (io.ReadCloser, error) {
			if err != nil {
				return nil, err
			}
			return io.NopCloser(&countingReader{r: body, n: &read}), nil
		}
	}
	for _, c := range []struct {
		name    string
		open    func(context.Context) (io.ReadCloser, error)
		noEv    bool
		wantErr string
	}{
		{"missing", open(nil, fmt.Errorf("s3://b/k: %w", fs.ErrNotExist)), true, ""},
		{"denied", open(nil, errors.New("AccessDenied")), false, "AccessDenied"},
		{"not JSON", open(strings.NewReader("<html>"), nil), false, "not a JSON object"},
		{"an array", open(strings.NewReader("[]"), nil), false, "not a JSON object"},
		{"oversized", open(io.MultiReader(strings.NewReader(`{"pad":"`), strings.NewReader(strings.Repeat("x", maxEvidence))), nil), false, "over the 8388608 bytes allowed"},
		{"at the bound", open(io.MultiReader(strings.NewReader(`{"pad":"`), strings.NewReader(strings.Repeat("x", maxEvidence-10)), strings.NewReader(`"}`)), nil), false, ""},
		{"served", open(bytes.NewReader(report), nil), false, ""},
	} {
		read = 0
		b, err := EvidenceReader("s3://b/k", c.open)(t.Context())
		switch {
		case c.noEv:
			if !errors.Is(err, ErrNoEvidence) {
				t.Errorf("%s: %v, want ErrNoEvidence", c.name, err)
			}
		case c.wantErr != "":
			if err == nil || errors.Is(err, ErrNoEvidence) || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: %v, want an error with %q", c.name, err, c.wantErr)
			}
		case err != nil || !json.Valid(b):
			t.Errorf("%s: %d bytes, %v", c.name, len(b), err)
		}
		if read > maxEvidence+1 {
			t.Errorf("%s: read %d bytes, past the bound", c.name, read)
		}
	}
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// The dashboard's evidence panel renders the report's table, shows a hostile alert type as text,
// and stays hidden when the API has no report.
func TestEvidencePanelInChromium(t *testing.T) {
	bin := chromium(t)
	f := newFixture(time.Now())
	report := evidenceReport(t)
	var r evidence.Report
	if err := json.Unmarshal(report, &r); err != nil {
		t.Fatal(err)
	}
	h := newTestHandler(t, Config{Store: f.store(t), Now: func() time.Time { return f.now }, Quality: testQuality,
		StreamMaxAge: 300 * time.Millisecond, Evidence: func(context.Context) ([]byte, error) { return report, nil }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	dom, stderr := runChromium(t, bin, srv.URL+"/", "--dump-dom")
	if errs := consoleErrors(stderr); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
	panel := element(t, dom, `<section class="panel evidence" id="evidence-panel"`, "</section>")
	if strings.Contains(panel[:strings.Index(panel, ">")], "hidden") {
		t.Errorf("the panel is hidden: %s", panel[:200])
	}
	body := element(t, panel, `<tbody id="evidence-body">`, "</tbody>")
	want := 0
	for _, g := range r.Groups {
		want += len(g.Horizons)
	}
	if n := strings.Count(body, "<tr"); n != want || want == 0 {
		t.Errorf("%d rows, want %d (one per group and horizon)", n, want)
	}
	for _, want := range []string{
		`data-type="whale" data-severity="high"`,
		`<td class="horizon">+1m</td>`,
		`+50.0`, // the whale's step, every horizon
		`in the alert's direction`,
		`size of the move`,
		`&lt;img src=x onerror=alert(1)&gt;`,
		`3 alerts against 20 random pseudo-alerts each · 95 % intervals`,
	} {
		if !strings.Contains(panel, want) {
			t.Errorf("the panel does not show %s:\n%s", want, panel)
		}
	}
	if strings.Contains(panel, "<img") {
		t.Error("the hostile alert type became an element")
	}

	t.Run("no report", func(t *testing.T) {
		h := newTestHandler(t, Config{Store: f.store(t), Now: func() time.Time { return f.now }, StreamMaxAge: 300 * time.Millisecond})
		srv := httptest.NewServer(h)
		defer srv.Close()
		dom, _ := runChromium(t, bin, srv.URL+"/", "--dump-dom")
		if strings.Contains(dom, `id="evidence-panel"`) && !strings.Contains(dom, `id="evidence-panel" hidden=""`) {
			t.Errorf("the panel shows without a report: %s", element(t, dom, `id="evidence-panel"`, ">"))
		}
		if len(rows(dom)) != len(f.visible()) {
			t.Error("the alerts are not shown when /evidence is 404")
		}
	})
}
