// Small shared behaviour: toasts raised by HX-Trigger {"toast": {"message": "...", "level": "success"}}.
(function () {
  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast " + (level || "info");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 5000);
  }
  window.showToast = showToast;
  document.addEventListener("toast", function (e) {
    var d = e.detail || {};
    showToast(d.message || d.value || "", d.level);
  });
  document.addEventListener("htmx:responseError", function (e) {
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    showToast(status >= 500 ? "Something went wrong on our side. Please try again." : "That did not work (" + status + ").", "error");
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (el) { setTimeout(function () { el.remove(); }, 6000); });
  });
})();
