// Small progressive enhancements; every page works without them.
document.addEventListener("htmx:responseError", (e) => {
  const flash = document.getElementById("flash");
  if (flash && e.detail.xhr && e.detail.xhr.status >= 400 && !e.detail.xhr.getResponseHeader("HX-Retarget")) {
    flash.textContent = "操作未完成（" + e.detail.xhr.status + "），请刷新页面后重试。";
    flash.className = "flash error";
  }
});
