// Evidence pages. Upload: drag and drop and one XHR per file so each file shows its own
// progress; without JavaScript the form posts normally. Viewer: bring a deep-linked passage
// into view (the server marks it with class "target"), also after htmx swaps.
(function () {
  "use strict";

  function csrfToken(form) {
    const field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function progressRow(list, file) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = file.name;  // textContent: a file name may contain markup
    const bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "等待上传";
    li.append(name, bar, status);
    list.appendChild(li);
    return { li, bar, status };
  }

  // The server answers JSON when it can; an error raised before the upload route runs (a page
  // expired, a proxy's limit) may still come back as the HTML error page, whose alert holds the reason.
  function readAnswer(xhr) {
    const type = xhr.getResponseHeader("Content-Type") || "";
    if (type.includes("application/json")) {
      try {
        const data = JSON.parse(xhr.responseText);
        return { results: data.results || [], error: data.error || "" };
      } catch (err) { /* fall through */ }
    }
    if (type.includes("text/html") && xhr.responseText) {
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const alert = page.querySelector("[role=alert]") || page.querySelector(".flash.error");
      if (alert && alert.textContent.trim()) return { results: [], error: alert.textContent.trim() };
    }
    return { results: [], error: "" };
  }

  // Each uploaded row follows its document through processing: when the live state table below
  // is refreshed, the row takes the document's state, so no row is left saying 正在处理.
  function followStates() {
    const table = document.getElementById("upload-states");
    if (!table) return;
    const states = {};
    for (const tr of table.querySelectorAll("tr[data-document-id]")) states[tr.dataset.documentId] = tr;
    for (const li of document.querySelectorAll("#upload-progress li[data-document-ids]")) {
      const rows = li.dataset.documentIds.split(",").map((id) => states[id]).filter(Boolean);
      if (!rows.length) continue;
      const finished = rows.every((tr) => tr.dataset.final === "yes");
      const failed = rows.some((tr) => tr.dataset.state === "failed");
      const status = li.querySelector(".upload-status");
      const keep = status.dataset.notes || "";
      const labels = rows.map((tr) => tr.dataset.label);
      status.textContent = (finished ? labels.join("；") : "已保存，" + labels.join("；")) + (keep ? " " + keep : "");
      li.className = failed ? "failed" : (finished ? "done finished" : "done");
    }
  }

  // A row's outcome from the server's results for it: stored (then followed live), a duplicate, an
  // archive's summary, or refused with its reason. Returns the ids of the documents stored.
  function settle(row, results, error, status) {
    const ids = results.filter((r) => r.document_id).map((r) => r.document_id);
    const messages = results.flatMap((r) => (r.error ? [r.error] : []).concat(r.notices || []));
    if (error) messages.push(error);
    if (status >= 400 && !messages.length) {
      messages.push(status === 403 ? "页面已过期，请刷新后重试。" : "上传失败（" + status + "），请稍后重试。");
    }
    const duplicates = results.filter((r) => r.duplicate_of).map((r) => r.duplicate_of);
    if (ids.length) {
      row.status.textContent = messages.length ? messages.join(" ") : "已保存，正在处理";
      row.status.dataset.notes = messages.join(" ");
      row.li.className = "done";
      row.li.dataset.documentIds = ids.join(",");
    } else if (results.some((r) => r.members !== undefined && !r.error)) {
      row.status.textContent = messages.join(" ");
      row.li.className = "archive";
    } else if (duplicates.length && status < 400) {
      row.status.textContent = messages.join(" ");
      row.li.className = "duplicate";
    } else {
      row.status.textContent = messages.join(" ");
      row.li.className = "failed";
    }
    for (const id of duplicates) {
      const link = document.createElement("a");
      link.href = "/evidence/" + encodeURIComponent(id);
      link.textContent = "查看已有文件";
      row.status.append(" ", link);
    }
    return ids;
  }

  function memberRow(member) {
    const li = document.createElement("li");
    li.dataset.archive = member.archive;
    const name = document.createElement("span");
    name.className = "member-name";
    name.textContent = "└ " + member.filename;  // textContent: a member's name may contain markup
    name.title = "来自压缩包 " + member.archive;
    const status = document.createElement("span");
    status.className = "upload-status";
    li.append(name, document.createElement("span"), status);
    return { li, status };
  }

  function sendOne(form, file, row) {
    return new Promise((resolve) => {
      const data = new FormData();
      for (const field of form.querySelectorAll("input[name]:not([type=file]), select[name]")) {
        data.append(field.name, field.value);
      }
      data.append("files", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrfToken(form));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          row.bar.value = Math.round((e.loaded / e.total) * 100);
          row.status.textContent = "上传中 " + row.bar.value + "%";
        }
      });
      xhr.addEventListener("load", () => {
        const answer = readAnswer(xhr);
        row.bar.value = 100;
        // An archive answers its own line (how many files were taken) and one line per member:
        // each member gets a row of its own under the archive, with its own outcome and live state.
        const own = answer.results.filter((r) => !r.archive);
        const ids = settle(row, own, answer.error, xhr.status);
        let after = row.li;
        for (const member of answer.results.filter((r) => r.archive)) {
          const sub = memberRow(member);
          after.after(sub.li);
          after = sub.li;
          ids.push(...settle(sub, [member], "", xhr.status));
        }
        resolve(ids);
      });
      xhr.addEventListener("error", () => {
        row.status.textContent = "网络错误，未上传。";
        row.li.className = "failed";
        resolve([]);
      });
      xhr.send(data);
    });
  }

  function setUpUpload() {
    const form = document.getElementById("upload-form");
    if (!form || !window.XMLHttpRequest || !window.FormData) return;
    const input = document.getElementById("file-input");
    const zone = document.getElementById("dropzone");
    const list = document.getElementById("upload-progress");
    let queued = [];

    function add(files) {
      for (const f of files) queued.push(f);
      list.replaceChildren();
      for (const f of queued) progressRow(list, f).status.textContent = "待上传";
    }
    input.addEventListener("change", () => { queued = []; add(input.files); });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      add(e.dataTransfer.files);
    });
    form.addEventListener("submit", async (e) => {
      if (!queued.length) return;  // nothing chosen: let the server say so
      e.preventDefault();
      const button = document.getElementById("upload-submit");
      button.disabled = true;
      list.replaceChildren();
      const ids = [];
      // One at a time: the server is small and a big batch should not starve other users.
      for (const file of queued) {
        ids.push(...await sendOne(form, file, progressRow(list, file)));
      }
      queued = [];
      input.value = "";
      button.disabled = false;
      if (ids.length) {
        // Keep the per-file messages on screen and swap in the live state table below them.
        const url = "/evidence/upload?ids=" + ids.join(",");
        history.replaceState(null, "", url);
        if (window.htmx) {
          htmx.ajax("GET", "/evidence/states?ids=" + ids.join(","), { target: "#upload-states", swap: "outerHTML" });
        } else {
          window.location.assign(url);
        }
      }
    });
  }

  function revealTarget() {
    const target = document.querySelector(".passage.target");
    if (target) target.scrollIntoView({ block: "center" });
  }

  document.addEventListener("DOMContentLoaded", () => { setUpUpload(); revealTarget(); });
  document.addEventListener("htmx:afterSettle", followStates);
  document.addEventListener("htmx:afterSettle", (e) => {
    if (e.detail && e.detail.target && e.detail.target.querySelector && e.detail.target.querySelector(".passage.target")) {
      revealTarget();
    }
  });
})();
