// Quick exit: the "Exit this page" button and Shift pressed three times both
// replace this page (so Back does not return to it) with the leave URL, which
// erases an unkept draft, ends every session server-side and redirects to a
// neutral site; the pages further back then answer only with a neutral page.
// The page is hidden at once, before the next one arrives.
// Screen-reader users hear how many more presses are needed (GOV.UK pattern).
(function () {
  "use strict";
  var script = document.currentScript;
  var exitUrl = script && script.getAttribute("data-exit-url");
  if (!exitUrl) { return; }
  var status = document.getElementById("exit-status");
  function say(key) {
    if (status) { status.textContent = status.getAttribute(key) || ""; }
  }
  function leave(event) {
    if (event) { event.preventDefault(); }
    say("data-leaving");
    document.body.style.display = "none";
    window.location.replace(exitUrl);
  }
  // A page restored from the back-forward cache was not asked for again, so the
  // server could not answer it neutrally after a quick exit (intake/arrival.py).
  // Ask for it again, replacing this entry, before anyone can read it.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      document.body.style.display = "none";
      window.location.replace(window.location.href);
    }
  });
  var button = document.getElementById("exit-this-page");
  if (button) { button.addEventListener("click", leave); }
  var presses = 0;
  var timer = null;
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Shift") { presses = 0; return; }
    presses += 1;
    clearTimeout(timer);
    // Three presses within a few seconds: typing capitals in between resets the count.
    timer = setTimeout(function () { presses = 0; say("data-none"); }, 5000);
    if (presses === 1) { say("data-pressed-once"); }
    if (presses === 2) { say("data-pressed-twice"); }
    if (presses >= 3) { leave(null); }
  });
})();
