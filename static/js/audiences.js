// The audience rule builder: add and remove conditions and switch a row's fields with its type, in the page.
// Without this script the same buttons post the form and the server draws it again.
(function () {
  const form = document.querySelector("[data-builder]");
  if (!form) return;
  const rows = form.querySelector("[data-rows]");
  const template = form.querySelector("[data-row-template]");
  let next = rows.querySelectorAll("[data-row]").length;

  function track(row) {
    const select = row.querySelector("[data-type-select]");
    select.addEventListener("change", () => { row.dataset.type = select.value; });
  }

  rows.querySelectorAll("[data-row]").forEach(track);

  form.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove-row]");
    if (remove) {
      event.preventDefault();
      const row = remove.closest("[data-row]");
      if (rows.querySelectorAll("[data-row]").length > 1) row.remove();
      return;
    }
    if (event.target.closest("[data-add-row]")) {
      event.preventDefault();
      if (rows.querySelectorAll("[data-row]").length >= 20) return;
      const html = template.innerHTML.replaceAll("__i__", String(next++));
      rows.insertAdjacentHTML("beforeend", html);
      const row = rows.lastElementChild;
      track(row);
      row.querySelector("[data-type-select]").focus();
    }
  });
})();
