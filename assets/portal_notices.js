// Progressive enhancement of /portal/notices: announces notices that arrive while the
// page is open. Without JavaScript, or without EventSource, a reload shows them.
(function () {
  "use strict";
  var status = document.getElementById("live-notices");
  if (!status || !window.EventSource) {
    return;
  }
  var source = new EventSource(status.getAttribute("data-events-url"));
  source.addEventListener("notice", function () {
    status.textContent = status.getAttribute("data-message");
    status.hidden = false;
  });
})();
