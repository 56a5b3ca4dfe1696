// What-if weights: keep each slider and its exact box together, reset to the agreed weights,
// and announce the verdict when it changes. The figures come from the server (htmx), so they
// are the matrix's own. No inline scripts, no eval (CSP).
(function () {
  "use strict";

  function byId(id) { return id ? document.getElementById(id) : null; }

  function sync(event) {
    var input = event.target;
    if (!input || !input.classList) return;
    if (input.classList.contains("what-if-range")) {
      var number = byId(input.getAttribute("data-number"));
      if (number) { number.value = input.value; number.removeAttribute("aria-invalid"); }
    } else if (input.classList.contains("what-if-number")) {
      var range = byId(input.getAttribute("data-range"));
      var value = parseFloat(input.value);
      if (range && input.value !== "" && isFinite(value) && value >= 0) { range.value = String(value); }
    }
  }

  function reset() {
    var form = byId("what-if-form");
    if (!form) return;
    var numbers = form.querySelectorAll(".what-if-number");
    for (var i = 0; i < numbers.length; i++) {
      var number = numbers[i];
      number.value = number.getAttribute("data-agreed");
      number.removeAttribute("aria-invalid");
      var range = byId(number.getAttribute("data-range"));
      if (range) { range.value = number.value; }
    }
    form.dispatchEvent(new CustomEvent("what-if-reset", { bubbles: true }));
  }

  function announce(results) {
    var verdict = byId("what-if-verdict");
    var text = results.getAttribute("data-verdict");
    if (verdict && text !== null && verdict.textContent !== text) { verdict.textContent = text; }
    var form = byId("what-if-form");
    if (!form) return;
    var invalid = (results.getAttribute("data-invalid") || "").split(" ");
    var numbers = form.querySelectorAll(".what-if-number");
    for (var i = 0; i < numbers.length; i++) {
      if (invalid.indexOf(numbers[i].id) !== -1) {
        numbers[i].setAttribute("aria-invalid", "true");
      } else {
        numbers[i].removeAttribute("aria-invalid");
      }
    }
  }

  document.addEventListener("input", sync);
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.id === "what-if-reset") { reset(); }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var results = byId("what-if-results");
    if (results) { announce(results); }
  });
})();
