// The instrument's week calendar (templates/instruments/_calendar.html): choosing a free hour
// fills the booking form's day and start hour; the arrow keys move between free hours.
(function () {
  "use strict";
  var STEP = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };

  function setUp(cal) {
    var form = document.getElementById(cal.getAttribute("data-form"));
    if (!form || !form.elements.day || !form.elements.hour) return;
    var buttons = Array.prototype.slice.call(cal.querySelectorAll("button.cal-pick"));
    var status = cal.querySelector(".week-cal-status");
    var at = {};
    buttons.forEach(function (b) { at[b.getAttribute("data-row") + ":" + b.getAttribute("data-col")] = b; });

    function mark(chosen) {
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", b === chosen ? "true" : "false"); });
    }

    function choose(b) {
      var day = b.getAttribute("data-day"), hour = b.getAttribute("data-hour");
      var shown = hour.length < 2 ? "0" + hour : hour;
      form.elements.day.value = day;
      form.elements.hour.value = hour;
      mark(b);
      if (status) {
        status.textContent = cal.getAttribute("data-chosen").replace("{day}", day).replace("{hour}", shown);
      }
      var next = form.elements.hours || form.querySelector("button");
      if (next) next.focus();
    }

    cal.addEventListener("click", function (e) {
      var b = e.target.closest("button.cal-pick");
      if (b) choose(b);
    });

    cal.addEventListener("keydown", function (e) {
      var step = STEP[e.key], b = e.target.closest && e.target.closest("button.cal-pick");
      if (!step || !b) return;
      var row = +b.getAttribute("data-row"), col = +b.getAttribute("data-col");
      for (var i = 0; i < 200; i++) {
        row += step[0];
        col += step[1];
        if (row < 0 || col < 0 || row > 40 || col > 40) return;
        var found = at[row + ":" + col];
        if (found) {
          e.preventDefault();
          found.focus();
          return;
        }
      }
    });

    // The form came back with a day and hour (a refusal keeps what was typed): show them chosen.
    var day = form.elements.day.value, hour = form.elements.hour.value;
    buttons.forEach(function (b) {
      if (b.getAttribute("data-day") === day && b.getAttribute("data-hour") === hour) mark(b);
    });
  }

  document.querySelectorAll(".week-cal[data-form]").forEach(setUp);
})();
