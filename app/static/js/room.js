/* The live room client: joins the session's room over Socket.IO, renders what arrives in sequence
   order, sends with a client id (so a retry is never a duplicate), and on reconnect — or when a gap in
   the sequence lasts more than GAP_MS — asks for everything after the last sequence number up to which
   it holds every event (room_state.js). Without this script the page shows the conversation so far,
   read-only. */
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || typeof io === "undefined" || !window.CareCommonsRoom) { return; }
  var RoomSequence = window.CareCommonsRoom.RoomSequence, PresenceState = window.CareCommonsRoom.PresenceState;
  var GAP_MS = 2000;
  var sessionId = parseInt(root.dataset.sessionId, 10);
  var facilitator = root.dataset.facilitator === "1";
  var status = document.getElementById("room-status");
  var announcer = document.getElementById("announcer");
  var room = "main";
  var sequences = {};  /* room -> RoomSequence */
  var presence = new PresenceState();
  var presenceCheck = null;
  var joining = false;
  var counter = 0;
  var socket = io("/live", {transports: ["websocket"], reconnection: true});

  var strings = {};
  try { strings = JSON.parse(document.getElementById("ui-strings").dataset.strings); } catch (e) { strings = {}; }
  /* the reader's language from the page's data block (app/js_strings.py), else the English given here */
  function t(key, english, values) {
    var text = strings[key] || english;
    Object.keys(values || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(String(values[name])); });
    return text;
  }
  function clientId() { counter += 1; return "c" + Date.now().toString(36) + "-" + counter + "-" + Math.random().toString(36).slice(2, 8); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) { e.className = cls; } if (text !== undefined) { e.textContent = text; } return e; }
  function announce(text) { announcer.textContent = ""; window.setTimeout(function () { announcer.textContent = text; }, 50); }
  function badge(role) { return role ? el("span", "badge badge-" + role, t("role:" + role, role.replace("_", " "))) : el("span"); }

  function send(name, payload, done) {
    payload.session_id = sessionId;
    payload.client_id = payload.client_id || clientId();
    var attempt = 0;
    (function tryOnce() {
      attempt += 1;
      socket.timeout(8000).emit(name, payload, function (err, ack) {
        if (err) { if (attempt < 4) { window.setTimeout(tryOnce, 500 * attempt); } else { status.textContent = t("not_sent", "Not sent: the connection is down. Try again."); } return; }
        if (ack && ack.error) { status.textContent = ack.error.message || t("refused", "Refused."); announce(status.textContent); }
        if (done) { done(ack); }
      });
    })();
  }

  function chatItem(event) {
    var li = el("li"); li.dataset.id = event.id;
    var who = el("span", "small");
    who.appendChild(document.createTextNode((event.author ? event.author.name : "") + " "));
    who.appendChild(badge(event.role));
    li.appendChild(who);
    var body = el("span"); body.innerHTML = " " + event.html;  /* sanitised by the server's one renderer */
    li.appendChild(body);
    if (root.dataset.flagUrl) {
      var flag = el("a", "small", t("flag", "Flag a safety concern"));
      flag.href = root.dataset.flagUrl + event.id; flag.target = "_blank"; flag.rel = "noopener";
      li.appendChild(document.createTextNode(" ")); li.appendChild(flag);
    }
    if (facilitator) {
      ["pin", "remove_message"].forEach(function (action) {
        var b = el("button", "link-button small", action === "pin" ? t("pin", "Pin") : t("remove", "Remove"));
        b.type = "button";
        b.addEventListener("click", function () { send(action, {message_id: event.id}); });
        li.appendChild(document.createTextNode(" ")); li.appendChild(b);
      });
    }
    return li;
  }

  function questionItem(event) {
    var li = el("li"); li.dataset.id = event.id;
    li.appendChild(document.createTextNode(event.body + " "));
    var votes = el("span", "small votes", "(" + (event.data.votes || 0) + ")"); li.appendChild(votes);
    var up = el("button", "link-button small", t("upvote", "Upvote")); up.type = "button";
    up.addEventListener("click", function () { send("upvote", {question_id: event.id}); up.disabled = true; });
    li.appendChild(document.createTextNode(" ")); li.appendChild(up);
    if (facilitator) {
      var done = el("button", "link-button small", t("mark_answered", "Mark answered")); done.type = "button";
      done.addEventListener("click", function () { send("answered", {question_id: event.id}); });
      li.appendChild(document.createTextNode(" ")); li.appendChild(done);
    }
    return li;
  }

  function pollBlock(event) {
    var div = el("div", "poll"); div.dataset.poll = event.data.poll_id;
    div.appendChild(el("h3", null, event.body));
    var list = el("ul");
    event.data.options.forEach(function (option, i) {
      var li = el("li"); var b = el("button", "secondary", option); b.type = "button";
      b.addEventListener("click", function () { send("vote", {poll_id: event.data.poll_id, option: i}); });
      li.appendChild(b); li.appendChild(el("span", "count", " " + (event.data.counts ? event.data.counts[i] : 0)));
      list.appendChild(li);
    });
    div.appendChild(list);
    if (facilitator) {
      var close = el("button", "danger", t("close_poll", "Close poll")); close.type = "button";
      close.addEventListener("click", function () { send("poll_close", {poll_id: event.data.poll_id}); });
      div.appendChild(close);
    }
    return div;
  }

  function updateCounts(pollId, counts, closed) {
    var block = document.querySelector('.poll[data-poll="' + pollId + '"]');
    if (!block) { return; }
    block.querySelectorAll(".count").forEach(function (span, i) { span.textContent = " " + counts[i]; });
    if (closed && !block.querySelector(".poll-closed")) {
      block.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      block.appendChild(el("p", "small poll-closed", t("poll_closed", "The poll closed.")));
    }
  }

  function sequence(name) { if (!sequences[name]) { sequences[name] = new RoomSequence(0); } return sequences[name]; }

  /* Every event, live or replayed, goes through its room's sequence: duplicates (a retry is broadcast
     again) are dropped, and one beyond a gap waits for the events before it. */
  function receive(event) { sequence(event.room).accept(event, Date.now()).forEach(apply); }

  function apply(event) {
    if (event.room !== room && event.kind === "chat") { return; }
    var d = event.data || {};
    switch (event.kind) {
      case "chat": document.getElementById("chat").appendChild(chatItem(event)); announce((event.author ? event.author.name : "") + ": " + event.body); break;
      case "question": document.getElementById("questions").appendChild(questionItem(event)); announce(t("new_question", "New question: %(text)s", {text: event.body})); break;
      case "upvote": var q = document.querySelector('#questions li[data-id="' + d.question_id + '"] .votes'); if (q) { q.textContent = "(" + d.votes + ")"; } break;
      case "answered": var a = document.querySelector('#questions li[data-id="' + d.question_id + '"]'); if (a) { a.appendChild(el("strong", null, " " + t("answered", "answered"))); } break;
      case "poll_open": document.getElementById("polls").appendChild(pollBlock(event)); announce(t("poll_opened", "A poll opened: %(text)s", {text: event.body})); break;
      case "vote": updateCounts(d.poll_id, d.counts, false); break;
      case "poll_close": updateCounts(d.poll_id, d.counts, true); announce(t("poll_closed", "The poll closed.")); break;
      case "agenda": document.querySelectorAll("#agenda li").forEach(function (li) { if (String(li.dataset.module) === String(d.module_id)) { li.setAttribute("aria-current", "step"); } else { li.removeAttribute("aria-current"); } }); announce(t("now", "Now: %(text)s", {text: event.body})); break;
      case "pin": var src = document.querySelector('#chat li[data-id="' + d.message_id + '"]'); if (src) { var p = document.getElementById("pinned"); p.textContent = ""; p.appendChild(el("strong", null, t("pinned", "Pinned:") + " ")); p.appendChild(document.createTextNode(src.textContent)); } break;
      case "remove": var r = document.querySelector('#chat li[data-id="' + d.message_id + '"]'); if (r) { r.remove(); } break;
      case "hand": case "hand_lower": renderHand(d.user_id, event.kind === "hand" && d.raised, event.author); break;
      case "breakout_open": var sel = document.getElementById("room-select"); var o = el("option", null, event.body); o.value = d.room; sel.appendChild(o); announce(t("breakout_opened", "A breakout opened: %(text)s", {text: event.body})); break;
      default: break;
    }
  }

  function renderHand(userId, raised, author) {
    var list = document.getElementById("hands");
    var existing = list.querySelector('li[data-user="' + userId + '"]');
    if (raised && !existing) {
      var li = el("li", null, author ? author.name : "#" + userId); li.dataset.user = userId;
      if (facilitator) { var b = el("button", "link-button small", t("lower", "Lower hand")); b.type = "button"; b.addEventListener("click", function () { send("hand_lower", {user_id: userId}); }); li.appendChild(document.createTextNode(" ")); li.appendChild(b); }
      list.appendChild(li);
    } else if (!raised && existing) { existing.remove(); }
  }

  function renderPresence() {
    var box = document.getElementById("presence"); box.textContent = "";
    box.appendChild(el("p", null, t("here", "%(n)s here", {n: presence.total})));
    var ul = el("ul", "plain"), groups = presence.byRole(), counts = presence.counts;
    Object.keys(counts).sort().forEach(function (role) {
      var li = el("li"); li.appendChild(badge(role));
      var names = (groups[role] || []).map(function (x) { return x.name; }).sort();
      li.appendChild(document.createTextNode(" " + counts[role] + (names.length ? ": " + names.join(", ") : "")));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  /* The whole list, on request: when a broadcast leaves the list disagreeing with the counts and the
     next broadcasts have not mended it a few seconds later (jittered, so a room does not ask at once). */
  function askForPresence() {
    socket.emit("presence", {session_id: sessionId, room: room}, function (ack) {
      if (ack && !ack.error && ack.room === room) { presence.replace(ack); renderPresence(); }
    });
  }
  function presenceChanged(update) {
    if (update.room !== room) { return; }
    var consistent = presence.change(update);
    renderPresence();
    if (!consistent && presenceCheck === null) {
      presenceCheck = window.setTimeout(function () {
        presenceCheck = null;
        if (!presence.consistent()) { askForPresence(); }
      }, 3000 + Math.random() * 2000);
    }
  }

  function join() {
    var joinedRoom = room;
    joining = true;
    socket.emit("join", {session_id: sessionId, room: joinedRoom, last_seq: sequence(joinedRoom).complete}, function (ack) {
      joining = false;
      if (!ack || ack.error) { status.textContent = ack && ack.error ? ack.error.message : t("could_not_join", "Could not join."); return; }
      (ack.events || []).forEach(receive);
      if (joinedRoom === room) { presence.replace(ack.presence); renderPresence(); }
      status.textContent = t("connected", "Connected.");
    });
  }

  /* A hole in the sequence that outlasts GAP_MS: a broadcast was lost (its process died between commit
     and publish) or the replay was one page of many; ask again from the complete part. */
  window.setInterval(function () {
    if (socket.connected && !joining && sequence(room).gapOutlasted(GAP_MS, Date.now())) { join(); }
  }, 500);

  socket.on("connect", function () {
    if (room === "main" && !sequence("main").complete) { document.getElementById("chat").textContent = ""; document.getElementById("questions").textContent = ""; document.getElementById("polls").textContent = ""; }
    document.querySelectorAll(".live-form, #hand-button").forEach(function (f) { f.hidden = false; });
    join();
  });
  socket.on("disconnect", function () { status.textContent = t("reconnecting", "Reconnecting…"); });
  socket.on("event", receive);
  socket.on("presence", presenceChanged);
  socket.on("removed", function () { status.textContent = t("removed", "You have been removed from this session."); socket.disconnect(); });

  document.getElementById("chat-form").addEventListener("submit", function (e) {
    e.preventDefault(); var input = document.getElementById("chat-input");
    if (!input.value.trim()) { return; }
    send("chat", {body: input.value, room: room}, function (ack) { if (ack && !ack.error) { input.value = ""; } }); input.focus();
  });
  document.getElementById("ask-form").addEventListener("submit", function (e) {
    e.preventDefault(); var input = document.getElementById("ask-input");
    send("ask", {body: input.value, anonymous: document.getElementById("ask-anon").checked}, function (ack) { if (ack && !ack.error) { input.value = ""; } });
  });
  var raised = false;
  document.getElementById("hand-button").addEventListener("click", function () {
    raised = !raised; this.setAttribute("aria-pressed", raised ? "true" : "false");
    this.textContent = raised ? t("lower_hand", "Lower my hand") : t("raise_hand", "Raise my hand");
    send("hand", {raised: raised});
  });
  document.getElementById("room-select").addEventListener("change", function () {
    socket.emit("leave", {session_id: sessionId, room: room});
    room = this.value; document.getElementById("chat").textContent = ""; sequences[room] = new RoomSequence(0);
    presence = new PresenceState(); join();
  });
  if (facilitator) {
    var agenda = document.getElementById("agenda-form");
    if (agenda) { agenda.addEventListener("submit", function (e) { e.preventDefault(); send("agenda", {module_id: parseInt(document.getElementById("agenda-select").value, 10)}); }); }
    document.getElementById("poll-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var options = document.getElementById("poll-options").value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
      send("poll_open", {question: document.getElementById("poll-question").value, options: options});
    });
    document.getElementById("breakout-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var roles = Array.prototype.map.call(document.querySelectorAll("input[name=breakout-role]:checked"), function (c) { return c.value; });
      send("breakout_open", {name: document.getElementById("breakout-name").value, roles: roles});
    });
  }
})();
