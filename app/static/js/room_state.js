/* The live room's client-side state, apart from the page so the browser tests can exercise it:
   RoomSequence keeps one room's events in sequence order, PresenceState the people in a room.
   Loaded before room.js, which wires both to the socket and the page. */
(function (global) {
  "use strict";

  /* Events arrive live from any server process, and a broadcast can be lost when a process dies
     between commit and publish, so `complete` is the highest seq up to which every event has been
     applied — what a (re)join asks to continue from. An event beyond a gap waits in `pending`; a gap
     older than a couple of seconds means something was lost, and the room re-joins from `complete`. */
  function RoomSequence(complete) {
    this.complete = complete || 0;
    this.pending = {};
    this.gapSince = null;
  }

  /* Returns the events that can be applied now, in order (none for a duplicate or one beyond a gap). */
  RoomSequence.prototype.accept = function (event, now) {
    var seq = event.seq;
    if (typeof seq !== "number" || seq <= this.complete || this.pending[seq]) { return []; }
    this.pending[seq] = event;
    var ready = [];
    while (this.pending[this.complete + 1]) {
      this.complete += 1;
      ready.push(this.pending[this.complete]);
      delete this.pending[this.complete];
    }
    this.gapSince = this.hasGap() ? (this.gapSince === null ? (now || Date.now()) : this.gapSince) : null;
    return ready;
  };

  RoomSequence.prototype.hasGap = function () { return Object.keys(this.pending).length > 0; };

  /* True once a gap has lasted `ms`; it re-arms, so a re-join that is still under way is not repeated
     at every check. */
  RoomSequence.prototype.gapOutlasted = function (ms, now) {
    now = now || Date.now();
    if (this.gapSince === null || now - this.gapSince < ms) { return false; }
    this.gapSince = now;
    return true;
  };

  /* Broadcasts carry counts and who joined or left; the whole list comes with the join and on request. */
  function PresenceState() { this.people = {}; this.counts = {}; this.total = 0; }

  PresenceState.prototype.replace = function (full) {
    var people = {};
    Object.keys(full.people || {}).forEach(function (role) {
      full.people[role].forEach(function (p) { people[p.id] = {id: p.id, name: p.name, role: role}; });
    });
    this.people = people; this.counts = full.counts || {}; this.total = full.total || 0;
    return this.consistent();
  };

  /* Applies one broadcast; returns false when the list no longer matches the counts (then ask for it). */
  PresenceState.prototype.change = function (update) {
    var people = this.people;
    (update.left || []).forEach(function (p) { delete people[p.id]; });
    (update.joined || []).forEach(function (p) { people[p.id] = {id: p.id, name: p.name, role: p.role}; });
    this.counts = update.counts || {}; this.total = update.total || 0;
    return this.consistent();
  };

  PresenceState.prototype.byRole = function () {
    var groups = {}, people = this.people;
    Object.keys(people).forEach(function (id) { var p = people[id]; (groups[p.role] = groups[p.role] || []).push(p); });
    return groups;
  };

  PresenceState.prototype.consistent = function () {
    var groups = this.byRole(), counts = this.counts, listed = 0;
    var roles = Object.keys(groups).concat(Object.keys(counts));
    for (var i = 0; i < roles.length; i += 1) {
      if ((groups[roles[i]] || []).length !== (counts[roles[i]] || 0)) { return false; }
    }
    Object.keys(groups).forEach(function (role) { listed += groups[role].length; });
    return listed === this.total;
  };

  global.CareCommonsRoom = {RoomSequence: RoomSequence, PresenceState: PresenceState};
})(window);
