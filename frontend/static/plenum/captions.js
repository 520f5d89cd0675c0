// Live captions: the switch (remembered in localStorage, so it survives reloads), the lines under
// the stage, and the captioner's typing. Messages: docs/protocol.md ("Live captions").
(function () {
  "use strict";

  var KEY = "plenum.captions";
  var SHOWN = 3;   // lines under the stage; a screen reader hears each new one once
  var KEPT = 50;
  var lines = [];  // {seq, item, text}, oldest first, of one item
  window.plenumCaptions = { lines: lines }; // for the browser test

  function captioner() { return document.body.classList.contains("role-captioner"); }
  function wanted() {
    if (captioner()) return true;
    try { return window.localStorage.getItem(KEY) === "on"; } catch (e) { return false; }
  }
  function remember(on) {
    try { window.localStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* private mode: this page only */ }
  }

  function send(type, fields) { return window.plenumSocket.request(type, fields); }

  function follow(on) {
    return send("captions.follow", { on: on }).then(function (reply) {
      lines.length = 0;
      (reply.lines || []).forEach(keep);
      paint();
    }).catch(function () { /* the error toast says enough */ });
  }

  // Returns whether the line is new (a line can come both in the follow's reply and live).
  function keep(line) {
    if (lines.length && line.item !== lines[lines.length - 1].item) lines.length = 0;
    for (var i = 0; i < lines.length; i++) if (lines[i].seq === line.seq) return false;
    lines.push({ seq: line.seq, item: line.item, text: line.text });
    lines.sort(function (a, b) { return a.seq - b.seq; });
    if (lines.length > KEPT) lines.shift();
    return true;
  }

  function lineElement(line) {
    var p = document.createElement("p");
    p.className = "caption-line";
    p.dataset.seq = line.seq;
    p.textContent = line.text;
    return p;
  }

  // The whole region anew: on switching, and when the place was rendered again.
  function paint() {
    var on = wanted();
    document.querySelectorAll(".captions-toggle").forEach(function (button) {
      button.setAttribute("aria-pressed", String(on));
      button.hidden = captioner();
    });
    var region = document.getElementById("captions");
    if (!region) return;
    region.hidden = !on;
    region.textContent = "";
    lines.slice(-SHOWN).forEach(function (line) { region.appendChild(lineElement(line)); });
  }

  // One new line: appended (that is what the live region announces), the oldest shown one goes.
  function show(line) {
    var region = document.getElementById("captions");
    if (!region || region.hidden) return;
    if (lines[lines.length - 1] !== undefined && lines[lines.length - 1].seq !== line.seq) { paint(); return; }
    region.appendChild(lineElement(line));
    while (region.children.length > SHOWN) region.removeChild(region.firstChild);
  }

  document.addEventListener("htmx:wsOpen", function () {
    // After a reconnect the server has forgotten the subscription: ask again, get the lines missed.
    if (wanted()) follow(true); else paint();
  });
  document.addEventListener("plenum:message", function (event) {
    var message = event.detail;
    if (message.type === "caption" && keep(message)) show(message);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".captions-toggle");
    if (!button) return;
    var on = !wanted();
    remember(on);
    if (on) follow(true); else { send("captions.follow", { on: false }).catch(function () {}); paint(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest(".captioner-form");
    if (!form) return;
    event.preventDefault();
    var input = form.querySelector("input[name=text]");
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send("caption.line", { text: text }).catch(function () {
      // Refused (no plenary item live, too long): the toast says why; the line is not lost.
      if (!input.value) input.value = text;
    });
  });

  // A re-rendered place has an empty caption region: fill it from what this page kept.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "place") paint();
  });
  document.addEventListener("DOMContentLoaded", paint);
})();
