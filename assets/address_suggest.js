// Address suggestions on the report form: as the reporter types, requests likely places
// from the street's gazetteer and lists their names in the field's datalist. The
// plain field works without this script; the server looks the text up on submit.
(function () {
  "use strict";
  var input = document.getElementById("address");
  var list = document.getElementById("address-suggestions");
  if (!input || !list || !window.fetch) { return; }
  var timer = null;
  var requested = "";

  function show(candidates) {
    list.textContent = "";
    candidates.forEach(function (place) {
      var option = document.createElement("option");
      option.value = place.name;
      list.appendChild(option);
    });
  }

  function ask() {
    var text = input.value.trim();
    if (text === requested) { return; }
    requested = text;
    if (text === "") { show([]); return; }
    var url = input.dataset.placesUrl + "?limit=8&q=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && input.value.trim() === text) { show(data.candidates || []); }
      })
      .catch(function () { /* Suggestions are a help; the form still submits. */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    // Waits for a pause in typing so that one word costs one request.
    timer = setTimeout(ask, 250);
  });
})();
