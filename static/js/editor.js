// kb admin — live preview of the article editor as you type (the Preview button works without it).
"use strict";
(function () {
  window.kb = window.kb || { init: [] };
  var DELAY_MS = 400;

  function setup(root) {
    var form = root.getElementById("article-form");
    var target = root.getElementById("preview-body");
    if (!form || !target || !window.fetch || !window.FormData) { return; }
    var url = form.getAttribute("data-preview-url");
    var timer = null;
    var sequence = 0;

    function refresh() {
      var mine = ++sequence;
      var data = new FormData(form);
      data.delete("action");
      fetch(url, {
        method: "POST",
        body: new URLSearchParams(data),
        credentials: "same-origin",
        headers: { "X-KB-Fragment": "1" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("preview failed: " + response.status); }
        return response.text();
      }).then(function (html) {
        // The server renders with the site's safe renderer (raw HTML is escaped), so the
        // fragment holds no script; answers that arrive late are dropped.
        if (mine === sequence) { target.innerHTML = html; }
      }).catch(function () { /* keep the last preview; the Preview button still works */ });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DELAY_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    form.setAttribute("data-live-preview", "on");
    refresh();
  }

  window.kb.init.push(setup);
})();
