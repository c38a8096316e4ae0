// Hover values for the server-drawn charts: any element with data-tip shows it in one floating tip.
(function () {
  var tip;
  function show(e) {
    var target = e.target.closest && e.target.closest("[data-tip]");
    if (!target) return hide();
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tip";
      tip.setAttribute("role", "status");
      document.body.appendChild(tip);
    }
    tip.textContent = target.getAttribute("data-tip");
    tip.hidden = false;
    var x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    tip.style.left = Math.max(8, x) + "px";
    tip.style.top = (e.clientY + 14) + "px";
    document.querySelectorAll(".band.hover").forEach(function (el) { el.classList.remove("hover"); });
    target.classList.add("hover");
  }
  function hide() {
    if (tip) tip.hidden = true;
    document.querySelectorAll(".band.hover").forEach(function (el) { el.classList.remove("hover"); });
  }
  document.addEventListener("mousemove", show);
  document.addEventListener("touchstart", function (e) { show(e.touches[0] ? Object.assign({ target: e.target }, { clientX: e.touches[0].clientX, clientY: e.touches[0].clientY }) : e); }, { passive: true });
  document.addEventListener("scroll", hide, { passive: true });
})();
