// The landing page's anonymous chat: creates an anonymous conversation through the API, streams the answer
// over Server-Sent Events as plain text, then shows the server-rendered, sanitized message.
(function () {
  "use strict";
  var root = document.getElementById("landing-chat");
  if (!root) return;
  var thread = document.getElementById("landing-thread");
  var form = document.getElementById("landing-form");
  var input = document.getElementById("landing-input");
  var sendButton = document.getElementById("landing-send");
  var status = document.getElementById("landing-status");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  var state = JSON.parse(sessionStorage.getItem("landingChat") || "{}");
  var busy = false;

  function bubble(role, text) {
    var empty = thread.querySelector(".thread-empty");
    if (empty) empty.remove();
    var el = document.createElement("article");
    el.className = "message message-" + role;
    var body = document.createElement("div");
    body.className = "message-body plain";
    body.textContent = text || "";
    el.appendChild(body);
    thread.appendChild(el);
    thread.scrollTop = thread.scrollHeight;
    return { el: el, body: body };
  }

  function withId(template, id) { return template.replace(/\/0\//, "/" + id + "/"); }

  function stream(reply) {
    var url = withId(root.dataset.streamUrl, state.conversationId) + "?token=" + encodeURIComponent(state.token);
    var source = new EventSource(url);
    source.onmessage = function (e) {
      var event = JSON.parse(e.data);
      if (event.type === "chunk") { reply.body.textContent += event.content; thread.scrollTop = thread.scrollHeight; }
      else if (event.type === "error") { status.textContent = event.message; }
      else if (event.type === "complete") {
        source.close();
        busy = false; sendButton.disabled = false;
        if (!event.messageId) return;
        fetch(withId(root.dataset.messageUrl, event.messageId) + "?token=" + encodeURIComponent(state.token))
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            var template = document.createElement("template");
            template.innerHTML = html.trim();  // sanitized on the server
            reply.el.replaceWith(template.content.firstElementChild);
          }).catch(function () {});
      }
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) { busy = false; sendButton.disabled = false; }
    };
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var content = input.value.trim();
    if (!content || busy) return;
    busy = true; sendButton.disabled = true; status.textContent = "";
    bubble("user", content);
    var headers = { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" };
    var body = { content: content };
    if (state.conversationId) { body.conversationId = state.conversationId; headers["X-Conversation-Token"] = state.token; }
    fetch(root.dataset.createUrl, { method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (result) {
        if (!result.ok && result.data.statusCode === 404) { state = {}; sessionStorage.removeItem("landingChat"); }
        if (!result.ok) { throw new Error(result.data.message || "Could not send the message."); }
        if (result.data.anonymousToken) {
          state = { conversationId: result.data.conversationId, token: result.data.anonymousToken };
          sessionStorage.setItem("landingChat", JSON.stringify(state));
        }
        input.value = "";
        stream(bubble("assistant", ""));
      })
      .catch(function (err) { status.textContent = err.message; busy = false; sendButton.disabled = false; });
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
})();
