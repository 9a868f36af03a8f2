// The staff navigation on a narrow screen (no inline script: the CSP forbids it).
//
// Progressive enhancement: without this script the menu is always shown, and the
// "Menu" button stays hidden. With it, on a screen narrower than 641 px the links
// fold behind the button (the stylesheet hides them while the header carries
// "staff-menu--closed"); on a wider screen the stylesheet shows them whatever the
// button last said, so resizing never strands anyone without a menu.
(function () {
  "use strict";
  var header = document.querySelector("[data-staff-menu]");
  var button = header && header.querySelector(".staff-menu-toggle");
  var nav = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) { return; }

  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("staff-menu--closed", !open);
  }

  header.classList.add("staff-menu--enhanced");
  button.hidden = false;
  set(false);
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  // Escape closes the open menu and puts focus back on its button, where the person was.
  nav.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true" &&
        window.getComputedStyle(button).display !== "none") {
      set(false);
      button.focus();
    }
  });
})();
