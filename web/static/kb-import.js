// The curator's import page: upload files, poll the job, show the preview, save with progress.
// Text reaches the page through textContent only, never as HTML.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var drop = document.getElementById("drop"), pick = document.getElementById("pick");
  var previewButton = document.getElementById("preview"), saveButton = document.getElementById("save");
  var chosen = [], job = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function show(id, on) { document.getElementById(id).hidden = !on; }
  function choose(files) {
    chosen = Array.prototype.slice.call(files);
    document.getElementById("chosen").textContent = chosen.map(function (f) {
      return f.name + "（" + Math.max(1, Math.round(f.size / 1024)) + " KB）";
    }).join("、");
    previewButton.disabled = chosen.length === 0;
  }
  drop.addEventListener("click", function () { pick.click(); });
  drop.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") pick.click(); });
  pick.addEventListener("change", function () { choose(pick.files); });
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) { e.preventDefault(); drop.classList.remove("over"); choose(e.dataTransfer.files); });

  function progress(step, done, total) {
    show("progress", true);
    document.getElementById("step").textContent = step;
    var bar = document.getElementById("bar");
    bar.classList.toggle("busy", !total);
    bar.firstChild.style.width = total ? Math.round(100 * Math.min(done, total) / total) + "%" : "";
  }
  function failed(message) {
    show("progress", false);
    var box = document.getElementById("done");
    box.textContent = "";
    box.appendChild(el("p", "fail", message));
    show("done", true);
    previewButton.disabled = chosen.length === 0;
  }
  function request(method, url, body, headers) {
    return fetch(url, {method: method, body: body, credentials: "same-origin",
                       headers: Object.assign({"X-CSRFToken": token}, headers || {})}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.error || ("请求失败（" + r.status + "）"));
        return data;
      });
    });
  }
  function poll() {
    request("GET", "/api/curator/import/" + job).then(function (j) {
      if (j.status === "reading" || j.status === "saving") {
        progress(j.message || (j.status === "reading" ? "正在读取…" : "正在保存…"), j.done, j.total);
        setTimeout(poll, 1000);
      } else if (j.status === "ready") { show("progress", false); preview(j.result); }
      else if (j.status === "done") { show("progress", false); finished(j.result); }
      else { failed(j.message || "导入失败。"); }
    }).catch(function (e) { failed(e.message); });
  }

  previewButton.addEventListener("click", function () {
    var form = new FormData();
    chosen.forEach(function (f) { form.append("files", f, f.name); });
    previewButton.disabled = true;
    show("result", false); show("done", false);
    progress("正在上传…", 0, 0);
    request("POST", "/api/curator/import", form).then(function (data) { job = data.job; poll(); })
      .catch(function (e) { failed(e.message); });
  });

  function facts(f) {
    if (f.kind === "faq") {
      return "问答表格：" + f.faqs + " 条问答" + (f.rejected.length ? "，" + f.rejected.length + " 行未导入" : "");
    }
    var parts = ["《" + (f.title || "（无标题）") + "》", f.sections.length + " 个章节", f.clauses + " 个条款",
                 f.tables + " 个表格"];
    if (f.pages) parts.push(f.pages + " 页");
    if (f.ocr_pages) parts.push(f.ocr_pages + " 页/图片经文字识别");
    return parts.join(" · ");
  }
  function preview(result) {
    var list = document.getElementById("files");
    list.textContent = "";
    result.files.forEach(function (f) {
      var box = el("div", "file");
      box.appendChild(el("b", "", f.name));
      box.appendChild(el("div", "facts", facts(f)));
      if (f.sections.length) box.appendChild(el("div", "sections", "章节：" + f.sections.join(" / ")));
      box.appendChild(el("div", "meta", f.items.map(function (i) {
        return (i.action === "update" ? "更新 " : "新建 ") + i.id;
      }).slice(0, 5).join("、") + (f.items.length > 5 ? " 等 " + f.items.length + " 条" : "")));
      f.rejected.forEach(function (r) { box.appendChild(el("div", "warn", r.reason)); });
      f.warnings.forEach(function (w) { box.appendChild(el("div", "warn", w)); });
      list.appendChild(box);
    });
    result.failed.forEach(function (f) {
      var box = el("div", "file");
      box.appendChild(el("b", "fail", f.name));
      box.appendChild(el("div", "fail", "无法导入：" + f.reason));
      list.appendChild(box);
    });
    show("result", true);
    saveButton.disabled = result.files.length === 0;
  }
  saveButton.addEventListener("click", function () {
    saveButton.disabled = true;
    progress("正在保存…", 0, 0);
    request("POST", "/api/curator/import/" + job + "/save",
            JSON.stringify({category: document.getElementById("category").value}),
            {"Content-Type": "application/json"}).then(poll).catch(function (e) { failed(e.message); });
  });
  function finished(result) {
    var box = document.getElementById("done");
    box.textContent = "";
    var s = result.saved;
    box.appendChild(el("h3", "", "已保存并生效"));
    box.appendChild(el("p", "", "新建 " + s.create + " 条，更新 " + s.update + " 条，未变 " + s.unchanged +
                                  " 条，删除 " + s.delete + " 条；编码 " + result.encoded + " 段文本。机器人现在就按新内容回答。"));
    var links = el("p");
    result.files.forEach(function (f) {
      f.items.slice(0, 20).forEach(function (i) {
        var a = el("a", "", (f.kind === "faq" ? "问答 " : "文章 ") + i.id);
        a.href = "/curator/kb/" + i.kind + "/" + encodeURIComponent(i.id);
        links.appendChild(a); links.appendChild(document.createTextNode("  "));
      });
    });
    box.appendChild(links);
    if (result.failed.length) box.appendChild(el("p", "fail", "未导入：" + result.failed.map(function (f) {
      return f.name + "（" + f.reason + "）"; }).join("；")));
    show("result", false); show("done", true);
  }
})();
