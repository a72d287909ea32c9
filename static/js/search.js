// kb — search as you type: each .search-input[data-suggest-lang] becomes an ARIA 1.2 combobox
// listing article titles from /api/v1/suggest. Without this file the box is a plain GET form.
"use strict";
(function () {
  window.kb = window.kb || { init: [] };
  var DELAY = 120;
  var counter = 0;

  function setup(input) {
    var form = input.form;
    var lang = input.getAttribute("data-suggest-lang");
    if (!form || !lang || input.getAttribute("role") === "combobox") return;
    var id = "kb-suggest-" + (++counter);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("data-suggest-label") || "Suggestions");
    list.hidden = true;
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.appendChild(list);
    form.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);

    var items = [];
    var active = -1;
    var timer = null;
    var controller = null;
    var asked = "";

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.children;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    // Accent- and case-insensitive form of a word, one character for each of the word's (NFC)
    // characters, so a match in the folded title marks the same characters of the title.
    function fold(text) {
      return text.normalize("NFC").split("").map(function (c) {
        return c.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().charAt(0) || c;
      }).join("");
    }

    // The title as text nodes, with <mark> around the beginning of each word that starts with a
    // typed word: DOM nodes built one by one, never HTML from the data.
    function marked(title, typed) {
      var words = fold(typed).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
      var fragment = document.createDocumentFragment();
      var text = title.normalize("NFC");
      var folded = fold(text);
      var pattern = /[\p{L}\p{N}]+/gu;
      var done = 0;
      var match;
      while ((match = pattern.exec(folded)) !== null) {
        var length = 0;
        words.forEach(function (word) {
          if (match[0].indexOf(word) === 0 && word.length > length) length = word.length;
        });
        if (!length) continue;
        fragment.appendChild(document.createTextNode(text.slice(done, match.index)));
        var mark = document.createElement("mark");
        mark.textContent = text.slice(match.index, match.index + length);
        fragment.appendChild(mark);
        done = match.index + length;
      }
      fragment.appendChild(document.createTextNode(text.slice(done)));
      return fragment;
    }

    function option(index, content) {
      var item = document.createElement("li");
      item.id = id + "-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.appendChild(content);
      item.addEventListener("mousedown", function (event) { event.preventDefault(); });
      item.addEventListener("click", function () { go(index); });
      list.appendChild(item);
      return item;
    }

    function show(found, typed) {
      items = found.slice();
      list.textContent = "";
      found.forEach(function (item, index) {
        var content = document.createDocumentFragment();
        var title = document.createElement("span");
        title.className = "suggestion-title";
        title.appendChild(marked(item.title, typed || ""));
        content.appendChild(title);
        var meta = [item.type_label, item.category_title].filter(Boolean).join(" · ");
        if (meta) {
          var about = document.createElement("span");
          about.className = "suggestion-meta";
          about.textContent = meta;
          content.appendChild(about);
        }
        option(index, content);
      });
      var all = input.getAttribute("data-suggest-all");
      if (found.length && all && typed) {  // last: the results page for exactly what was typed
        items.push({ url: form.getAttribute("action") + "?" + new URLSearchParams({ q: typed }).toString() });
        option(found.length, document.createTextNode(all.replace("%(query)s", typed.trim())))
          .className = "suggestion-all";
      }
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (found.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
      status.textContent = found.length ? (input.getAttribute("data-suggest-status") || "") : "";
    }

    function go(index) {
      var item = items[index];
      if (item) window.location.assign(item.url);
    }

    function ask() {
      var text = input.value;
      if (!text.trim()) { asked = ""; show([]); return; }
      if (text === asked) return;
      asked = text;
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var url = "/api/v1/suggest?lang=" + encodeURIComponent(lang) + "&q=" + encodeURIComponent(text);
      fetch(url, { signal: controller ? controller.signal : undefined, headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (body) { if (input.value === text) show(body.suggestions || [], text); })
        .catch(function () { /* aborted or offline: the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && items.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) { asked = ""; ask(); return; }
        highlight(active + 1 >= items.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        if (!open) return;
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          go(active);
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          asked = "";
        }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  window.kb.init.push(function (root) {
    var inputs = root.querySelectorAll("input.search-input[data-suggest-lang]");
    for (var i = 0; i < inputs.length; i++) setup(inputs[i]);
  });
})();
