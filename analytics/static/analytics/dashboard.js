// Draws the dashboard's charts with the vendored Chart.js from the tables the page embeds
// (the same rows its CSV export holds).
(function () {
  "use strict";
  var source = document.getElementById("analytics-charts");
  if (!source || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  charts.forEach(function (chart) {
    var canvas = document.getElementById(chart.id);
    if (!canvas) { return; }
    var spec = chart.spec, columns = chart.columns;
    var at = function (key) { return columns.indexOf(key); };
    var labels, datasets;
    if (spec.x === null) {
      // One row of rates drawn side by side (win-back beside first purchases).
      labels = spec.y.map(function (key) { return chart.labels[at(key)]; });
      datasets = [{ label: chart.title, data: spec.y.map(function (key) { return chart.rows.length ? chart.rows[0][at(key)] : null; }) }];
    } else {
      labels = chart.rows.map(function (row) { return row[at(spec.x)]; });
      var keys = spec.y === "stacked" ? columns.filter(function (key) { return key !== spec.x; }) : spec.y;
      datasets = keys.map(function (key) {
        return { label: chart.labels[at(key)], data: chart.rows.map(function (row) { var v = row[at(key)]; return v === null ? null : Number(v); }) };
      });
    }
    var stacked = spec.y === "stacked";
    new Chart(canvas, {
      type: spec.type,
      data: { labels: labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: spec.type === "doughnut" ? {} : { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } }
      }
    });
  });
})();
