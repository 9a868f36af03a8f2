/* The time left to acknowledge an alert, kept current while the page is open.
 *
 * The server writes the text and two instants into each <time data-alert-due>:
 * when acknowledgement is due (datetime) and the server's clock when the page
 * was made (data-checked-at). Counting from the server's clock, not the
 * device's, keeps a wrong device clock from showing a safe-looking countdown on
 * an overdue alert. The words match the server's (``in_words`` in casefeedback/alerts/overdue.py).
 * Loaded with defer from a static file: the CSP allows no inline script.
 */
(function () {
  "use strict";

  function plural(n, unit) {
    return n + " " + unit + (n === 1 ? "" : "s");
  }

  function span(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes < 1) {
      return "less than a minute";
    }
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor(minutes / 60) % 24;
    var parts = [];
    if (days) { parts.push(plural(days, "day")); }
    if (hours) { parts.push(plural(hours, "hour")); }
    if (!days && minutes % 60) { parts.push(plural(minutes % 60, "minute")); }
    return parts.join(" ");
  }

  var loadedAt = Date.now();
  var clocks = Array.prototype.slice.call(document.querySelectorAll("time[data-alert-due]"));

  function update() {
    var elapsed = Date.now() - loadedAt;
    clocks.forEach(function (clock) {
      var due = Date.parse(clock.getAttribute("datetime"));
      var checked = Date.parse(clock.getAttribute("data-checked-at"));
      if (isNaN(due) || isNaN(checked)) {
        return;
      }
      var left = Math.floor((due - (checked + elapsed)) / 1000);
      clock.textContent = left > 0 ? span(left) + " left to acknowledge" : "Overdue by " + span(-left);
      clock.classList.toggle("alert-due--overdue", left <= 0);
    });
  }

  if (clocks.length) {
    window.setInterval(update, 30000);
  }
}());
