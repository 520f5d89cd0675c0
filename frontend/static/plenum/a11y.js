// Keyboard and screen-reader users in a page that live updates rewrite: where focus goes after an
// action or a swap, what was typed into a field that a swap replaced, and what the page's live
// region says when the day moves on (venue.js's plenumAnnounce; the phrases are in base.html).
(function () {
  "use strict";

  // --- Which control is which, across a swap ------------------------------------------------------
  // A control inside a form is known by its form's hidden fields (the message type and ids) and its
  // own name; a swap renders the same fields again, so the new control is found by them.
  function fields(form, skip) {
    var parts = [];
    form.querySelectorAll("input[type=hidden]").forEach(function (input) {
      if ((skip || []).indexOf(input.name) < 0) parts.push(input.name + "=" + input.value);
    });
    return parts.join("&");
  }

  function keyOf(element) {
    if (!element || element === document.body || element === document.documentElement) return null;
    var form = element.closest("form");
    if (form) {
      return { form: fields(form), loose: fields(form, ["version"]), thing: fields(form, ["type", "version"]),
               name: element.name || "", tag: element.tagName,
               index: Array.prototype.indexOf.call(form.elements, element) };
    }
    if (element.id) return { id: element.id };
    return null;
  }

  function shown(element) {
    return !!element && element.isConnected && !element.disabled && element.getClientRects().length > 0;
  }

  function find(key) {
    if (!key) return null;
    if (key.id) return document.getElementById(key.id);
    var forms = Array.prototype.slice.call(document.querySelectorAll("form"));
    var match = forms.filter(function (form) { return fields(form) === key.form && shownForm(form); })[0]
      || forms.filter(function (form) { return fields(form, ["version"]) === key.loose && shownForm(form); })[0];
    if (!match && key.thing) {
      // The control is gone, but the thing it acted on is still there (a question that went on
      // stage now offers "Answered"): its first control.
      match = forms.filter(function (form) { return fields(form, ["type", "version"]) === key.thing && shownForm(form); })[0];
      if (match) return match.querySelector("button, input:not([type=hidden]), select, textarea");
    }
    if (!match) return null;
    var same = Array.prototype.filter.call(match.elements, function (el) { return el.tagName === key.tag && (el.name || "") === key.name; });
    return same[0] || match.elements[key.index] || null;
  }

  function shownForm(form) { return form.getClientRects().length > 0; }

  function lost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected || active.getClientRects().length === 0;
  }

  function focus(element) {
    if (!element) return false;
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) element.setAttribute("tabindex", "-1");
    element.focus({ preventScroll: false });
    return document.activeElement === element;
  }

  // Where the result of an action is when the control itself is gone or hidden.
  var RESULT = {
    "hand.raise": ".hand-lower button",
    "hand.lower": ".hand-raise button",
    "poll.vote": "#poll .voted-note",
    "forum.choose": "#place h2",
    "forum.switch": "#place h2",
    "table.join": "#place h2",
    "table.leave": "#place h2",
    "question.vote": "#questions h2",
    "question.approve": "#questions h2",
    "question.answering": "#questions h2",
    "question.answered": "#questions h2",
    "question.hide": "#questions h2",
    "question.merge": "#questions h2",
    "hand.dismiss": "#hands h2, #forum-hands h3",
    "media.stage": "#hands h2",
    "media.unstage": "#hands h2",
    "chat.delete": "#chat h2",
  };

  function firstShown(selector) {
    return Array.prototype.filter.call(document.querySelectorAll(selector), function (el) { return el.getClientRects().length > 0; })[0];
  }

  var pending = null;   // the control a person just used, until its result has arrived
  var swapped = null;   // the control that had focus when a swap replaced it

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("ws-send")) return;
    var type = form.querySelector("input[name=type]");
    var control = form.contains(document.activeElement) ? document.activeElement : event.submitter;
    pending = { key: keyOf(control), type: type ? type.value : "", until: Date.now() + 5000 };
  }, true);

  function restore() {
    if (pending && Date.now() > pending.until) pending = null;
    if (!lost() || (!pending && !swapped)) return;
    var candidates = [];
    if (swapped) candidates.push(find(swapped));
    if (pending) {
      candidates.push(find(pending.key));
      if (RESULT[pending.type]) candidates.push(firstShown(RESULT[pending.type]));
    }
    candidates.push(document.getElementById("main"));
    for (var i = 0; i < candidates.length; i++) {
      if (shown(candidates[i]) || (candidates[i] && candidates[i].id === "main")) {
        if (focus(candidates[i])) {
          // Someone else's change redrew the field being typed in: the caret stays where it was.
          if (i === 0 && swapped && swapped.selection && candidates[i].setSelectionRange) {
            try { candidates[i].setSelectionRange(swapped.selection[0], swapped.selection[1]); } catch (e) { /* not a text field */ }
          }
          break;
        }
      }
    }
    pending = null;
    swapped = null;
  }

  // --- Before a swap: remember focus and what was typed ---------------------------------------------
  var typed = [];
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelectorAll) return;
    var active = document.activeElement;
    if (active && target.contains(active)) {
      swapped = keyOf(active);
      if (swapped && typeof active.selectionStart === "number") {
        swapped.selection = [active.selectionStart, active.selectionEnd];
      }
    }
    target.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]), textarea").forEach(function (field) {
      if (field.value !== field.defaultValue) typed.push({ key: keyOf(field), value: field.value });
    });
  });

  function putBackTyped() {
    typed.forEach(function (entry) {
      var field = find(entry.key);
      if (field && field.value === field.defaultValue) field.value = entry.value;
    });
    typed = [];
  }

  // --- After: what changed, said once, in the page's language ---------------------------------------
  var seen = null;

  function text(selector) {
    var el = document.querySelector(selector);
    return el ? el.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function look() {
    var place = document.getElementById("place");
    var poll = document.querySelector("#poll[data-state='open']");
    var announcements = {};
    document.querySelectorAll("#announcements .announcement").forEach(function (el) { announcements[el.id] = el; });
    return {
      now: text("#now-playing .live-title"),
      live: !!document.querySelector("#now-playing .elapsed"),
      ended: !!document.querySelector("#now-playing.ended"),
      documentation: !!document.querySelector("#now-playing .documentation-link"),
      place: place ? (place.dataset.kind || "") + ":" + (place.dataset.roomId || "") : "",
      placeKind: place ? place.dataset.kind : "",
      placeName: text("#place h2"),
      question: text("#stage .stage-question"),
      poll: poll ? poll.dataset.poll : "",
      pollQuestion: poll ? text("#poll .poll-question") || text("#poll p strong") : "",
      announcements: announcements,
    };
  }

  function compare() {
    var say = window.plenumAnnounce || function () {};
    var phrase = function (name, values) {
      var box = document.getElementById("announcer");
      var out = (box && box.dataset[name]) || "";
      Object.keys(values || {}).forEach(function (key) { out = out.split("{" + key + "}").join(values[key]); });
      return out;
    };
    var now = look();
    if (seen) {
      if (now.now !== seen.now || now.live !== seen.live || now.ended !== seen.ended) {
        if (now.live) say(phrase("now", { title: now.now }));
        else if (now.ended) say(phrase("ended"));
      }
      if (now.documentation && !seen.documentation) say(phrase("documentation"));
      if (now.place !== seen.place && now.placeKind && phrase(now.placeKind)) {
        say(phrase(now.placeKind, { name: now.placeName }));
      }
      if (now.question && now.question !== seen.question) say(phrase("question", { text: now.question }));
      if (now.poll && now.poll !== seen.poll) say(phrase("poll", { text: now.pollQuestion }));
      Object.keys(now.announcements).forEach(function (id) {
        if (seen.announcements[id]) return;
        var note = now.announcements[id].cloneNode(true);
        var label = note.querySelector("strong");
        if (label) label.remove();
        say(phrase("announcement", { text: note.textContent.replace(/\s+/g, " ").trim() }));
      });
    }
    seen = now;
  }

  // --- Uploads: their progress, then a clear result --------------------------------------------------
  function uploadForm(event) {
    var el = event.target;
    return el && el.closest ? el.closest("form[hx-encoding='multipart/form-data']") : null;
  }
  function phraseOf(name) {
    var box = document.getElementById("announcer");
    return (box && box.dataset[name]) || "";
  }
  // The result stays under its form for a while, also when the board around it is redrawn.
  var results = [];
  function showResult(form, text) {
    var note = form.querySelector(".upload-result");
    if (!note) {
      note = document.createElement("p");
      note.className = "upload-result";
      form.appendChild(note);
    }
    note.textContent = text;
  }
  function putBackResults() {
    results = results.filter(function (result) { return Date.now() < result.until; });
    results.forEach(function (result) {
      var form = currentForm(result.post);
      if (form) showResult(form, result.text);
    });
  }
  function currentForm(post) {
    return Array.prototype.filter.call(document.querySelectorAll("form[hx-encoding='multipart/form-data']"),
      function (candidate) { return candidate.getAttribute("hx-post") === post; })[0];
  }
  // A live update may redraw the form while its upload runs (the board shows the new file before
  // the answer arrives): the form's own events are heard on the form, the result goes to the form
  // that is on the page now.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var sent = uploadForm(event);
    if (!sent) return;
    var post = sent.getAttribute("hx-post");
    var progress = function (inner) {
      var form = currentForm(post);
      if (!form || !inner.detail || !inner.detail.lengthComputable) return;
      var bar = form.querySelector("progress.upload-progress");
      if (!bar) {
        bar = document.createElement("progress");
        bar.className = "upload-progress";
        bar.max = 100;
        bar.setAttribute("aria-label", phraseOf("uploading"));
        form.appendChild(bar);
      }
      bar.value = Math.round((inner.detail.loaded / inner.detail.total) * 100);
    };
    sent.addEventListener("htmx:xhr:progress", progress);
    sent.addEventListener("htmx:afterRequest", function (done) {
      sent.removeEventListener("htmx:xhr:progress", progress);
      var form = currentForm(post);
      var bar = form && form.querySelector("progress.upload-progress");
      if (bar) bar.remove();
      // A refusal is shown and said by venue.js (htmx:responseError); success is said here.
      var text = done.detail.successful ? phraseOf("uploaded") : "";
      if (form) showResult(form, text);
      results = [{ post: post, text: text, until: Date.now() + 15000 }];
      if (text && window.plenumAnnounce) window.plenumAnnounce(text);
    }, { once: true });
  });

  document.addEventListener("DOMContentLoaded", function () { seen = look(); });
  document.addEventListener("htmx:wsAfterMessage", function () {
    putBackTyped();
    putBackResults();
    compare();
    restore();
  });
  // Acknowledgements and per-person messages (a hand, a vote) change classes, not partials.
  document.addEventListener("plenum:message", function () { setTimeout(restore, 0); });
})();
