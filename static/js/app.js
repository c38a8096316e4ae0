// Small shared behaviour: toasts (HX-Trigger {"toast": {"message": "...", "level": "success"}} and the flash
// messages), the folding navigation on small screens, and the labels tables show when they reflow on a phone.
(function () {
  var TOAST_SECONDS = 5;

  function dismissLater(el, seconds) {
    var timer = setTimeout(function () { leave(el); }, seconds * 1000);
    el.addEventListener("mouseenter", function () { clearTimeout(timer); });
    el.addEventListener("mouseleave", function () { timer = setTimeout(function () { leave(el); }, 2000); });
  }
  function leave(el) {
    el.classList.add("leaving");
    setTimeout(function () { el.remove(); }, 300);
  }
  function decorate(el) {
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { leave(el); });
    el.appendChild(close);
    dismissLater(el, el.classList.contains("error") ? TOAST_SECONDS * 2 : TOAST_SECONDS);
  }
  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("div");
    el.className = "toast " + (level || "info");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    box.appendChild(el);
    decorate(el);
  }
  window.showToast = showToast;
  document.addEventListener("toast", function (e) {
    var d = e.detail || {};
    showToast(d.message || d.value || "", d.level);
  });
  document.addEventListener("htmx:responseError", function (e) {
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    var text = status >= 500 ? "Something went wrong on our side. Please try again."
      : status === 403 ? "Your role does not allow this."
      : status === 404 ? "That item no longer exists."
      : status === 0 ? "The server could not be reached. Check your connection."
      : "That did not work (" + status + ").";
    showToast(text, "error");
  });

  function labelTables(root) {
    (root || document).querySelectorAll("table.table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
      if (!heads.length) return;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (td, i) {
          if (!td.hasAttribute("data-label")) td.setAttribute("data-label", heads[i] || "");
        });
      });
    });
  }
  window.labelTables = labelTables;

  document.addEventListener("click", function (e) {
    var toggle = e.target.closest && e.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var open = document.body.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("htmx:afterSettle", function (e) { labelTables(e.target); });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(decorate);
    labelTables(document);
  });
})();
