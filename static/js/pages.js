// Page enhancements; without this file each still works:
// - "Copy link": next to each permalink (a.copy-link) a button copies its absolute URL and says
//   so through a polite live region; without JavaScript the permalink is a plain link.
// - FAQ accordion: a #faq-{id} fragment opens that question (on load, on hashchange, and when a
//   "Link to this FAQ" of this very page is followed, without a reload). Without JavaScript the
//   server renders ?open={id} open.
"use strict";
(function () {
  window.kb = window.kb || { init: [] };

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return Promise.reject(new Error("no clipboard"));
  }

  function addCopyButton(link) {
    var labels = document.body.dataset;
    var holder = link.parentNode;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = labels.copyLabel;
    var status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    holder.parentNode.insertBefore(button, holder.nextSibling);
    button.parentNode.insertBefore(status, button.nextSibling);
    button.addEventListener("click", function () {
      var url = new URL(link.getAttribute("href"), window.location.href).href;
      status.textContent = "";
      copyText(url).then(function () { return labels.copied; }, function () { return labels.copyFailed; })
        .then(function (message) {
          // Set after a tick so a second copy is announced again.
          window.setTimeout(function () { status.textContent = message; }, 50);
        });
    });
  }

  function faqOf(id) {
    var target = id && document.getElementById(id);
    return target && target.classList.contains("faq-entry") ? target : null;
  }

  function openFromHash() {
    var entry = faqOf(decodeURIComponent(window.location.hash.slice(1)));
    var details = entry && entry.querySelector("details.faq-details");
    if (details) {
      details.open = true;
      entry.scrollIntoView();
    }
    return details;
  }

  function followHere(event) {
    var link = event.target.closest && event.target.closest("a[href*='#faq-']");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) {
      return;
    }
    var url = new URL(link.href);
    if (url.origin !== window.location.origin || url.pathname !== window.location.pathname || !faqOf(url.hash.slice(1))) {
      return;
    }
    event.preventDefault();  // the question is on this page: open it in place, no reload
    window.history.pushState(null, "", url.href);
    var details = openFromHash();
    if (details) { details.querySelector("summary").focus(); }
  }

  window.kb.init.push(function (root) {
    root.querySelectorAll("a.copy-link").forEach(addCopyButton);
    openFromHash();
    window.addEventListener("hashchange", openFromHash);
    root.addEventListener("click", followHere);
  });
})();
