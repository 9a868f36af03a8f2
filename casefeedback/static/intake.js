// Intake pages, progressive enhancement only: everything works without it.
// 1. Move focus to an error summary, so keyboard and screen-reader users start
//    at what needs fixing (GOV.UK error summary pattern).
// 2. "Back" keeps what was typed: if the answer on this page was changed, Back
//    saves it first (action=back), instead of dropping it as a plain link would.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  var form = document.getElementById("question-form");
  var back = document.getElementById("back-link");
  if (!form || !back) { return; }
  function changed() {
    var fields = form.querySelectorAll("textarea, input[type=radio], input[type=checkbox]");
    for (var i = 0; i < fields.length; i += 1) {
      var field = fields[i];
      if (field.tagName === "TEXTAREA" && field.value !== field.defaultValue) { return true; }
      if (field.tagName === "INPUT" && field.checked !== field.defaultChecked) { return true; }
    }
    return false;
  }
  back.addEventListener("click", function (event) {
    if (!changed()) { return; }
    event.preventDefault();
    var action = document.createElement("input");
    action.type = "hidden";
    action.name = "action";
    action.value = "back";
    form.appendChild(action);
    form.submit();
  });
})();
