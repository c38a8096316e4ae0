// Add-source form: swap the per-type fields when the type changes (HTMX GET of the #type-fields partial).
document.addEventListener("change", function (event) {
  if (event.target && event.target.name === "source_type" && window.htmx) {
    var url = event.target.form.getAttribute("action") + "?type=" + encodeURIComponent(event.target.value);
    window.htmx.ajax("GET", url, { target: "#type-fields", swap: "outerHTML" });
  }
});
