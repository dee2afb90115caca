// Draws the KPI rates per group as grouped bars. The table on the page contains the
// same figures, so the chart only enhances it and its label points readers there.
(function () {
  "use strict";
  var chart = document.getElementById("kpi-chart");
  var source = document.getElementById("kpi-data");
  if (!chart || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  if (data.groups.length === 0) {
    chart.hidden = true;
    return;
  }
  var names = chart.dataset.metricNames.split("|");
  chart.style.height = "360px";
  var instance = echarts.init(chart);
  instance.setOption({
    tooltip: { trigger: "axis", valueFormatter: function (value) { return value == null ? "–" : value + " %"; } },
    legend: { data: names },
    xAxis: { type: "category", data: data.groups },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
    series: data.series.map(function (series, i) {
      return { name: names[i], type: "bar", data: series.data };
    })
  });
  window.addEventListener("resize", function () { instance.resize(); });
})();
