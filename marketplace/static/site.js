// Every page (templates/base.html). On a phone a wide table scrolls inside itself
// (site.css); such a table is made keyboard-focusable so that it can be scrolled
// without a mouse, and stops being a tab stop when it fits again.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll("table.table, .chart-figure").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        el.tabIndex = 0;
      } else if (el.hasAttribute("tabindex")) {
        el.removeAttribute("tabindex");
      }
    });
  }
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; mark(); });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mark);
  } else {
    mark();
  }
})();
