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

  // 409/422 answers to requests that swap nothing (weights, scores) still need a message.
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || (xhr.status !== 409 && xhr.status !== 422)) return;
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/plain") === 0) {
      flash(xhr.responseText.slice(0, 400), "error");
      var elt = event.detail.elt;
      if (elt && elt.setAttribute) { elt.setAttribute("aria-invalid", "true"); }
    } else if (event.detail.elt && event.detail.elt.removeAttribute) {
      event.detail.elt.removeAttribute("aria-invalid");
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr, elt = event.detail.elt;
    if (xhr && xhr.status < 300 && elt && elt.getAttribute && elt.getAttribute("aria-invalid")) {
      elt.removeAttribute("aria-invalid");
    }
  });

  // The matrix's structure changed elsewhere: reload, unless the user has unsaved text.
  function hasUnsavedText() {
    var fields = document.querySelectorAll("main textarea, main input[type=text], main input:not([type])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) return true;
    }
    return false;
  }
  document.addEventListener("matrix-layout-changed", function () {
    if (!hasUnsavedText()) { window.location.reload(); return; }
    var banner = document.getElementById("stale-banner");
    if (banner) { banner.hidden = false; }
  });
  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "stale-reload") { window.location.reload(); }
  });

  // After a swap that took the focused element away, put focus somewhere sensible:
  // an autofocus or invalid field in the new content, else its first control.
  var focusedBeforeRequest = null;
  document.addEventListener("htmx:beforeRequest", function () {
    focusedBeforeRequest = document.activeElement;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var lost = focusedBeforeRequest && focusedBeforeRequest !== document.body &&
      !document.body.contains(focusedBeforeRequest);
    var active = document.activeElement;
    if (!lost || (active && active !== document.body)) return;
    var target = event.detail.target;
    if (target && !document.body.contains(target) && target.id) {
      target = document.getElementById(target.id);  // an outerHTML swap replaced it
    }
    if (!target || !document.body.contains(target) || !target.querySelector) return;
    var next = target.querySelector("[autofocus], [aria-invalid=true], [data-focus-after-swap]") ||
      target.querySelector("button, a[href], input, select, textarea");
    if (next) { next.focus(); focusedBeforeRequest = null; }
  });

  document.addEventListener("htmx:sendError", function () {
    flash("Cannot reach the server. Your last change may not be saved; check the connection.", "error");
  });

  // The cell-detail drawer: focus its heading when it opens; Close or Escape returns focus.
  var opener = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.target && event.detail.target.id === "cell-detail" &&
        !(elt.closest && elt.closest("#cell-detail"))) { opener = elt; }
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
    } else if (event.key === "Delete") {
      if (select.value !== "") {
        select.value = "";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      event.preventDefault();
    }
  });
})();
