// Salesflow: progressive enhancement only; every page works without this file.
(function () {
  "use strict";
  // Keyboard: "/" focuses the search box of a list page, like most web apps.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.target.closest("input, textarea, select, [contenteditable]")) return;
    // A list page's own search box first; elsewhere the menu's "search everywhere".
    var search = document.querySelector("[data-search]") || document.querySelector("[data-global-search]");
    if (search) { event.preventDefault(); search.focus(); }
  });
  // Submitting a form once: static/js/submit-once.js.

  // Behaviour that used to sit in inline event handlers, which the Content-Security-Policy forbids.
  // A select with data-autosubmit submits its form when changed (list filters, language).
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });
  document.addEventListener("click", function (event) {
    // A submit button with data-confirm asks first; cancelling stops the submission.
    var confirmer = event.target.closest("button[data-confirm], input[data-confirm]");
    if (confirmer && !window.confirm(confirmer.dataset.confirm)) { event.preventDefault(); return; }
    // A link with data-open-details opens the <details> it points to (then the browser jumps to it).
    var opener = event.target.closest("[data-open-details]");
    if (opener) {
      var details = document.getElementById(opener.dataset.openDetails);
      if (details) details.open = true;
    }
    var selectable = event.target.closest("[data-select-on-click]");
    if (selectable) selectable.select();
  });
  // Widths computed on the server (progress bars) are set through the DOM: inline style attributes are
  // blocked by the CSP, style properties set from a script are not.
  function applyPercent(root) {
    root.querySelectorAll(".progress-bar[data-percent]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, parseFloat(bar.dataset.percent) || 0)) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { applyPercent(document); });

  // A list's bulk action ([data-bulk] form; the rows' checkboxes belong to it through form="…"): "select all on
  // this page", a live count, and no submit with nothing ticked. Without this file the boxes still work.
  function bulkBoxes(form) {
    return document.querySelectorAll('input[type="checkbox"][form="' + form.id + '"]');
  }
  function bulkUpdate(form) {
    var boxes = bulkBoxes(form);
    var ticked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
    var count = form.querySelector("[data-bulk-count]");
    if (count) count.textContent = ticked ? count.dataset.some.replace("__N__", ticked) : count.dataset.none;
    var submit = form.querySelector("[data-bulk-submit]");
    if (submit) submit.disabled = ticked === 0;
    var all = document.querySelector('[data-bulk-all="' + form.id + '"]');
    if (all) {
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-bulk-all]");
    var form = all ? document.getElementById(all.dataset.bulkAll) : (event.target.form && event.target.form.matches("[data-bulk]") ? event.target.form : null);
    if (!form) return;
    if (all) bulkBoxes(form).forEach(function (box) { box.checked = all.checked; });
    bulkUpdate(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-bulk]").forEach(bulkUpdate);
  });
  document.addEventListener("htmx:afterSettle", function () { applyPercent(document); });
})();
