/* The library editor: live preview through the server's one Markdown renderer, and autosave.
   The page works without this script (the form posts as usual). */
(function () {
  "use strict";
  var editor = document.querySelector(".editor");
  if (!editor) { return; }
  var form = editor.closest("form");
  var body = form.querySelector("textarea[name=body]");
  var title = form.querySelector("input[name=title]");
  var preview = document.getElementById("preview");
  var status = document.getElementById("autosave-status");
  var tokenField = form.querySelector("input[name=csrf_token]");
  var base = form.querySelector("input[name=base_revision_id]");
  var strings = {};
  try { strings = JSON.parse(document.getElementById("ui-strings").dataset.strings); } catch (e) { strings = {}; }
  function t(key, english) { return strings[key] || english; }  /* app/js_strings.py, else English */
  var timer = null, saveTimer = null, lastSaved = body.value;

  function post(url, fields) {
    var data = new FormData();
    Object.keys(fields).forEach(function (k) { data.append(k, fields[k]); });
    if (tokenField) { data.append("csrf_token", tokenField.value); }
    return fetch(url, {method: "POST", body: data, credentials: "same-origin",
                       headers: {"Accept": "application/json", "X-CSRFToken": tokenField ? tokenField.value : ""}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  function refresh() {
    post(editor.dataset.previewUrl, {body: body.value}).then(function (json) {
      preview.innerHTML = json.html;  // sanitised by the server's renderer (content/markdown.py)
    }).catch(function () { preview.textContent = t("preview_unavailable", "The preview is not available right now."); });
  }

  function autosave() {
    if (!editor.dataset.autosaveUrl || body.value === lastSaved) { return; }
    var text = body.value;
    post(editor.dataset.autosaveUrl, {body: text, title: title ? title.value : "", base_revision_id: base ? base.value : ""})
      .then(function () { lastSaved = text; status.textContent = t("autosaved", "Draft autosaved."); })
      .catch(function () { status.textContent = t("autosave_failed", "Autosave failed; your text is still here."); });
  }

  body.addEventListener("input", function () {
    clearTimeout(timer); timer = setTimeout(refresh, 300);
    clearTimeout(saveTimer); saveTimer = setTimeout(autosave, 3000);
  });
  refresh();
})();
