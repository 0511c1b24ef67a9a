// Drag-and-drop ordering of collection entries; saves the new order at once and keeps the editor's
// revision current, so the one save of the whole editor is not refused as someone else's change.
document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("entries");
  if (!list || typeof Sortable === "undefined") return;
  const token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
  Sortable.create(list, {
    handle: ".handle",
    draggable: "li.entry",
    onEnd: () => {
      const order = [...list.querySelectorAll("li.entry")].map((li) => li.dataset.id).join(",");
      const body = new URLSearchParams({ order, csrf_token: token });
      fetch(list.dataset.reorderUrl, { method: "POST", body, headers: { "X-CSRF-Token": token } })
        .then((r) => r.json())
        .then((data) => {
          const flash = document.getElementById("flash");
          flash.className = data.error ? "flash error" : "flash ok";
          flash.textContent = data.error || "顺序已保存。";
          const revision = document.getElementById("revision");
          if (revision && data.revision) revision.value = data.revision;
        });
    },
  });
});

// Leaving the editor with typed changes not yet saved asks first (the browser's own question); a page that
// came back refused (the typed text shown again, data-unsaved="1") counts as unsaved too. Saving, dragging
// (saved at once) and deleting an entry (saved at once) leave nothing to lose.
(function () {
  const form = document.getElementById("editor");
  if (!form) return;
  let dirty = form.dataset.unsaved === "1";
  form.addEventListener("input", (e) => {
    if (e.target.matches("input:not([type=hidden]), textarea, select")) dirty = true;
  });
  form.addEventListener("submit", () => { dirty = false; });
  window.addEventListener("beforeunload", (e) => {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });
})();
