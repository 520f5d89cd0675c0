// What htmx cannot do for us: JSON replies on the venue socket, a connection indicator, the clock.
(function () {
  "use strict";

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var note = document.createElement("div");
    note.className = "toast " + (kind || "info");
    note.textContent = text;
    box.appendChild(note);
    announce(text);
    setTimeout(function () { note.remove(); }, 6000);
  }

  // The page's one polite live region (base.html); its data attributes hold the phrases, in the
  // page's language. What is said within a moment is said together, once.
  var said = [];
  function phrase(name, values) {
    var box = document.getElementById("announcer");
    var text = (box && box.dataset[name]) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }
  function announce(text) {
    var box = document.getElementById("announcer");
    if (!box || !text) return;
    said.push(text);
    if (said.length > 1) return;
    setTimeout(function () {
      box.textContent = said.join(" ");
      said = [];
    }, 150);
  }
  window.plenumAnnounce = announce;

  // The connection: a banner while it is lost, the controls disabled (what was typed stays in
  // its field, also across the swaps that bring the page up to date on reconnect).
  var everOpen = false;
  // Closes after which the server will not take this page back (docs/protocol.md): not signed
  // in (4401), access revoked (4403), open in too many windows (4429). htmx does not reconnect
  // after them; the banner says why, in the server's words, and stays.
  var FINAL = { 4401: true, 4403: true, 4429: true };
  var lastError = "";
  function setConnection(state, text) {
    var live = document.getElementById("live");
    var line = document.getElementById("connection-state");
    if (live) live.dataset.connection = state;
    if (line) line.textContent = text || line.dataset[state] || line.textContent;
    var offline = state === "closed" || state === "ended";
    document.body.classList.toggle("offline", offline);
    document.querySelectorAll("form[ws-send] button").forEach(function (button) {
      if (offline && !button.disabled) { button.disabled = true; button.dataset.offline = "1"; }
      if (!offline && button.dataset.offline) { button.disabled = false; delete button.dataset.offline; }
    });
  }

  // Requests over the page's one socket that wait for their reply (media signalling, captions):
  // each carries an id, and the ack or error with that id settles its promise.
  var socket = null;
  var nextRequest = 1;
  var waiting = {};
  window.plenumSocket = {
    connected: function () { return socket !== null; },
    request: function (type, fields) {
      return new Promise(function (resolve, reject) {
        if (!socket) { reject(new Error("not connected")); return; }
        var id = "r" + (nextRequest++);
        waiting[id] = { resolve: resolve, reject: reject };
        socket.send(JSON.stringify(Object.assign({ type: type, id: id }, fields || {})));
      });
    },
  };
  // Registered before media.js's and captions.js's listeners: the socket is known when they run.
  document.addEventListener("htmx:wsOpen", function (event) { socket = event.detail.socketWrapper; });
  document.addEventListener("htmx:wsClose", function () { socket = null; });

  // Frames that start with "{" are JSON (acks, errors, media signalling); the rest are partials.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var text = event.detail.message;
    if (typeof text !== "string" || text.charAt(0) !== "{") return;
    event.preventDefault();
    var message;
    try { message = JSON.parse(text); } catch (e) { return; }
    if (message.type === "error") { lastError = message.message; toast(message.message, "error"); }
    if (message.type === "me") applyMe(message);
    if (message.type === "ack") applyAck(message);
    if (message.type === "hand") { mine.hand = !!message.hand; paintMine(); }
    var waiter = message.id && waiting[message.id];
    if (waiter) {
      delete waiting[message.id];
      if (message.type === "error") waiter.reject(message); else waiter.resolve(message);
      return;
    }
    document.dispatchEvent(new CustomEvent("plenum:message", { detail: message }));
  });

  // What is this person's own (their hand, their votes) is kept here and re-applied after every
  // swap, because the partials are rendered once for everybody.
  var mine = { hand: false, votedQuestions: {}, pollVotes: {}, writerOf: {}, facilitates: {}, forumChoices: {} };

  function applyMe(message) {
    mine.hand = !!message.hand;
    mine.votedQuestions = {};
    (message.voted_questions || []).forEach(function (id) { mine.votedQuestions[id] = true; });
    mine.pollVotes = {};
    (message.poll_votes || []).forEach(function (id) { mine.pollVotes[id] = true; });
    mine.votedPoll = (message.poll_votes || []).length > 0;
    mine.writerOf = {};
    (message.writer_of || []).forEach(function (id) { mine.writerOf[id] = true; });
    mine.facilitates = {};
    (message.facilitates || []).forEach(function (id) { mine.facilitates[id] = true; });
    mine.forumChoices = {};
    (message.forum_choices || []).forEach(function (id) { mine.forumChoices[id] = true; });
    paintMine();
  }

  function applyAck(message) {
    if (typeof message.hand === "boolean") mine.hand = message.hand;
    if (message.votes !== undefined && message.question) mine.votedQuestions[message.question] = true;
    if (message.poll && message.options) { mine.votedPoll = true; message.options.forEach(function (id) { mine.pollVotes[id] = true; }); }
    if (message.forums) { mine.forumChoices = {}; message.forums.forEach(function (id) { mine.forumChoices[id] = true; }); }
    if (message.person && message.type === "ack" && message.writer) { mine.writerOf[message.writer] = true; }
    paintMine();
  }

  function paintMine() {
    document.body.classList.toggle("hand-raised", mine.hand);
    document.querySelectorAll("[data-question]").forEach(function (el) {
      el.classList.toggle("voted", !!mine.votedQuestions[el.dataset.question]);
    });
    var poll = document.querySelector("#poll[data-state='open']");
    if (poll) poll.classList.toggle("voted", !!mine.votedPoll);
    // Editing controls show where this person may write; the server checks it again anyway.
    var moderation = document.body.classList.contains("console");
    document.querySelectorAll("#board[data-forum]").forEach(function (el) {
      el.classList.toggle("can-write", moderation || !!mine.writerOf[el.dataset.forum]);
    });
    document.querySelectorAll(".forum-place[data-forum]").forEach(function (el) {
      el.classList.toggle("can-lead", !!mine.facilitates[el.dataset.forum]);
    });
    document.querySelectorAll(".forum-choice[data-forum]").forEach(function (el) {
      el.classList.toggle("chosen", !!mine.forumChoices[el.dataset.forum]);
    });
    // The table this person stands at is the one whose place their page shows.
    var table = document.querySelector("#place .table-place[data-table]");
    document.querySelectorAll(".table-card[data-table]").forEach(function (el) {
      el.classList.toggle("here", !!table && el.dataset.table === table.dataset.table);
    });
  }
  document.addEventListener("htmx:oobAfterSwap", paintMine);
  // Uploads go over HTTP; a refusal comes back as JSON with a message for people.
  document.addEventListener("htmx:responseError", function (event) {
    var text = event.detail.xhr && event.detail.xhr.responseText;
    try { toast(JSON.parse(text).message, "error"); } catch (e) { toast(phrase("error"), "error"); }
  });
  document.addEventListener("htmx:afterSettle", paintMine);
  // htmx settles a swapped element's attributes after htmx:oobAfterSwap (the new class replaces
  // what paintMine set there): paint again once the whole message is in.
  document.addEventListener("htmx:wsAfterMessage", paintMine);

  // Reaction bursts and announcements are short-lived: they leave by themselves.
  function expire(selector, ms) {
    document.querySelectorAll(selector).forEach(function (el) {
      if (!el.dataset.expires) {
        el.dataset.expires = "1";
        setTimeout(function () { el.remove(); }, ms);
      }
    });
  }
  document.addEventListener("htmx:oobAfterSwap", function () {
    expire("#reactions .burst", 3000);
    expire("#announcements .announcement", 20000);
  });
  document.addEventListener("htmx:wsOpen", function () {
    var wasClosed = document.body.classList.contains("offline");
    setConnection("open");
    if (wasClosed) announce(phrase("reconnected"));
    everOpen = true;
  });
  document.addEventListener("htmx:wsClose", function (event) {
    var closed = event.detail && event.detail.event;
    if (closed && FINAL[closed.code]) {
      setConnection("ended", lastError);
      announce(lastError || phrase("lost"));
      return;
    }
    if (everOpen && !document.body.classList.contains("offline")) announce(phrase("lost"));
    setConnection("closed");
  });

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.dataset.since);
      if (isNaN(since)) return;
      var seconds = Math.max(0, Math.floor((now - since) / 1000));
      var planned = parseInt(el.dataset.plannedMinutes || "0", 10) * 60;
      el.textContent = pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60) + (planned ? " / " + pad(planned / 60) + ":00" : "");
      el.classList.toggle("overtime", planned > 0 && seconds > planned);
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var until = Date.parse(el.dataset.until);
      if (isNaN(until)) return;
      var left = Math.max(0, Math.ceil((until - now) / 1000));
      el.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
      el.classList.toggle("elapsed-countdown", left === 0);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
  // Live updates arrive as out-of-band swaps: a clock that came with them shows at once.
  document.addEventListener("htmx:oobAfterSwap", tick);
  document.addEventListener("DOMContentLoaded", tick);
})();
