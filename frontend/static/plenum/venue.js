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
    setTimeout(function () { note.remove(); }, 6000);
  }

  function setConnection(state, label) {
    var live = document.getElementById("live");
    var line = document.getElementById("connection-state");
    if (live) live.dataset.connection = state;
    if (line) line.textContent = label;
  }

  // Frames that start with "{" are JSON (acks, errors, media signalling); the rest are partials.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var text = event.detail.message;
    if (typeof text !== "string" || text.charAt(0) !== "{") return;
    event.preventDefault();
    var message;
    try { message = JSON.parse(text); } catch (e) { return; }
    if (message.type === "error") toast(message.message, "error");
    document.dispatchEvent(new CustomEvent("plenum:message", { detail: message }));
  });
  document.addEventListener("htmx:wsOpen", function () { setConnection("open", document.documentElement.lang === "de" ? "Verbunden" : "Connected"); });
  document.addEventListener("htmx:wsClose", function () { setConnection("closed", document.documentElement.lang === "de" ? "Verbindung unterbrochen – verbinde neu…" : "Connection lost – reconnecting…"); });

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
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("DOMContentLoaded", tick);
})();
