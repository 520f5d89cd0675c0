// Live audio and video in a room: WebRTC against Plenum's SFU, signalled over the venue socket.
// Two peer connections: "publish" (we offer our microphone, camera, screen) and "subscribe"
// (the server offers everyone else's tracks, we answer). Messages are listed in docs/media.md.
(function () {
  "use strict";

  var CHUNK = 5000; // SDP characters per message: a socket message may be at most 8 KiB
  var media = {
    room: null, welcome: null, publisher: null, subscriber: null,
    tracks: {}, peers: [], local: null, screen: null, wanted: null,
    sending: { audio: false, video: false, screen: false },
  };
  window.plenumMedia = media; // for the browser test and for curious operators
  media.join = function (slug) { return join(slug); };

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function section() { return document.getElementById("media"); }

  // -- the socket ------------------------------------------------------------------------

  function send(type, fields) { return window.plenumSocket.request(type, fields); }
  function connected() { return window.plenumSocket.connected(); }

  // Whole lines per chunk: the server strips each field and puts the line ends back.
  function chunks(sdp) {
    var out = [], current = "";
    sdp.split(/\r\n/).forEach(function (line) {
      if (!line) return;
      if (current && current.length + line.length + 2 > CHUNK) { out.push(current); current = ""; }
      current = current ? current + "\r\n" + line : line;
    });
    if (current) out.push(current);
    return out;
  }

  async function sendSdp(type, sdp) {
    var parts = chunks(sdp), reply = null;
    for (var i = 0; i < parts.length; i++) {
      reply = await send(type, { sdp: parts[i], more: i < parts.length - 1 });
    }
    return reply;
  }

  document.addEventListener("htmx:wsOpen", function () {
    // After a reconnect the server has forgotten our media: start again in the same place.
    var room = media.room || media.wanted;
    media.room = media.wanted = null;
    closeAll();
    if (room) join(room);
    else followTheDay();
  });
  document.addEventListener("plenum:message", function (event) {
    var message = event.detail;
    switch (message.type) {
      case "media.offer": onOffer(message); break;
      case "media.tracks": mapTracks(message.tracks); break;
      case "media.peers": onPeers(message); break;
      case "media.muted": onMuted(); break;
      case "media.unstaged": stopPublishing(); welcome(message); break;
      case "media.staged": welcome(message); break;
      case "media.failed": onFailed(message); break;
      case "media.reset": rejoin(); break;
      case "media.speaking": onSpeaking(message); break;
      case "interpretation.on_air": onAir(message.person === Number(section().dataset.person)); break;
    }
  });

  // -- where we are ----------------------------------------------------------------------

  // Where the day puts this person: the per-person place (#place, its data-kind and data-room-id).
  function whereTheDayIs() {
    // The console is not in any one place: the moderation may look into every room.
    if (document.body.classList.contains("console")) return { kind: "any", roomId: "", auto: false };
    var place = document.getElementById("place");
    if (!place) return { kind: null, roomId: "", auto: false };
    // data-kind, not the class: htmx keeps the old class on a swapped element until it settles.
    var kind = place.dataset.kind;
    return {
      kind: { plenary: "plenary", forum: "forum", choose: "forum", lounge: "table", table: "table" }[kind] || null,
      roomId: place.dataset.roomId || "",
      auto: kind === "plenary" || kind === "forum" || kind === "table",
    };
  }

  // The plenary (and an assigned forum) is joined by itself; tables and unassigned forums
  // are chosen with a button.
  function followTheDay() {
    var box = section();
    if (!box) return;
    var where = whereTheDayIs();
    $all(".media-place", box).forEach(function (button) {
      // In the plenary, one's forum or at one's table, only that room's button is offered;
      // in the lounge, tables are chosen in the lounge itself.
      var fixed = where.kind === "plenary" || ((where.kind === "forum" || where.kind === "table") && where.roomId);
      button.hidden = where.kind !== "any" &&
        (button.dataset.kind !== where.kind || (fixed && button.dataset.roomId !== where.roomId));
    });
    if (media.room) {
      var current = $('.media-place[data-room="' + media.room + '"]', box);
      if (!current || current.hidden) leave();
    }
    if (!media.room && !media.wanted && where.auto && where.roomId) {
      var mine = $('.media-place[data-kind="' + where.kind + '"][data-room-id="' + where.roomId + '"]', box);
      if (mine) join(mine.dataset.room);
    }
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "place") followTheDay();
  });
  document.addEventListener("htmx:afterSettle", function () { followTheDay(); });

  async function join(slug) {
    if (media.room === slug || media.wanted === slug) return;
    if (media.room) await leave();
    media.wanted = slug;
    speaking = {};
    try {
      var reply = await send("media.join", { room: slug });
      media.room = slug;
      welcome(reply);
      paintPlace();
      if (reply.kind === "plenary") chooseChannel();
    } catch (error) { media.wanted = null; }
  }

  async function leave() {
    closeAll();
    var was = media.room;
    media.room = null;
    media.wanted = null;
    paintPlace();
    if (was && connected()) { try { await send("media.leave"); } catch (error) { /* already gone */ } }
  }

  function welcome(reply) {
    media.welcome = Object.assign({}, media.welcome || {}, reply);
    var box = section();
    $(".media-controls", box).hidden = false;
    $(".media-publish", box).hidden = !(media.welcome.may_publish && !media.publisher);
    if (media.welcome.interprets) onAir(!!media.welcome.on_air);
  }

  function paintPlace() {
    var box = section();
    if (!box) return;
    box.dataset.state = media.room ? "joined" : "idle";
    $all(".media-place", box).forEach(function (b) { b.setAttribute("aria-current", String(b.dataset.room === media.room)); });
    $(".media-leave", box).hidden = !media.room;
    var current = media.room && $('.media-place[data-room="' + media.room + '"]', box);
    $(".media-where", box).textContent = current ? current.textContent : "";
    if (!media.room) {
      $(".media-controls", box).hidden = true;
      $(".media-tiles", box).innerHTML = "";
    }
  }

  // -- publishing ------------------------------------------------------------------------

  function preferCodecs(transceiver, kind) {
    if (!window.RTCRtpSender || !RTCRtpSender.getCapabilities || !transceiver.setCodecPreferences) return;
    var wanted = kind === "video" ? /^video\/(vp8|rtx)$/i : /^audio\/opus$/i;
    var codecs = RTCRtpSender.getCapabilities(kind).codecs.filter(function (c) { return wanted.test(c.mimeType); });
    if (codecs.length) transceiver.setCodecPreferences(codecs);
  }

  function newConnection(target) {
    var pc = new RTCPeerConnection({ iceServers: (media.welcome && media.welcome.ice_servers) || [], bundlePolicy: "max-bundle" });
    var early = [];
    pc.plenumReady = function () { early.splice(0).forEach(sendCandidate); pc.plenumReadyNow = true; };
    function sendCandidate(candidate) {
      send("media.candidate", { target: target, candidate: candidate ? candidate.candidate : "", mid: candidate ? (candidate.sdpMid || "") : "" })
        .catch(function () { /* the error toast says enough */ });
    }
    pc.onconnectionstatechange = function () {
      if (pc.connectionState !== "failed" || (pc !== media.publisher && pc !== media.subscriber)) return;
      // The server went away without a word: try again, at most every ten seconds.
      setTimeout(function () {
        if (pc === media.publisher || pc === media.subscriber) rejoin();
      }, Math.max(0, lastRejoin + 10000 - Date.now()));
    };
    pc.onicecandidate = function (event) {
      // Candidates wait until the server holds this connection.
      if (pc.plenumReadyNow) sendCandidate(event.candidate); else early.push(event.candidate);
    };
    return pc;
  }

  async function startPublishing() {
    var box = section();
    var constraints = { audio: deviceConstraint(".media-mic-select"), video: Object.assign({ width: 640, height: 360 }, deviceConstraint(".media-camera-select") || {}) };
    var stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      // Without a camera (or without permission) try the microphone alone; watching always works.
      try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (again) { stream = new MediaStream(); }
    }
    media.local = stream;
    var pc = media.publisher = newConnection("publish");
    var audio = stream.getAudioTracks()[0] || null;
    var video = stream.getVideoTracks()[0] || null;
    preferCodecs(pc.addTransceiver(audio || "audio", { direction: "sendonly" }), "audio");
    preferCodecs(pc.addTransceiver(video || "video", { direction: "sendonly" }), "video");
    if (media.welcome.may_share_screen) {
      media.screenTransceiver = pc.addTransceiver("video", { direction: "sendonly" });
      preferCodecs(media.screenTransceiver, "video");
    }
    await pc.setLocalDescription(await pc.createOffer());
    try {
      var reply = await sendSdp("media.publish", pc.localDescription.sdp);
      await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      pc.plenumReady();
    } catch (refused) {
      stopPublishing();
      return;
    }
    media.sending = { audio: !!audio, video: !!video, screen: false };
    await sendState();
    $(".media-publish", box).hidden = true;
    $(".media-mic", box).hidden = !audio;
    $(".media-cam", box).hidden = !video;
    $(".media-screen", box).hidden = !media.welcome.may_share_screen;
    listDevices();
    showLocal();
  }

  function deviceConstraint(selector) {
    var select = $(selector, section());
    return select && select.value ? { deviceId: { exact: select.value } } : true;
  }

  function sendState() {
    return send("media.state", media.sending).catch(function () { /* not in a room any more */ });
  }

  function stopPublishing() {
    if (media.publisher) media.publisher.close();
    media.publisher = null;
    media.screenTransceiver = null;
    [media.local, media.screen].forEach(function (stream) {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    });
    media.local = media.screen = null;
    media.sending = { audio: false, video: false, screen: false };
    var box = section();
    if (!box) return;
    ["mic", "cam", "screen"].forEach(function (name) { $(".media-" + name, box).hidden = true; });
    $all(".media-device", box).forEach(function (label) { label.hidden = true; });
    var own = $('.media-tile[data-person="' + box.dataset.person + '"] video', box);
    if (own) own.srcObject = null;
  }

  function senderOf(kind) {
    if (!media.publisher) return null;
    var found = media.publisher.getTransceivers().filter(function (t) { return t !== media.screenTransceiver && t.receiver.track.kind === kind; })[0];
    return found ? found.sender : null;
  }

  // Muting sends nothing at all (replaceTrack(null)): no bandwidth, and the server forwards nothing.
  async function toggle(kind) {
    var track = media.local && (kind === "audio" ? media.local.getAudioTracks()[0] : media.local.getVideoTracks()[0]);
    var sender = senderOf(kind);
    if (!track || !sender) return;
    var on = !media.sending[kind];
    await sender.replaceTrack(on ? track : null);
    media.sending[kind] = on;
    $(kind === "audio" ? ".media-mic" : ".media-cam", section()).setAttribute("aria-pressed", String(on));
    await sendState();
  }

  async function toggleScreen() {
    if (!media.screenTransceiver) return;
    var button = $(".media-screen", section());
    if (media.screen) {
      media.screen.getTracks().forEach(function (t) { t.stop(); });
      media.screen = null;
      await media.screenTransceiver.sender.replaceTrack(null);
      media.sending.screen = false;
    } else {
      try { media.screen = await navigator.mediaDevices.getDisplayMedia({ video: true }); } catch (error) { return; }
      var track = media.screen.getVideoTracks()[0];
      track.addEventListener("ended", function () { if (media.screen) toggleScreen(); });
      await media.screenTransceiver.sender.replaceTrack(track);
      media.sending.screen = true;
    }
    button.setAttribute("aria-pressed", String(media.sending.screen));
    await sendState();
  }

  async function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    var devices = await navigator.mediaDevices.enumerateDevices();
    var box = section();
    [["videoinput", ".media-camera-select", "video"], ["audioinput", ".media-mic-select", "audio"]].forEach(function (spec) {
      var select = $(spec[1], box);
      var current = media.local && (spec[2] === "audio" ? media.local.getAudioTracks()[0] : media.local.getVideoTracks()[0]);
      select.innerHTML = "";
      devices.filter(function (d) { return d.kind === spec[0]; }).forEach(function (d, index) {
        var option = document.createElement("option");
        option.value = d.deviceId;
        option.textContent = d.label || (spec[2] + " " + (index + 1));
        if (current && current.getSettings && current.getSettings().deviceId === d.deviceId) option.selected = true;
        select.appendChild(option);
      });
      select.closest(".media-device").hidden = select.options.length < 2;
    });
  }

  // A new device replaces the track in place: no renegotiation.
  async function switchDevice(kind, deviceId) {
    if (!media.local) return;
    var constraints = kind === "audio" ? { audio: { deviceId: { exact: deviceId } } } : { video: { deviceId: { exact: deviceId }, width: 640, height: 360 } };
    var stream = await navigator.mediaDevices.getUserMedia(constraints);
    var track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    var old = kind === "audio" ? media.local.getAudioTracks()[0] : media.local.getVideoTracks()[0];
    if (old) { media.local.removeTrack(old); old.stop(); }
    media.local.addTrack(track);
    var sender = senderOf(kind);
    if (sender && media.sending[kind]) await sender.replaceTrack(track);
    showLocal();
  }

  // -- subscribing -----------------------------------------------------------------------

  async function onOffer(message) {
    mapTracks(message.tracks);
    var pc = media.subscriber;
    if (!pc) {
      pc = media.subscriber = newConnection("subscribe");
      pc.ontrack = function () { attachAll(); };
    }
    await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    try {
      await sendSdp("media.answer", pc.localDescription.sdp);
      pc.plenumReady();
    } catch (error) { return; }
    attachAll();
  }

  function mapTracks(tracks) {
    media.tracks = {};
    (tracks || []).forEach(function (entry) { media.tracks[entry.mid] = entry; });
    attachAll();
  }

  // Every receiving transceiver whose mid the server mapped goes into its person's tile.
  function attachAll() {
    var pc = media.subscriber;
    if (!pc) return;
    var streams = {};
    pc.getTransceivers().forEach(function (t) {
      var entry = media.tracks[t.mid];
      if (!entry || !t.receiver.track) return;
      if (CHANNEL_SOURCES[entry.source]) return;
      var key = entry.person + ":" + (entry.source === "screen" ? "screen" : "camera");
      (streams[key] = streams[key] || { entry: entry, tracks: [] }).tracks.push(t.receiver.track);
    });
    Object.keys(streams).forEach(function (key) {
      var found = streams[key];
      var tile = tileFor(found.entry.person, found.entry.name, key.split(":")[1]);
      var video = found.tracks.filter(function (t) { return t.kind === "video"; })[0];
      var audio = found.tracks.filter(function (t) { return t.kind === "audio"; })[0];
      setStream($("video", tile), video);
      setStream($("audio", tile), audio);
      tile.dataset.forwarded = video ? "yes" : "no";
      if (audio) meter(tile, audio);
    });
    attachChannels(pc);
    // A camera the server no longer sends us (the moderator's "last N speakers", or the slot
    // went to someone else) leaves its person's name, not a frozen picture.
    var box = section();
    $all(".media-tile", box).forEach(function (tile) {
      if (tile.dataset.person === box.dataset.person) return;
      if (streams[tile.dataset.person + ":" + tile.dataset.source]) return;
      setStream($("video", tile), null);
      tile.dataset.forwarded = "no";
    });
  }

  // -- interpretation and sign language -------------------------------------------------

  // Tracks that are no stage tile: the server sends a language's interpreter only to those who
  // chose that language, the sign-language interpreter only to those who switched it on.
  var CHANNEL_SOURCES = { interpretation: true, sign: true, interpreter: true };
  // The floor stays audible beneath the interpreter (mixed here, never on the server).
  var FLOOR_BENEATH_INTERPRETER = 0.2;
  var CHANNEL_KEY = "plenum.channel";
  var SIGN_KEY = "plenum.sign";

  function stored(key, fallback) {
    try { var value = window.localStorage.getItem(key); return value === null ? fallback : value; } catch (e) { return fallback; }
  }
  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: this page only */ }
  }
  function signWanted() {
    var box = document.querySelector(".channels");
    var fallback = box && box.dataset.signDefault === "on" ? "on" : "off";
    return stored(SIGN_KEY, fallback) === "on";
  }

  function paintChannelChoice() {
    var select = document.getElementById("channel-language");
    if (select) select.value = stored(CHANNEL_KEY, "");
    $all(".sign-switch").forEach(function (box) { box.checked = signWanted(); });
  }

  function chooseChannel() {
    paintChannelChoice();
    if (!media.room || !media.welcome || media.welcome.kind !== "plenary") return Promise.resolve();
    return send("media.language", { language: stored(CHANNEL_KEY, ""), sign: signWanted() })
      .catch(function () { /* the toast says why */ });
  }

  function attachChannels(pc) {
    var box = section();
    if (!box) return;
    var channel = null, sign = null;
    pc.getTransceivers().forEach(function (t) {
      var entry = media.tracks[t.mid];
      if (!entry || !t.receiver.track) return;
      if (entry.source === "interpretation") channel = { entry: entry, track: t.receiver.track };
      if (entry.source === "sign") sign = { entry: entry, track: t.receiver.track };
    });
    var audio = $(".media-interpretation", box);
    if (!audio) {
      audio = document.createElement("audio");
      audio.className = "media-interpretation";
      audio.autoplay = true;
      box.appendChild(audio);
    }
    setStream(audio, channel ? channel.track : null);
    media.channel = channel ? { language: channel.entry.language, person: channel.entry.person } : null;
    box.dataset.interpretation = channel ? channel.entry.language : "";
    $all(".media-tile audio", box).forEach(function (element) { element.volume = channel ? FLOOR_BENEATH_INTERPRETER : 1; });
    var state = document.querySelector(".channel-state");
    if (state) state.textContent = stored(CHANNEL_KEY, "") && !channel ? state.dataset.floorOnly : "";
    paintSign(sign);
  }

  // The sign-language interpreter's tile, pinned beside the stage's tiles.
  function paintSign(sign) {
    var box = section();
    var tiles = $(".media-tiles", box);
    if (!tiles) return;
    var tile = $(".sign-tile", tiles);
    if (!sign) { if (tile) tile.remove(); return; }
    if (!tile) {
      tile = document.createElement("figure");
      tile.className = "sign-tile";
      var video = document.createElement("video");
      video.autoplay = true; video.muted = true; video.playsInline = true;
      var caption = document.createElement("figcaption");
      tile.appendChild(video); tile.appendChild(caption);
      tiles.insertBefore(tile, tiles.firstChild);
    }
    $("figcaption", tile).textContent = sign.entry.name;
    setStream($("video", tile), sign.track);
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "channel-language") { store(CHANNEL_KEY, event.target.value); chooseChannel(); }
    if (event.target.classList.contains("sign-switch")) { store(SIGN_KEY, event.target.checked ? "on" : "off"); chooseChannel(); }
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "place") paintChannelChoice();
  });
  document.addEventListener("DOMContentLoaded", paintChannelChoice);

  // The interpreter's "on air": exactly one interpreter of a language is on air; going on air
  // takes the channel from the other, whose page hears of it (interpretation.on_air).
  function onAir(on) {
    media.onAir = on;
    $all(".on-air-switch").forEach(function (button) { button.setAttribute("aria-pressed", String(on)); });
    var state = document.querySelector(".on-air-state");
    if (state) state.textContent = on ? state.dataset.on : state.dataset.off;
    document.body.classList.toggle("on-air", on);
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".on-air-switch")) return;
    send("interpretation.on_air", { on: !media.onAir }).then(function (reply) { onAir(!!reply.on_air); })
      .catch(function () { /* the toast says why */ });
  });

  // Who is speaking, as the media worker that hears them says: their tile is marked for all.
  // It may come before the tile does (a newcomer is told at once), so it is kept by person.
  var speaking = {};
  function onSpeaking(message) {
    if (message.room !== media.room && message.room !== media.wanted) return;
    speaking[message.person] = !!message.speaking;
    var box = section();
    if (!box) return;
    var selector = '.media-tile[data-person="' + message.person + '"][data-source="camera"]';
    $all(selector, box).forEach(function (tile) { tile.dataset.activeSpeaker = message.speaking ? "yes" : "no"; });
  }

  function setStream(element, track) {
    var current = element.srcObject && element.srcObject.getTracks()[0];
    if (current === track) return;
    element.srcObject = track ? new MediaStream([track]) : null;
    if (track) element.play().catch(function () { /* autoplay waits for a click */ });
  }

  function tileFor(person, name, source) {
    var box = section();
    var tiles = $(".media-tiles", box);
    var selector = '.media-tile[data-person="' + person + '"][data-source="' + source + '"]';
    var tile = $(selector, tiles);
    if (tile) return tile;
    tile = $("#media-tile").content.firstElementChild.cloneNode(true);
    tile.dataset.person = person;
    tile.dataset.source = source;
    if (source === "camera" && speaking[person]) tile.dataset.activeSpeaker = "yes";
    $(".media-name", tile).textContent = source === "screen" ? name + " ▭" : name;
    var own = String(person) === box.dataset.person;
    if (own) $("video", tile).muted = true;
    if (box.dataset.moderator && !own) {
      $(".media-moderation", tile).hidden = false;
      $(".media-mute-someone", tile).addEventListener("click", function () { send("media.mute", { person: Number(person) }).catch(function () {}); });
      $(".media-unstage-someone", tile).addEventListener("click", function () { send("media.unstage", { person: Number(person) }).catch(function () {}); });
    }
    tiles.appendChild(tile);
    return tile;
  }

  function showLocal() {
    var box = section();
    if (!media.local) return;
    var tile = tileFor(box.dataset.person, box.dataset.name, "camera");
    var video = media.local.getVideoTracks()[0];
    setStream($("video", tile), video);
    var audio = media.local.getAudioTracks()[0];
    if (audio) meter(tile, audio);
  }

  function onPeers(message) {
    // The room's roster reaches a newcomer just before the answer to its join.
    if (message.room !== media.room && message.room !== media.wanted) return;
    media.peers = message.peers;
    var box = section();
    var present = {};
    message.peers.forEach(function (peer) {
      present[peer.person] = true;
      var tile = tileFor(peer.person, peer.name, "camera");
      tile.dataset.video = peer.video ? "on" : "off";
      tile.dataset.audio = peer.audio ? "on" : "off";
      $(".media-flags", tile).textContent = (peer.audio ? "" : " 🔇") + (peer.muted ? " ⓜ" : "");
      var screen = $('.media-tile[data-person="' + peer.person + '"][data-source="screen"]', box);
      if (screen) screen.hidden = !peer.screen;
    });
    $all(".media-tile", box).forEach(function (tile) { if (!present[tile.dataset.person]) tile.remove(); });
  }

  function onMuted() {
    var track = media.local && media.local.getAudioTracks()[0];
    if (track && media.sending.audio) toggle("audio");
  }

  // The server has lost our media (the media worker that held our room started again), or a
  // connection failed on our side: join the same room again, and publish again if we did, with
  // the microphone and camera as they were.
  var lastRejoin = 0;
  async function rejoin() {
    var room = media.room || media.wanted;
    var publishing = !!media.publisher;
    var sending = Object.assign({}, media.sending);
    closeAll();
    media.room = media.wanted = null;
    if (!room || !connected()) { paintPlace(); return; }
    lastRejoin = Date.now();
    await join(room);
    if (!publishing || media.room !== room || !(media.welcome && media.welcome.may_publish)) return;
    await startPublishing();
    if (!media.publisher) return;
    if (!sending.audio && media.sending.audio) await toggle("audio");
    if (!sending.video && media.sending.video) await toggle("video");
  }

  function onFailed(message) {
    if (message.connection === "publish") stopPublishing();
    if (message.connection === "subscribe" && media.subscriber) { media.subscriber.close(); media.subscriber = null; }
  }

  function closeAll() {
    stopPublishing();
    if (media.subscriber) media.subscriber.close();
    media.subscriber = null;
    media.tracks = {};
    meters.forEach(function (m) { m.source.disconnect(); });
    meters = [];
  }

  // -- who is speaking -------------------------------------------------------------------

  // One analyser per audio track, read ten times a second: the browser decodes audio anyway,
  // so the speaking indicator costs the server nothing.
  var audioContext = null;
  var meters = [];

  function meter(tile, track) {
    if (!window.AudioContext) return;
    if (meters.some(function (m) { return m.track === track && m.tile === tile; })) return;
    audioContext = audioContext || new AudioContext();
    var source = audioContext.createMediaStreamSource(new MediaStream([track]));
    var analyser = audioContext.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    meters.push({ tile: tile, track: track, source: source, analyser: analyser, data: new Uint8Array(analyser.fftSize) });
  }

  setInterval(function () {
    meters = meters.filter(function (m) { return m.tile.isConnected && m.track.readyState === "live"; });
    meters.forEach(function (m) {
      m.analyser.getByteTimeDomainData(m.data);
      var peak = 0;
      for (var i = 0; i < m.data.length; i++) peak = Math.max(peak, Math.abs(m.data[i] - 128));
      var level = Math.min(1, peak / 64);
      m.tile.style.setProperty("--level", level.toFixed(2));
      m.tile.dataset.speaking = String(level > 0.15);
    });
  }, 100);

  // -- buttons ---------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("#media button");
    if (!target) return;
    if (audioContext && audioContext.state === "suspended") audioContext.resume();
    if (target.classList.contains("media-place")) join(target.dataset.room);
    else if (target.classList.contains("media-leave")) leave();
    else if (target.classList.contains("media-publish")) startPublishing();
    else if (target.classList.contains("media-mic")) toggle("audio");
    else if (target.classList.contains("media-cam")) toggle("video");
    else if (target.classList.contains("media-screen")) toggleScreen();
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches(".media-camera-select")) switchDevice("video", event.target.value);
    if (event.target.matches(".media-mic-select")) switchDevice("audio", event.target.value);
  });
  // Closing the tab closes the socket, and the server frees our connections on disconnect.
  window.addEventListener("pagehide", closeAll);
})();
