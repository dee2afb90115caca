// Draws the bookings per day of the operator report as bars. The figures table on the
// page does not depend on it, so the chart only adds a view of the same data.
(function () {
  "use strict";
  var chart = document.getElementById("operator-chart");
  var source = document.getElementById("operator-data");
  if (!chart || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  if (data.dates.length === 0) {
    chart.hidden = true;
    return;
  }
  chart.style.height = "300px";
  var instance = echarts.init(chart);
  instance.setOption({
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.dates },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: chart.dataset.seriesName, type: "bar", data: data.bookings }]
  });
  window.addEventListener("resize", function () { instance.resize(); });
})();
