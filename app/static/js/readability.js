/* The editor's readability panel: asks the server (the same analysis the page shows on load) as the text
   changes. Advice only; the page works without this script. No inline script (CSP). */
(function () {
  "use strict";
  var panel = document.querySelector("[data-readability-url]");
  var body = document.querySelector("textarea[name=body]");
  if (!panel || !body) { return; }
  var target = panel.querySelector(".readability-body");
  var tokenField = document.querySelector("input[name=csrf_token]");
  var timer = null, lastText = body.value, pending = null;

  function check() {
    if (body.value === lastText) { return; }
    var text = body.value;
    var data = new FormData();
    data.append("body", text);
    data.append("language", panel.dataset.language || "en");
    (panel.dataset.audience || "").split(",").forEach(function (a) { if (a) { data.append("audience", a); } });
    if (tokenField) { data.append("csrf_token", tokenField.value); }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(panel.dataset.readabilityUrl, {method: "POST", body: data, credentials: "same-origin", signal: pending.signal,
                                         headers: {"Accept": "application/json",
                                                   "X-CSRFToken": tokenField ? tokenField.value : ""}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (json) {
        lastText = text;
        target.innerHTML = json.html;  // rendered and escaped by the server's template
      })
      .catch(function (error) { if (error.name !== "AbortError") { lastText = null; } });
  }

  body.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 800); });
})();
