// Charts of the analytics pages. Data comes from json_script blocks; every chart also has a table.
(function () {
  "use strict";
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
      { label: "Team QA", data: d.team_qa, borderColor: "#9ca3af", borderDash: [4, 4] }
    ], { scales: { y: { suggestedMin: 0, suggestedMax: 100 } } });
    line("nps-chart", d.weeks, [
      { label: "95% low", data: d.nps_low, borderColor: "rgba(37,99,235,.25)", pointRadius: 0, fill: false },
      { label: "95% high", data: d.nps_high, borderColor: "rgba(37,99,235,.25)", pointRadius: 0,
        backgroundColor: "rgba(37,99,235,.12)", fill: "-1" },
      { label: "Agent NPS", data: d.nps, borderColor: "#2563eb" },
      { label: "Team NPS", data: d.team_nps, borderColor: "#9ca3af", borderDash: [4, 4] }
    ], { scales: { y: { min: -100, max: 100 } } });
  }
  function drawDepartments() {
    var d = read("dept-chart-data");
    if (!d) return;
    var datasets = [];
    d.series.forEach(function (s) {
      datasets.push({ label: s.label + " QA", data: d.weeks.map(function (w) { return s.qa[w]; }), yAxisID: "qa" });
      datasets.push({ label: s.label + " NPS", data: d.weeks.map(function (w) { return s.nps[w]; }), yAxisID: "nps",
        borderDash: [4, 4] });
    });
    line("dept-chart", d.weeks, datasets, { scales: {
      qa: { position: "left", suggestedMin: 0, suggestedMax: 100 }, nps: { position: "right", min: -100, max: 100 } } });
  }
  function drawAll() { drawAgent(); drawDepartments(); }
  document.addEventListener("DOMContentLoaded", drawAll);
  document.body.addEventListener("htmx:afterSettle", drawAll);
})();
