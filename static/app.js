// Options Matrix: small progressive enhancements on top of htmx. No inline scripts (CSP).
(function () {
  "use strict";

  function flash(message, kind) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.className = "flash show " + (kind || "error");
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.className = "flash"; }, 8000);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = (xhr && xhr.responseText) || "";
    if (text.indexOf("<") !== -1) { text = ""; }
    flash(text.slice(0, 400) || ("The request failed (" + (xhr ? xhr.status : "?") + ")."), "error");
  });

  document.addEventListener("htmx:sendError", function () {
    flash("Cannot reach the server. Your last change may not be saved; check the connection.", "error");
  });

  // The cell-detail drawer: focus its heading when it opens; Close or Escape returns focus.
  var opener = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "cell-detail") { opener = event.detail.elt; }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "cell-detail") {
      var heading = event.detail.target.querySelector("h2");
      if (heading) { heading.focus(); }
    }
  });
  function closeDrawer() {
    var drawer = document.getElementById("cell-detail");
    if (!drawer || !drawer.firstChild) return;
    drawer.replaceChildren();
    if (opener && document.body.contains(opener)) { opener.focus(); }
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(".drawer-close")) { closeDrawer(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target.closest && event.target.closest("#cell-detail")) { closeDrawer(); }
  });

  // Spreadsheet-like keys in the matrix: arrows move between cells, Delete clears a score.
  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (!select || !select.matches || !select.matches("table.matrix select.score")) return;
    var td = select.closest("td.cell");
    if (!td) return;
    var row = parseInt(td.dataset.row, 10), col = parseInt(td.dataset.col, 10);
    var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    if (moves[event.key] && !event.altKey) {
      var target = document.querySelector(
        'table.matrix td.cell[data-row="' + (row + moves[event.key][0]) + '"][data-col="' +
        (col + moves[event.key][1]) + '"] select.score');
      if (target) { target.focus(); }
      event.preventDefault();
    } else if (event.key === "Delete" || event.key === "Backspace") {
      if (select.value !== "") {
        select.value = "";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      event.preventDefault();
    }
  });
})();
