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

  // Spreadsheet-like keys in the matrix: arrows move between cells, a digit picks a score,
  // "n" marks N/A, Delete or Backspace clears it. Nothing else changes a score: Home, End,
  // PageUp and PageDown (which would move a native select's value) and letters (the
  // select's type-to-find) do nothing to it. Space, Enter and Alt+Down still open the list.
  var MOVES = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  var INERT = { Home: 1, End: 1, PageUp: 1, PageDown: 1 };
  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (!select || !select.matches || !select.matches("table.matrix select.score")) return;
    var td = select.closest("td.cell");
    if (!td) return;
    var row = parseInt(td.dataset.row, 10), col = parseInt(td.dataset.col, 10);
    if (INERT[event.key]) { event.preventDefault(); return; }  // with any modifier too
    if (event.ctrlKey || event.metaKey) return;  // Ctrl+Z and the browser's own shortcuts
    if (MOVES[event.key] && !event.altKey) {
      var target = document.querySelector(
        'table.matrix td.cell[data-row="' + (row + MOVES[event.key][0]) + '"][data-col="' +
        (col + MOVES[event.key][1]) + '"] select.score');
      if (target) { target.focus(); }
      event.preventDefault();
    } else if (event.key === "Delete" || event.key === "Backspace") {
      if (select.value !== "") {
        select.value = "";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      event.preventDefault();
    } else if (event.key === "n" || event.key === "N") {
      choose(select, "na");
      event.preventDefault();
    } else if (/^[0-9-]$/.test(event.key) && !event.altKey) {
      // Digits typed in quick succession make one number (10 on a 0–10 scale).
      var now = Date.now();
      var text = typed.el === select && now - typed.at < 1000 ? typed.text + event.key : event.key;
      if (!startsAnOption(select, text)) { text = event.key; }
      typed = { el: select, text: text, at: now };
      choose(select, text);
      event.preventDefault();
    } else if (event.key.length === 1 && event.key !== " ") {
      event.preventDefault();  // a letter would jump to an option starting with it
    }
  });
  var typed = { el: null, text: "", at: 0 };
  function startsAnOption(select, text) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value.indexOf(text) === 0) return true;
    }
    return false;
  }
  function choose(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) {
        if (select.value !== value) {
          select.value = value;
          select.dispatchEvent(new Event("change", { bubbles: true }));
        }
        return;
      }
    }
  }

  // Undo: Ctrl+Z (Cmd+Z on a Mac) in the matrix undoes my last score change, unless the
  // focus is in a text field (which has its own undo).
  function inTextField(el) {
    if (!el || !el.matches) return false;
    return el.isContentEditable || el.matches("textarea, input:not([type=checkbox]):not([type=radio])" +
      ":not([type=button]):not([type=submit]):not([type=hidden])");
  }
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    if (event.key !== "z" && event.key !== "Z") return;
    var undo = document.getElementById("matrix-undo");
    if (!undo || inTextField(event.target) || event.target.closest && event.target.closest("#cell-detail")) return;
    event.preventDefault();
    if (window.htmx) { window.htmx.trigger(undo, "matrix-undo"); }
  });

  // After a save, "Undo" stays offered for a short while (data-undo-for, in seconds), and
  // only beside the latest change; after an undo, the cell's select shows the value put back.
  document.addEventListener("htmx:afterSettle", function () {
    var offered = document.querySelectorAll("table.matrix button.undo[data-undo-for]");
    var fresh = [], old = [];
    for (var i = 0; i < offered.length; i++) { (offered[i]._timer ? old : fresh).push(offered[i]); }
    if (fresh.length) {
      old.forEach(function (button) { clearTimeout(button._timer); removeOffer(button); });
      fresh.forEach(function (button) {
        var seconds = parseInt(button.getAttribute("data-undo-for"), 10) || 30;
        button._timer = setTimeout(removeOffer.bind(null, button), seconds * 1000);
      });
    }
    var restored = document.querySelectorAll("table.matrix .save-status[data-restored]");
    for (var j = 0; j < restored.length; j++) {
      var status = restored[j];
      var cell = status.closest("td.cell");
      var select = cell && cell.querySelector("select.score");
      if (select) {
        select.value = status.getAttribute("data-restored");
        if (!document.activeElement || document.activeElement === document.body) { select.focus(); }
      }
      status.removeAttribute("data-restored");
    }
  });
  // A criterion's tooltip: Escape hides it until the pointer or focus leaves the header.
  document.addEventListener("keydown", function (event) {
    var th = event.key === "Escape" && event.target.closest && event.target.closest("table.matrix th.crit");
    if (th) { th.classList.add("tip-dismissed"); }
  });
  ["focusout", "mouseout"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var th = event.target.closest && event.target.closest("table.matrix th.crit.tip-dismissed");
      if (th && !(event.relatedTarget && th.contains(event.relatedTarget))) { th.classList.remove("tip-dismissed"); }
    });
  });

  function removeOffer(button) {
    if (!document.body.contains(button)) return;
    var focused = document.activeElement === button;
    var cell = button.closest("td.cell");
    button.remove();
    if (focused && cell) {
      var select = cell.querySelector("select.score");
      if (select) { select.focus(); }
    }
  }
})();
