// The agent workspace: one WebSocket to /ws (docs/dataplane.md, "The agents tier").
// The server sends every stored message once per connection, in seq order; after a reconnect
// this page asks for what came after the last seq it shows, and resends the replies the server
// has not acknowledged (same id: stored once).
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  socket: null,
  signIn: null,            // the sign-in frame, without its type
  conversations: new Map(), // id -> {id, info, cursor, messages: [], ended, unread}
  current: null,
  pending: new Map(),       // reply id -> {conversation, text}
  offers: [],
  retryDelay: 1000,
};

function uuid4() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function showError(text) {
  const error = $("error");
  error.textContent = text;
  error.hidden = !text;
}

function setConnection(status) {
  const badge = $("connection");
  badge.dataset.state = status;
  badge.textContent = status.replace("-", " ");
}

// "webchat=3 api=3" to {webchat: 3, api: 3}: the sign-in's capacity and skills are typed so.
function parseCounts(text, what, example) {
  const counts = {};
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const match = /^([a-z0-9-]+)=(\d+)$/.exec(part);
    if (!match) throw new Error(`${what} "${part}" is not name=number (e.g. ${example})`);
    counts[match[1]] = Number(match[2]);
  }
  return counts;
}

function send(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  setConnection("connecting");
  socket.onopen = () => socket.send(JSON.stringify({ type: "sign_in", ...state.signIn }));
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (event.code === 4401 || event.code === 4400) {
      // Refused: the token or the sign-in is wrong; nothing to retry.
      setConnection("signed-out");
      $("sign-in").hidden = false;
      return;
    }
    setConnection("disconnected");
    setTimeout(connect, state.retryDelay);
    state.retryDelay = Math.min(state.retryDelay * 2, 10000);
  };
}

function receive(frame) {
  switch (frame.type) {
    case "signed_in":
      state.retryDelay = 1000;
      setConnection("connected");
      showError("");
      $("sign-in").hidden = true;
      $("workspace").hidden = false;
      $("availability-toggle").hidden = false;
      $("queue").hidden = false;
      $("whoami").textContent = `${frame.name} (${frame.agent})`;
      $("available").checked = frame.available;
      for (const conversation of state.conversations.values()) {
        if (!conversation.ended) {
          send({ type: "resume", conversation: conversation.id, after: conversation.cursor });
        }
      }
      for (const [id, reply] of state.pending) {
        send({ type: "send", conversation: reply.conversation, id, text: reply.text });
      }
      break;
    case "availability":
      $("available").checked = frame.available;
      break;
    case "queue":
      $("queue-waiting").textContent = $("queue-waiting").dataset.count = frame.queued;
      $("queue-offered").textContent = $("queue-offered").dataset.count = frame.offered;
      $("queue-oldest").textContent = $("queue-oldest").dataset.seconds = frame.oldest_wait_seconds;
      break;
    case "offers":
      state.offers = frame.offers.map((offer) => ({
        ...offer,
        deadline: Date.now() + offer.expires_in_seconds * 1000,
      }));
      renderOffers();
      break;
    case "conversations":
      for (const info of frame.conversations) {
        if (!state.conversations.has(info.conversation)) {
          track(info.conversation, info);
          send({ type: "resume", conversation: info.conversation, after: 0 });
        } else {
          state.conversations.get(info.conversation).info = info;
        }
      }
      renderConversations();
      if (state.current) $("chat-title").textContent = chatTitle(state.conversations.get(state.current));
      break;
    case "accepted":
      track(frame.conversation);
      open(frame.conversation);
      break;
    case "message":
      addMessage(frame);
      break;
    case "ack":
      // The reply is stored; its message frame follows (or came already).
      break;
    case "ended": {
      const conversation = state.conversations.get(frame.conversation);
      if (conversation) {
        conversation.ended = frame.state;
        renderConversations();
        if (state.current === frame.conversation) renderChat();
      }
      break;
    }
    case "error":
      showError(`${frame.code}: ${frame.message}`);
      break;
  }
}

function track(id, info) {
  if (!state.conversations.has(id)) {
    state.conversations.set(id, { id, info: info || null, cursor: 0, messages: [], ended: null, unread: false });
    renderConversations();
  }
  return state.conversations.get(id);
}

function addMessage(message) {
  const conversation = track(message.conversation);
  if (message.seq <= conversation.cursor) return; // shown already
  conversation.cursor = message.seq;
  conversation.messages.push(message);
  state.pending.delete(message.id);
  if (state.current === conversation.id) {
    $("transcript").querySelector(`.pending[data-id="${message.id}"]`)?.remove();
    $("transcript").append(messageItem(message));
    $("transcript").lastChild.scrollIntoView({ block: "end" });
  } else {
    conversation.unread = true;
    renderConversations();
  }
}

function messageItem(message, pending = false) {
  const item = document.createElement("li");
  item.className = pending ? "message pending" : "message";
  item.dataset.sender = message.sender;
  item.dataset.id = message.id;
  if (!pending) item.dataset.seq = message.seq;
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = message.author || message.sender;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = message.text;
  item.append(author, text);
  return item;
}

function open(id) {
  state.current = id;
  const conversation = state.conversations.get(id);
  if (conversation) conversation.unread = false;
  renderConversations();
  renderChat();
}

function renderChat() {
  const conversation = state.conversations.get(state.current);
  const chat = $("chat");
  chat.dataset.conversation = conversation ? conversation.id : "";
  chat.dataset.state = conversation ? conversation.ended || "open" : "";
  $("chat-title").textContent = chatTitle(conversation);
  const transcript = $("transcript");
  transcript.replaceChildren(...(conversation ? conversation.messages.map((m) => messageItem(m)) : []));
  for (const [id, reply] of state.pending) {
    if (conversation && reply.conversation === conversation.id) {
      transcript.append(messageItem({ id, sender: "agent", text: reply.text }, true));
    }
  }
  const writable = Boolean(conversation) && !conversation.ended;
  $("reply-text").disabled = !writable;
  $("reply-send").disabled = !writable;
  $("resolve").disabled = !writable;
}

function chatTitle(conversation) {
  if (!conversation) return "No conversation open";
  const info = conversation.info;
  return (info ? `${info.customer} · ${info.channel}` : conversation.id) +
    (conversation.ended ? ` · ${conversation.ended}` : "");
}

function renderConversations() {
  const list = $("conversations");
  const items = [...state.conversations.values()].map((conversation) => {
    const item = document.createElement("li");
    item.dataset.conversation = conversation.id;
    item.dataset.state = conversation.ended ? "ended" : "open";
    item.dataset.current = String(conversation.id === state.current);
    item.dataset.unread = String(conversation.unread);
    const info = conversation.info;
    item.textContent = info ? `${info.customer}` : conversation.id.slice(0, 8);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = info ? `${info.channel_type} · ${info.channel}` : "";
    if (conversation.ended) meta.textContent += ` · ${conversation.ended}`;
    item.append(meta);
    item.onclick = () => open(conversation.id);
    return item;
  });
  list.replaceChildren(...items);
  list.dataset.count = items.length;
}

function renderOffers() {
  const list = $("offers");
  const items = state.offers.map((offer) => {
    const item = document.createElement("li");
    item.dataset.conversation = offer.conversation;
    item.dataset.channelType = offer.channel_type;
    item.textContent = `${offer.customer} · ${offer.channel_type}`;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.dataset.role = "offer-meta";
    item.append(meta);
    const accept = document.createElement("button");
    accept.className = "accept";
    accept.dataset.conversation = offer.conversation;
    accept.textContent = "Accept";
    accept.onclick = () => send({ type: "accept", conversation: offer.conversation });
    item.append(accept);
    return item;
  });
  list.replaceChildren(...items);
  list.dataset.count = items.length;
  tickOffers();
}

function tickOffers() {
  for (const offer of state.offers) {
    const meta = $("offers").querySelector(`li[data-conversation="${offer.conversation}"] .meta`);
    if (!meta) continue;
    const left = Math.max(0, Math.round((offer.deadline - Date.now()) / 1000));
    meta.textContent = `waited ${Math.round(offer.waited_seconds)} s` +
      (offer.reason ? ` · ${offer.reason}` : "") + ` · ${left} s to accept`;
  }
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  let capacity, skills;
  try {
    capacity = parseCounts($("capacity").value, "capacity", "webchat=3");
    skills = parseCounts($("skills").value, "skill", "billing=3");
  } catch (error) {
    showError(error.message);
    return;
  }
  state.signIn = {
    token: $("token").value,
    agent: $("agent-id").value.trim(),
    name: $("display-name").value.trim(),
    capacity,
    skills,
    available: $("available-at-sign-in").checked,
  };
  if (state.socket) state.socket.close();
  connect();
});

$("available").addEventListener("change", (event) => {
  send({ type: "availability", available: event.target.checked });
  // A reconnect signs in with what the agent chose last.
  if (state.signIn) state.signIn.available = event.target.checked;
});

$("reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("reply-text").value;
  if (!state.current || !text.trim()) return;
  const id = uuid4();
  state.pending.set(id, { conversation: state.current, text });
  $("transcript").append(messageItem({ id, sender: "agent", text }, true));
  $("reply-text").value = "";
  send({ type: "send", conversation: state.current, id, text });
});

$("reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("reply-form").requestSubmit();
  }
});

$("resolve").addEventListener("click", () => {
  if (state.current) send({ type: "resolve", conversation: state.current });
});

setInterval(tickOffers, 1000);
