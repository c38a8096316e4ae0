// One websocket per open page (ws/live/, marketing_ai/live.py). Each message becomes a DOM event on <body>
// that htmx regions listen to (hx-trigger="live-events from:body"), so only the affected parts reload; job
// progress moves in place. While the socket is down the same events fire every few seconds (polling), and
// once more when it comes back (catching up on what was missed).
(function () {
  var EVENT_OF = {
    "events.stored": "live-events",
    "job.progress": "live-job",
    "file.progress": "live-file",
    "campaign.changed": "live-campaign",
    "recommendation.created": "live-recommendation",
    "recommendations": "live-product-recommendations",
    "notification.created": "live-notification",
    "alert.raised": "live-alert"
  };
  var DONE = { succeeded: true, failed: true };
  var POLL_MS = 5000;
  var attempts = 0, pollTimer = null, connectedOnce = false;

  function fire(name, detail) {
    document.body.dispatchEvent(new CustomEvent(name, { detail: detail || {}, bubbles: true }));
  }
  function namesOnPage() {
    var names = {};
    document.querySelectorAll("[hx-trigger*='live-']").forEach(function (el) {
      (el.getAttribute("hx-trigger").match(/live-[a-z0-9-]+/g) || []).forEach(function (n) { names[n] = true; });
    });
    return Object.keys(names);
  }
  function catchUp() { namesOnPage().forEach(function (name) { fire(name, { catchUp: true }); }); }

  function barMoved(card, d) {
    if (card && d.progress !== null && d.progress !== undefined) {
      var bar = card.querySelector(".progress");
      if (bar) {
        bar.setAttribute("aria-valuenow", d.progress);
        bar.firstElementChild.style.width = d.progress + "%";
      }
    }
  }
  function jobMoved(d) {
    barMoved(document.getElementById("job-" + d.jobId), d);
    if (DONE[d.status] || d.phase) fire("live-job-changed-" + d.jobId, d);  // the card re-renders
  }
  function received(message) {
    var name = EVENT_OF[message.type];
    if (!name) return;
    var data = message.data || {};
    fire(name, data);
    if (message.type === "job.progress") jobMoved(data);
    if (message.type === "file.progress") barMoved(document.getElementById("file-" + data.fileId), data);
    if (message.type === "campaign.changed") fire("live-campaign-" + data.campaignId, data);
    if (message.type === "notification.created" && window.showToast) window.showToast(data.message, "info");
  }

  function startPolling() { if (!pollTimer) pollTimer = setInterval(catchUp, POLL_MS); }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }
  function retry() {
    startPolling();
    setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, attempts++)));
  }
  function connect() {
    var socket;
    try {
      socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/live/");
    } catch (e) { return retry(); }
    socket.onopen = function () {
      attempts = 0;
      stopPolling();
      document.body.setAttribute("data-live", "on");
      if (connectedOnce) catchUp();
      connectedOnce = true;
    };
    socket.onmessage = function (e) {
      try { received(JSON.parse(e.data)); } catch (err) { /* a malformed frame is skipped */ }
    };
    socket.onclose = function (e) {
      document.body.setAttribute("data-live", "polling");
      if (e.code === 4401 || e.code === 4404) return startPolling(); // signed out or no workspace: poll only
      retry();
    };
  }
  // A region's hx-trigger skips a live refresh while the focus is inside it, but a refresh already on its way
  // when the user starts typing would still replace what they typed: a swap a live event asked for waits
  // (for the next event or the user's own submit) while the region holds the focus or an edited field.
  function edited(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {  // without a `selected` option the browser shows the first one
      var shown = 0;
      Array.prototype.forEach.call(field.options, function (o, i) { if (o.defaultSelected) shown = i; });
      return field.multiple
        ? Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; })
        : field.selectedIndex !== shown;
    }
    return field.value !== field.defaultValue;
  }
  function holdsUserInput(region) {
    if (region.contains(document.activeElement) && document.activeElement !== document.body) return true;
    return Array.prototype.some.call(region.querySelectorAll("input, textarea, select"), edited);
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    var trigger = e.detail.requestConfig && e.detail.requestConfig.triggeringEvent;
    if (!trigger || typeof trigger.type !== "string" || trigger.type.indexOf("live-") !== 0) return;
    if (e.detail.target && holdsUserInput(e.detail.target)) e.detail.shouldSwap = false;
  });

  window.liveCatchUp = catchUp;
  document.addEventListener("DOMContentLoaded", connect);
})();
