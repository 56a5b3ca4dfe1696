// Criteria forms: when the direction changes, anchor fields still holding the previous
// direction's default wording take the new direction's defaults (words typed by the
// facilitator stay). The server treats either direction's default words as "default".
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select || select.name !== "direction" || !select.form) return;
    var fieldset = select.form.querySelector("fieldset.anchors-field");
    if (!fieldset) return;
    var benefit = JSON.parse(fieldset.getAttribute("data-anchor-defaults-benefit") || "[]");
    var cost = JSON.parse(fieldset.getAttribute("data-anchor-defaults-cost") || "[]");
    var wanted = select.value === "cost" ? cost : benefit;
    var inputs = fieldset.querySelectorAll("input[name=anchor]");
    for (var i = 0; i < inputs.length; i++) {
      var value = inputs[i].value.trim();
      if (value === "" || value === benefit[i] || value === cost[i]) {
        inputs[i].value = wanted[i] || "";
      }
    }
  });
})();
