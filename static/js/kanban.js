// Kanban pipeline: drag a card to another stage column. The server decides (exit criteria, closed deals):
// on success it answers with the re-rendered columns (their counts and sums load in a second htmx request);
// on refusal with 4xx and a message, and the card goes back where it came from with the message shown on it.
// Columns page in with htmx ("load more" / scrolling to the end of a column); the board's filters travel in
// data-filters so that the re-rendered columns keep them.
// Without JavaScript the board is still readable and each deal's page has a stage form.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || typeof Sortable === "undefined") return;

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall back to the cookie */ }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function putBack(evt) {
    // The card was already removed from its old column, so the node now at oldIndex was its next sibling.
    evt.from.insertBefore(evt.item, evt.from.children[evt.oldIndex] || null);
  }

  function showMessage(card, message) {
    var box = card.querySelector(".kanban-message");
    if (box) { box.textContent = message; box.hidden = false; }
    card.classList.remove("is-refused");
    void card.offsetWidth;  // restart the shake animation
    card.classList.add("is-refused");
  }

  function clearMessage(card) {
    var box = card.querySelector(".kanban-message");
    if (box) { box.textContent = ""; box.hidden = true; }
    card.classList.remove("is-refused");
  }

  function onEnd(evt) {
    if (evt.from === evt.to) return;
    var card = evt.item;
    var body = new URLSearchParams(board.dataset.filters || "");
    body.set("stage", evt.to.dataset.stageId);
    if (!body.get("team")) body.set("team", board.dataset.team || "");
    board.setAttribute("aria-busy", "true");
    fetch(card.dataset.moveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      body: body
    }).then(function (response) {
      if (response.redirected) { window.location.reload(); return; }  // session expired: go to the login page
      return response.text().then(function (text) {
        if (response.ok) {
          board.innerHTML = text;
          if (window.htmx) window.htmx.process(board);  // the load-more links and the totals request
          init();
        } else {
          putBack(evt);
          showMessage(card, text || board.dataset.errorMessage);
        }
      });
    }).catch(function () {
      putBack(evt);
      showMessage(card, board.dataset.errorMessage);
    }).finally(function () {
      board.removeAttribute("aria-busy");
    });
  }

  function init() {
    board.querySelectorAll(".kanban-cards").forEach(function (column) {
      Sortable.create(column, {
        group: "pipeline",
        sort: false,  // order inside a column is by date, not by hand
        draggable: ".kanban-card",  // not the "load more" row
        animation: 150,
        ghostClass: "sortable-ghost",
        filter: "a, button, input, select",
        preventOnFilter: false,
        onStart: function (evt) { clearMessage(evt.item); },
        onEnd: onEnd
      });
    });
  }

  init();
})();
