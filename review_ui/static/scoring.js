// The form's 已引用的证据 list names every citation once, by its document's title and page: ticking 引用此段
// anywhere on the screen (suggestions, search results, the unit's own links) adds the citation there, and
// every box of one citation shows the same state (untick it in the list and the passage's box clears too).
// The server renders an already-cited passage as 已引用, so a page starts with one box per citation.
window.kaopingCite = function (key, title, page, quote) {
  const list = document.getElementById("extra-links");
  if (!list) return;
  const existing = list.querySelector('input[name=link][value="' + CSS.escape(key) + '"]');
  if (existing) { existing.checked = true; return; }
  const empty = list.querySelector(".empty-note");
  if (empty) empty.remove();
  const li = document.createElement("li");
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox"; box.name = "link"; box.value = key; box.checked = true;
  const cite = document.createElement("cite");
  cite.className = "doc-title";
  cite.textContent = title || "证据";  // textContent: titles and quotes are document text
  label.append(box, " ", cite, (page ? " 第 " + page + " 页" : "") + "：“" + String(quote || "").slice(0, 120) + "”");
  li.appendChild(label);
  list.appendChild(li);
};

(function () {
  function boxes(key) { return document.querySelectorAll('input[name=link][value="' + CSS.escape(key) + '"]'); }
  document.addEventListener("change", (e) => {
    const input = e.target;
    if (!input.matches || !input.matches("input[name=link]")) return;
    if (input.checked && input.dataset.title !== undefined) {
      window.kaopingCite(input.value, input.dataset.title, input.dataset.page, input.dataset.quote);
    }
    for (const other of boxes(input.value)) other.checked = input.checked;
  });
  // Search results arrive later (htmx): a passage already cited shows as ticked at once.
  document.addEventListener("htmx:afterSettle", () => {
    const list = document.getElementById("extra-links");
    if (!list) return;
    for (const input of document.querySelectorAll("label.pick input[name=link]")) {
      if (list.querySelector('input[name=link][value="' + CSS.escape(input.value) + '"]:checked')) input.checked = true;
    }
  });
})();

// Quote part of a passage: select text inside a passage and press the button that appears.
// Offsets are Unicode code points into the document version's text, as the server counts them.
(function () {
  let button = null;

  function codePoints(text) { return Array.from(text).length; }

  function selectionInPassage() {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || sel.rangeCount === 0) return null;
    const range = sel.getRangeAt(0);
    const box = range.commonAncestorContainer.nodeType === 1
      ? range.commonAncestorContainer : range.commonAncestorContainer.parentElement;
    const el = box && box.closest(".passage-text");
    if (!el) return null;
    const before = document.createRange();
    before.selectNodeContents(el);
    before.setEnd(range.startContainer, range.startOffset);
    const start = Number(el.dataset.start) + codePoints(before.toString());
    const quote = range.toString();
    const end = start + codePoints(quote);
    if (end <= start) return null;
    return { el, start, end, quote, rect: range.getBoundingClientRect() };
  }

  function addLink(found) {
    // The passage's own 引用此段 box knows its document's title and page.
    const around = found.el.closest("article, li");
    const source = around && around.querySelector("[data-title]");
    window.kaopingCite(found.el.dataset.passageId + ":" + found.start + ":" + found.end,
                       source ? source.dataset.title : "", source ? source.dataset.page : "", found.quote);
  }

  function hide() { if (button) { button.remove(); button = null; } }

  document.addEventListener("mouseup", (event) => {
    if (event.target === button) return;
    hide();
    const found = selectionInPassage();
    if (!found) return;
    button = document.createElement("button");
    button.type = "button";
    button.className = "quote-button small";
    button.textContent = "引用所选文字";
    button.style.left = (window.scrollX + found.rect.left) + "px";
    button.style.top = (window.scrollY + found.rect.bottom + 4) + "px";
    button.addEventListener("click", () => { addLink(found); hide(); window.getSelection().removeAllRanges(); });
    document.body.appendChild(button);
  });
})();

// Keyboard: the shortcuts listed on the page (#shortcuts). Letters and digits act only outside
// text fields, so typing a rationale never jumps away; Ctrl combinations work everywhere.
(function () {
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) &&
      !(target.tagName === "INPUT" && target.type === "radio");
  }
  function go(id) {
    const link = document.getElementById(id);
    if (link) window.location.assign(link.href);
  }
  document.addEventListener("keydown", (e) => {
    const form = document.getElementById("rating-form");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && form) {
      const submit = form.querySelector("button[formaction$='/submit']");
      if (submit) { e.preventDefault(); submit.click(); }
      return;
    }
    if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S") && form) {
      const save = form.querySelector("button.save-draft");
      if (save) { e.preventDefault(); save.click(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (e.key === "]" || e.key === "j" || e.key === "J") { go("next-item"); }
    else if (e.key === "[" || e.key === "k" || e.key === "K") { go("prev-item"); }
    else if (/^[0-9]$/.test(e.key) && form) {
      const radio = form.querySelector("input[name=level][value='" + e.key + "']");
      if (radio && !radio.matches(":disabled")) { radio.checked = true; radio.focus(); }  // not in a closed year
    }
  });
})();

// Before a rating is saved or submitted, make sure the login still holds: a refused post would replace
// the page and lose the rationale being typed. If it ended, say so here and offer a login in a new tab;
// once it exists again this page carries the new form token and the button works as before.
(function () {
  const form = document.getElementById("rating-form");
  if (!form || !window.kaopingLogin) return;
  let confirmed = false;
  form.addEventListener("submit", async (e) => {
    if (confirmed) { confirmed = false; return; }
    e.preventDefault();
    const button = e.submitter;
    const alive = await window.kaopingLogin.check();
    if (alive === false) {
      let box = document.getElementById("login-ended");
      if (!box) {
        box = document.createElement("div");
        box.id = "login-ended";
        box.className = "flash error";
        box.setAttribute("role", "alert");
        box.textContent = "未保存：您的登录已结束（已退出，或长时间未操作）。本页填写的内容仍在，请不要关闭或刷新本页；";
        box.appendChild(window.kaopingLogin.loginLink("在新标签页或新窗口重新登录，然后回到本页再点一次保存。"));
        form.prepend(box);
        window.kaopingLogin.renewed().then(() => {
          box.className = "flash ok";
          box.textContent = "已重新登录，现在可以保存。";
        });
      }
      box.scrollIntoView({ block: "center" });
      return;
    }
    confirmed = true;  // logged in (or the server could not be asked: let the post say what happened)
    if (button && button.form === form) button.click(); else form.requestSubmit();
  });
})();
