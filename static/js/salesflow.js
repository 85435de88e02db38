// Salesflow: progressive enhancement only; every page works without this file.
(function () {
  "use strict";
  // Keyboard: "/" focuses the search box of a list page, like most web apps.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.target.closest("input, textarea, select, [contenteditable]")) return;
    var search = document.querySelector("[data-search]");
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
  document.addEventListener("htmx:afterSettle", function () { applyPercent(document); });
})();
