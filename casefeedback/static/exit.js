// Quick exit: the "Exit this page" button and Shift pressed three times both
// replace this page (so Back does not return to it) with the leave URL, which
// forgets the session server-side and redirects to a neutral site.
(function () {
  "use strict";
  var script = document.currentScript;
  var exitUrl = script && script.getAttribute("data-exit-url");
  if (!exitUrl) { return; }
  function leave(event) {
    if (event) { event.preventDefault(); }
    document.body.style.display = "none";
    window.location.replace(exitUrl);
  }
  var button = document.getElementById("exit-this-page");
  if (button) { button.addEventListener("click", leave); }
  var presses = 0;
  var timer = null;
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Shift") { presses = 0; return; }
    presses += 1;
    clearTimeout(timer);
    timer = setTimeout(function () { presses = 0; }, 5000);
    if (presses >= 3) { leave(null); }
  });
})();
