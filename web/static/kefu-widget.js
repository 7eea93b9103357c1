/* Kefu chat widget: embed with one tag, <script src="https://HOST/static/kefu-widget.js" defer></script>.
   Renders in a shadow root (the host page's CSS cannot break it); all text goes in via textContent.
   The server opens the conversation on the first message and hands back its id and its key; every later call
   carries the key (header X-Kefu-Key), the only way into the conversation. Both stay in sessionStorage: this
   tab only (a reload and other pages of the site in it see the conversation again; another tab, another
   person on a shared computer after the tab is closed, never), and for at most the keep time
   (widget_keep_minutes) after the last activity. When the chat ends (an agent closes it, or the keep time
   lapses) the server says "ended": the widget forgets the key, still lets the customer rate the closed chat,
   and the next message opens a fresh conversation. lastId is the newest message id shown; every call asks
   for what came after it, so nothing said meanwhile is missed or shown twice. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src).origin : "";
  var store = window.sessionStorage;
  var sessionKey = "kefu-session", keyKey = "kefu-key", untilKey = "kefu-session-until", openKey = "kefu-open";
  var keepMinutes = 30;  // until the server says (the setting widget_keep_minutes)
  var lastId = 0, state = "bot", pollTimer = null, pending = [], askedRating = {};
  var session = store.getItem(sessionKey), key = store.getItem(keyKey), until = Number(store.getItem(untilKey) || 0);
  var returning = !!session && !!key && !(until && Date.now() > until);
  if (!returning) { forget(); store.removeItem(openKey); }

  // No conversation (yet, or any more): the next message opens a fresh one.
  function forget() {
    session = null;
    key = null;
    [sessionKey, keyKey, untilKey].forEach(function (k) { store.removeItem(k); });
  }

  function keep(data) {
    session = data.session;
    key = data.key;
    store.setItem(sessionKey, session);
    store.setItem(keyKey, key);
    touch();
  }

  function touch() {
    if (!session) return;
    // Queued or with an agent the server keeps the conversation however quiet it is: so does the widget.
    if (state === "queued" || state === "agent") store.removeItem(untilKey);
    else store.setItem(untilKey, String(Date.now() + keepMinutes * 60000));
  }

  function headers(withKey) {
    var h = { "Content-Type": "application/json" };
    if (withKey) h["X-Kefu-Key"] = withKey;
    return h;
  }

  function url(path) {
    return base + "/api/chat/" + encodeURIComponent(session) + (path || "");
  }

  var host = document.createElement("div");
  host.id = "kefu-widget";
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    '<style>' +
    ':host{all:initial}*{box-sizing:border-box;font-family:"PingFang SC","Microsoft YaHei",sans-serif}' +
    '.launcher{position:fixed;right:20px;bottom:20px;background:#1677ff;color:#fff;border:0;border-radius:24px;padding:12px 18px;font-size:15px;cursor:pointer;box-shadow:0 4px 12px rgba(0,0,0,.2);z-index:2147483000}' +
    '.panel{position:fixed;right:20px;bottom:80px;width:360px;max-width:calc(100vw - 24px);height:540px;max-height:calc(100vh - 100px);background:#fff;border-radius:12px;box-shadow:0 8px 24px rgba(0,0,0,.2);display:none;flex-direction:column;overflow:hidden;z-index:2147483000}' +
    '.panel.open{display:flex}@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100vh;max-height:100vh;border-radius:0}}' +
    '.head{background:#1677ff;color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}.head b{flex:1;font-size:15px}' +
    '.human{background:#fff;color:#1677ff;border:0;border-radius:14px;padding:5px 10px;font-size:13px;cursor:pointer}.close{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}' +
    '.state{font-size:12px;background:#e6f4ff;color:#0958d9;padding:6px 12px;display:none;align-items:center;gap:8px}.state.show{display:flex}.state span{flex:1}' +
    '.leave{border:1px solid #0958d9;color:#0958d9;background:#fff;border-radius:12px;padding:2px 8px;font-size:12px;cursor:pointer}.leave[hidden]{display:none}' +
    '.rating .stars button{border:0;background:none;font-size:22px;color:#d9d9d9;cursor:pointer;padding:0 2px}.rating .stars button.on{color:#faad14}' +
    '.rating textarea{width:100%;height:48px;margin:6px 0;font-size:13px;resize:none}.rating .send{border:0;background:#1677ff;color:#fff;border-radius:12px;padding:4px 12px;cursor:pointer}.rating .note{font-size:12px;color:#cf1322}' +
    '.log{flex:1;overflow-y:auto;padding:12px;background:#f5f6f8}.msg{margin:8px 0;display:flex;flex-direction:column}.msg.customer{align-items:flex-end}' +
    '.bubble{max-width:85%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;word-break:break-word;font-size:14px;line-height:1.5;background:#fff;color:#222}' +
    '.customer .bubble{background:#1677ff;color:#fff}.agent .bubble{background:#f6ffed;border:1px solid #b7eb8f}.system .bubble{background:#fffbe6;border:1px solid #ffe58f}' +
    '.who{font-size:11px;color:#888;margin:0 4px 2px}.sources{font-size:12px;color:#666;margin-top:4px;max-width:85%}' +
    '.buttons{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px;max-width:85%}.buttons button,.rate button{border:1px solid #1677ff;color:#1677ff;background:#fff;border-radius:14px;padding:4px 10px;font-size:13px;cursor:pointer}' +
    '.related{font-size:12px;color:#666;margin-top:6px}.rate{margin-top:4px;display:flex;gap:6px}.rate button{border-color:#ddd;color:#555}.rate button:disabled,.buttons button:disabled{opacity:.45;cursor:default}' +
    '.typing{font-size:12px;color:#888;padding:0 14px 6px;display:none}.typing.show{display:block}' +
    '.form{display:flex;border-top:1px solid #eee}.form textarea{flex:1;border:0;padding:10px;font-size:14px;resize:none;height:48px;outline:none}.form button{border:0;background:#1677ff;color:#fff;padding:0 16px;font-size:14px;cursor:pointer}' +
    '</style>' +
    '<button class="launcher" aria-label="打开在线客服">💬 在线客服</button>' +
    '<div class="panel" role="dialog" aria-label="在线客服"><div class="head"><b>在线客服</b>' +
    '<button class="human" title="转人工客服">转人工</button><button class="close" aria-label="关闭">×</button></div>' +
    '<div class="state"><span></span><button class="leave" type="button" hidden>取消排队</button></div><div class="log" aria-live="polite"></div><div class="typing">客服正在输入…</div>' +
    '<form class="form"><textarea placeholder="请输入您的问题，按回车发送" maxlength="2000" aria-label="输入消息"></textarea><button type="submit">发送</button></form></div>';

  var $ = function (sel) { return root.querySelector(sel); };
  var log = $(".log"), input = $(".form textarea"), typing = $(".typing"), stateBar = $(".state"), leave = $(".leave");
  var names = { bot: "智能客服", agent: "人工客服", system: "系统", customer: "我" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(node) {
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  // One message as first shown: sources, buttons, 👍/👎 under an answer. A message already shown (its id
  // is not after lastId) is skipped; the customer's own message from the server takes over the bubble shown
  // when they sent it (with the text as stored: masked, a button by its label).
  function render(m) {
    if (m.id && m.id <= lastId) return null;
    if (m.id) lastId = m.id;
    if (m.from === "customer" && m.id && pending.length) {
      var mine = pending.shift();
      mine.querySelector(".bubble").textContent = m.text;
      return mine;
    }
    var wrap = el("div", "msg " + m.from);
    wrap.appendChild(el("div", "who", names[m.from] || m.from));
    wrap.appendChild(el("div", "bubble", m.text));
    // The bot's answers carry their source already: on a line of their own, or first ('关于《…》…：', a follow-up).
    if (m.text.indexOf("来源：") < 0 && m.text.indexOf("\nSource: ") < 0 && m.text.indexOf("关于《") !== 0) {
      (m.sources || []).forEach(function (s) {
        if (!s.title) return;  // a curated answer that rests on no article has no source to show
        wrap.appendChild(el("div", "sources", "来源：《" + (s.title || "") + "》" + [s.section, s.clause].filter(Boolean).join(" · ")));
      });
    }
    if (m.buttons && m.buttons.length) {
      // Under an answer, the places that came close are offered apart, under a heading of their own.
      var answered = !!(m.sources && m.sources.length);
      var isRelated = function (b) { return answered && String(b.payload || "").indexOf("/choose_candidate") === 0; };
      [m.buttons.filter(function (b) { return !isRelated(b); }), m.buttons.filter(isRelated)].forEach(function (group, i) {
        if (!group.length) return;
        if (i === 1) wrap.appendChild(el("div", "related", "您可能还想了解："));
        var bar = el("div", "buttons");
        group.forEach(function (b) {
          var btn = el("button", "", b.title);
          btn.type = "button";
          btn.title = b.title;
          btn.addEventListener("click", function () { send(null, b.payload, b.title); });
          bar.appendChild(btn);
        });
        wrap.appendChild(bar);
      });
    }
    if (m.from === "bot" && m.sources && m.sources.length) {
      var rate = el("div", "rate");
      [["👍", "/feedback_helpful"], ["👎", "/feedback_unhelpful"]].forEach(function (pair) {
        var btn = el("button", "", pair[0]);
        btn.type = "button";
        btn.setAttribute("aria-label", pair[0] === "👍" ? "有帮助" : "没帮助");
        btn.addEventListener("click", function () {
          rate.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          var src = m.sources[0], ref = src.ref || (src.kind && src.id ? src.kind + ":" + src.id : "");  // a HitRecord
          send(null, pair[1] + (ref ? '{"ref":"' + ref + '"}' : ""), pair[0]);
        });
        rate.appendChild(btn);
      });
      wrap.appendChild(rate);
    }
    if (m.from !== "customer") {  // quick replies answer the latest message only: older ones no longer apply
      log.querySelectorAll(".buttons button").forEach(function (b) { b.disabled = true; });
    }
    return show(wrap);
  }

  function setState(s) {
    state = s;
    var text = { queued: "正在为您转接人工客服，请稍候…", agent: "人工客服已接入", closed: "人工服务已结束，智能客服继续为您服务" }[s];
    stateBar.querySelector("span").textContent = text || "";
    stateBar.classList.toggle("show", !!text);
    leave.hidden = s !== "queued";
    var held = s === "queued" || s === "agent";  // someone will write: poll for it
    if (held && !pollTimer) pollTimer = setInterval(poll, 2000);
    if (!held && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  // What a call answered: the messages after lastId, the state, a chat to rate; the conversation is kept
  // alive, or forgotten once the server says it has ended (the chat to rate keeps its own key).
  function take(data) {
    if (data.key) keep(data);
    (data.messages || []).forEach(render);
    if (typeof data.keep_minutes === "number") keepMinutes = data.keep_minutes;
    if (data.state) setState(data.state);
    if (data.rating !== undefined) askRating(data.rating);
    if (data.ended) forget();
    touch();
  }

  // The conversation a returning visitor left in this tab, unless it has ended (then a fresh one).
  function load() {
    if (!returning) return Promise.resolve();
    return fetch(url(), { headers: headers(key) })
      .then(function (r) {
        if (r.status === 404) forget();  // not this key's any more: start afresh
        return r.ok ? r.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        if (typeof data.keep_minutes === "number") keepMinutes = data.keep_minutes;
        if (data.ended) { if (data.rating) askRating(data.rating); forget(); return; }
        take(data);
        if (store.getItem(openKey)) openPanel();
      })
      .catch(function () {});
  }

  // POST /api/chat: with the conversation's key, or none to open one; a 404 means the conversation ended
  // meanwhile (an agent closed it, the keep time lapsed): the message opens a fresh one instead.
  function post(body, retried) {
    var sent = Object.assign({}, body);
    if (session) sent.session = session;
    return fetch(base + "/api/chat", { method: "POST", headers: headers(session && key), body: JSON.stringify(sent) })
      .then(function (r) {
        if (r.status === 404 && session && !retried) { forget(); return post(body, true); }
        return r.json();
      });
  }

  function send(text, payload, label) {
    ready.then(function () {
      var mine = render({ from: "customer", text: label || text });
      pending.push(mine);
      typing.classList.add("show");
      var body = { after: lastId };
      if (payload) { body.payload = payload; if (label) body.label = label; } else body.text = text;
      post(body)
        .then(function (data) {
          if (data.error) render({ from: "system", text: data.error });
          take(data);
        })
        .catch(function () {
          render({ from: "system", text: "网络异常，请稍后重试，或点击右上角「转人工」。" });
        })
        .then(function () {
          pending = pending.filter(function (n) { return n !== mine; });  // not stored (refused): nothing takes it over
          typing.classList.remove("show");
        });
    });
  }

  function poll() {
    if (!session) return;
    fetch(url("/messages?after=" + lastId), { headers: headers(key) })
      .then(function (r) {
        if (r.status === 404) { forget(); setState("bot"); }  // the key opens nothing any more: stop asking
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) take(data); })
      .catch(function () {});
  }

  // After an agent closed the chat: 1-5 stars and a comment, once per chat (again after a reload until answered).
  // The closed chat's key rates it, though the widget has forgotten that conversation by the time it is sent.
  function askRating(due) {
    if (!due || askedRating[due.ticket]) return;
    askedRating[due.ticket] = true;
    var rateSession = session, rateKey = key;
    var wrap = el("div", "msg system rating"), box = el("div", "bubble"), score = 0;
    wrap.appendChild(el("div", "who", names.system));
    box.appendChild(el("div", "", "请为本次人工服务评分："));
    var stars = el("div", "stars");
    [1, 2, 3, 4, 5].forEach(function (n) {
      var star = el("button", "", "★");
      star.type = "button";
      star.setAttribute("aria-label", n + " 分");
      star.addEventListener("click", function () {
        score = n;
        stars.querySelectorAll("button").forEach(function (b, i) { b.classList.toggle("on", i < n); });
      });
      stars.appendChild(star);
    });
    var comment = el("textarea");
    comment.maxLength = 500;
    comment.placeholder = "还有什么想告诉我们的？（选填）";
    var submit = el("button", "send", "提交评价"), note = el("div", "note");
    submit.type = "button";
    submit.addEventListener("click", function () {
      if (!score) { note.textContent = "请先选择分数"; return; }
      submit.disabled = true;
      var body = { session: rateSession, ticket: due.ticket, score: score, comment: comment.value.trim() };
      fetch(base + "/api/chat/rating", { method: "POST", headers: headers(rateKey), body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (d) { return [r.status, d]; }); })
        .then(function (answer) {
          if (answer[0] === 200 || answer[0] === 409) {
            box.textContent = answer[0] === 200 ? "感谢您的评价！" : "您已经评价过本次服务，谢谢！";
            return;
          }
          note.textContent = answer[0] === 429 ? answer[1].error : "提交没有成功，请稍后再试。";
          submit.disabled = false;
        })
        .catch(function () { note.textContent = "网络异常，请稍后再试。"; submit.disabled = false; });
    });
    [stars, comment, submit, note].forEach(function (n) { box.appendChild(n); });
    wrap.appendChild(box);
    show(wrap);
  }

  function openPanel() {
    $(".panel").classList.add("open");
    store.setItem(openKey, "1");  // open on the next page too
    log.scrollTop = log.scrollHeight;  // the latest message in view (a hidden log cannot scroll while it fills)
  }

  render({ from: "bot", text: "您好，我是智能客服，请问有什么可以帮您？人工客服随时可以点「转人工」。" });
  var ready = load();

  $(".launcher").addEventListener("click", function () {
    if ($(".panel").classList.contains("open")) { $(".panel").classList.remove("open"); store.removeItem(openKey); }
    else { openPanel(); input.focus(); }
  });
  $(".close").addEventListener("click", function () { $(".panel").classList.remove("open"); store.removeItem(openKey); });
  $(".human").addEventListener("click", function () { send(null, "/request_human", "转人工"); });
  leave.addEventListener("click", function () {
    leave.disabled = true;
    fetch(url("/leave"), { method: "POST", headers: headers(key), body: JSON.stringify({ after: lastId }) })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.error) render({ from: "system", text: "取消排队没有成功，请稍后再试。" });
        take(data);
      })
      .catch(function () { render({ from: "system", text: "网络异常，请稍后重试。" }); })
      .then(function () { leave.disabled = false; });
  });
  $("form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("form").requestSubmit(); }
  });
})();
