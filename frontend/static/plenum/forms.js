// Forms marked data-reset-after-send empty themselves once what they hold has gone out: over the
// socket (htmx's ws extension) or, for uploads, once the server accepted it. This replaces
// hx-on attributes, which htmx runs through eval; our Content-Security-Policy allows no eval.
(function () {
  "use strict";

  function resetIfMarked(form) {
    if (form && form.matches && form.matches("form[data-reset-after-send]")) {
      form.reset();
    }
  }

  document.addEventListener("htmx:wsAfterSend", function (event) {
    resetIfMarked(event.target.closest ? event.target.closest("form") : null);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail && event.detail.successful) {
      resetIfMarked(event.detail.elt);
    }
  });
})();
