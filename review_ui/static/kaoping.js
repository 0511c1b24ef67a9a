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

// The login of a long form (a form with data-keep-alive: the self-assessment, a rating). While its user
// types, the page asks /session/alive at most every few minutes, so an active user's login does not
// idle out (only real input counts: an open, untouched tab still ends after the idle lifetime).
// When a save is refused because the login ended, `renewed()` waits for a login made in another tab,
// then gives this page the new session's form token so the typed text can be saved.
window.kaopingLogin = (function () {
  const PING_EVERY_MS = 5 * 60 * 1000;
  let lastPing = Date.now();

  function applyToken(token) {
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": token }));
    document.querySelectorAll("input[name=csrf_token]").forEach((input) => { input.value = token; });
  }

  // true: logged in (token applied); false: the login has ended; null: the server could not be reached.
  async function check() {
    lastPing = Date.now();
    try {
      const answer = await fetch("/session/alive", { headers: { Accept: "application/json" }, cache: "no-store",
                                                     credentials: "same-origin" });
      if (answer.status === 401) return false;
      if (!answer.ok) return null;
      applyToken((await answer.json()).csrf);
      return true;
    } catch (e) {
      return null;
    }
  }

  document.addEventListener("input", (e) => {
    if (!e.target.closest || !e.target.closest("form[data-keep-alive]")) return;
    if (Date.now() - lastPing > PING_EVERY_MS) check();
  });

  function loginLink(text) {
    const link = document.createElement("a");
    link.href = "/login?next=" + encodeURIComponent("/session/renewed");
    link.target = "_blank";
    link.rel = "opener";
    link.textContent = text || "在新标签页重新登录";
    return link;
  }

  // Resolves once a login exists again (checked when this tab regains focus, and every 10 seconds).
  function renewed() {
    return new Promise((resolve) => {
      async function probe() {
        if (await check() === true) {
          clearInterval(timer);
          window.removeEventListener("focus", probe);
          resolve();
        }
      }
      const timer = setInterval(probe, 10000);
      window.addEventListener("focus", probe);
    });
  }

  return { check, renewed, loginLink };
})();

// A form that changes much at once (ending a year's round) asks first: <form data-confirm="…">.
// Inline handlers are not allowed by the page's Content-Security-Policy, so this one listener serves all.
document.addEventListener("submit", (e) => {
  const form = e.target.closest && e.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
}, true);
