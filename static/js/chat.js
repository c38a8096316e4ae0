// The chat page client: sends messages over the websocket, shows the answer chunk by chunk as plain text
// (textContent, never HTML), then swaps in the server-rendered, sanitized message when it completes.
// A reload or a dropped connection reconnects, and the server resumes an answer in progress.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root) return;
  var conversationId = root.dataset.conversationId;
  var token = root.dataset.token || "";
  var messageUrl = root.dataset.messageUrl;
  var thread = document.getElementById("thread");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var sendButton = document.getElementById("chat-send");
  var modelPicker = document.getElementById("chat-model");
  var lastSent = null;
  var stopButton = document.getElementById("chat-stop");
  var status = document.getElementById("chat-status");
  var socket = null;
  var current = null;
  var streaming = false;
  var closedForGood = false;
  var retryDelay = 500;

  function scrollDown() { thread.scrollTop = thread.scrollHeight; }

  function setStreaming(on) {
    streaming = on;
    stopButton.hidden = !on;
    sendButton.disabled = on;
  }

  function say(text) { status.textContent = text || ""; }

  // The assistant's bubble appears at once with a typing indicator, until its first words arrive.
  function typing() {
    current = bubble("assistant", null);
    current.el.dataset.status = "typing";
    current.body.innerHTML = '<span class="typing" aria-label="The assistant is typing"><i></i><i></i><i></i></span>';
    say("The assistant is thinking…");
  }

  function writing() {
    if (!current) { current = bubble("assistant", null); setStreaming(true); }
    if (current.el.dataset.status === "typing") { current.body.textContent = ""; say(""); }
    current.el.dataset.status = "streaming";
  }

  // A new conversation is titled after its first question: show the title (and the list) once it is set.
  function titleRefresh() {
    var title = document.getElementById("chat-title");
    if (!title || title.dataset.untitled !== "1") return;
    fetch(location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");  // our own server-rendered page
        ["chat-title", "conversation-list"].forEach(function (id) {
          var fresh = page.getElementById(id), old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        });
        var heading = document.getElementById("chat-title");
        if (heading) document.title = heading.textContent + " · Marketing AI";
      })
      .catch(function () { /* the title shows on the next visit */ });
  }

  function bubble(role, id) {
    var empty = thread.querySelector(".thread-empty");
    if (empty) empty.remove();
    var el = id ? document.getElementById("message-" + id) : null;
    if (!el) {
      el = document.createElement("article");
      el.className = "message message-" + role;
      if (id) { el.id = "message-" + id; el.dataset.messageId = id; }
      var meta = document.createElement("div");
      meta.className = "message-meta";
      meta.textContent = role === "user" ? "You" : "Marketing AI";
      el.appendChild(meta);
      thread.appendChild(el);
    }
    var body = el.querySelector(".message-body");
    if (!body || !body.classList.contains("plain")) {
      if (body) body.remove();
      body = document.createElement("div");
      body.className = "message-body plain";
      el.appendChild(body);
    }
    el.dataset.status = "streaming";
    return { el: el, body: body };
  }

  function fragmentUrl(id) {
    var url = messageUrl.replace(/\/0\/$/, "/" + id + "/");
    return token ? url + "?token=" + encodeURIComponent(token) : url;
  }

  function finish(event) {
    setStreaming(false);
    var done = current;
    current = null;
    if (!event.messageId) { if (done) done.el.remove(); return; }
    fetch(fragmentUrl(event.messageId), { credentials: "same-origin", headers: { "HX-Request": "false" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var target = document.getElementById("message-" + event.messageId);
        if (!target) return;
        var template = document.createElement("template");
        template.innerHTML = html.trim();  // server-rendered and sanitized with nh3
        target.replaceWith(template.content.firstElementChild);
        scrollDown();
      })
      .catch(function () { if (done) done.el.dataset.status = event.status || "complete"; });
  }

  function handle(event) {
    switch (event.type) {
      case "intent":
        if (current && !current.el.id && event.messageId) {  // the typing bubble becomes the reply's
          current.el.id = "message-" + event.messageId;
          current.el.dataset.messageId = event.messageId;
        } else if (!current) {
          current = bubble("assistant", event.messageId);
          current.el.dataset.status = "typing";
        }
        setStreaming(true);
        break;
      case "chunk":
        writing();
        current.body.textContent += event.content;
        scrollDown();
        break;
      case "campaign_recommendation":
        writing();
        current.body.textContent = "Preparing campaign recommendations…";
        break;
      case "error":
        if (current && current.el.dataset.status === "typing" && !current.el.id && lastSent) {
          // Refused before an answer began (a model not available, the rate limit): nothing was stored,
          // so the question goes back into the box.
          current.el.remove();
          lastSent.el.remove();
          input.value = lastSent.content;
          current = null;
          lastSent = null;
          setStreaming(false);
        } else if (current && current.el.dataset.status === "typing") {
          current.body.textContent = "";
        }
        say(event.message);
        break;
      case "complete":
        say("");
        finish(event);
        titleRefresh();
        break;
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/ws/chat/" + conversationId + "/";
    if (token) url += "?token=" + encodeURIComponent(token);
    socket = new WebSocket(url);
    socket.onopen = function () { retryDelay = 500; say(""); root.dataset.connected = "1"; };
    socket.onmessage = function (e) { handle(JSON.parse(e.data)); };
    socket.onclose = function (e) {
      root.dataset.connected = "0";
      if (e.code === 4401 || e.code === 4404) { closedForGood = true; say("This conversation is not available."); return; }
      if (closedForGood) return;
      say("Reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    };
  }

  function send() {
    var content = input.value.trim();
    if (!content || streaming || !socket || socket.readyState !== WebSocket.OPEN) return;
    var mine = bubble("user", null);
    mine.body.textContent = content;
    mine.el.dataset.status = "complete";
    var message = { type: "message", content: content };
    var picked = modelPicker && modelPicker.selectedOptions[0];
    if (picked && picked.value) {
      message.provider = picked.dataset.provider;
      message.model = picked.dataset.model;
    }
    lastSent = { el: mine.el, content: content };
    socket.send(JSON.stringify(message));
    input.value = "";
    setStreaming(true);
    typing();
    scrollDown();
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  stopButton.addEventListener("click", function () {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  });
  window.addEventListener("beforeunload", function () { closedForGood = true; });

  scrollDown();
  connect();
})();
