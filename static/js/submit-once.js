// A form submits once: a double click or an impatient second click must not send it twice.
// (The server side is crm/idempotency.py; this only spares the user the second round trip.)
(function () {
  "use strict";
  function buttons(form) {
    return form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
  }
  function release(form) {
    delete form.dataset.submitting;
    buttons(form).forEach(function (button) { button.disabled = false; button.removeAttribute("aria-busy"); });
  }
  // Bubbling phase on document: a form's own handler (a confirm dialog that was cancelled) ran first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented) return;
    if (form.dataset.submitting) { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    // Disable only after the browser has read the clicked button's name and value into the form data.
    window.setTimeout(function () {
      buttons(form).forEach(function (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); });
    }, 0);
    // A download or a slow server must not leave the form dead for good.
    window.setTimeout(function () { release(form); }, 10000);
  });
  // htmx forms stay on the page: usable again once their request is over.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) release(form);
  });
  // Back button: the browser may restore the page with the buttons still disabled.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) document.querySelectorAll("form[data-submitting]").forEach(release);
  });
})();
