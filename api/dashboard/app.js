// The ctc dashboard: polls the API every 2 s while the tab is visible and renders what it
// returns; the alert list is pushed instead (/alerts/stream, Server-Sent Events) where the API can
// stream, and polled with the rest where it cannot (behind API Gateway and Lambda). Every piece of data reaches the page through textContent or an SVG attribute set
// with setAttribute; nothing is ever parsed as HTML.
"use strict";

(() => {
  const POLL_MS = 2000;
  const SYMBOLS_EVERY = 5; // refresh the symbol list every 5th poll
  const ALERT_LIMIT = 100;
  const TYPES = { volume_spike: "Volume spike", whale: "Whale", whale_cluster: "Whale cluster", spread: "Spread" };
  const SEVERITIES = ["low", "medium", "high", "critical"];
  const SYMBOL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
  // Alert types are open: a user's detector raises its own, and the filter offers every type
  // the alerts show (as the API accepts it: lower-case letters, digits and '_').
  const TYPE_RE = /^[a-z][a-z0-9_]{0,63}$/;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const EXCHANGE_COLOURS = ["#f59e0b", "#38bdf8", "#a78bfa", "#34d399"];

  const apiBase = (document.querySelector('meta[name="ctc-api-base"]')?.content || "").replace(/\/+$/, "");
  const $ = (id) => document.getElementById(id);

  // State, seeded from the page's query string (?type=whale&symbol=BTC-USDT&chart=ETH-USDT) so
  // that a filtered view can be bookmarked or shared.
  const url = new URLSearchParams(location.search);
  const state = {
    type: TYPE_RE.test(url.get("type") || "") ? url.get("type") : "",
    symbol: SYMBOL_RE.test(url.get("symbol") || "") ? url.get("symbol").toUpperCase() : "",
    chart: SYMBOL_RE.test(url.get("chart") || "") ? url.get("chart").toUpperCase() : "",
    symbols: [],
    seen: null, // alert ids already shown, to mark new rows
    polls: 0,
    timer: 0,
    running: false,
    again: false,
    market: null, // /healthz's market clock, when the server has one
    token: "", // a bearer token kept in memory where the API has no /session (API Gateway)
    needKey: false, // the API answered 401: the sign-in form is shown and polling waits
  };

  // ---- helpers -------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  async function api(path, params) {
    const qs = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null)) : null;
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    const res = await fetch(apiBase + path + (qs && [...qs].length ? "?" + qs : ""), { headers, cache: "no-store" });
    if (res.status === 401) {
      showLogin();
      throw new Error("sign in with an API key");
    }
    if (res.status === 404 && path === "/quality") return null; // not configured: hide the score
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${path}: ${body.error || res.status}`);
    return body;
  }

  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 2 });
  const moneyAxis = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  const price = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  const fmtMoney = (v) => (Number.isFinite(v) ? money.format(v) : "–");
  const fmtPct = (v, d = 2) => (Number.isFinite(v) ? `${v >= 0 ? "+" : ""}${v.toFixed(d)} %` : "–");
  const pad = (n) => String(n).padStart(2, "0");
  const hhmmss = (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const hhmm = (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  const severityClass = (s) => (SEVERITIES.includes(s) ? `sev-${s}` : "sev-unknown");

  function alertValue(a) {
    switch (a.alert_type) {
      case "whale":
        return fmtMoney(a.actual_value);
      case "volume_spike":
        return `${fmtMoney(a.actual_value)} · z ${Number(a.z_score).toFixed(1)}`;
      case "spread":
        return fmtPct(a.actual_value);
      default:
        return Number.isFinite(a.actual_value) ? price.format(a.actual_value) : "–";
    }
  }

  function setStatus(kind, text) {
    $("status-box").dataset.state = kind;
    $("status").textContent = text;
  }

  function syncURL() {
    const p = new URLSearchParams();
    if (state.type) p.set("type", state.type);
    if (state.symbol) p.set("symbol", state.symbol);
    if (state.chart && state.chart !== state.symbol) p.set("chart", state.chart);
    const qs = p.toString();
    history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
  }

  // ---- symbols ------------------------------------------------------------------------------

  function fillSelect(select, first, values, selected) {
    const opts = first ? [el("option", { value: "" }, first)] : [];
    const all = selected && !values.includes(selected) ? [...values, selected] : values;
    for (const v of all) opts.push(el("option", { value: v }, v));
    select.replaceChildren(...opts);
    select.value = selected || "";
  }

  async function loadSymbols() {
    const body = await api("/symbols");
    // The pickers offer instruments (BTC: both exchanges, and the spread) and exchange symbols.
    const insts = Array.isArray(body.instruments) ? body.instruments.map(String) : [];
    const markets = Array.isArray(body.symbols) ? body.symbols.map((s) => String(s && typeof s === "object" ? s.symbol : s)) : [];
    const syms = [...new Set(insts.concat(markets))].sort();
    if (syms.join("\n") !== state.symbols.join("\n") || !$("f-chart").options.length) {
      state.symbols = syms;
      fillSelect($("f-symbol"), "All symbols", syms, state.symbol);
      if (!state.chart) state.chart = state.symbol || syms[0] || "";
      fillSelect($("f-chart"), null, syms, state.chart);
    }
  }

  // ---- alerts -------------------------------------------------------------------------------

  async function loadAlerts() {
    const body = await api("/alerts", { type: state.type, symbol: state.symbol, limit: ALERT_LIMIT });
    const alerts = Array.isArray(body.alerts) ? body.alerts : [];
    addTypes(alerts.map((a) => String(a.alert_type)).concat(state.type ? [state.type] : []));
    renderAlerts(alerts);
  }

  // addTypes adds to the type filter the types it does not offer yet.
  function addTypes(types) {
    const select = $("f-type");
    const have = new Set([...select.options].map((o) => o.value));
    for (const t of new Set(types)) {
      if (TYPE_RE.test(t) && !have.has(t)) {
        select.append(el("option", { value: t }, TYPES[t] || t));
        have.add(t);
      }
    }
    select.value = state.type;
  }

  function renderAlerts(alerts) {
    const first = state.seen === null;
    const seen = new Set();
    const rows = alerts.map((a) => {
      const id = String(a.alert_id);
      // In the incidents view an entry is updated in place: it flashes when it gains an alert.
      const inc = a.incident && typeof a.incident === "object" ? a.incident : null;
      const key = inc ? `${id}:${Number(inc.count)}` : id;
      seen.add(key);
      const detected = new Date(a.detected_at);
      const sev = String(a.severity);
      const row = el("tr", { class: `alert ${severityClass(sev)}`, "data-alert-id": id, "data-type": String(a.alert_type) },
        el("td", { class: "time" }, el("time", { datetime: String(a.detected_at), title: String(a.detected_at) }, isNaN(detected) ? "–" : hhmmss(detected))),
        el("td", {}, el("span", { class: `badge ${severityClass(sev)}` }, sev)),
        el("td", { class: "type" }, TYPES[a.alert_type] || String(a.alert_type)),
        el("td", { class: "market" }, el("span", { class: "symbol" }, String(a.symbol)), el("span", { class: "exchange" }, String(a.exchange))),
        el("td", { class: "num" }, alertValue(a)),
        el("td", { class: "message" },
          inc ? el("span", { class: `incident ${inc.open ? "open" : "closed"}`, title: `incident ${String(inc.id)}, revision ${Number(inc.revision)}` },
            `${inc.open ? "open" : "closed"} · ${Number(inc.count)} alert${Number(inc.count) === 1 ? "" : "s"}`) : "",
          String(a.message)),
      );
      if (!first && !state.seen.has(key)) row.classList.add("new");
      return row;
    });
    state.seen = seen;
    $("alerts-body").replaceChildren(...rows);
    $("alerts-empty").hidden = rows.length > 0;
    $("alerts-count").textContent = rows.length ? `${rows.length}${rows.length === ALERT_LIMIT ? "+" : ""}` : "";
  }

  // ---- quality ------------------------------------------------------------------------------

  async function loadQuality() {
    const q = await api("/quality");
    const card = $("quality-card");
    if (!q) {
      card.hidden = true;
      return;
    }
    card.hidden = false;
    const score = Number(q.quality_score);
    const s = $("quality-score");
    s.textContent = Number.isFinite(score) ? `${score.toFixed(score >= 99.95 || score === 0 ? 1 : 2)} %` : "–";
    s.className = "big " + (score >= 99 ? "good" : score >= 95 ? "warn" : "bad");
    const n = (v) => Number(v).toLocaleString("en-US");
    $("quality-detail").textContent = `${n(q.passed)} of ${n(q.processed)} records passed`;
    $("quality-detail").title = `${n(q.failed)} failed · ${n(q.duplicate)} duplicate · ${n(q.late)} late · ${n(q.warnings)} warnings`;
  }

  // ---- per-symbol metrics and charts ----------------------------------------------------------

  async function loadMarket() {
    const sym = state.chart;
    if (!sym) {
      drawEmpty($("volume-chart"), "No symbols yet");
      drawEmpty($("spread-chart"), "No symbols yet");
      return;
    }
    const [m, vols, spreads] = await Promise.all([
      api("/metrics/" + encodeURIComponent(sym)),
      api("/volumes", { symbol: sym }),
      api("/spreads", { symbol: sym }),
    ]);
    if (sym !== state.chart) return; // the user picked another symbol meanwhile
    renderMetrics(m);
    $("volume-title").textContent = sym;
    $("spread-title").textContent = spreads.symbol;
    drawVolumes($("volume-chart"), Array.isArray(vols.volumes) ? vols.volumes : [], sym);
    const th = Number(spreads.threshold_pct);
    drawSpreads($("spread-chart"), Array.isArray(spreads.spreads) ? spreads.spreads : [], spreads.symbol,
      Number.isFinite(th) && th > 0 ? th : null);
  }

  function renderMetrics(m) {
    $("m-symbol").textContent = m.symbol;
    $("m-whale-symbol").textContent = m.symbol;
    $("m-instrument").textContent = m.instrument;
    const counts = m.alert_counts || {};
    const total = Object.values(counts).reduce((a, b) => a + Number(b || 0), 0);
    $("m-total").textContent = `${total}${m.alert_counts_capped ? "+" : ""}`;
    $("m-counts").textContent = Object.entries(counts).map(([t, n]) => `${TYPES[t] || t}: ${n}`).join(" · ");
    const sp = m.spread;
    $("m-spread").textContent = sp ? fmtPct(sp.spread_pct, 3) : "–";
    $("m-spread-detail").textContent = sp
      ? `Binance ${price.format(sp.binance_vwap)} · Coinbase ${price.format(sp.coinbase_vwap)}`
      : "no joined window yet";
    const w = m.last_whale;
    $("m-whale").textContent = w ? fmtMoney(w.actual_value) : "–";
    $("m-whale-detail").textContent = w
      ? `${w.exchange} · ${w.severity} · ${hhmmss(new Date(w.detected_at))} UTC`
      : "none in the last 24 h";
  }

  // Charts are drawn at the container's pixel width, so text and strokes are never stretched.
  const H = 230, PAD = { l: 52, r: 12, t: 26, b: 28 };
  let W = 640;
  const size = (container) => (W = Math.max(320, Math.round(container.clientWidth - 10) || 640));

  function frame(container, label) {
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": label });
    s.append(svg("title", {}, label));
    container.replaceChildren(s);
    return s;
  }

  function drawEmpty(container, text) {
    size(container);
    const s = frame(container, text);
    s.append(svg("text", { x: W / 2, y: H / 2, class: "empty-text", "text-anchor": "middle" }, text));
  }

  // niceTicks returns about n round values spanning [lo, hi].
  function niceTicks(lo, hi, n) {
    const span = hi - lo || 1;
    const raw = span / n;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }

  function timeAxis(s, t0, t1, x) {
    const spanMin = (t1 - t0) / 60000;
    const stepMin = [1, 2, 5, 10, 15, 30, 60, 120, 240].find((m) => spanMin / m <= 6) || 360;
    const step = stepMin * 60000;
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const px = x(t);
      s.append(svg("line", { x1: px, x2: px, y1: H - PAD.b, y2: H - PAD.b + 4, class: "tick" }));
      const anchor = px > W - PAD.r - 18 ? "end" : "middle"; // keep the last label inside the frame
      s.append(svg("text", { x: anchor === "end" ? W - 2 : px, y: H - 8, class: "axis", "text-anchor": anchor }, hhmm(new Date(t))));
    }
  }

  function drawVolumes(container, vols, sym) {
    size(container);
    if (!vols.length) return drawEmpty(container, `No volume windows for ${sym} in the last hour`);
    const exchanges = [...new Set(vols.map((v) => String(v.exchange)))].sort();
    const byStart = new Map();
    for (const v of vols) {
      const t = Date.parse(v.window_start);
      if (!Number.isFinite(t)) continue;
      if (!byStart.has(t)) byStart.set(t, []);
      byStart.get(t).push(v);
    }
    const starts = [...byStart.keys()].sort((a, b) => a - b);
    const t0 = starts[0], t1 = starts[starts.length - 1] + 60000;
    const maxV = Math.max(...starts.map((t) => byStart.get(t).reduce((a, v) => a + (Number(v.total_volume) || 0), 0)), 1);
    const ticks = niceTicks(0, maxV, 4);
    const top = Math.max(ticks[ticks.length - 1], maxV);
    const x = (t) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
    const y = (v) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
    const s = frame(container, `Volume per 60 s window of ${sym}: ${starts.length} windows, peak ${fmtMoney(maxV)}`);
    for (const v of ticks) {
      s.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: "grid" }));
      s.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, "$" + moneyAxis.format(v)));
    }
    const bw = Math.max(1, ((W - PAD.l - PAD.r) * 60000) / (t1 - t0) - 1.5);
    for (const t of starts) {
      let base = 0;
      for (const v of byStart.get(t).sort((a, b) => exchanges.indexOf(a.exchange) - exchanges.indexOf(b.exchange))) {
        const val = Number(v.total_volume) || 0;
        const rect = svg("rect", {
          class: "bar", x: x(t) + 0.75, width: bw, y: y(base + val), height: Math.max(0, y(base) - y(base + val)),
          fill: EXCHANGE_COLOURS[exchanges.indexOf(String(v.exchange)) % EXCHANGE_COLOURS.length],
        });
        rect.append(svg("title", {}, `${v.exchange} ${hhmm(new Date(t))} UTC: ${fmtMoney(val)} in ${v.trade_count} trades, VWAP ${price.format(v.avg_price)}`));
        s.append(rect);
        base += val;
      }
    }
    s.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b, class: "axis-line" }));
    timeAxis(s, t0, t1, x);
    exchanges.forEach((ex, i) => {
      const lx = PAD.l + i * 92;
      s.append(svg("rect", { x: lx, y: 6, width: 10, height: 10, rx: 2, fill: EXCHANGE_COLOURS[i % EXCHANGE_COLOURS.length] }));
      s.append(svg("text", { x: lx + 14, y: 15, class: "legend" }, ex));
    });
  }

  function drawSpreads(container, spreads, inst, threshold) {
    size(container);
    const pts = spreads
      .map((p) => ({ t: Date.parse(p.window_start), v: Number(p.spread_pct), p }))
      .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
    if (!pts.length) return drawEmpty(container, `No joined spread windows for ${inst} in the last hour`);
    const t0 = pts[0].t, t1 = Math.max(pts[pts.length - 1].t, t0 + 30000);
    const absMax = Math.max(threshold ? threshold * 1.2 : 0.6, ...pts.map((p) => Math.abs(p.v))) * 1.1;
    const ticks = niceTicks(-absMax, absMax, 4);
    const x = (t) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
    const y = (v) => PAD.t + ((absMax - v) / (2 * absMax)) * (H - PAD.t - PAD.b);
    const last = pts[pts.length - 1];
    const s = frame(container, `Spread of ${inst}: ${pts.length} windows, latest ${fmtPct(last.v, 3)}`);
    for (const v of ticks) {
      s.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), class: v === 0 ? "zero" : "grid" }));
      s.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, `${v.toFixed(Math.abs(v) < 1 && v !== 0 ? 2 : 1)}%`));
    }
    if (threshold) {
      for (const th of [threshold, -threshold]) {
        s.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(th), y2: y(th), class: "threshold" }));
      }
      s.append(svg("line", { x1: PAD.l, x2: PAD.l + 18, y1: 11, y2: 11, class: "threshold" }));
      s.append(svg("text", { x: PAD.l + 24, y: 15, class: "legend threshold-label" }, `alert threshold ±${threshold} %`));
    }
    const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    s.append(svg("path", { d: `${d} L${x(last.t).toFixed(1)},${y(0)} L${x(t0)},${y(0)} Z`, class: "area" }));
    s.append(svg("path", { d, class: "line" }));
    for (const p of pts) {
      if (threshold && Math.abs(p.v) > threshold) {
        const c = svg("circle", { cx: x(p.t), cy: y(p.v), r: 3.5, class: "breach" });
        c.append(svg("title", {}, `${hhmm(new Date(p.t))} UTC: ${fmtPct(p.v, 3)}`));
        s.append(c);
      }
    }
    s.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b, class: "axis-line" }));
    timeAxis(s, t0, t1, x);
  }

  // ---- push -----------------------------------------------------------------------------------

  // One EventSource per filter: each "alert" event refreshes the list at once. An error before the
  // stream ever opened means the API cannot stream (a 404 from an older API, API Gateway): the
  // dashboard then polls /alerts with the rest. After it opened, the browser reconnects by itself
  // (with Last-Event-ID), and the alerts are polled until it is open again.
  const stream = { es: null, key: null, open: false, failed: false };

  function connectStream() {
    if (stream.failed || typeof EventSource === "undefined") return;
    const qs = new URLSearchParams(Object.entries({ type: state.type, symbol: state.symbol }).filter(([, v]) => v)).toString();
    if (stream.es && stream.key === qs) return;
    if (stream.es) stream.es.close();
    const es = new EventSource(apiBase + "/alerts/stream" + (qs ? "?" + qs : ""));
    Object.assign(stream, { es, key: qs, open: false });
    es.addEventListener("open", () => {
      if (stream.es === es) stream.open = true;
    });
    es.addEventListener("alert", () => {
      if (stream.es === es) loadAlerts().catch(() => {});
    });
    es.addEventListener("error", () => {
      if (stream.es !== es) return;
      if (!stream.open) {
        es.close();
        Object.assign(stream, { es: null, failed: true });
      }
      stream.open = false;
    });
  }

  // ---- market time ------------------------------------------------------------------------------

  // Alert times are event times. For the simulator (at 10× by default) or a replay they are not
  // the wall clock's, so the status says where the market is, and that it is simulated.
  async function loadClock() {
    const body = await api("/healthz");
    state.market = body && typeof body.market === "object" && body.market ? body.market : null;
  }

  function marketClock() {
    const m = state.market;
    if (!m || !m.event_time) return "";
    const t = new Date(m.event_time);
    if (isNaN(t)) return "";
    const how = m.simulated ? ` (simulated${Number(m.speed) > 0 ? `, ${Number(m.speed)}×` : ""})` : "";
    return ` · market time ${hhmmss(t)} UTC${how}`;
  }

  // ---- sign-in --------------------------------------------------------------------------------

  // The API asked for a key (401): stop polling and ask for it. The key goes once to
  // POST /session, whose answer sets an HttpOnly cookie that every request, the event stream
  // included, then carries; the page keeps no copy of the key.
  function showLogin() {
    if (state.needKey) return;
    state.needKey = true;
    state.token = ""; // refused: an expired token is asked for again
    if (stream.es) stream.es.close();
    Object.assign(stream, { es: null, key: null, open: false });
    $("login").hidden = false;
    $("login-key").focus();
  }

  async function signIn(e) {
    e.preventDefault();
    const input = $("login-key");
    $("login-error").textContent = "";
    try {
      const res = await fetch(apiBase + "/session", { method: "POST", headers: { Authorization: `Bearer ${input.value}` }, cache: "no-store" });
      if (res.status === 404 || res.status === 405) {
        // No session endpoint: an API behind a gateway that checks tokens itself (API Gateway's
        // JWT authorizer) and cannot stream. The token is kept in this page's memory only (not in
        // storage) and sent as a header on each poll.
        state.token = input.value;
      } else if (res.status !== 204) {
        $("login-error").textContent = res.status === 401 ? "That key is not one of the API's." : `Sign-in failed (${res.status}).`;
        return;
      }
    } catch (err) {
      $("login-error").textContent = `Sign-in failed: ${err && err.message ? err.message : err}`;
      return;
    }
    input.value = "";
    $("login").hidden = true;
    state.needKey = false;
    stream.failed = false; // a stream refused for want of a key may open now
    state.seen = null;
    poll();
  }

  // ---- polling --------------------------------------------------------------------------------

  async function poll() {
    clearTimeout(state.timer);
    if (document.hidden) {
      setStatus("paused", "Paused while the tab is hidden");
      return;
    }
    if (state.needKey) {
      setStatus("error", "Sign in with an API key");
      return;
    }
    if (state.running) {
      state.again = true; // a filter changed mid-poll: poll again as soon as this one ends
      return;
    }
    state.running = true;
    state.again = false;
    try {
      if (state.polls % SYMBOLS_EVERY === 0 || !state.symbols.length) await loadSymbols();
      connectStream();
      const loads = [loadQuality(), loadMarket(), loadClock()];
      if (!stream.open || state.seen === null) loads.push(loadAlerts()); // pushed while the stream is open
      const results = await Promise.allSettled(loads);
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      setStatus("live", `Live · updated ${hhmmss(new Date())} UTC${marketClock()}`);
    } catch (err) {
      setStatus("error", state.needKey ? "Sign in with an API key" : `API error, retrying: ${err && err.message ? err.message : err}`);
    } finally {
      state.polls++;
      state.running = false;
      if (!document.hidden && !state.needKey) state.timer = setTimeout(poll, state.again ? 0 : POLL_MS);
    }
  }

  function init() {
    $("f-type").value = state.type;
    $("f-type").addEventListener("change", (e) => {
      state.type = e.target.value;
      state.seen = null;
      syncURL();
      poll();
    });
    $("f-symbol").addEventListener("change", (e) => {
      state.symbol = e.target.value;
      if (state.symbol) {
        state.chart = state.symbol;
        $("f-chart").value = state.chart;
      }
      state.seen = null;
      syncURL();
      poll();
    });
    $("f-chart").addEventListener("change", (e) => {
      state.chart = e.target.value;
      syncURL();
      poll();
    });
    for (const f of document.querySelectorAll("form")) f.addEventListener("submit", (e) => e.preventDefault());
    $("login").addEventListener("submit", signIn);
    document.addEventListener("visibilitychange", poll);
    poll();
  }

  init();
})();
