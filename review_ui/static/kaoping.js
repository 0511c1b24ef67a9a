// Small progressive enhancements; every page works without them.
document.addEventListener("htmx:responseError", (e) => {
  const flash = document.getElementById("flash");
  if (flash && e.detail.xhr && e.detail.xhr.status >= 400 && !e.detail.xhr.getResponseHeader("HX-Retarget")) {
    flash.textContent = "操作未完成（" + e.detail.xhr.status + "），请刷新页面后重试。";
    flash.className = "flash error";
  }
});

// Our refusals answer htmx with a Chinese message fragment and a 4xx status (a passage already in the
// collection, a stale form…). htmx does not swap 4xx answers by default, which left only a generic
// “操作未完成” behind: show the message itself, where the answer says it belongs.
document.addEventListener("htmx:beforeSwap", (e) => {
  const xhr = e.detail.xhr;
  if (xhr && xhr.status >= 400 && xhr.status < 500 && (xhr.getResponseHeader("Content-Type") || "").startsWith("text/html")) {
    e.detail.shouldSwap = true;
    e.detail.isError = false;
  }
});
