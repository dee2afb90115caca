// Report form map: draws the areas from the GeoJSON API and copies a clicked point into
// the latitude and longitude fields, which also work typed by hand without this script.
// Coordinates are WGS-84; no tile layer is loaded, so nothing contacts another host.
(function () {
  "use strict";
  var element = document.getElementById("report-map");
  var latitude = document.getElementById("latitude");
  var longitude = document.getElementById("longitude");
  if (!element || !latitude || !longitude || typeof L === "undefined") { return; }
  var map = L.map(element, { attributionControl: false }).setView([39.99, 116.47], 14);
  var marker = null;

  function place(latlng) {
    if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
  }

  fetch(element.dataset.geojsonUrl, { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) {
      if (!data) { return; }
      var layer = L.geoJSON(data, { style: { weight: 1, fillOpacity: 0.05 } }).addTo(map);
      layer.on("click", function (event) { map.fire("click", event); });
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
    })
    .catch(function () { /* The typed fields still work without the outlines. */ });

  map.on("click", function (event) {
    latitude.value = event.latlng.lat.toFixed(6);
    longitude.value = event.latlng.lng.toFixed(6);
    place(event.latlng);
  });
})();
