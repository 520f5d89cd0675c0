// The server closes a socket it wants back later with 4013 ("try again later": a join storm,
// frontend/admission.py) or 4012 (its channel layer went away; "service restart"); daphne may
// send no 1012/1013, and htmx's ws extension reopens only after 1006/1011/1012/1013. So this
// page reopens its socket itself: after the pause the server's "busy" error asked for, or a
// second, with jitter, so that a thousand pages do not come back in the same instant.
(function () {
  "use strict";
  var COME_BACK = { 4012: true, 4013: true };
  var askedSeconds = 0;
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var text = event.detail.message;
    if (typeof text !== "string" || text.indexOf('"retry_after"') < 0) return;
    try {
      var message = JSON.parse(text);
      if (message.type === "error" && message.code === "busy") askedSeconds = Number(message.retry_after) || 1;
    } catch (e) { /* a partial that happens to hold the words: not for us */ }
  });
  document.addEventListener("htmx:wsClose", function (event) {
    var closed = event.detail.event;
    if (!closed || !COME_BACK[closed.code]) return;
    var seconds = askedSeconds || 1;
    askedSeconds = 0;
    var socketElement = event.target;
    var socket = event.detail.socketWrapper;
    setTimeout(function () {
      if (document.body.contains(socketElement)) socket.reconnect();
    }, 1000 * seconds * (1 + Math.random()));
  });
})();
