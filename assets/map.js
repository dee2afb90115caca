// Grid map: draws area polygons from the GeoJSON API with Leaflet and, on a click,
// shows the grid that contains the point. Texts come from data attributes that the
// server fills in the page's language; nothing here contacts another host unless the
// operator configured a tile server.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") { return; }
  var data = element.dataset;
  var status = document.getElementById("map-status");
  var tilesGcj02 = data.tilesGcj02 === "true";

  function say(text) { if (status) { status.textContent = text; } }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] != null ? values[key] : ""; });
  }

  function toDisplay(position) {
    if (!tilesGcj02) { return L.latLng(position[1], position[0]); }
    var shifted = window.citycoreWgsToGcj(position[0], position[1]);
    return L.latLng(shifted[1], shifted[0]);
  }

  var map = L.map(element, {
    attributionControl: Boolean(data.tileUrl),
    zoomControl: false,
    keyboard: true,
  });
  L.control.zoom({ zoomInTitle: data.textZoomIn || "+", zoomOutTitle: data.textZoomOut || "-" }).addTo(map);
  if (data.tileUrl) {
    L.tileLayer(data.tileUrl, { attribution: data.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([39.9, 116.4], 11);

  var styles = {
    city: { color: "#333333", weight: 3, fill: false },
    district: { color: "#444444", weight: 3, fill: false },
    street: { color: "#084a8c", weight: 3, fill: false },
    community: { color: "#0b3d7a", weight: 3, fill: false, dashArray: "8 4" },
    grid: { color: "#1b6e2a", weight: 1, fillColor: "#7fc48a", fillOpacity: 0.25 },
  };
  // Grids first and outlines of wider areas on top, so community borders stay visible.
  var order = ["grid", "community", "street", "district", "city"];

  say(data.textLoading);
  fetch(data.geojsonUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    })
    .then(function (collection) {
      var features = (collection.features || []).slice().sort(function (a, b) {
        return order.indexOf(a.properties.level) - order.indexOf(b.properties.level);
      });
      var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
        coordsToLatLng: toDisplay,
        style: function (feature) { return styles[feature.properties.level] || styles.grid; },
        interactive: true,
        onEachFeature: function (feature, path) {
          if (feature.properties.level === "grid") {
            path.bindTooltip(feature.properties.name + " · " + feature.properties.code);
          }
        },
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); }
      say("");
    })
    .catch(function (error) { say(fill(data.textLoadFailed, { reason: error.message })); });

  map.on("click", function (event) {
    var crs = tilesGcj02 ? "gcj02" : "wgs84";
    var url = data.locateUrl + "?lat=" + event.latlng.lat.toFixed(7) + "&lon=" + event.latlng.lng.toFixed(7) + "&crs=" + crs;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body }; }); })
      .then(function (result) {
        if (!result.ok || !result.body.grid) {
          var reason = result.body.error ? result.body.error.message : "";
          say(fill(data.textNotLocated, { reason: reason }));
          return;
        }
        var grid = result.body.grid;
        var text = fill(data.textLocated, { name: grid.name, code: grid.code });
        if (result.body.on_boundary) { text += " " + data.textOnBoundary; }
        if (result.body.outside) { text += " " + fill(data.textOutside, { distance: Math.round(result.body.distance_m) }); }
        say(text);
      })
      .catch(function (error) { say(fill(data.textNotLocated, { reason: error.message })); });
  });
})();
