/* Kefu chat widget: embed with one tag, <script src="https://HOST/static/kefu-widget.js" defer></script>.
   Renders in a shadow root (the host page's CSS cannot break it); all text goes in via textContent. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src).origin : "";
  var key = "kefu-session";
  var session = localStorage.getItem(key);
  if (!session) {
    session = "w" + Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
    localStorage.setItem(key, session);
  }
  var lastId = 0, state = "bot", pollTimer = null;

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
    '.state{font-size:12px;background:#e6f4ff;color:#0958d9;padding:6px 12px;display:none}.state.show{display:block}' +
    '.log{flex:1;overflow-y:auto;padding:12px;background:#f5f6f8}.msg{margin:8px 0;display:flex;flex-direction:column}.msg.customer{align-items:flex-end}' +
    '.bubble{max-width:85%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;word-break:break-word;font-size:14px;line-height:1.5;background:#fff;color:#222}' +
    '.customer .bubble{background:#1677ff;color:#fff}.agent .bubble{background:#f6ffed;border:1px solid #b7eb8f}.system .bubble{background:#fffbe6;border:1px solid #ffe58f}' +
    '.who{font-size:11px;color:#888;margin:0 4px 2px}.sources{font-size:12px;color:#666;margin-top:4px;max-width:85%}' +
    '.buttons{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px;max-width:85%}.buttons button,.rate button{border:1px solid #1677ff;color:#1677ff;background:#fff;border-radius:14px;padding:4px 10px;font-size:13px;cursor:pointer}' +
    '.rate{margin-top:4px;display:flex;gap:6px}.rate button{border-color:#ddd;color:#555}.rate button:disabled{opacity:.5;cursor:default}' +
    '.typing{font-size:12px;color:#888;padding:0 14px 6px;display:none}.typing.show{display:block}' +
    '.form{display:flex;border-top:1px solid #eee}.form textarea{flex:1;border:0;padding:10px;font-size:14px;resize:none;height:48px;outline:none}.form button{border:0;background:#1677ff;color:#fff;padding:0 16px;font-size:14px;cursor:pointer}' +
    '</style>' +
    '<button class="launcher" aria-label="打开在线客服">💬 在线客服</button>' +
    '<div class="panel" role="dialog" aria-label="在线客服"><div class="head"><b>在线客服</b>' +
    '<button class="human" title="转人工客服">转人工</button><button class="close" aria-label="关闭">×</button></div>' +
    '<div class="state"></div><div class="log" aria-live="polite"></div><div class="typing">客服正在输入…</div>' +
    '<form class="form"><textarea placeholder="请输入您的问题，按回车发送" maxlength="2000" aria-label="输入消息"></textarea><button type="submit">发送</button></form></div>';

  var $ = function (sel) { return root.querySelector(sel); };
  var log = $(".log"), input = $("textarea"), typing = $(".typing"), stateBar = $(".state");
  var names = { bot: "智能客服", agent: "人工客服", system: "系统", customer: "我" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(m) {
    if (m.id && m.id <= lastId) return;
    if (m.id) lastId = m.id;
    var wrap = el("div", "msg " + m.from);
    wrap.appendChild(el("div", "who", names[m.from] || m.from));
    wrap.appendChild(el("div", "bubble", m.text));
    if (m.text.indexOf("来源：") < 0 && m.text.indexOf("\nSource: ") < 0) {  // the bot's answers carry their source line already
      (m.sources || []).forEach(function (s) {
        if (!s.title) return;  // a curated answer that rests on no article has no source to show
        wrap.appendChild(el("div", "sources", "来源：《" + (s.title || "") + "》" + [s.section, s.clause].filter(Boolean).join(" · ")));
      });
    }
    if (m.buttons && m.buttons.length) {
      var bar = el("div", "buttons");
      m.buttons.forEach(function (b) {
        var btn = el("button", "", b.title);
        btn.type = "button";
        btn.addEventListener("click", function () { send(null, b.payload, b.title); });
        bar.appendChild(btn);
      });
      wrap.appendChild(bar);
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
    log.appendChild(wrap);
    log.scrollTop = log.scrollHeight;
  }

  function setState(s) {
    state = s;
    var text = { queued: "正在为您转接人工客服，请稍候…", agent: "人工客服已接入", closed: "人工服务已结束，智能客服继续为您服务" }[s];
    stateBar.textContent = text || "";
    stateBar.classList.toggle("show", !!text);
    if ((s === "queued" || s === "agent") && !pollTimer) pollTimer = setInterval(poll, 2000);
    if (s === "bot" && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function send(text, payload, label) {
    render({ from: "customer", text: label || text });
    typing.classList.add("show");
    var body = { session: session };
    if (payload) body.payload = payload; else body.text = text;
    fetch(base + "/api/chat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        (data.messages || []).forEach(render);
        if (data.error) render({ from: "system", text: data.error });
        if (data.state) setState(data.state);
      })
      .catch(function () {
        render({ from: "system", text: "网络异常，请稍后重试，或点击右上角「转人工」。" });
      })
      .then(function () { typing.classList.remove("show"); });
  }

  function poll() {
    fetch(base + "/api/chat/" + encodeURIComponent(session) + "/messages?after=" + lastId)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        (data.messages || []).forEach(render);
        setState(data.state);
      })
      .catch(function () {});
  }

  $(".launcher").addEventListener("click", function () {
    $(".panel").classList.toggle("open");
    if (!log.childNodes.length) render({ from: "bot", text: "您好，我是智能客服，请问有什么可以帮您？人工客服随时可以点「转人工」。" });
    input.focus();
  });
  $(".close").addEventListener("click", function () { $(".panel").classList.remove("open"); });
  $(".human").addEventListener("click", function () { send(null, "/request_human", "转人工"); });
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
