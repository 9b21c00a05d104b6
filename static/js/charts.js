// Charts of the analytics pages. Data comes from json_script blocks; every chart also has a table.
(function () {
  "use strict";
  // Lines need 3:1 against the white card (WCAG 1.4.11): this grey has 4.8:1, the former #9ca3af had 2.5:1.
  var TEAM_COLOUR = "#6b7280";
  // One colour per department (QA solid, NPS dashed), each 5:1 or more on white; Chart.js's default palette
  // has lines under 3:1 (#36a2eb 2.8:1).
  var DEPARTMENT_COLOURS = ["#1f5fbf", "#b42318", "#067647", "#b54708", "#6941c6", "#0e7090", "#c11574"];
  // The NPS chart's 95% interval: a light fill (text and lines stay readable over it) between two dotted edge
  // lines that show where the band is (WCAG 1.4.11): 3.96:1 against the white card outside the band and
  // 3.35:1 against the fill inside it (3:1 needed); the former rgba(37,99,235,.25) edges had 1.43:1 on white.
  // tests/analytics/test_chart_colours.py recomputes these ratios from the values here.
  var BAND_EDGE_COLOUR = "#5b7fc7";
  var BAND_FILL_COLOUR = "rgba(37,99,235,.12)";
  var BAND_EDGE_DASH = [2, 3];
  function read(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function line(canvasId, labels, datasets, options) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || typeof Chart === "undefined") return null;
    var existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    return new Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: datasets },
      options: Object.assign({ responsive: true, animation: false, spanGaps: true,
        interaction: { mode: "index", intersect: false } }, options || {})
    });
  }
  function drawAgent() {
    var d = read("agent-chart-data");
    if (!d) return;
    line("qa-chart", d.weeks, [
      { label: "Agent QA", data: d.qa, borderColor: "#2563eb" },
      { label: "Team QA", data: d.team_qa, borderColor: TEAM_COLOUR, borderDash: [4, 4] }
    ], { scales: { y: { suggestedMin: 0, suggestedMax: 100 } } });
    line("nps-chart", d.weeks, [
      { label: "95% low", data: d.nps_low, borderColor: BAND_EDGE_COLOUR, borderDash: BAND_EDGE_DASH,
        borderWidth: 2, pointRadius: 0, backgroundColor: BAND_FILL_COLOUR, fill: false },
      { label: "95% high", data: d.nps_high, borderColor: BAND_EDGE_COLOUR, borderDash: BAND_EDGE_DASH,
        borderWidth: 2, pointRadius: 0, backgroundColor: BAND_FILL_COLOUR, fill: "-1" },
      { label: "Agent NPS", data: d.nps, borderColor: "#2563eb" },
      { label: "Team NPS", data: d.team_nps, borderColor: TEAM_COLOUR, borderDash: [4, 4] }
    ], { scales: { y: { min: -100, max: 100 } } });
  }
  function drawDepartments() {
    var d = read("dept-chart-data");
    if (!d) return;
    var datasets = [];
    d.series.forEach(function (s, i) {
      var colour = DEPARTMENT_COLOURS[i % DEPARTMENT_COLOURS.length];
      datasets.push({ label: s.label + " QA", data: d.weeks.map(function (w) { return s.qa[w]; }), yAxisID: "qa",
        borderColor: colour, backgroundColor: colour });
      datasets.push({ label: s.label + " NPS", data: d.weeks.map(function (w) { return s.nps[w]; }), yAxisID: "nps",
        borderColor: colour, backgroundColor: colour, borderDash: [4, 4] });
    });
    line("dept-chart", d.weeks, datasets, { scales: {
      qa: { position: "left", suggestedMin: 0, suggestedMax: 100 }, nps: { position: "right", min: -100, max: 100 } } });
  }
  function drawAll() { drawAgent(); drawDepartments(); }
  document.addEventListener("DOMContentLoaded", drawAll);
  document.body.addEventListener("htmx:afterSettle", drawAll);
})();
