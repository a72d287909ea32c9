// kb — progressive enhancement only: every feature works without this file.
"use strict";
(function () {
  // Later areas (instant search, in-place voting) register their setup functions here.
  window.kb = window.kb || { init: [] };
  document.addEventListener("DOMContentLoaded", function () {
    window.kb.init.forEach(function (setup) { setup(document); });
  });
})();
