/* Chat widget: a bubble that opens a chat panel talking to Rasa's socket.io channel.
 *
 * Served as /webhooks/widget/widget.js inside a wrapper that defines `io` (the bundled
 * socket.io client), so this file is not loaded on its own. Add it to a page with
 *
 *   <script src="https://HOST/webhooks/widget/widget.js" data-title="Chat with us"
 *     data-color="#0b5d6b" data-initial-message="Hi! How can I help?"
 *     data-socket-url="https://HOST" defer></script>
 *
 * Every message is built with textContent (never innerHTML); only http(s) URLs become
 * links. The session id, the messages and the crisis panel are kept in localStorage so
 * a reload shows the same conversation (cleared after a day without messages, or with
 * the Clear button).
 */
/* global io */
"use strict";

function startChatWidget(script) {
  var ds = script.dataset;
  var scriptUrl = new URL(script.src, document.baseURI);
  var socketUrl = ds.socketUrl || scriptUrl.origin;
  var title = ds.title || "Chat with us";
  var accent = validColor(ds.color) || "#0b5d6b";
  var initialMessage = ds.initialMessage || "";
  var STORE = "rasaChatWidget:" + socketUrl + ":";
  var IDLE_MS = 24 * 60 * 60 * 1000; // forget a conversation after a day without messages
  var MAX_HISTORY = 200;
  var TYPING_MS = 30000;

  var STAFF_RE = /^([^\n]{1,120}?) \(staff\): ([\s\S]*)$/;
  var JOINED_RE = /^[^\n]{1,120}? from the .{1,200}? team has joined this conversation/;
  var HANDED_BACK_RE = /^[^\n]{1,120}? has handed this conversation back to the assistant/;
  var URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

  // ---- storage (localStorage may be disabled: the widget still works, it just forgets)
  function load(key, fallback) {
    try {
      var raw = window.localStorage.getItem(STORE + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }
  function save(key, value) {
    try {
      window.localStorage.setItem(STORE + key, JSON.stringify(value));
    } catch (e) {
      /* storage full or disabled */
    }
  }
  function forget() {
    ["session", "history", "crisis", "staff", "updated"].forEach(function (k) {
      try {
        window.localStorage.removeItem(STORE + k);
      } catch (e) {
        /* ignore */
      }
    });
  }
  function loadOpen() {
    try {
      return window.sessionStorage.getItem(STORE + "open") === "1";
    } catch (e) {
      return false;
    }
  }
  function saveOpen(open) {
    try {
      window.sessionStorage.setItem(STORE + "open", open ? "1" : "0");
    } catch (e) {
      /* ignore */
    }
  }

  if (Date.now() - load("updated", 0) > IDLE_MS) forget();
  var state = {
    session: load("session", null),
    history: load("history", []),
    crisis: load("crisis", null),
    staff: load("staff", false),
  };
  if (!Array.isArray(state.history)) state.history = [];

  function touch() {
    save("updated", Date.now());
  }

  // ---- DOM helpers
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function srOnly(text) {
    return el("span", "sr-only", text);
  }

  /* Text with http(s) URLs as links; everything else stays text. */
  function appendLinkified(parent, text) {
    var last = 0;
    var match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(text)) !== null) {
      var url = match[0];
      // Trailing punctuation belongs to the sentence, not the link.
      while (/[.,;:!?'"\]]$/.test(url) || (/\)$/.test(url) && url.indexOf("(") < 0)) {
        url = url.slice(0, -1);
      }
      var parsed = null;
      try {
        parsed = new URL(url);
      } catch (e) {
        parsed = null;
      }
      if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) continue;
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var a = el("a", "", url);
      a.href = parsed.href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      parent.appendChild(a);
      last = match.index + url.length;
      URL_RE.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---- build the widget in a shadow root
  var host = el("div");
  host.id = "rasa-chat-widget";
  host.style.display = "none"; // until widget.css has loaded
  host.style.setProperty("--accent", accent);
  host.style.setProperty("--on-accent", textColorOn(accent));
  var shadow = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var link = el("link");
  link.rel = "stylesheet";
  link.href = new URL("widget.css", scriptUrl).href;
  link.addEventListener("load", show);
  link.addEventListener("error", show);
  function show() {
    host.style.display = "";
    scrollToEnd();
  }
  function scrollToEnd() {
    if (typeof log !== "undefined") log.scrollTop = log.scrollHeight;
  }
  shadow.appendChild(link);

  var root = el("div", "hlw");
  shadow.appendChild(root);

  var bubble = el("button", "bubble");
  bubble.type = "button";
  bubble.setAttribute("aria-controls", "hlw-panel");
  bubble.setAttribute("aria-expanded", "false");
  bubble.appendChild(chatIcon());
  var dot = el("span", "dot");
  dot.hidden = true;
  dot.setAttribute("aria-hidden", "true");
  bubble.appendChild(dot);
  setBubbleLabel(false);

  var panel = el("section", "panel");
  panel.id = "hlw-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "hlw-title");

  var head = el("div", "head");
  var h2 = el("h2", "", title);
  h2.id = "hlw-title";
  var clearBtn = el("button", "clear", "Clear");
  clearBtn.type = "button";
  clearBtn.setAttribute("aria-label", "Clear this conversation from this device");
  var closeBtn = el("button", "close", "\u00d7");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "Close chat");
  head.appendChild(h2);
  head.appendChild(clearBtn);
  head.appendChild(closeBtn);

  var status = el("div", "status");
  status.setAttribute("role", "status");

  var crisisBox = el("section", "crisis");
  crisisBox.setAttribute("aria-labelledby", "hlw-crisis-title");
  crisisBox.hidden = true;

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Messages");
  log.tabIndex = 0;
  var list = el("ol", "messages");
  log.appendChild(list);

  var typing = el("div", "typing");
  typing.hidden = true;
  var dots = el("span", "dots");
  dots.setAttribute("aria-hidden", "true");
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  typing.appendChild(dots);
  typing.appendChild(srOnly("The assistant is typing"));

  var form = el("form", "compose");
  var label = el("label", "sr-only", "Your message");
  label.htmlFor = "hlw-input";
  var input = el("textarea");
  input.id = "hlw-input";
  input.rows = 1;
  input.maxLength = 2000;
  input.placeholder = "Type your message";
  input.setAttribute("autocomplete", "off");
  var sendBtn = el("button", "", "Send");
  sendBtn.type = "submit";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendBtn);
  var note = el(
    "p",
    "note",
    "The assistant is automated; clinic staff join during opening hours. In an emergency, " +
      "call your local emergency number."
  );

  panel.appendChild(head);
  panel.appendChild(status);
  panel.appendChild(crisisBox);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(form);
  panel.appendChild(note);
  root.appendChild(panel);
  root.appendChild(bubble);
  document.body.appendChild(host);

  // ---- messages
  function renderEntry(entry) {
    var li = el("li", "msg " + entry.k + (entry.src ? " sources" : ""));
    if (entry.k === "staff") {
      li.appendChild(el("p", "who", entry.n + " (staff)"));
    } else if (entry.k === "bot") {
      li.appendChild(srOnly("Assistant: "));
    } else if (entry.k === "user") {
      li.appendChild(srOnly("You: "));
    }
    var p = el("p", "text");
    appendLinkified(p, entry.t);
    li.appendChild(p);
    if (entry.q && entry.q.length) {
      var group = el("div", "replies");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Suggested replies");
      entry.q.forEach(function (reply) {
        var b = el("button", "", reply.title);
        b.type = "button";
        b.addEventListener("click", function () {
          send(reply.payload, reply.title);
          input.focus();
        });
        group.appendChild(b);
      });
      li.appendChild(group);
    }
    list.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function renderAll() {
    list.textContent = "";
    state.history.forEach(renderEntry);
    renderCrisis();
  }

  function addEntry(entry) {
    state.history.push(entry);
    if (state.history.length > MAX_HISTORY) state.history = state.history.slice(-MAX_HISTORY);
    save("history", state.history);
    touch();
    renderEntry(entry);
  }

  function dropQuickReplies() {
    var changed = false;
    state.history.forEach(function (e) {
      if (e.q) {
        delete e.q;
        changed = true;
      }
    });
    if (changed) {
      save("history", state.history);
      Array.prototype.forEach.call(list.querySelectorAll(".replies"), function (g) {
        g.remove();
      });
    }
  }

  function normalizeReplies(raw) {
    if (!Array.isArray(raw)) return [];
    return raw
      .filter(function (r) {
        return r && typeof r.title === "string" && typeof r.payload === "string";
      })
      .slice(0, 10)
      .map(function (r) {
        return { title: r.title, payload: r.payload };
      });
  }

  function onBotText(text, replies) {
    var staff = STAFF_RE.exec(text);
    if (staff) {
      addEntry({ k: "staff", n: staff[1], t: staff[2] });
    } else if (JOINED_RE.test(text)) {
      state.staff = true;
      save("staff", true);
      addEntry({ k: "notice", t: text });
    } else if (HANDED_BACK_RE.test(text)) {
      state.staff = false;
      save("staff", false);
      setCrisis(null);
      addEntry({ k: "notice", t: text });
    } else {
      var entry = { k: "bot", t: text };
      if (/^Sources: /.test(text)) entry.src = true;
      if (replies.length) entry.q = replies;
      addEntry(entry);
    }
  }

  function onBotUttered(data) {
    if (!data || typeof data !== "object") return;
    var shown = false;
    if (data.crisis && typeof data.crisis === "object") {
      setCrisis(data.crisis);
      shown = true;
    }
    var replies = normalizeReplies(data.quick_replies || data.buttons);
    if (typeof data.text === "string" && data.text.trim()) {
      onBotText(data.text, replies);
      shown = true;
    } else if (data.attachment && data.attachment.payload && data.attachment.payload.src) {
      addEntry({ k: "bot", t: String(data.attachment.payload.src) });
      shown = true;
    }
    if (shown) {
      hideTyping();
      if (panel.hidden) {
        dot.hidden = false;
        setBubbleLabel(true);
      }
    }
  }

  // ---- crisis panel
  var LEVELS = { none: 0, concern: 1, crisis: 2, emergency: 3 };

  function setCrisis(payload) {
    if (payload) {
      var old = state.crisis;
      if (old && (LEVELS[old.level] || 0) > (LEVELS[payload.level] || 0)) {
        // Escalated, never lowered: keep the higher level, add any new resources.
        var ids = (old.resources || []).map(function (r) {
          return r.id;
        });
        (payload.resources || []).forEach(function (r) {
          if (ids.indexOf(r.id) < 0) old.resources.push(r);
        });
        payload = old;
      }
    }
    state.crisis = payload || null;
    save("crisis", state.crisis);
    renderCrisis();
  }

  function digits(value) {
    return String(value || "").replace(/[^0-9+*#]/g, "");
  }

  function actionLink(href, text, cls) {
    var a = el("a", cls || "", text);
    a.href = href;
    return a;
  }

  function resourceItem(r, cls) {
    var li = el("li", cls || "");
    var label = el("p", "label");
    label.appendChild(el("span", "name", String(r.name || "")));
    if (r.how) {
      label.appendChild(document.createTextNode(": "));
      label.appendChild(el("span", "how", String(r.how)));
    }
    li.appendChild(label);
    var tel = digits(r.tel);
    var sms = digits(r.sms);
    if (tel) li.appendChild(actionLink("tel:" + tel, "Call " + tel, "call"));
    if (sms) {
      var body = r.sms_body ? String(r.sms_body) : "";
      // "?&body=" is understood by both iOS and Android messaging apps.
      var href = "sms:" + sms + (body ? "?&body=" + encodeURIComponent(body) : "");
      var text = body ? "Text " + body + " to " + sms : "Text " + sms;
      li.appendChild(actionLink(href, text, "text"));
    }
    return li;
  }

  function renderCrisis() {
    crisisBox.textContent = "";
    var c = state.crisis;
    if (!c) {
      crisisBox.hidden = true;
      return;
    }
    var urgent = c.level === "emergency" || c.variant === "emergency" || c.variant === "withdrawal";
    var h3 = el("h3", "", urgent ? "Get help now" : "Talk to someone now, day or night");
    h3.id = "hlw-crisis-title";
    crisisBox.appendChild(h3);
    var ul = el("ul");
    var e = c.emergency && typeof c.emergency === "object" ? c.emergency : null;
    if (e && urgent) ul.appendChild(resourceItem(e, "emergency"));
    (Array.isArray(c.resources) ? c.resources : []).forEach(function (r) {
      if (r && typeof r === "object") ul.appendChild(resourceItem(r));
    });
    if (e && !urgent) {
      var item = { name: "In immediate danger", how: e.how, tel: e.tel, sms: e.sms };
      ul.appendChild(resourceItem(item, "emergency"));
    }
    crisisBox.appendChild(ul);
    crisisBox.hidden = false;
  }

  // ---- typing indicator
  var typingTimer = null;
  function showTyping() {
    typing.hidden = false;
    log.scrollTop = log.scrollHeight;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_MS);
  }
  function hideTyping() {
    typing.hidden = true;
    clearTimeout(typingTimer);
  }

  // ---- connection
  var socket = null;
  var ready = false; // session confirmed on the current connection
  var dropped = false;
  var pending = [];
  var statusTimer = null;

  function setStatus(text, ok) {
    clearTimeout(statusTimer);
    status.textContent = text;
    status.classList.toggle("ok", !!ok);
    if (ok) {
      statusTimer = setTimeout(function () {
        status.textContent = "";
      }, 5000);
    }
  }

  function connect() {
    if (socket) return;
    socket = io(socketUrl, {
      path: "/socket.io",
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: state.session });
    });
    socket.on("session_confirm", function (id) {
      if (typeof id === "string" && id) {
        state.session = id;
        save("session", id);
      }
      ready = true;
      if (dropped) {
        dropped = false;
        setStatus("Reconnected.", true);
      } else {
        setStatus("");
      }
      var queued = pending;
      pending = [];
      queued.forEach(emitMessage);
    });
    socket.on("disconnect", function (reason) {
      ready = false;
      hideTyping();
      if (reason === "io client disconnect") return;
      dropped = true;
      setStatus("Connection lost. Reconnecting\u2026");
    });
    socket.on("connect_error", function () {
      ready = false;
      dropped = true;
      setStatus("Can't reach the chat right now. Trying again\u2026");
    });
    socket.on("bot_uttered", onBotUttered);
  }

  function emitMessage(text) {
    socket.emit("user_uttered", { message: text, session_id: state.session });
  }

  function send(text, shown) {
    text = String(text || "").trim();
    if (!text) return;
    dropQuickReplies();
    addEntry({ k: "user", t: shown || text });
    if (ready) {
      emitMessage(text);
    } else {
      pending.push(text);
      connect();
      if (!dropped) setStatus("Connecting\u2026");
    }
    // While a person from the clinic has the conversation, no instant reply is expected.
    if (!state.staff) showTyping();
  }

  // ---- open, close, clear
  function setBubbleLabel(unread) {
    bubble.setAttribute("aria-label", "Open chat: " + title + (unread ? " (new message)" : ""));
  }

  function openPanel(moveFocus) {
    if (!state.history.length && initialMessage) {
      addEntry({ k: "bot", t: initialMessage });
    }
    panel.hidden = false;
    root.classList.add("open");
    bubble.setAttribute("aria-expanded", "true");
    dot.hidden = true;
    setBubbleLabel(false);
    saveOpen(true);
    connect();
    scrollToEnd();
    if (moveFocus) input.focus();
  }

  function closePanel() {
    panel.hidden = true;
    root.classList.remove("open");
    bubble.setAttribute("aria-expanded", "false");
    saveOpen(false);
    bubble.focus();
  }

  var clearArmed = null;
  function clearConversation() {
    forget();
    state = { session: null, history: [], crisis: null, staff: false };
    pending = [];
    hideTyping();
    renderAll();
    if (socket) {
      // A new connection leaves the old conversation's room.
      ready = false;
      socket.disconnect();
      socket.connect();
    }
    if (initialMessage) addEntry({ k: "bot", t: initialMessage });
    setStatus("Conversation cleared from this device.", true);
    input.focus();
  }

  bubble.addEventListener("click", function () {
    if (panel.hidden) openPanel(true);
    else closePanel();
  });
  closeBtn.addEventListener("click", closePanel);
  clearBtn.addEventListener("click", function () {
    if (clearArmed) {
      clearTimeout(clearArmed);
      clearArmed = null;
      clearBtn.textContent = "Clear";
      clearConversation();
      return;
    }
    clearBtn.textContent = "Clear? Press again";
    clearArmed = setTimeout(function () {
      clearArmed = null;
      clearBtn.textContent = "Clear";
    }, 5000);
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closePanel();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  renderAll();
  if (state.session) connect(); // staff replies reach a returning visitor even while closed
  if (loadOpen()) openPanel(false);

  return {
    open: function () {
      openPanel(true);
    },
    close: closePanel,
    clear: clearConversation,
    sessionId: function () {
      return state.session;
    },
    // For tests and debugging: the socket.io client socket.
    socket: function () {
      return socket;
    },
  };
}

function validColor(value) {
  return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value || "") ? value : null;
}

/* White or near-black text, whichever contrasts more with the accent colour. */
function textColorOn(hex) {
  var h = hex.slice(1);
  if (h.length === 3) h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
  var lum = [0, 2, 4]
    .map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    })
    .reduce(function (sum, c, i) {
      return sum + c * [0.2126, 0.7152, 0.0722][i];
    }, 0);
  var onWhite = 1.05 / (lum + 0.05);
  var onBlack = (lum + 0.05) / 0.05;
  return onWhite >= onBlack ? "#ffffff" : "#111111";
}

function chatIcon() {
  var ns = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  var path = document.createElementNS(ns, "path");
  path.setAttribute(
    "d",
    "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6" +
      "a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0" +
      "a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"
  );
  svg.appendChild(path);
  return svg;
}

(function boot() {
  var script =
    document.currentScript ||
    (function () {
      var all = document.querySelectorAll('script[src*="/webhooks/widget/widget.js"]');
      return all[all.length - 1];
    })();
  if (!script || window.RasaChatWidget) return; // one widget per page
  function go() {
    window.RasaChatWidget = startChatWidget(script);
  }
  if (document.body) go();
  else document.addEventListener("DOMContentLoaded", go);
})();
