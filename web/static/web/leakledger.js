/* LeakLedger pages: sortable tables, copy buttons, citation tabs. No dependencies. */
(function () {
  "use strict";

  function sortValue(cell, numeric) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) raw = cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    var n = parseFloat(raw);
    return isNaN(n) ? null : n;
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, index) {
      th.classList.add("sort");
      th.setAttribute("tabindex", "0");
      th.setAttribute("aria-sort", "none");
      var numeric = th.getAttribute("data-type") === "number" || th.classList.contains("num");
      function sort() {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > index; });
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        rows.sort(function (a, b) {
          var x = sortValue(a.cells[index], numeric), y = sortValue(b.cells[index], numeric);
          if (x === null || x === "") return 1;   // missing values last, either way
          if (y === null || y === "") return -1;
          var c = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  }

  function copyText(text, button) {
    var label = button.textContent;
    var show = function (message) {
      button.textContent = message;
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (fallbackCopy(text)) {
      show("Copied");
    } else if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { show("Copied"); }, function () { show("Select and copy"); });
    } else {
      show("Select and copy");
    }
  }

  // Copies within the click itself (works on plain http too, where the Clipboard API is absent).
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    document.body.removeChild(area);
    return copied;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    document.querySelectorAll("button.copy").forEach(function (button) {
      button.addEventListener("click", function () {
        var from = button.getAttribute("data-copy-from");
        var text = from ? document.getElementById(from).textContent : button.getAttribute("data-copy");
        copyText(text, button);
      });
    });
    document.querySelectorAll("[data-tabs]").forEach(function (tabs) {
      var buttons = tabs.querySelectorAll("[data-tab]");
      buttons.forEach(function (button) {
        button.addEventListener("click", function () {
          buttons.forEach(function (b) {
            b.setAttribute("aria-selected", b === button ? "true" : "false");
            document.getElementById(b.getAttribute("data-tab")).hidden = b !== button;
          });
        });
      });
    });
  });
})();
