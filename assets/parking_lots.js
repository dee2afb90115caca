// Parking lot map: one marker per row of the lots table, labelled with the lot's name
// and free count. The server fills the positions (already in the tiles' datum) and the
// texts, so this script fetches nothing.
(function () {
  "use strict";
  var element = document.getElementById("parking-map");
  if (!element || typeof L === "undefined") { return; }
  var data = element.dataset;
  var map = L.map(element, { attributionControl: Boolean(data.tileUrl), zoomControl: false, keyboard: true });
  L.control.zoom({ zoomInTitle: data.textZoomIn || "+", zoomOutTitle: data.textZoomOut || "-" }).addTo(map);
  if (data.tileUrl) {
    L.tileLayer(data.tileUrl, { attribution: data.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  var bounds = [];
  document.querySelectorAll("tr[data-longitude]").forEach(function (row) {
    var position = L.latLng(Number(row.dataset.latitude), Number(row.dataset.longitude));
    var name = row.querySelector(".lot-name").textContent.trim();
    var free = row.querySelector(".lot-free").textContent.trim();
    var marker = L.circleMarker(position, { radius: 8, weight: 2 }).addTo(map);
    marker.bindTooltip(name + ": " + free);
    bounds.push(position);
  });
  if (bounds.length) {
    map.fitBounds(L.latLngBounds(bounds), { maxZoom: 17, padding: [20, 20] });
  } else {
    map.setView([39.9, 116.4], 11);
  }
}());
