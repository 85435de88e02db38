// Salesflow: progressive enhancement only; every page works without this file.
(function () {
  "use strict";
  // Keyboard: "/" focuses the search box of a list page, like most web apps.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.target.closest("input, textarea, select, [contenteditable]")) return;
    var search = document.querySelector("[data-search]");
    if (search) { event.preventDefault(); search.focus(); }
  });
  // A form submits once: a double click must not create two records.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    if (form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;  // htmx handles its own requests
    form.dataset.submitted = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    // Disable after the browser has read the clicked button's name and value.
    window.setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
    window.setTimeout(function () {
      delete form.dataset.submitted;
      buttons.forEach(function (b) { b.disabled = false; });
    }, 5000);
  });
})();
