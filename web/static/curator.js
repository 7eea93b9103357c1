// The curator's gap groups: write a Q&A entry, attach to one, add a synonym, dismiss.
(function () {
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var articleOptions = document.getElementById("articles").innerHTML;  // server-rendered, escaped by Jinja
  var reasons = {abstain: "未答出", nlu_fallback: "没听懂", out_of_scope: "超出范围", negative_feedback: "差评",
                 handoff_failure: "转人工失败", agent_answer: "坐席的回答"};
  function api(method, url, body) {
    return fetch(url, {method: method, headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: body ? JSON.stringify(body) : undefined}).then(function (r) { return r.json(); });
  }
  function el(tag, cls, text) { var n = document.createElement(tag); if (cls) n.className = cls; if (text !== undefined) n.textContent = text; return n; }
  function field(form, label, name, value, tag) {
    form.appendChild(el("label", "", label));
    var input = document.createElement(tag || "input"); input.name = name; input.value = value || ""; form.appendChild(input); return input;
  }
  function load() {
    api("GET", "/api/curator/gaps").then(function (data) {
      var box = document.getElementById("groups"); box.textContent = "";
      if (!data.groups || !data.groups.length) { box.appendChild(el("div", "empty", "没有待处理的知识缺口。")); return; }
      data.groups.forEach(function (g) {
        var d = el("div", "group"), head = el("div", "");
        head.appendChild(el("b", "", g.question + " ")); head.appendChild(el("span", "count", g.count + " 次"));
        var change = g.last_7 - g.previous_7;
        head.appendChild(el("span", "trend " + (change > 0 ? "up" : change < 0 ? "down" : ""),
          "近7天 " + g.last_7 + " 次" + (change > 0 ? " ↑" + change : change < 0 ? " ↓" + (-change) : " 持平")));
        var spark = el("span", "spark"), peak = Math.max.apply(null, g.trend.concat([1]));
        spark.title = "近14天每日次数：" + g.trend.join(",");
        g.trend.forEach(function (n) { var bar = el("i", ""); bar.style.height = (1 + Math.round(n / peak * 15)) + "px"; spark.appendChild(bar); });
        head.appendChild(spark);
        d.appendChild(head);
        d.appendChild(el("div", "meta", "首次 " + g.first_seen_local + " · 最近 " + g.last_seen_local + " · " + g.conversation_count + " 个会话 · " + g.reasons.map(function (r) { return reasons[r] || r; }).join("/")));
        d.appendChild(el("div", "qs", "问法：" + g.questions.join(" ｜ ")));
        var write = el("button", "", "写成问答"), asArticle = el("a", "", "写成文章"), attach = el("button", "", "并入已有问答"), dismiss = el("button", "", "忽略");
        var synonym = el("button", "", "加同义词");
        synonym.title = "客户的说法和文档里的说法不一样时，加一条同义词，以后同样的问法就能找到条文";
        asArticle.href = "/curator/kb/article/new?gaps=" + g.gap_ids.join(","); asArticle.style.margin = "0 8px";
        d.appendChild(write); d.appendChild(asArticle); d.appendChild(attach); d.appendChild(synonym); d.appendChild(dismiss);
        synonym.addEventListener("click", function () {
          var word = prompt("客户问题「" + g.question + "」里，文档不用的那个说法是："); if (!word) return;
          var formal = prompt("文档里对「" + word.trim() + "」的说法，多个用逗号分隔："); if (!formal) return;
          api("POST", "/api/curator/lexicon", {colloquial: word.trim(), formal: formal, question: g.question}).then(function (r) {
            if (r.error) { alert(r.error); return; }
            // say what changed, and what the bot now does with the gap's question
            var said = r.new.length ? "已加入同义词：" + word.trim() + " → " + r.new.join("、") + "，立即生效。"
              : "「" + word.trim() + "」已有这些同义词，同义词表没有变化。";
            if (r.now) said += r.now.answers ? "\n现在这个问题会回答，引用 " + r.now.cited + "。"
              : "\n现在这个问题仍然不会回答（同义词只帮助找到条文，不保证有把握回答）。可以在「命中测试」里看原因，或把它写成问答。";
            alert(said);
          });
        });
        // Attaching: pick the entry by its question (the ones the bot finds for the gap first), not by an id.
        var picker = el("div", "attach"), find = el("input"), choices = el("div", "choices");
        find.placeholder = "按问题查找问答条目，回车"; find.value = g.question; find.maxLength = 300;
        picker.appendChild(el("label", "", "并入哪个问答条目（点选）：")); picker.appendChild(find); picker.appendChild(choices);
        var asked = 0;  // only the latest search's entries are shown (an earlier answer may arrive later)
        function listChoices() {
          var mine = ++asked;
          choices.textContent = "";
          api("GET", "/api/curator/faqs?q=" + encodeURIComponent(find.value)).then(function (r) {
            if (mine !== asked) return;
            if (!r.entries || !r.entries.length) { choices.appendChild(el("div", "meta", "没有找到问答条目，换个说法试试，或写成新问答。")); return; }
            r.entries.forEach(function (e) {
              var pick = el("button", "choice", "问：" + e.question); pick.type = "button"; pick.title = "答：" + e.answer;
              pick.addEventListener("click", function () {
                var taken = g.alike_questions || g.questions;  // the others of the group stay open
                if (!confirm("把 " + taken.length + " 个问法并入「" + e.question + "」？\n" + taken.join("\n"))) return;
                api("POST", "/api/curator/gaps/attach", {gap_ids: g.alike_ids || g.gap_ids, faq_id: e.id}).then(function (res) {
                  if (res.error) { alert(res.error); return; }
                  var said = res.added.length ? "已并入 " + res.added.length + " 个问法。" : "这些问法条目里已有。";
                  if (res.now) said += res.now.answers ? "\n现在这个问题会回答，引用 " + res.now.cited + "。"
                    : "\n现在这个问题仍然不会回答。可以在「命中测试」里看原因。";
                  alert(said); load();
                });
              });
              choices.appendChild(pick);
            });
          });
        }
        find.addEventListener("keydown", function (e) { if (e.key === "Enter" && !e.isComposing) { e.preventDefault(); listChoices(); } });
        attach.addEventListener("click", function () { picker.classList.toggle("open"); if (picker.classList.contains("open")) listChoices(); });
        d.appendChild(picker);
        var form = el("form", "faq");
        var q = field(form, "标准问题", "question", g.question);
        // Only the questions that mean the group's question are offered as its other phrasings; the rest of the
        // group shares its subject, not always its question (they stay open, for an answer of their own).
        var alike = g.alike_questions || [g.question], others = g.questions.filter(function (x) { return alike.indexOf(x) < 0; });
        var alts = field(form, "其他问法（每行一个）", "alternatives", alike.filter(function (x) { return x !== g.question; }).join("\n"), "textarea");
        if (others.length) form.appendChild(el("div", "meta hint", "同组里这些问法意思可能不同，未填入、也不会随本条关闭：" + others.join(" ｜ ")));
        var fromAgent = g.reasons.indexOf("agent_answer") >= 0 && g.best_hit ? g.best_hit.snippet : "";
        var answer = field(form, "答案", "answer", fromAgent, "textarea");
        form.appendChild(el("label", "", "依据文章（不选则回答不带来源）"));
        // No article unless the curator picks one: the bot's closest hit for an unanswered question is a guess,
        // and citing it would put a false 来源 under the answer. It is shown as a hint to pick by hand.
        var article = document.createElement("select"); article.name = "article"; article.innerHTML = articleOptions; form.appendChild(article);
        article.value = "";
        var hint = g.best_hit && g.best_hit.article_id ? g.best_hit : null;
        if (hint) form.appendChild(el("div", "meta hint", "机器人找到的最接近的条文：《" + hint.title + "》" + [hint.section, hint.clause].filter(Boolean).join(" · ") + "（仅供参考，答案确实依据它时再选）"));
        var section = field(form, "章节", "section", "");
        var clause = field(form, "条款号", "clause", "");
        var save = el("button", "", "保存并生效"); save.type = "submit"; form.appendChild(save);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          api("POST", "/api/curator/gaps/faq", {gap_ids: g.alike_ids || g.gap_ids, question: q.value, answer: answer.value, article: article.value,
            section: section.value, clause: clause.value, alternatives: alts.value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean)})
            .then(function (r) { if (r.error) alert(r.error); else load(); });
        });
        write.addEventListener("click", function () { form.classList.toggle("open"); });
        dismiss.addEventListener("click", function () {
          var reason = prompt("忽略的原因："); if (!reason) return;
          api("POST", "/api/curator/gaps/dismiss", {gap_ids: g.gap_ids, reason: reason}).then(load);
        });
        d.appendChild(form); box.appendChild(d);
      });
    });
  }
  load();
})();
