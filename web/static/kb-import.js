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
      var size = f.size === 0 ? "空文件" : f.size < 1024 ? f.size + " 字节" : f.size < 1048576 ? Math.round(f.size / 1024) + " KB" : (f.size / 1048576).toFixed(1) + " MB";
      return f.name + "（" + size + "）";
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
    var pct = total ? Math.round(100 * Math.min(done, total) / total) : null;
    document.getElementById("step").textContent = step + (pct === null ? "" : "（" + pct + "%）");
    var bar = document.getElementById("bar");
    bar.classList.toggle("busy", pct === null);
    bar.firstChild.style.width = pct === null ? "" : pct + "%";
  }
  function showProgress(step) {  // the card sits above a long preview: bring it into view
    progress(step, 0, 0);
    document.getElementById("progress").scrollIntoView({block: "center", behavior: "smooth"});
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
      if (j.status === "queued" || j.status === "reading" || j.status === "saving") {
        var waiting = {queued: "排队中：其他导入正在读取，马上轮到…", reading: "正在读取…", saving: "正在保存…"};
        progress(j.status === "queued" ? waiting.queued : (j.message || waiting[j.status]), j.done, j.total);
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
    showProgress("正在上传…");
    request("POST", "/api/curator/import", form).then(function (data) { job = data.job; poll(); })
      .catch(function (e) { failed(e.message); });
  });

  var ACTIONS = {create: "新建", update: "更新", unchanged: "未变"};
  function facts(f) {
    if (f.kind === "faq") {
      return "问答表格：" + f.faqs + " 条问答" + (f.rejected.length ? "，" + f.rejected.length + " 行未导入" : "");
    }
    var parts = ["《" + (f.title || "（无标题）") + "》", f.sections.length + " 个章节", f.clauses + " 个条款",
                 f.tables + " 个表格"];
    if (f.pages) parts.push(f.pages + " 页");
    if (f.ocr_pages) parts.push(f.ocr_pages + (f.pages ? " 页经文字识别" : " 张图片经文字识别"));
    return parts.join(" · ");
  }
  function content(f) {  // what will be saved, to check before saving
    var more = el("details");
    more.appendChild(el("summary", "", f.kind === "faq" ? "查看问答" : "查看正文开头"));
    if (f.kind === "faq") {
      f.items.slice(0, 30).forEach(function (i) {
        var row = el("div", "qa");
        row.appendChild(el("b", "", i.name));
        row.appendChild(el("div", "", i.excerpt));
        more.appendChild(row);
      });
      if (f.items.length > 30) more.appendChild(el("div", "meta", "……共 " + f.items.length + " 条"));
    } else if (f.items.length) {
      more.appendChild(el("pre", "excerpt", f.items[0].excerpt + (f.chars > f.items[0].excerpt.length ? "\n……" : "")));
    }
    return more;
  }
  function preview(result) {
    var list = document.getElementById("files");
    list.textContent = "";
    result.files.forEach(function (f) {
      var box = el("div", "file");
      var pickIt = el("label", "pick");
      var tick = el("input");
      tick.type = "checkbox"; tick.checked = true; tick.className = "keep"; tick.value = f.name;
      pickIt.appendChild(tick);
      pickIt.appendChild(el("b", "", " " + f.name));
      box.appendChild(pickIt);
      box.appendChild(el("div", "facts", facts(f)));
      if (f.sections.length) box.appendChild(el("div", "sections", "章节：" + f.sections.join(" / ")));
      var counts = {};
      f.items.forEach(function (i) { counts[i.action] = (counts[i.action] || 0) + 1; });
      var said = Object.keys(ACTIONS).filter(function (a) { return counts[a]; }).map(function (a) {
        return ACTIONS[a] + " " + counts[a] + " 条";
      });
      if (f.items.length === 1) said = [ACTIONS[f.items[0].action] + " " + f.items[0].id];
      if (f.removes.length) said.push("删除 " + f.removes.length + " 条");
      if (!f.items.length && !f.removes.length) said = ["不导入"];  // e.g. a copy of an article already there
      box.appendChild(el("div", "meta", said.join("，")));
      f.removes.forEach(function (r) { box.appendChild(el("div", "warn", "将删除（表格里已没有）：" + r.question)); });
      f.rejected.forEach(function (r) { box.appendChild(el("div", "warn", r.reason)); });
      f.warnings.forEach(function (w) { box.appendChild(el("div", "warn", w)); });
      box.appendChild(content(f));
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
    var leaveOut = Array.prototype.filter.call(document.querySelectorAll("input.keep"), function (t) {
      return !t.checked;
    }).map(function (t) { return t.value; });
    saveButton.disabled = true;
    showProgress("正在保存…");
    request("POST", "/api/curator/import/" + job + "/save",
            JSON.stringify({category: document.getElementById("category").value, leave_out: leaveOut}),
            {"Content-Type": "application/json"}).then(poll).catch(function (e) { failed(e.message); });
  });
  function finished(result) {
    var box = document.getElementById("done");
    box.textContent = "";
    var s = result.saved, changed = s.create + s.update + s.delete;
    box.appendChild(el("h3", "", changed ? "已保存并生效" : "没有改动"));
    box.appendChild(el("p", "", changed
      ? "新建 " + s.create + " 条，更新 " + s.update + " 条，删除 " + s.delete + " 条" +
        (s.unchanged ? "，" + s.unchanged + " 条与上次导入相同" : "") + "。机器人现在就按新内容回答。"
      : "这些文件的内容与上次导入时相同，知识库没有变化。"));
    var links = el("p");
    result.files.forEach(function (f) {
      f.items.slice(0, 20).forEach(function (i) {
        var a = el("a", "", (i.kind === "faq" ? "问答：" : "文章：") + i.name);
        a.href = "/curator/kb/" + i.kind + "/" + encodeURIComponent(i.id);
        links.appendChild(a); links.appendChild(document.createTextNode("  "));
      });
    });
    box.appendChild(links);
    var check = el("p");
    var test = el("a", "", "用问题试一试（命中测试）→");
    test.href = "/curator/hit-test";
    check.appendChild(test);
    box.appendChild(check);
    if (result.left_out && result.left_out.length) box.appendChild(el("p", "meta", "没有保存：" + result.left_out.join("、")));
    result.failed.forEach(function (f) { box.appendChild(el("p", "fail", "未导入 " + f.name + "：" + f.reason)); });
    show("result", false); show("done", true);
    box.scrollIntoView({block: "start", behavior: "smooth"});
  }
})();
