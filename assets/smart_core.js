// Smart core dashboard: draws the devices of the table on a Leaflet map, the series of
// each quantity group with ECharts, and applies the server-sent events to the map, the
// device table and the alarm list. The tables on the page hold the same data, so
// everything here only enhances them; texts come from the server in the page's language.
(function () {
  "use strict";

  var colours = { normal: "#1b6e2a", stale: "#6b7280", no_data: "#ffffff", alarm: "#b91c1c" };
  var markers = {};
  var deviceMap = null;
  var tilesGcj02 = false;

  function markerStyle(state) {
    return {
      radius: state === "alarm" ? 9 : 7,
      color: state === "no_data" ? "#374151" : colours[state] || colours.stale,
      weight: 2,
      fillColor: colours[state] || colours.stale,
      fillOpacity: 0.9,
    };
  }

  function rowText(row, selector) {
    var cell = row.querySelector(selector);
    return cell ? cell.textContent.trim() : "";
  }

  function tooltipOf(row) {
    var name = row.querySelector("th") ? row.querySelector("th").textContent.trim() : "";
    return [name, rowText(row, ".device-state"), rowText(row, ".device-summary")]
      .filter(function (part) { return part; })
      .join(" · ");
  }

  // Adds the marker of a table row and returns its display position, latitude first.
  function addMarker(row) {
    var lon = parseFloat(row.dataset.longitude), lat = parseFloat(row.dataset.latitude);
    if (!deviceMap || isNaN(lon) || isNaN(lat)) { return null; }
    if (tilesGcj02) {
      var shifted = window.citycoreWgsToGcj(lon, lat);
      lon = shifted[0]; lat = shifted[1];
    }
    var marker = L.circleMarker([lat, lon], markerStyle(row.dataset.state)).addTo(deviceMap);
    marker.bindTooltip(tooltipOf(row));
    markers[row.dataset.device] = marker;
    return [lat, lon];
  }

  function drawMap() {
    var element = document.getElementById("device-map");
    if (!element || typeof L === "undefined") { return; }
    var data = element.dataset;
    tilesGcj02 = data.tilesGcj02 === "true" && typeof window.citycoreWgsToGcj === "function";
    var map = L.map(element, { attributionControl: Boolean(data.tileUrl), zoomControl: false, keyboard: true });
    deviceMap = map;
    L.control.zoom({ zoomInTitle: data.textZoomIn || "+", zoomOutTitle: data.textZoomOut || "-" }).addTo(map);
    if (data.tileUrl) {
      L.tileLayer(data.tileUrl, { attribution: data.tileAttribution, maxZoom: 19 }).addTo(map);
    }
    map.setView([39.9, 116.4], 13);
    var points = [];
    document.querySelectorAll("#device-table tbody tr[data-device]").forEach(function (row) {
      var point = addMarker(row);
      if (point) { points.push(point); }
    });
    if (points.length > 0) { map.fitBounds(points, { padding: [24, 24], maxZoom: 17 }); }
    drawGrids(map, data, points.length === 0);
  }

  // Outlines the area's grids under the markers; without devices the map fits them.
  function drawGrids(map, data, fit) {
    var codes = (data.gridCodes || "").split(" ").filter(function (code) { return code; });
    if (codes.length === 0 || !data.geojsonUrl) { return; }
    fetch(data.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (collection) {
        var features = (collection.features || []).filter(function (feature) {
          return codes.indexOf(feature.properties.code) >= 0;
        });
        var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
          coordsToLatLng: function (position) {
            var lon = position[0], lat = position[1];
            if (tilesGcj02) {
              var shifted = window.citycoreWgsToGcj(lon, lat);
              lon = shifted[0]; lat = shifted[1];
            }
            return L.latLng(lat, lon);
          },
          style: { color: "#0b3d7a", weight: 1, fillColor: "#9fb8d6", fillOpacity: 0.15 },
          interactive: false,
        }).addTo(map);
        layer.bringToBack();
        var bounds = layer.getBounds();
        if (fit && bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
      })
      .catch(function () { /* The markers and the table still show every device. */ });
  }

  // Fractions are stored from 0 to 1 and shown in percent.
  var percentGroups = { bin_fill: true, humidity: true };

  function drawCharts() {
    var holder = document.querySelector(".charts[data-series-url]");
    if (!holder || typeof echarts === "undefined") { return; }
    fetch(holder.dataset.seriesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (body) {
        body.groups.forEach(function (group) {
          var element = document.getElementById("chart-" + group.group);
          if (!element) { return; }
          var percent = percentGroups[group.group] === true;
          var values = group.points.map(function (point) {
            if (point.value == null) { return null; }
            return percent ? Math.round(point.value * 1000) / 10 : Math.round(point.value * 100) / 100;
          });
          if (values.every(function (value) { return value == null; })) {
            element.classList.add("chart-empty");
            element.textContent = holder.dataset.textNoData;
            return;
          }
          var labels = group.points.map(function (point) {
            return body.step === "day" ? point.start.slice(0, 10) : point.start.slice(5, 16).replace("T", " ");
          });
          var bars = group.combine !== "mean";
          var chart = echarts.init(element);
          chart.setOption({
            aria: { enabled: false },
            grid: { left: 48, right: 16, top: 16, bottom: 32 },
            tooltip: { trigger: "axis" },
            xAxis: { type: "category", data: labels },
            yAxis: { type: "value", axisLabel: { formatter: percent ? "{value} %" : "{value}" } },
            series: [{ name: group.label, type: bars ? "bar" : "line", data: values, connectNulls: false, color: "#0b5cad" }],
          });
          window.addEventListener("resize", function () { chart.resize(); });
        });
      })
      .catch(function () { holder.dataset.failed = "true"; });
  }

  // Appends a table row, laid out as the server renders it, for a device registered
  // after the page loaded.
  function appendRow(status) {
    var table = document.getElementById("device-table");
    if (!table) { return null; }
    var row = document.createElement("tr");
    row.dataset.device = status.id;
    row.dataset.longitude = String(status.longitude);
    row.dataset.latitude = String(status.latitude);
    var name = document.createElement("th");
    name.scope = "row";
    var code = document.createElement("span");
    code.className = "code";
    code.textContent = status.id;
    name.append(status.name + " ", code);
    var kind = document.createElement("td");
    kind.textContent = status.kind_label;
    var state = document.createElement("td");
    state.className = "device-state";
    state.appendChild(document.createElement("span"));
    row.append(name, kind, state);
    ["device-summary", "device-observed"].forEach(function (className) {
      var cell = document.createElement("td");
      cell.className = className;
      row.appendChild(cell);
    });
    table.tBodies[0].appendChild(row);
    table.hidden = false;
    var none = document.getElementById("device-none");
    if (none) { none.hidden = true; }
    return row;
  }

  function applyDevice(status) {
    var row = document.querySelector('#device-table tr[data-device="' + CSS.escape(status.id) + '"]');
    var added = false;
    if (!row) {
      row = appendRow(status);
      added = true;
    }
    if (!row) { return; }
    row.dataset.state = status.state;
    var state = row.querySelector(".device-state span");
    if (state) {
      state.className = "state state-" + status.state;
      state.textContent = status.state_label;
    }
    row.querySelector(".device-summary").textContent = status.summary;
    row.querySelector(".device-observed").textContent = status.observed_at || "—";
    if (added) { addMarker(row); }
    var marker = markers[status.id];
    if (marker) {
      marker.setStyle(markerStyle(status.state));
      marker.setRadius(markerStyle(status.state).radius);
      marker.setTooltipContent(tooltipOf(row));
    }
  }

  function reloadAlarms() {
    var list = document.getElementById("alarm-list");
    if (!list) { return; }
    fetch(list.dataset.url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        list.innerHTML = html;
        list.dataset.loaded = String(Date.now());
      })
      .catch(function () { /* The list keeps its last content until the next event. */ });
  }

  function listen() {
    var element = document.getElementById("device-map");
    var status = document.getElementById("live-status");
    if (!element || !element.dataset.eventsUrl || typeof EventSource === "undefined") { return; }
    var source = new EventSource(element.dataset.eventsUrl);
    source.addEventListener("open", function () {
      if (status) { status.textContent = status.dataset.textLive; status.dataset.live = "connected"; }
    });
    source.addEventListener("error", function () {
      if (status) { status.textContent = status.dataset.textLost; status.dataset.live = "lost"; }
    });
    source.addEventListener("device", function (event) { applyDevice(JSON.parse(event.data)); });
    source.addEventListener("alarms", function () { reloadAlarms(); });
  }

  drawMap();
  drawCharts();
  listen();
})();
