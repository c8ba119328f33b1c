// The evidence panel: "Is an alert worth acting on?" It shows the last report of
// adapters/evidence (GET /evidence): per alert type and severity, the market's move after the
// alerts beside the move after pseudo-alerts at random times, with confidence intervals. It builds
// its own section at the end of the page, stays hidden while the API has no report (404), and
// refreshes once a minute. Like the rest of the page it writes data with textContent only.
"use strict";

(() => {
  const REFRESH_MS = 60000;
  const MEASURES = {
    signed: "in the alert's direction",
    convergence: "spread closing",
    absolute: "size of the move",
  };
  const apiBase = (document.querySelector('meta[name="ctc-api-base"]')?.content || "").replace(/\/+$/, "");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const bp = (v) => {
    if (num(v) === null) return "–";
    const r = Math.round(v * 10) / 10; // never −0.0
    return `${r >= 0 ? "+" : "−"}${Math.abs(r).toFixed(1)}`;
  };
  const ci = (c, f) => (c && num(c.low) !== null && num(c.high) !== null ? `[${f(c.low)}, ${f(c.high)}]` : "");
  // A statistic with its interval under it, smaller.
  function stat(cls, value, interval) {
    const td = el("td", cls, value);
    if (interval) td.append(el("span", "ci", interval));
    return td;
  }
  const pct = (v) => (num(v) === null ? "–" : (v * 100).toFixed(0));

  let panel = null;
  function ensurePanel() {
    if (panel) return panel;
    panel = el("section", "panel evidence");
    panel.id = "evidence-panel";
    panel.hidden = true;
    panel.setAttribute("aria-labelledby", "evidence-title");
    const head = el("div", "panel-head");
    const title = el("h2", "", "Is an alert worth acting on?");
    title.id = "evidence-title";
    head.append(title);
    const sub = el("p", "evidence-sub");
    sub.id = "evidence-sub";
    const wrap = el("div", "table-wrap");
    const table = el("table");
    table.id = "evidence-table";
    const cap = el("caption", "sr-only", "Market moves after alerts against pseudo-alerts at random times, in basis points");
    const thead = el("thead");
    const hr = el("tr");
    for (const [h, cls] of [
      ["Type", ""], ["Severity", ""], ["Measure", ""], ["Horizon", ""], ["n", "num"], ["Hit %", "num"],
      ["Mean bp", "num"], ["Median bp", "num"], ["Random: hit %", "num"], ["Random: mean bp", "num"], ["Edge bp", "num"],
    ]) {
      const th = el("th", cls, h);
      th.scope = "col";
      hr.append(th);
    }
    thead.append(hr);
    const tbody = el("tbody");
    tbody.id = "evidence-body";
    table.append(cap, thead, tbody);
    wrap.append(table);
    const note = el("p", "evidence-note",
      "Moves in basis points (0.01 %) from the VWAP up to the alert to the VWAP around each horizon; intervals under each figure. " +
      "Edge: the alerts' mean move minus the random pseudo-alerts'; marked when its interval excludes zero — " +
      "with many groups and horizons a few such marks are expected by chance.");
    panel.append(head, sub, wrap, note);
    (document.querySelector("main") || document.body).append(panel);
    return panel;
  }

  function render(r) {
    const p = ensurePanel();
    const groups = Array.isArray(r.groups) ? r.groups : [];
    const level = num(r.confidence) === null ? "" : ` · ${Math.round(r.confidence * 100)} % intervals`;
    const span = r.first_trade && r.last_trade ? ` · trades ${String(r.first_trade).slice(0, 16)} … ${String(r.last_trade).slice(0, 16)} UTC` : "";
    document.getElementById("evidence-sub").textContent =
      `${num(r.alerts) ?? 0} alerts against ${num(r.baseline_per_alert) ?? 0} random pseudo-alerts each${level}${span}`;
    const body = document.getElementById("evidence-body");
    const rows = [];
    for (const g of groups) {
      const hs = Array.isArray(g.horizons) ? g.horizons : [];
      hs.forEach((h, i) => {
        const tr = el("tr", i === 0 ? "group-start" : "");
        tr.dataset.type = String(g.alert_type ?? "");
        tr.dataset.severity = String(g.severity ?? "");
        if (i === 0) {
          for (const [text, cls] of [
            [g.alert_type, "type"],
            [g.severity, `sev sev-${String(g.severity).replace(/[^a-z]/g, "")}`],
            [MEASURES[g.measure] || g.measure, "measure"],
          ]) {
            const td = el("td", cls, text ?? "");
            td.rowSpan = hs.length;
            tr.append(td);
          }
        }
        const a = h.alerts || {}, b = h.baseline || {};
        const has = num(a.n) > 0, hasB = num(b.n) > 0;
        const edge = stat("num edge", has && hasB ? bp(h.edge_bps) : "–", has && hasB ? ci(h.edge_ci, bp) : "");
        if (h.edge_ci && (h.edge_ci.low > 0 || h.edge_ci.high < 0)) edge.classList.add(h.edge_ci.low > 0 ? "pos" : "neg");
        tr.append(
          el("td", "horizon", h.horizon ?? ""),
          el("td", "num", `${num(a.n) ?? 0}${num(a.no_data) ? ` (+${a.no_data} n/a)` : ""}`),
          stat("num", has ? pct(a.hit_rate) : "–", has ? ci(a.hit_rate_ci, pct) : ""),
          stat("num", has ? bp(a.mean_bps) : "–", has ? ci(a.mean_ci, bp) : ""),
          el("td", "num", has ? bp(a.median_bps) : "–"),
          el("td", "num muted", hasB ? pct(b.hit_rate) : "–"),
          stat("num muted", hasB ? bp(b.mean_bps) : "–", hasB ? ci(b.mean_ci, bp) : ""),
          edge,
        );
        rows.push(tr);
      });
    }
    body.replaceChildren(...rows);
    p.hidden = rows.length === 0;
  }

  let retry = 0;
  async function refresh() {
    try {
      const res = await fetch(apiBase + "/evidence", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!res.ok) {
        if (panel) panel.hidden = true; // no report (404), or none readable: nothing to show
        // Not signed in yet (API keys): look again soon, so the panel follows the sign-in.
        if (res.status === 401 && !retry) retry = setTimeout(() => { retry = 0; refresh(); }, 5000);
        return;
      }
      render(await res.json());
    } catch (e) {
      if (panel) panel.hidden = true;
    }
  }

  function start() {
    refresh();
    setInterval(() => {
      if (document.visibilityState === "visible") refresh();
    }, REFRESH_MS);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
