// Quote editor: catalog search, line kinds, drag-and-drop reordering. Loaded by quotes/detail.html only.
(function () {
  "use strict";
  // Catalog search: picking a result selects the product and fills in the price this customer gets.
  document.addEventListener("click", function (event) {
    var pick = event.target.closest("[data-product-pick]");
    if (!pick) return;
    var form = pick.closest("form");
    form.elements.product.value = pick.dataset.productPick;
    if (pick.dataset.price) form.elements.unit_price.value = pick.dataset.price;
    form.elements.tax_rate.value = pick.dataset.tax;
    if (!form.elements.description.value) form.elements.description.placeholder = pick.dataset.name;
    document.getElementById("product-results").innerHTML = "";
    form.elements.quantity.focus();
  });
  // Headings and notes are text only: hide the amount fields for them.
  function syncKind(form) {
    if (!form || !form.elements.kind) return;
    var item = form.elements.kind.value === "item";
    form.querySelectorAll("[data-item-only]").forEach(function (el) { el.hidden = !item; });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "kind") syncKind(event.target.closest("form"));
  });
  // Drag and drop: post the new order of line ids; the server answers the re-rendered lines.
  function initSortable() {
    syncKind(document.querySelector("[data-line-form]"));
    var body = document.querySelector("[data-sortable-lines]");
    if (!body || body.dataset.sortableReady || !window.Sortable) return;
    body.dataset.sortableReady = "1";
    Sortable.create(body, {
      handle: "[data-drag-handle]", animation: 150,
      onEnd: function () {
        var form = document.getElementById("reorder-form");
        form.querySelectorAll("input[name=line]").forEach(function (el) { el.remove(); });
        body.querySelectorAll("tr[data-line-id]").forEach(function (row) {
          var input = document.createElement("input");
          input.type = "hidden"; input.name = "line"; input.value = row.dataset.lineId;
          form.appendChild(input);
        });
        htmx.trigger(form, "reordered");
      },
    });
  }
  document.addEventListener("DOMContentLoaded", initSortable);
  document.addEventListener("htmx:afterSettle", initSortable);

  // Choosing a product fills in its price, tax rate and name; the server uses the same defaults
  // when the fields are left empty, so this is a convenience only.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.name !== "product" || !select.closest("[data-line-form]")) return;
    var form = select.closest("form"), option = select.selectedOptions[0];
    if (!option || !option.value) return;
    if (option.dataset.currency === form.dataset.currency) form.elements.unit_price.value = option.dataset.price;
    form.elements.tax_rate.value = option.dataset.tax;
    if (!form.elements.description.value) form.elements.description.placeholder = option.dataset.name;
  });
})();
