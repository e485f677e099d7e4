/* Baton support dashboard: loads data.json (next to the page), draws it, and reloads it every minute.

   Plain JS, no build step. Runs under a Content-Security-Policy of script-src 'self' / style-src 'self': no inline
   scripts or style attributes (Chart.js sizes its canvases through the CSSOM, which the policy allows).
   Text from the data only ever goes in through textContent.

   For tests: document.body.dataset.rendered is "true" when a render has finished, "error" when loading or drawing
   failed (the message is in #status); each chart canvas gets data-points = the number of values it drew
   (0 with "No data yet" shown in its place). */
(function () {
  "use strict";

  var REFRESH_MS = 60 * 1000;
  var DATA_URL = "data.json";
  var COLORS = { blue: "#2f5bd3", blueSoft: "rgba(47, 91, 211, 0.18)", orange: "#e07b00", teal: "#138a8a",
                 green: "#2e9d57", red: "#d64545", grey: "#98a2b3", grid: "#e9edf3" };
  // A KPI whose change is better when it goes down; null = neither (volume is not good or bad by itself).
  var LOWER_IS_BETTER = { escalation_rate: true, first_response_p50_s: true, reescalation_rate: true,
                          cost_per_resolution: true, resolution_rate: false, sla_compliance: false,
                          csat_mean: false, handoffs: null };
  var charts = {};
  var timer = null;

  // ---------- formatting ----------
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  var intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  function fmtInt(v) { return isNum(v) ? intFmt.format(v) : "—"; }
  function fmtPct(v, digits) {
    if (!isNum(v)) { return "—"; }
    return (v * 100).toFixed(digits === undefined ? 1 : digits) + "%";
  }
  function fmtFixed(v, digits) { return isNum(v) ? v.toFixed(digits) : "—"; }
  function pad2(n) { return (n < 10 ? "0" : "") + n; }
  /* Seconds as "45s", "2m 05s", "1h 10m", "2d 03h". */
  function fmtDuration(v) {
    if (!isNum(v)) { return "—"; }
    var s = Math.round(Math.abs(v));
    var sign = v < 0 ? "−" : "";
    if (s < 60) { return sign + s + "s"; }
    if (s < 3600) { return sign + Math.floor(s / 60) + "m " + pad2(s % 60) + "s"; }
    if (s < 86400) { return sign + Math.floor(s / 3600) + "h " + pad2(Math.floor((s % 3600) / 60)) + "m"; }
    return sign + Math.floor(s / 86400) + "d " + pad2(Math.floor((s % 86400) / 3600)) + "h";
  }
  /* Axis ticks: round steps read best short ("5m", "1h", "1h 30m"). */
  function fmtTick(v) {
    if (!isNum(v) || v === 0) { return "0"; }
    if (v % 3600 === 0) { return v / 3600 + "h"; }
    if (v % 60 === 0) { return v >= 3600 ? fmtDuration(v) : v / 60 + "m"; }
    return fmtDuration(v);
  }
  /* A step for a seconds axis whose top value is max: a round duration giving at most 6 steps. */
  function durationStep(max) {
    var steps = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    for (var i = 0; i < steps.length; i++) { if (max / steps[i] <= 6) { return steps[i]; } }
    return Math.ceil(max / 6 / 86400) * 86400;
  }
  function narrow() { return window.matchMedia("(max-width: 699px)").matches; }
  function fmtChange(v) {
    if (!isNum(v)) { return "—"; }
    var pct = v * 100;
    var digits = Math.abs(pct) >= 10 ? 0 : 1;
    var text = Math.abs(pct).toFixed(digits);
    if (Number(text) === 0) { return "±0%"; }
    return (pct > 0 ? "▲ +" : "▼ −") + text + "%";
  }
  function timeZoneOr(tz) {
    try { new Intl.DateTimeFormat("en-GB", { timeZone: tz }); return tz; } catch (e) { return "UTC"; }
  }
  function fmtDate(iso, tz, withTime) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    var opts = { timeZone: timeZoneOr(tz), day: "numeric", month: "short", year: "numeric" };
    if (withTime) { opts.hour = "2-digit"; opts.minute = "2-digit"; opts.hourCycle = "h23"; }
    return new Intl.DateTimeFormat("en-GB", opts).format(d);
  }
  function shortDay(key) {  // "2026-11-26" -> ["Thu", "26 Nov"], two lines (a calendar date: read it as UTC)
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(key));
    if (!m) { return String(key); }
    var d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    var f = function (o) { o.timeZone = "UTC"; return new Intl.DateTimeFormat("en-GB", o).format(d); };
    return [f({ weekday: "short" }), f({ day: "numeric", month: "short" })];
  }
  function humanKey(key) {  // "low_confidence" -> "Low confidence"
    var s = String(key == null ? "" : key).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  var KPI_FORMAT = {
    handoffs: fmtInt, escalation_rate: fmtPct, first_response_p50_s: fmtDuration, resolution_rate: fmtPct,
    sla_compliance: fmtPct, csat_mean: function (v) { return fmtFixed(v, 2); }, reescalation_rate: fmtPct,
    cost_per_resolution: function (v) { return fmtFixed(v, 2); }
  };

  // ---------- DOM helpers (text only) ----------
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function cell(tr, text, cls, sub) {
    var td = el("td", text, cls);
    if (sub !== undefined) { td.appendChild(el("span", sub, "sub")); }
    tr.appendChild(td);
    return td;
  }
  function withCount(td, n) {  // "23.8%" + a muted "(51)" after it
    if (isNum(n)) { td.prepend(el("span", "(" + fmtInt(n) + ") ", "count")); }
    return td;
  }
  function arr(v) { return Array.isArray(v) ? v : []; }
  function obj(v) { return v && typeof v === "object" && !Array.isArray(v) ? v : {}; }
  function fillTable(tableId, rows, build) {
    var table = $(tableId);
    var body = table.tBodies[0];
    body.replaceChildren();
    rows.forEach(function (row) { var tr = document.createElement("tr"); build(tr, obj(row)); body.appendChild(tr); });
    var empty = table.closest(".card").querySelector(".empty-text");
    table.hidden = rows.length === 0;
    if (empty) { empty.hidden = rows.length !== 0; }
  }

  // ---------- charts ----------
  function baseOptions() {
    return {
      animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { display: false } },
      scales: { x: { grid: { display: false } }, y: { beginAtZero: true, grid: { color: COLORS.grid } } }
    };
  }
  function countPoints(datasets) {
    return datasets.reduce(function (n, ds) { return n + ds.data.filter(isNum).length; }, 0);
  }
  function hasSignal(datasets) {
    return datasets.some(function (ds) { return ds.data.some(function (v) { return isNum(v) && v !== 0; }); });
  }
  /* Draw (or replace) one chart; with nothing to show, hide the canvas and show "No data yet" instead. */
  function drawChart(id, type, labels, datasets, options) {
    var canvas = $(id);
    var empty = canvas.parentNode.querySelector(".empty");
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    if (!labels.length || !hasSignal(datasets)) {
      canvas.hidden = true;
      empty.hidden = false;
      canvas.dataset.points = "0";
      return;
    }
    canvas.hidden = false;
    empty.hidden = true;
    charts[id] = new window.Chart(canvas, { type: type, data: { labels: labels, datasets: datasets },
                                            options: options || baseOptions() });
    canvas.dataset.points = String(countPoints(datasets));
  }
  function values(rows, key) { return rows.map(function (r) { var v = obj(r)[key]; return isNum(v) ? v : null; }); }
  function pctAxis(opts, axis) {
    opts.scales[axis].ticks = { callback: function (v) { return Math.round(v * 100) + "%"; } };
    opts.scales[axis].suggestedMax = 1;
    return opts;
  }
  function pctTooltip(opts) {
    opts.plugins.tooltip = { callbacks: { label: function (c) { return c.dataset.label + ": " + fmtPct(c.raw); } } };
    return opts;
  }

  function drawVolume(data) {
    var hours = arr(data.by_hour);
    drawChart("chart-hour", "bar", hours.map(function (r) { return pad2(Number(obj(r).key) || 0); }),
              [{ label: "Hand-offs", data: values(hours, "handoffs"), backgroundColor: COLORS.blue }]);
    var days = arr(data.by_weekday);
    drawChart("chart-weekday", "bar", days.map(function (r) { return String(obj(r).key); }),
              [{ label: "Hand-offs", data: values(days, "handoffs"), backgroundColor: COLORS.blue }]);
    var reasons = arr(data.by_reason);
    var opts = baseOptions();
    opts.indexAxis = "y";
    opts.interaction = { mode: "nearest", axis: "y", intersect: false };
    opts.scales = { x: { beginAtZero: true, grid: { color: COLORS.grid } }, y: { grid: { display: false } } };
    drawChart("chart-reason", "bar", reasons.map(function (r) { return humanKey(obj(r).key); }),
              [{ label: "Hand-offs", data: values(reasons, "handoffs"), backgroundColor: COLORS.teal }], opts);
  }

  function drawTrend(data) {
    var rows = arr(data.trend);
    var p50 = values(rows, "first_response_p50_s");
    var p90 = values(rows, "first_response_p90_s");
    var top = Math.max.apply(null, p50.concat(p90).filter(isNum).concat([1]));
    var opts = baseOptions();
    opts.plugins.legend = { display: true, position: "bottom", labels: { boxWidth: 12 } };
    opts.scales.x.ticks = { maxRotation: 0, autoSkip: true };
    opts.scales.y = { beginAtZero: true, position: "left", grid: { color: COLORS.grid },
                      title: { display: !narrow(), text: "First response" },
                      ticks: { stepSize: durationStep(top), callback: function (v) { return fmtTick(v); } } };
    opts.scales.y1 = { beginAtZero: true, position: "right", grid: { display: false },
                       title: { display: !narrow(), text: "Hand-offs" } };
    opts.plugins.tooltip = { callbacks: { label: function (c) {
      return c.dataset.label + ": " + (c.dataset.yAxisID === "y1" ? fmtInt(c.raw) : fmtDuration(c.raw));
    } } };
    drawChart("chart-trend", "line", rows.map(function (r) { return shortDay(obj(r).key); }), [
      { type: "line", label: "Median (p50)", data: p50, yAxisID: "y",
        borderColor: COLORS.blue, backgroundColor: COLORS.blue, tension: 0.25, spanGaps: true, order: 1 },
      { type: "line", label: "90th percentile", data: p90, yAxisID: "y",
        borderColor: COLORS.orange, backgroundColor: COLORS.orange, borderDash: [5, 4], tension: 0.25,
        spanGaps: true, order: 2 },
      { type: "bar", label: "Hand-offs", data: values(rows, "handoffs"), yAxisID: "y1",
        backgroundColor: COLORS.blueSoft, order: 3 }
    ], opts);
  }

  function drawSla(data) {
    var rows = arr(data.sla);
    var opts = baseOptions();
    opts.indexAxis = "y";
    opts.plugins.legend = { display: true, position: "bottom", labels: { boxWidth: 12 } };
    opts.scales = { x: { stacked: true, beginAtZero: true, grid: { color: COLORS.grid } },
                    y: { stacked: true, grid: { display: false } } };
    drawChart("chart-sla", "bar", rows.map(function (r) { return humanKey(obj(r).clock); }), [
      { label: "Met", data: values(rows, "met"), backgroundColor: COLORS.green },
      { label: "Breached", data: values(rows, "breached"), backgroundColor: COLORS.red }
    ], opts);
    var list = $("sla-list");
    list.replaceChildren();
    rows.forEach(function (r) {
      r = obj(r);
      var li = el("li");
      li.appendChild(el("span", humanKey(r.clock) + " ", "muted"));
      li.appendChild(el("span", fmtPct(r.compliance), "big"));
      list.appendChild(li);
    });
  }

  function drawConfidence(data) {
    var rows = arr(data.confidence);
    var opts = pctTooltip(pctAxis(baseOptions(), "y"));
    opts.plugins.legend = { display: true, position: "bottom", labels: { boxWidth: 12 } };
    opts.scales.x.title = { display: true, text: "AI confidence at hand-off" };
    drawChart("chart-confidence", "bar", rows.map(function (r) { return String(obj(r).key); }), [
      { label: "Resolved", data: values(rows, "resolution_rate"), backgroundColor: COLORS.green },
      { label: "Avoidable", data: values(rows, "avoidable_rate"), backgroundColor: COLORS.orange }
    ], opts);
  }

  // ---------- sections ----------
  function renderHeader(data) {
    var tz = data.timezone || "UTC";
    var period = obj(data.period);
    var previous = obj(data.previous);
    $("period").textContent = fmtDate(period.from, tz, true) + " → " + fmtDate(period.to, tz, true);
    $("previous").textContent = previous.from ? "compared with " + fmtDate(previous.from, tz, false) + " → " +
      fmtDate(previous.to, tz, false) : "";
    $("timezone").textContent = String(tz);
    var gen = $("generated");
    gen.textContent = fmtDate(data.generated_at, tz, true);
    gen.dateTime = data.generated_at ? String(data.generated_at) : "";
  }

  function renderKpis(data) {
    var m = obj(data.metrics);
    var change = obj(data.change);
    document.querySelectorAll("#kpis .kpi").forEach(function (tile) {
      var key = tile.dataset.key;
      var shown = KPI_FORMAT[key](m[key]);
      if (key === "cost_per_resolution" && isNum(m[key]) && data.currency) { shown += " " + String(data.currency); }
      tile.querySelector(".kpi-value").textContent = shown;
      var ch = tile.querySelector(".kpi-change");
      var v = change[key];
      ch.className = "kpi-change";
      ch.textContent = fmtChange(v);
      if (isNum(v)) {
        ch.appendChild(el("span", " vs previous period", "vs"));
        var lower = LOWER_IS_BETTER[key];
        if (lower !== null && lower !== undefined && v !== 0) {
          ch.classList.add((v < 0) === lower ? "good" : "bad");
        }
      }
      ch.title = isNum(v) ? "" : "No previous period to compare with";
    });
  }

  function renderAgents(data) {
    fillTable("agents-table", arr(data.agents), function (tr, a) {
      var c = obj(a.components);
      var i = obj(a.inputs);
      var name = cell(tr, a.display_name || a.agent || "—");
      if (a.display_name && a.agent) { name.appendChild(el("span", a.agent, "sub")); }
      cell(tr, fmtInt(a.handled), "num");
      var score = cell(tr, fmtFixed(a.score, 1), "num");
      score.appendChild(el("span", " / 100", "muted"));
      if (isNum(a.score)) {
        var meter = document.createElement("meter");
        meter.min = 0; meter.max = 100; meter.low = 50; meter.high = 75; meter.optimum = 100; meter.value = a.score;
        score.appendChild(meter);
      }
      cell(tr, fmtFixed(c.response, 1), "num", "median " + fmtDuration(i.first_response_p50_s));
      cell(tr, fmtFixed(c.first_contact_resolution, 1), "num", fmtPct(i.first_contact_resolution_rate) + " at once");
      cell(tr, fmtFixed(c.csat, 1), "num", fmtFixed(i.csat_mean, 2) + " from " + fmtInt(i.csat_responses));
      var basis = i.reviewed ? fmtPct(i.accuracy_rate) + " of " + fmtInt(i.reviewed) + " reviewed"
        : (i.accuracy_source === "none" ? "nothing resolved yet" : fmtPct(i.accuracy_rate) + " held (no review yet)");
      cell(tr, fmtFixed(c.accuracy, 1), "num", basis);
    });
  }

  function renderQueue(data) {
    var q = obj(data.queue);
    $("queue-waiting").textContent = fmtInt(isNum(q.waiting) ? q.waiting : 0);
    $("queue-oldest").textContent = isNum(q.oldest_wait_seconds) ? fmtDuration(q.oldest_wait_seconds) : "—";
    fillTable("queue-table", arr(q.by_queue), function (tr, r) {
      cell(tr, humanKey(r.queue));
      var prio = String(r.priority == null ? "" : r.priority);
      cell(tr, humanKey(prio), /^(urgent|high)$/.test(prio) ? "prio-" + prio : "");
      cell(tr, fmtInt(r.waiting), "num");
      cell(tr, fmtDuration(r.oldest_wait_seconds), "num");
    });
  }

  function renderAiQuality(data) {
    fillTable("ai-table", arr(data.ai_quality), function (tr, r) {
      cell(tr, humanKey(r.key));
      cell(tr, fmtInt(r.handoffs), "num");
      withCount(cell(tr, fmtPct(r.avoidable_rate), "num"), r.avoidable);
      withCount(cell(tr, fmtPct(r.reescalation_rate), "num"), r.reescalated);
      cell(tr, fmtFixed(r.confidence_mean, 2), "num");
      cell(tr, fmtPct(r.resolution_rate), "num");
    });
  }

  function render(data) {
    data = obj(data);
    renderHeader(data);
    renderKpis(data);
    drawVolume(data);
    drawTrend(data);
    drawSla(data);
    renderQueue(data);
    renderAgents(data);
    renderAiQuality(data);
    drawConfidence(data);
  }

  // ---------- loading ----------
  function showStatus(text) {
    var s = $("status");
    s.textContent = text || "";
    s.hidden = !text;
  }
  function failure(message) {
    showStatus(message);
    document.body.dataset.rendered = "error";
  }
  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(load, REFRESH_MS);
  }
  function load() {
    if (document.body.dataset.rendered !== "true") { document.body.dataset.rendered = "loading"; }
    fetch(DATA_URL, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (!resp.ok) {
          var why = resp.status === 401 || resp.status === 403 ? " — sign in again and reload the page." : ".";
          var httpErr = new Error("Could not load the dashboard data: HTTP " + resp.status +
                                  (resp.statusText ? " " + resp.statusText : "") + why);
          httpErr.expected = true;
          throw httpErr;
        }
        return resp.json().catch(function () {
          var jsonErr = new Error("The dashboard data is not valid JSON.");
          jsonErr.expected = true;
          throw jsonErr;
        });
      })
      .then(function (data) {
        if (!window.Chart) { throw new Error("The chart library did not load (/static/vendor/chart.umd.min.js)."); }
        render(data);
        showStatus("");
        document.body.dataset.rendered = "true";
      })
      .catch(function (err) {
        if (!(err && err.expected)) { console.error(err); }  // a bug or a network failure: leave a trace
        failure(err && err.message ? err.message : "Could not load the dashboard data.");
      })
      .then(schedule);
  }

  function start() {
    if (window.Chart) {
      window.Chart.defaults.animation = false;
      window.Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
      window.Chart.defaults.color = "#5d6678";
    }
    $("refresh").addEventListener("click", load);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && document.body.dataset.rendered === "error") { load(); }
    });
    load();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
