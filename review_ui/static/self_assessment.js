// The province's self-assessment form (templates/rounds/self_assessment.html).
// - Autosave (htmx on #self-form, debounced): the status line says when it last saved or why it did not;
//   problems appear beside their fields. A failed save never touches what was typed: a refusal,
//   an expired login or a lost network leaves the page as it is, and a copy of the typed values is
//   kept in this tab (sessionStorage) until a save succeeds, so even a reload brings it back.
// - The passage picker: "选择证据…" under an indicator opens the search on the right for that indicator.
(function () {
  const form = document.getElementById("self-form");
  if (!form || !form.hasAttribute("hx-post")) return;
  const copyKey = "kaoping-self-" + form.dataset.unit + "-" + form.dataset.year;
  let dirty = false;
  let failed = false;
  let loggedOut = false;

  function status(text, kind, link) {
    const el = document.getElementById("autosave-status");
    if (!el) return;
    el.textContent = text;
    if (link) { el.appendChild(document.createTextNode(" ")); el.appendChild(link); }
    el.className = "autosave " + kind;
  }

  // The login ended (logged out in another tab, or idle too long): say so, keep everything typed here,
  // offer a login in a new tab, and save as soon as that login exists.
  function loginEnded() {
    failed = true;
    if (loggedOut) return;
    loggedOut = true;
    status("未能自动保存：您的登录已结束（已退出，或长时间未操作）。您填写的内容仍在本页，请不要关闭或刷新本页；",
           "failed", window.kaopingLogin.loginLink("在新标签页或新窗口重新登录，登录后回到本页会自动保存。"));
    window.kaopingLogin.renewed().then(() => {
      loggedOut = false;
      status("已重新登录，正在保存您填写的内容…", "saving");
      htmx.trigger(form, "input");
    });
  }

  function typed() {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.name === "csrf_token" || el.name === "unlink" || el.disabled) continue;
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked) data[el.name] = el.value; }
      else data[el.name] = el.value;
    }
    return data;
  }
  function keepCopy() { try { sessionStorage.setItem(copyKey, JSON.stringify(typed())); } catch (e) { /* private mode */ } }
  function dropCopy() { try { sessionStorage.removeItem(copyKey); } catch (e) { /* private mode */ } }

  function restoreCopy() {
    let copy = null;
    try { copy = JSON.parse(sessionStorage.getItem(copyKey) || "null"); } catch (e) { copy = null; }
    if (!copy) return;
    const now = typed();
    let restored = 0;
    for (const [name, value] of Object.entries(copy)) {
      if (now[name] === value) continue;
      const fields = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      fields.forEach((f) => {
        if (f.type === "radio") f.checked = f.value === value; else f.value = value;
      });
      if (fields.length) {
        restored += 1;
        const item = fields[0].closest("details");
        if (item) item.open = true;
      }
    }
    if (!restored) { dropCopy(); return; }
    dirty = true;
    status("已恢复您上次未能保存的 " + restored + " 处填写（尚未保存），稍后自动保存。", "failed");
    htmx.trigger(form, "input");
  }

  function showProblems(problems) {
    form.querySelectorAll(".field-error[data-for]").forEach((el) => { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid=true]").forEach((el) => el.setAttribute("aria-invalid", "false"));
    problems.forEach((li) => {
      const name = li.dataset.field;
      const slot = form.querySelector('.field-error[data-for="' + CSS.escape(name) + '"]');
      if (slot) slot.textContent = li.textContent;
      const field = form.querySelector('[name="' + CSS.escape(name) + '"]');
      if (field) {
        field.setAttribute("aria-invalid", "true");
        const item = field.closest("details");
        if (item) item.open = true;
      }
    });
  }

  function markFilled() {
    const nav = document.getElementById("sa-progress");
    if (!nav) return;
    const open = new Set((nav.dataset.open || "").split(",").filter(Boolean));
    form.querySelectorAll("details.self-item").forEach((item) => {
      const badge = item.querySelector(".fill-state");
      if (!badge) return;
      const no = item.id.replace("ind-", "");
      badge.textContent = open.has(no) ? "未填" : "已填";
      badge.classList.toggle("state-indexed", !open.has(no));
    });
  }

  function messageOf(xhr) {
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");  // inert: read, never shown
    const box = page.querySelector("[role=alert]") || page.body;
    const text = (box.textContent || "").trim().replace(/\s+/g, " ");
    // the server's sentence ends with its own full stop; ours follows
    return text.slice(0, 200).replace(/[。.\s]+$/, "") || ("服务器暂时无法保存（" + xhr.status + "）");
  }

  form.addEventListener("input", () => {
    dirty = true;
    keepCopy();
    status("有尚未保存的修改…", "pending");
  });
  form.addEventListener("submit", (e) => {
    if (loggedOut) {  // the page would be replaced by a refusal: keep it, and say how to go on
      e.preventDefault();
      loginEnded();
      document.getElementById("autosave-status").scrollIntoView({ block: "center" });
      return;
    }
    dirty = false;
  });
  form.addEventListener("htmx:beforeRequest", () => status("正在自动保存…", "saving"));
  // Any answer but a 2xx is handled here and goes no further: no redirect (an expired login would
  // otherwise leave the page) and no swap; the status line says what happened.
  form.addEventListener("htmx:beforeOnLoad", (e) => {
    const xhr = e.detail.xhr;
    if (xhr.status >= 200 && xhr.status < 300) return;
    e.preventDefault();
    if (xhr.status === 401) { loginEnded(); return; }
    failed = true;
    status("未能自动保存：" + messageOf(xhr) + "。您填写的内容仍在本页。", "failed");
  });
  form.addEventListener("htmx:sendError", () => {
    failed = true;
    status("未能自动保存：网络中断。您填写的内容仍在本页，网络恢复后会再次保存。", "failed");
  });
  document.addEventListener("htmx:afterSettle", () => {
    const el = document.getElementById("autosave-status");
    if (!el || el.dataset.saved === undefined || el.dataset.handled) return;
    el.dataset.handled = "1";
    showProblems(Array.from(el.querySelectorAll(".autosave-problems li")));
    markFilled();
    failed = el.dataset.saved !== "1";
    if (!failed) { dirty = false; dropCopy(); }
  });
  // After a failed save, try again now and then while there is something unsaved.
  setInterval(() => { if (dirty && failed && !loggedOut) htmx.trigger(form, "input"); }, 30000);
  window.addEventListener("beforeunload", (e) => {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });
  // A link to an indicator (进度栏的“去填”, the confirmation page's 未填 list) opens it.
  function openTarget() {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === "DETAILS") { target.open = true; target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // htmx wires the form's triggers when the document is ready; restore (and save) only after that.
  document.addEventListener("DOMContentLoaded", () => setTimeout(restoreCopy, 0));

  // The passage picker.
  const picker = document.getElementById("picker-form");
  document.addEventListener("click", (e) => {
    const pick = e.target.closest("a.pick");
    if (!pick || !picker) return;
    e.preventDefault();
    document.getElementById("picker-no").value = pick.dataset.no;
    picker.querySelectorAll("input, button").forEach((el) => { el.disabled = false; });
    const query = document.getElementById("picker-q");
    query.value = "";
    form.querySelectorAll(".self-item.picking").forEach((el) => el.classList.remove("picking"));
    pick.closest(".self-item").classList.add("picking");
    htmx.trigger(picker, "submit");
    query.focus();
  });
  document.addEventListener("htmx:afterRequest", (e) => {
    const chosen = e.detail.elt;
    if (chosen && chosen.classList && chosen.classList.contains("link-choice") && e.detail.successful) {
      const button = chosen.querySelector("button");
      button.textContent = "已关联";
      button.disabled = true;
    }
  });
})();
