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
