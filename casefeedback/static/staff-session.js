// Idle-timeout warning for staff pages (no inline script: the CSP forbids it).
//
// The server says how many seconds the session has left; shortly before the
// end this shows a warning with "Stay signed in", which asks the server in the
// background (fetch, CSRF token in a header) so the page — and anything typed
// on it — stays as it is. Without JavaScript the session simply times out.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  var form = document.getElementById("session-extend");
  if (!box || !form || !window.fetch) { return; }
  var text = document.getElementById("session-warning-text");
  var warnSeconds = parseInt(box.getAttribute("data-warn-seconds"), 10) || 120;
  var canExtend = box.getAttribute("data-can-extend") === "1";
  var endsAt = Date.now() + (parseInt(box.getAttribute("data-seconds-left"), 10) || 0) * 1000;
  var timer = null;

  function minutes(ms) {
    var m = Math.max(1, Math.ceil(ms / 60000));
    return m + (m === 1 ? " minute" : " minutes");
  }

  function say(kind) {
    var template = text.getAttribute("data-" + kind) || "";
    text.textContent = template.replace("{minutes}", minutes(endsAt - Date.now()));
  }

  function show() {
    box.hidden = false;
    form.hidden = !canExtend;
    say(canExtend ? "extendable" : "final");
    var button = form.querySelector("button");
    if (button && canExtend) { button.focus(); }
  }

  function ended() {
    box.hidden = false;
    form.hidden = true;
    say("ended");
  }

  function schedule() {
    clearTimeout(timer);
    var untilWarning = endsAt - Date.now() - warnSeconds * 1000;
    if (endsAt <= Date.now()) { ended(); return; }
    if (untilWarning <= 0) {
      show();
      timer = setTimeout(schedule, Math.min(30000, endsAt - Date.now()));
      return;
    }
    box.hidden = true;
    timer = setTimeout(schedule, untilWarning);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var token = form.querySelector("input[name=csrf_token]").value;
    window.fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",  // signed out already: the server redirects; treat that as "ended"
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : { signed_in: false };
    }).then(function (answer) {
      if (!answer.signed_in) { endsAt = Date.now(); ended(); return; }
      endsAt = Date.now() + answer.seconds_left * 1000;
      canExtend = !!answer.can_extend;
      schedule();
    }).catch(function () { say(canExtend ? "extendable" : "final"); });
  });

  schedule();
})();
