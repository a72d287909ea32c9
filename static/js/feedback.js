// "Was this article helpful?" in place: the widget's forms post to the JSON votes API instead of
// reloading the page. Without this file the same forms post to /{lang}/articles/{slug}/feedback.
"use strict";
(function () {
  window.kb = window.kb || { init: [] };

  function send(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = new Error(body.error || "HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return body;
      });
    });
  }

  function enhance(region) {
    var voteForm = region.querySelector("form.feedback-vote");
    var details = region.querySelector("form.feedback-details");
    var status = region.querySelector(".feedback-status");
    var summary = region.querySelector(".feedback-summary");
    var count = region.querySelector(".feedback-count");
    var support = region.querySelector(".feedback-support");
    var buttons = voteForm.querySelectorAll("button[name=helpful]");
    var busy = false;

    function say(text) {
      // Clearing first makes screen readers announce the message again when it repeats.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }

    function showSummary(body) {
      var vote = body.vote;
      var reasonLine = summary.querySelector(".feedback-summary-reason");
      var comment = summary.querySelector(".feedback-summary-comment");
      var label = "";
      if (vote && vote.reason) {
        var input = details.querySelector("input[name=reason][value='" + vote.reason + "']");
        label = input ? input.parentNode.textContent.trim() : vote.reason;
      }
      reasonLine.querySelector(".feedback-value").textContent = label;
      reasonLine.hidden = !label;
      comment.textContent = (vote && vote.comment) || "";
      comment.hidden = !(vote && vote.comment);
      summary.hidden = !(vote && !vote.helpful && (vote.reason || vote.comment));
    }

    function showCount(body) {
      if (!count) { return; }
      var number = new Intl.NumberFormat(document.documentElement.lang || undefined);
      var template = body.total === 1 ? region.dataset.countOne : region.dataset.countOther;
      count.textContent = template.replace("{yes}", number.format(body.yes))
        .replace("{total}", number.format(body.total));
      count.hidden = !body.total;
    }

    function submit(payload, done) {
      if (busy) { return; }
      busy = true;
      region.setAttribute("aria-busy", "true");
      send(region.dataset.api, payload).then(function (body) {
        buttons.forEach(function (button) {
          button.setAttribute("aria-pressed", String((button.value === "yes") === body.vote.helpful));
        });
        showSummary(body);
        showCount(body);
        done(body);
      }, function (error) {
        say(error.status === 429 ? region.dataset.errorRate : region.dataset.error);
      }).then(function () {
        busy = false;
        region.removeAttribute("aria-busy");
      });
    }

    voteForm.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || button.name !== "helpful") { return; }
      event.preventDefault();
      var helpful = button.value === "yes";
      submit({ helpful: helpful }, function () {
        // After a "No", a person is one link away; after a "Yes" that offer goes.
        if (support) { support.hidden = helpful; }
        if (helpful) {
          details.hidden = true;
          say(region.dataset.thanksYes);
          return;
        }
        details.reset();
        details.hidden = false;
        say(region.dataset.thanksNo);
        details.querySelector("fieldset").focus();
      });
    });

    details.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(details);
      submit({
        helpful: false,
        reason: data.get("reason") || null,
        comment: String(data.get("comment") || "").trim() || null
      }, function () {
        details.hidden = true;
        say(region.dataset.thanksDetails);
        // The Send button just disappeared: keep the keyboard focus in the widget.
        status.focus();
      });
    });
  }

  window.kb.init.push(function (root) {
    root.querySelectorAll("section.feedback[data-api]").forEach(enhance);
  });
})();
