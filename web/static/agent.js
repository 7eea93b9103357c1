// The agent console: the queue, the chat, lookup, notes and callbacks; then canned replies, transfer and history.
(function () {
  var token = document.querySelector('meta[name="csrf-token"]').content, current = null, suggestedFor = null;
  var me = document.body.dataset.me, shownContact = {};  // numbers revealed in this page, by ticket (never stored)
  // What an agent has entered in a callback's form, by ticket: the console redraws every 3 s, and a redraw must
  // never undo a chosen outcome or a half-typed note. Dropped once the call is recorded.
  var drafts = {}, loads = 0;
  var outcomes = {reached: "已联系上", no_answer: "无人接听", wrong_number: "号码错误", withdrawn: "客户已取消"};
  var reasons = {asked: "客户要求", could_not_answer: "机器人两次未答出", complaint: "投诉", negative_feedback: "差评"};
  var statuses = {queued: "排队中", callback: "待回电", claimed: "处理中", closed: "已结束", abandoned: "客户已离开"};
  var speakers = {customer: "客户", bot: "机器人", agent: "坐席", system: "系统"};
  // The API's errors are English for its callers; agents read them in Chinese.
  var zh = {
    "claim this ticket before replying": "请先接入这个会话再回复。",
    "this ticket is not waiting any more": "这个会话已被其他坐席接入，或已经结束。",
    "this ticket is closed already": "这个会话已经结束。",
    "only the ticket's agent, a supervisor or an admin may see this number": "只有负责这张工单的坐席、主管或管理员可以查看号码。",
    "take this callback before recording a call": "请先点「我来回电」。",
    "this callback is settled or another agent is calling": "这个回电已处理完，或其他坐席正在回电。",
    "a callback is closed by recording how the call went": "回电工单请记录回电结果，记录后自动结束。",
    "this ticket has no contact number": "客户没有留下号码。",
    "another agent holds this chat": "这个会话由其他坐席负责，只有主管或管理员可以代为结束。",
    "another agent is calling this callback": "其他坐席正在回电。",
    "claim this ticket before closing it": "请先点「接入」再结束会话。",
    "only the ticket's agent, a supervisor or an admin may add a note": "只有负责这张工单的坐席、主管或管理员可以写备注。"
  };
  function api(method, url, body) {
    return fetch(url, {method: method, headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: body ? JSON.stringify(body) : undefined}).then(function (r) { return r.json(); }).then(function (d) {
        if (d && d.error) d.error = zh[d.error] || ("操作没有成功：" + d.error);
        return d;
      });
  }
  function el(tag, cls, text) { var n = document.createElement(tag); if (cls) n.className = cls; if (text !== undefined) n.textContent = text; return n; }
  function loadQueue() {
    loadCallbacks();
    api("GET", "/api/agent/queue").then(function (data) {
      var q = document.getElementById("live"); q.textContent = "";
      if (!data.tickets || !data.tickets.length) { q.appendChild(el("div", "empty", "暂无排队的会话")); return; }
      data.tickets.forEach(function (t) {
        var d = el("div", "ticket" + (current === t.id ? " sel" : ""));
        d.appendChild(el("div", "", t.question || "（客户还没描述问题）"));
        d.appendChild(el("div", "meta", "#" + t.id + " · " + (reasons[t.reason] || t.reason) + " · " + (statuses[t.status] || t.status) +
          (t.agent ? " · " + t.agent : "") + " · " + t.created_local + " · 等待 " + Math.round(t.waiting_seconds / 60) + " 分钟"));
        d.addEventListener("click", function () { current = t.id; suggestedFor = null; showBar(t); loadTicket(); loadQueue(); });
        q.appendChild(d);
      });
    });
  }
  function loadCallbacks() {
    api("GET", "/api/agent/callbacks").then(function (data) {
      var box = document.getElementById("callbacks"); box.textContent = "";
      if (!data.callbacks || !data.callbacks.length) { box.appendChild(el("div", "empty", "暂无待回电")); return; }
      data.callbacks.forEach(function (t) {
        var d = el("div", "ticket callback" + (current === t.id ? " sel" : ""));
        d.dataset.id = t.id;
        d.appendChild(el("div", "", t.question || "（客户还没描述问题）"));
        var overdue = t.due_at && new Date(t.due_at) <= new Date();
        d.appendChild(el("div", "meta" + (overdue ? " due" : ""), "#" + t.id + " · " + (t.contact || "未留号码") + " · 到期 " + t.due_local +
          (t.preferred_time ? " · 希望 " + t.preferred_time : "") + (t.attempts ? " · 已拨 " + t.attempts + " 次" : "") + (t.agent ? " · " + t.agent : "")));
        d.addEventListener("click", function () { current = t.id; suggestedFor = null; showBar(t); loadTicket(); loadQueue(); });
        box.appendChild(d);
      });
    });
  }
  function showContact(t, attempts) {
    var box = document.getElementById("contact-box");
    if (t.status === "closed" || t.status === "abandoned") delete shownContact[t.id];  // a number is for the call
    // Drawn again only when what it shows changed: a redraw would take the focus from the note being typed.
    var drawn = JSON.stringify([t.id, t.status, t.agent, t.contact, t.preferred_time, t.due_local, attempts, shownContact[t.id] || ""]);
    if (box.dataset.drawn === drawn) return;
    box.dataset.drawn = drawn; box.textContent = "";
    document.getElementById("bar").style.display = t.status === "callback" ? "none" : "";  // a call, not a chat
    if (!t.contact && t.status !== "callback") return;
    var line = el("div", "");
    line.appendChild(el("span", "", "联系电话 "));
    line.appendChild(el("span", "num", shownContact[t.id] || t.contact || "未留号码"));
    var mine = t.agent === me && (t.status === "callback" || t.status === "claimed");  // who may reveal it
    if (t.contact && !shownContact[t.id] && mine) {
      var reveal = el("button", "", "显示号码"); reveal.id = "reveal";
      reveal.title = "显示完整号码（会记录查看人和时间）";
      reveal.addEventListener("click", function () {
        api("POST", "/api/agent/tickets/" + t.id + "/contact").then(function (r) {
          if (r.error) { alert(r.error); return; }
          shownContact[t.id] = r.number; showContact(t, attempts);
        });
      });
      line.appendChild(reveal);
    }
    box.appendChild(line);
    if (t.preferred_time) box.appendChild(el("div", "meta", "希望回电时间：" + t.preferred_time));
    if (t.status === "callback") box.appendChild(el("div", "meta", "到期：" + t.due_local));
    (attempts || []).forEach(function (a) {
      box.appendChild(el("div", "attempt", a.at_local + " " + a.agent + "：" + (outcomes[a.outcome] || a.outcome) +
        (a.next_try_at ? "，下次 " + a.next_try_local : "") + (a.note ? "（" + a.note + "）" : "")));
    });
    if (t.status !== "callback") return;
    if (t.agent !== me) {
      var take = el("button", "", t.agent ? t.agent + " 正在回电" : "我来回电"); take.id = "take"; take.disabled = !!t.agent;
      take.addEventListener("click", function () {
        api("POST", "/api/agent/tickets/" + t.id + "/take").then(function (r) { if (r.error) alert(r.error); loadTicket(); loadQueue(); });
      });
      box.appendChild(take);
      return;
    }
    var form = el("div", "");
    var outcome = el("select", ""); outcome.id = "outcome";
    ["reached", "no_answer", "wrong_number"].forEach(function (o) { var opt = el("option", "", outcomes[o]); opt.value = o; outcome.appendChild(opt); });
    var next = el("input", ""); next.type = "datetime-local"; next.id = "next-try"; next.title = "无人接听时：下次回电时间（默认两小时后）";
    var note = el("input", ""); note.id = "attempt-note"; note.placeholder = "通话备注（可选）"; note.maxLength = 500;
    outcome.setAttribute("aria-label", "回电结果"); next.setAttribute("aria-label", "下次回电时间");
    var draft = drafts[t.id] || {};
    if (draft.outcome) outcome.value = draft.outcome;
    next.value = draft.next || ""; note.value = draft.note || "";
    [outcome, next, note].forEach(function (n) {
      n.addEventListener(n === outcome ? "change" : "input", function () {
        drafts[t.id] = {outcome: outcome.value, next: next.value, note: note.value};
      });
    });
    var save = el("button", "", "记录本次回电"); save.id = "record-attempt";
    save.addEventListener("click", function () {
      var body = {outcome: outcome.value, note: note.value};
      if (outcome.value === "no_answer" && next.value) body.next_try = next.value;
      api("POST", "/api/agent/tickets/" + t.id + "/attempts", body).then(function (r) {
        if (r.error) { alert(r.error); return; }
        delete drafts[t.id];
        if (r.ticket.status === "closed") { delete shownContact[t.id]; }
        loadTicket(); loadQueue();
      });
    });
    [outcome, next, note, save].forEach(function (n) { form.appendChild(n); });
    box.appendChild(form);
  }
  function loadTicket() {
    if (!current) return;
    var asked = current;
    api("GET", "/api/agent/tickets/" + asked).then(function (data) {
      if (asked !== current) return;  // another chat was chosen meanwhile
      if (!data.ticket) { clearChat(data.error || "这个会话已不存在。从左侧选择一个会话"); return; }
      var log = document.getElementById("log"), shown = JSON.stringify([asked, data.messages || []]);
      if (log.dataset.drawn !== shown) {  // new messages: drawn again, and followed only if the agent was at the end
        var following = log.dataset.drawn === undefined || log.scrollHeight - log.scrollTop - log.clientHeight < 40;
        var top = log.scrollTop, first = !log.dataset.drawn || JSON.parse(log.dataset.drawn)[0] !== asked;
        log.dataset.drawn = shown; log.textContent = "";
        (data.messages || []).forEach(function (m) {
          var d = el("div", "m " + m.from); d.appendChild(el("div", "who", speakers[m.from] || m.from)); d.appendChild(el("div", "t", m.text)); log.appendChild(d);
        });
        log.scrollTop = first || following ? log.scrollHeight : top;
      }
      var said = (data.messages || []).filter(function (m) { return m.from === "customer"; }), last = said.length ? said[said.length - 1].id : 0;
      if (last !== suggestedFor) { suggestedFor = last; loadSuggestions(); }
      showContact(data.ticket, data.attempts);
      var notes = document.getElementById("notes"); notes.textContent = "";
      (data.notes || []).forEach(function (n) { notes.appendChild(el("div", "note", n.author + " · " + n.created_local + "：" + n.text)); });
      // a snapshot from the handoff (the question then, or the one before a bare 转人工); the side panel follows the latest
      var p = document.getElementById("passages"), found = data.ticket.passages || [];
      p.textContent = found.length ? "转人工时机器人找到的条款（客户最新的问题见右侧推荐条款）：" : "";
      found.forEach(function (x) { p.appendChild(el("div", "", (x.title ? "《" + x.title + "》" + (x.section || "") + " " + (x.clause || "") + "：" : "") + (x.snippet || ""))); });
      showBar(data.ticket);
      document.getElementById("chat").dataset.loads = String(++loads);  // how many times the chosen chat was read
    });
  }
  // The chat's buttons as the chosen ticket allows: none without one; 接入 only while it waits; replying, canned
  // replies and transfer only in a chat this agent holds; closing a chat someone holds.
  function showBar(t) {
    var live = !!t && t.status !== "closed" && t.status !== "abandoned", mine = live && t.status === "claimed" && t.agent === me;
    var claim = document.getElementById("claim");
    claim.hidden = !(t && t.status === "queued"); claim.disabled = claim.hidden;
    ["send", "canned-open", "transfer-open"].forEach(function (id) { document.getElementById(id).disabled = !mine; });
    // closing: this agent's chat (a chat another agent holds only a supervisor or admin may close: the server says)
    document.getElementById("close").disabled = !live || t.status === "queued" || t.status === "callback";
  }
  function clearChat(message) {
    current = null; suggestedFor = null;  // the chat is the bot's again: clear the panels
    var log = document.getElementById("log"); delete log.dataset.drawn; log.textContent = ""; log.appendChild(el("div", "empty", message));
    ["passages", "suggest", "suggest-q", "notes", "contact-box"].forEach(function (id) { document.getElementById(id).textContent = ""; });
    delete document.getElementById("contact-box").dataset.drawn;
    showBar(null);
  }
  showBar(null);
  document.getElementById("claim").addEventListener("click", function () {
    if (current) api("POST", "/api/agent/tickets/" + current + "/claim").then(function (r) {
      if (r.error) alert(r.error); else showBar({status: "claimed", agent: me});  // the reply box at once
      loadTicket(); loadQueue();
    });
  });
  document.getElementById("text").addEventListener("keydown", function (e) {
    // Enter sends, Shift+Enter starts a new line; not the Enter that picks a word in a Chinese input method
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    if (e.repeat) { e.preventDefault(); return; }  // a held Enter sends once
    e.preventDefault(); document.getElementById("send").click();
  });
  var sending = false;  // one reply at a time: a second Enter (or a held key) while one is posted sends nothing
  document.getElementById("send").addEventListener("click", function () {
    var box = document.getElementById("text"); if (!current || !box.value.trim() || sending) return;
    sending = true;
    api("POST", "/api/agent/tickets/" + current + "/reply", {text: box.value}).then(function (r) { if (r.error) alert(r.error); else box.value = ""; loadTicket(); })
      .finally(function () { sending = false; });
  });
  var closeDialog = document.getElementById("close-dialog");
  document.getElementById("close").addEventListener("click", function () { if (current) closeDialog.showModal(); });
  document.getElementById("close-cancel").addEventListener("click", function () { closeDialog.close(); });
  document.getElementById("close-confirm").addEventListener("click", function () {
    closeDialog.close();
    if (!current) return;
    var closing = current;
    api("POST", "/api/agent/tickets/" + closing + "/close").then(function (r) {
      if (r.error) { alert(r.error); return; }
      delete shownContact[closing]; delete drafts[closing];  // a revealed number does not outlive the chat
      clearChat("会话已结束。从左侧选择下一个会话");
      loadQueue();
    });
  });
  function showHits(data, box) {
    box.textContent = "";
    (data.hits || []).forEach(function (h) {
      var d = el("div", "hit"), snip = el("div", ""), last = 0;
      (h.highlights || []).forEach(function (span) {
        snip.appendChild(document.createTextNode(h.snippet.slice(last, span[0])));
        snip.appendChild(el("mark", "", h.snippet.slice(span[0], span[1]))); last = span[1];
      });
      snip.appendChild(document.createTextNode(h.snippet.slice(last)));
      d.appendChild(snip);
      var src = h.title ? "《" + h.title + "》" + [h.section, h.clause].filter(Boolean).join(" · ") : "";  // none for an entry on no article
      d.appendChild(el("div", "src", src || "（问答，无出处）"));
      var copy = el("button", "", "复制"); copy.addEventListener("click", function () {
        var text = (h.quote || h.text) + (src ? "\n（依据：" + src + "）" : "");
        if (navigator.clipboard) navigator.clipboard.writeText(text);
        document.getElementById("text").value = text;
      });
      d.appendChild(copy); box.appendChild(d);
    });
  }
  function loadSuggestions() {
    var box = document.getElementById("suggest"), asked = current;
    box.textContent = "查找中…";
    api("GET", "/api/agent/tickets/" + asked + "/suggest").then(function (d) {
      if (asked !== current) return;
      box.textContent = "";
      if (d.error) { box.appendChild(el("div", "empty", d.error)); return; }
      document.getElementById("suggest-q").textContent = "客户问：" + d.question;
      showHits(d, box);
    });
  }
  document.getElementById("add-note").addEventListener("click", function () {
    var box = document.getElementById("note-text"); if (!current || !box.value.trim()) return;
    api("POST", "/api/agent/tickets/" + current + "/notes", {text: box.value}).then(function (r) { if (r.error) alert(r.error); else box.value = ""; loadTicket(); });
  });
  document.getElementById("q").addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !this.value.trim()) return;
    api("GET", "/api/agent/lookup?q=" + encodeURIComponent(this.value.trim())).then(function (d) { showHits(d, document.getElementById("hits")); });
  });
  document.getElementById("status").addEventListener("click", function () {
    var b = this, next = b.dataset.status === "available" ? "away" : "available";
    api("POST", "/api/agent/status", {status: next}).then(function (r) {
      if (r.error) { alert(r.error); return; }
      b.dataset.status = r.status; b.textContent = r.status === "available" ? "在线 · 点此离开" : "离开 · 点此上线";
    });
  });
  loadQueue(); setInterval(loadQueue, 3000); setInterval(loadTicket, 3000);
  window.kefuConsole = {api: api, el: el, reasons: reasons, speakers: speakers, current: function () { return current; },
    refresh: function () { loadTicket(); loadQueue(); }};
})();

// Canned replies: search what curators keep, click one to insert it into the reply box at the cursor.
(function (k) {
  var panel = document.getElementById("canned-panel"), q = document.getElementById("canned-q"), list = document.getElementById("canned-list");
  function search() {
    k.api("GET", "/api/agent/canned?q=" + encodeURIComponent(q.value.trim())).then(function (d) {
      list.textContent = "";
      if (!d.replies || !d.replies.length) { list.appendChild(k.el("div", "empty", d.error || "没有匹配的快捷回复")); return; }
      d.replies.forEach(function (r) {
        var row = k.el("div", "canned"); row.appendChild(k.el("b", "", r.title + (r.category ? "（" + r.category + "）" : "")));
        row.appendChild(k.el("div", "body", r.text));
        row.addEventListener("click", function () {
          var box = document.getElementById("text"), at = box.selectionStart || 0;
          box.value = (box.value.slice(0, at) + r.text + box.value.slice(box.selectionEnd || at)).slice(0, 2000);
          box.focus(); panel.classList.remove("open");
        });
        list.appendChild(row);
      });
    });
  }
  document.getElementById("canned-open").addEventListener("click", function () {
    if (panel.classList.toggle("open")) { q.value = ""; search(); q.focus(); }
  });
  q.addEventListener("input", search);
})(window.kefuConsole);

// Transfer: hand the chat this agent holds to another agent who is available.
(function (k) {
  var dialog = document.getElementById("transfer-dialog"), to = document.getElementById("transfer-to"), none = document.getElementById("transfer-none");
  document.getElementById("transfer-open").addEventListener("click", function () {
    if (!k.current()) return;
    k.api("GET", "/api/agent/agents").then(function (d) {
      to.textContent = ""; (d.agents || []).forEach(function (a) { var o = k.el("option", "", a); o.value = a; to.appendChild(o); });
      none.textContent = (d.agents || []).length ? "" : "目前没有其他在线的客服。";
      dialog.showModal();
    });
  });
  document.getElementById("transfer-cancel").addEventListener("click", function () { dialog.close(); });
  document.getElementById("transfer-confirm").addEventListener("click", function () {
    if (!to.value) return;
    k.api("POST", "/api/agent/tickets/" + k.current() + "/transfer", {to: to.value}).then(function (r) {
      if (r.error) alert(r.error); else dialog.close();
      k.refresh();
    });
  });
})(window.kefuConsole);

// History: closed tickets searched by text, agent, dates and reason, a page at a time; opened read-only.
(function (k) {
  var callOutcomes = {reached: "已联系上", no_answer: "无人接听", wrong_number: "号码错误", withdrawn: "客户已取消"};
  var dialog = document.getElementById("history"), form = document.getElementById("history-form"), list = document.getElementById("history-list"), view = document.getElementById("history-view");
  Object.keys(k.reasons).forEach(function (r) { var o = k.el("option", "", k.reasons[r]); o.value = r; form.reason.appendChild(o); });
  function search(page) {
    var params = new URLSearchParams(new FormData(form)); params.set("page", page || 1);
    k.api("GET", "/api/agent/history?" + params.toString()).then(function (d) {
      list.textContent = "";
      if (d.error) { list.appendChild(k.el("div", "empty", d.error)); return; }
      list.appendChild(k.el("div", "meta", "共 " + d.total + " 个会话"));
      d.tickets.forEach(function (t) {
        var row = k.el("div", "hist"); row.appendChild(k.el("div", "", t.question || "(无问题)"));
        row.appendChild(k.el("div", "meta", "#" + t.id + " · " + (k.reasons[t.reason] || t.reason) + " · " + (t.agent || "无坐席") +
          (t.outcome ? " · 回电：" + (callOutcomes[t.outcome] || t.outcome) : "") + " · 结束于 " + t.closed_local));
        row.addEventListener("click", function () {
          Array.prototype.forEach.call(list.querySelectorAll(".hist"), function (x) { x.classList.remove("sel"); });
          row.classList.add("sel"); open(t.id);
        });
        list.appendChild(row);
      });
      if (d.pages > 1) {
        var pager = k.el("div", "meta", "第 " + d.page + " / " + d.pages + " 页 ");
        if (d.page > 1) { var prev = k.el("button", "", "上一页"); prev.type = "button"; prev.addEventListener("click", function () { search(d.page - 1); }); pager.appendChild(prev); }
        if (d.page < d.pages) { var next = k.el("button", "", "下一页"); next.type = "button"; next.addEventListener("click", function () { search(d.page + 1); }); pager.appendChild(next); }
        list.appendChild(pager);
      }
    });
  }
  function open(id) {
    k.api("GET", "/api/agent/tickets/" + id).then(function (d) {
      view.textContent = "";
      if (d.error) { view.appendChild(k.el("div", "empty", d.error)); return; }
      (d.messages || []).forEach(function (m) {
        var row = k.el("div", "m " + m.from); row.appendChild(k.el("div", "who", k.speakers[m.from] || m.from)); row.appendChild(k.el("div", "t", m.text)); view.appendChild(row);
      });
      if ((d.attempts || []).length) {
        view.appendChild(k.el("h4", "", "回电记录"));
        d.attempts.forEach(function (a) {
          view.appendChild(k.el("div", "attempt", a.at_local + " " + a.agent + "：" + (callOutcomes[a.outcome] || a.outcome) +
            (a.next_try_at ? "，下次 " + a.next_try_local : "") + (a.note ? "（" + a.note + "）" : "")));
        });
      }
      view.appendChild(k.el("h4", "", "内部备注"));
      if (!(d.notes || []).length) view.appendChild(k.el("div", "empty", "没有备注"));
      (d.notes || []).forEach(function (n) { view.appendChild(k.el("div", "note", n.author + " · " + n.created_local + "：" + n.text)); });
    });
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); search(1); });
  document.getElementById("history-open").addEventListener("click", function () { dialog.showModal(); search(1); });
  document.getElementById("history-close").addEventListener("click", function () { dialog.close(); });
})(window.kefuConsole);
