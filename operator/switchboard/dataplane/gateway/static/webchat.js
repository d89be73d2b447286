/*
 * Switchboard webchat: a customer's chat widget, self-contained (no build step, no CDN).
 *
 * Embed it with <script src="https://GATEWAY/webchat.js"></script>; it mounts into the element
 * #switchboard-webchat (created if missing; its data-customer says who the customer is) and
 * talks to the gateway it was loaded from over a WebSocket (docs/dataplane.md, "webchat
 * protocol"). The conversation, the cursor (every seq up to it is shown), the transcript and
 * the unacknowledged outbox live in sessionStorage, so a reload or a reconnect resumes where
 * it was: missed messages are fetched, none is shown twice, unacknowledged ones are resent
 * with their ids (the gateway stores a resend once).
 */
(function () {
  "use strict";

  var MAX_TEXT = 2000;
  var SEND_INTERVAL_MS = 250; // stays under the gateway's per-connection rate limit
  var script = document.currentScript;
  var base = new URL(script ? script.src : "webchat.js", location.href);
  var socketUrl = new URL("ws", base);
  socketUrl.protocol = base.protocol === "https:" ? "wss:" : "ws:";
  var storageKey = "switchboard.webchat:" + base.origin;

  var root = document.getElementById("switchboard-webchat");
  if (!root) {
    root = document.createElement("div");
    root.id = "switchboard-webchat";
    document.body.appendChild(root);
  }
  var customer = root.getAttribute("data-customer") || "guest";

  var style = document.createElement("style");
  style.textContent =
    "#switchboard-webchat{font:15px/1.4 system-ui,sans-serif;max-width:32rem}" +
    "#sb-transcript{border:1px solid #999;min-height:12rem;max-height:24rem;overflow-y:auto;padding:.5rem}" +
    ".sb-message{margin:.25rem 0;padding:.3rem .5rem;border-radius:.4rem;background:#eef}" +
    ".sb-customer{background:#dfd;margin-left:3rem}.sb-pending{opacity:.6}" +
    ".sb-author{font-weight:600;margin-right:.4rem}#sb-input{width:100%;box-sizing:border-box}" +
    "#sb-status{min-height:1.4em;color:#555}";
  document.head.appendChild(style);

  root.innerHTML =
    '<section class="sb-webchat" aria-label="Chat">' +
    '<div id="sb-transcript" role="log" aria-live="polite" aria-label="Conversation"></div>' +
    '<p id="sb-status" role="status"></p>' +
    '<form id="sb-form"><label for="sb-input">Your message</label>' +
    '<textarea id="sb-input" rows="2" maxlength="' + MAX_TEXT + '"></textarea>' +
    '<button id="sb-send" type="submit">Send</button> ' +
    '<button id="sb-end" type="button">End conversation</button> ' +
    '<button id="sb-new" type="button" hidden>Start a new conversation</button></form>' +
    "</section>";
  var transcript = document.getElementById("sb-transcript");
  var statusLine = document.getElementById("sb-status");
  var form = document.getElementById("sb-form");
  var input = document.getElementById("sb-input");
  var endButton = document.getElementById("sb-end");
  var newButton = document.getElementById("sb-new");

  function uuid4() {
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function fresh() {
    return { conversation: uuid4(), started: false, cursor: 0, messages: [], outbox: [], ended: null };
  }

  function load() {
    try {
      return JSON.parse(sessionStorage.getItem(storageKey)) || fresh();
    } catch (error) {
      return fresh();
    }
  }

  var state = load();
  var socket = null;
  var live = false; // the current socket has started or resumed the conversation
  // A question the contact center asked after the conversation ended (its survey) waits for
  // the customer's answer: the only message an ended conversation takes.
  var surveyOpen = false;
  var SURVEY_WAIT_MS = 60000; // how long an ended conversation's socket waits for a survey
  var attempts = 0;
  var sent = {}; // outbox ids sent on the current socket
  var pumpTimer = null;

  function save() {
    sessionStorage.setItem(storageKey, JSON.stringify(state));
  }

  function say(text) {
    statusLine.textContent = text;
  }

  function hasSeq(seq) {
    return state.messages.some(function (m) { return m.seq === seq; });
  }

  function element(m, pending) {
    var div = document.createElement("div");
    div.className = "sb-message sb-" + m.sender + (pending ? " sb-pending" : "");
    div.setAttribute("data-id", m.id);
    div.setAttribute("data-sender", m.sender);
    div.setAttribute("data-seq", pending ? "" : String(m.seq));
    var author = document.createElement("span");
    author.className = "sb-author";
    author.textContent = m.sender === "customer" ? "You" : m.author || (m.sender === "bot" ? "Assistant" : "Agent");
    var text = document.createElement("span");
    text.className = "sb-text";
    text.textContent = m.text;
    div.appendChild(author);
    div.appendChild(text);
    return div;
  }

  function render() {
    transcript.textContent = "";
    state.messages.forEach(function (m) { transcript.appendChild(element(m, false)); });
    state.outbox.forEach(function (m) {
      transcript.appendChild(element({ id: m.id, sender: "customer", text: m.text }, true));
    });
    transcript.scrollTop = transcript.scrollHeight;
  }

  function remember(m) {
    // Each seq once, in seq order; the cursor moves over every seq now held without a gap.
    if (hasSeq(m.seq)) return;
    state.messages.push({ seq: m.seq, id: m.id, sender: m.sender, author: m.author || null, text: m.text, at: m.at });
    state.messages.sort(function (a, b) { return a.seq - b.seq; });
    while (hasSeq(state.cursor + 1)) state.cursor += 1;
  }

  function acknowledged(id, seq, at) {
    var entry = state.outbox.filter(function (m) { return m.id === id; })[0];
    if (!entry) return;
    state.outbox = state.outbox.filter(function (m) { return m.id !== id; });
    remember({ seq: seq, id: id, sender: "customer", text: entry.text, at: at || new Date().toISOString() });
    save();
    render();
  }

  function received(m) {
    if (m.conversation !== state.conversation) return;
    // After the end, a new system message is the survey's next question (NPS after CSAT).
    if (state.ended && m.sender === "system" && !hasSeq(m.seq)) askSurvey();
    if (state.outbox.some(function (o) { return o.id === m.id; })) {
      acknowledged(m.id, m.seq, m.at); // our own message, seen before its ack
      return;
    }
    if (hasSeq(m.seq)) return;
    remember(m);
    save();
    render();
  }

  function finish(how) {
    state.ended = how || "ended";
    state.outbox = [];
    surveyOpen = false;
    save();
    render();
    say("This conversation has ended.");
    input.disabled = true;
    endButton.disabled = true;
    newButton.hidden = false;
    // The socket stays a while for a survey question; none came: it goes.
    setTimeout(function () { if (socket && !surveyOpen) socket.close(); }, SURVEY_WAIT_MS);
  }

  function askSurvey() {
    surveyOpen = true;
    input.disabled = false;
    say("");
    input.focus();
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function pump() {
    // Sends what is not acknowledged yet, one message per interval.
    if (!live || pumpTimer) return;
    var next = state.outbox.filter(function (m) { return !sent[m.id]; })[0];
    if (!next) return;
    sent[next.id] = true;
    send({ type: "message", id: next.id, text: next.text });
    pumpTimer = setTimeout(function () { pumpTimer = null; pump(); }, SEND_INTERVAL_MS);
  }

  var handlers = {
    started: function () {
      state.started = true;
      live = true;
      attempts = 0;
      save();
      say("");
      pump();
    },
    message: received,
    ack: function (frame) { acknowledged(frame.id, frame.seq); },
    ended: function (frame) {
      finish(frame.state);
      if (frame.survey) askSurvey();
    },
    error: function (frame) {
      if (frame.code === "unknown_conversation") {
        state = fresh(); // the gateway does not know it (any more): begin again
        save();
        render();
      } else if (frame.code === "closed" && state.ended) {
        // An answer the survey did not take (not a number on its scale): ask again.
        state.outbox = [];
        render();
        askSurvey();
        say("Please answer the question with a number.");
      } else if (frame.code === "closed") {
        finish(null);
      } else {
        say(frame.message);
      }
    }
  };

  function connect() {
    if (state.ended) return;
    socket = new WebSocket(socketUrl.href);
    sent = {};
    socket.onopen = function () {
      if (state.started) send({ type: "resume", conversation: state.conversation, after: state.cursor });
      else send({ type: "start", conversation: state.conversation, customer: customer });
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (handlers[frame.type]) handlers[frame.type](frame);
    };
    socket.onclose = function () {
      socket = null;
      live = false;
      clearTimeout(pumpTimer);
      pumpTimer = null;
      if (state.ended) return;
      var delay = Math.min(10000, 500 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
      attempts += 1;
      say("Reconnecting…");
      setTimeout(connect, delay);
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || (state.ended && !surveyOpen)) return;
    if (text.length > MAX_TEXT) {
      say("That message is too long (" + MAX_TEXT + " characters at most).");
      return;
    }
    state.outbox.push({ id: uuid4(), text: text });
    save();
    render();
    input.value = "";
    if (state.ended) {
      surveyOpen = false; // answered; a next question opens it again
      input.disabled = true;
    }
    pump();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  endButton.addEventListener("click", function () {
    if (live) send({ type: "end" });
    else say("Not connected; try again in a moment.");
  });
  newButton.addEventListener("click", function () {
    if (socket) {
      socket.onclose = null; // the ended conversation's socket: nothing to reconnect
      socket.close();
      socket = null;
      live = false;
    }
    state = fresh();
    save();
    render();
    input.disabled = false;
    endButton.disabled = false;
    newButton.hidden = true;
    say("");
    connect();
  });

  save();
  render();
  if (state.ended) finish(state.ended);
  else connect();
})();
