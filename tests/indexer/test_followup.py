"""Follow-up questions: reading a message in its conversation (indexer.followup), lists and items in replies
(indexer.replies), and `kefu eval --conversations` (indexer.evaluate). Pure functions with plain data, then the
shipped knowledge base indexed for real."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from indexer.decision import Decision
from indexer.evaluate import EvalDataError, evaluate_conversations, load_conversations
from indexer.followup import Topic, converse, cue, key_terms, named_clause, named_item
from indexer.hits import Hit, SearchResult
from indexer.replies import SHOW_ALL, answer_body, reply_for, whole_text

CLAUSES = ["第一条", "第二条", "第十五条", "第十六条", "第十七条", "第十八条"]
DOTTED = ["3.1", "3.2", "3.2.1", "3.2.2", "3.2.3", "3.3", "4.1"]


def test_cues_tell_a_follow_up_from_a_question_of_its_own():
    assert cue("那B呢") == "strong" and cue("为什么？") == "strong" and cue("这个要多久") == "strong"
    assert cue("要带哪些材料") == "weak" and cue("那过期了怎么办呢") == "weak"
    assert cue("信用卡丢了以后应该打哪个电话挂失") == ""


def test_a_pronoun_or_a_why_leans_on_the_last_answer_and_a_new_subject_opener_does_not():
    assert cue("那他搬走之前要交接什么") == "strong"  # he: whoever the last answer was about
    assert cue("那一节讲了什么内容") == "strong"
    assert cue("其他部门的员工也要参加吗") == ""  # 其他 is not a pronoun, nor 其它, 吉他, 挪作他用
    assert cue("其它部门的员工也要参加培训吗") == cue("带着吉他的乘客进站要买票吗") == cue("押金能不能挪作他用啊") == ""
    assert cue("对了") == "" and cue("另外问一下，") == ""  # an opener alone asks nothing of the last answer
    assert cue("为啥要留余量，满负荷运转不行吗") == "weak"  # a long why still asks about the last answer
    # '那种' after an opener that changes the subject points at nothing said before
    assert cue("另外问一下，你们营业厅周末开门吗？那种小的网点也开吗") == ""


def test_the_next_or_previous_item_of_a_list_leans_on_the_last_answer():
    assert cue("下一项呢") == cue("那上一种是什么") == cue("下一题选什么") == "strong"
    assert cue("下个月店搬走了卡还能用吗") == ""  # 下个月 is a date, not the next item


@pytest.mark.parametrize(
    "message, clause, clauses, expected",
    [
        ("下一条呢", "第十七条", CLAUSES, "第十八条"),
        ("上一条说的啥", "第十七条", CLAUSES, "第十六条"),
        ("那第十五条呢", "第十七条", CLAUSES, "第十五条"),
        ("第15条讲什么", "第十七条", CLAUSES, "第十五条"),
        ("第二条呢", "第十七条", CLAUSES, "第二条"),
        ("下一条", "第十八条", CLAUSES, None),  # the article's last clause: nothing after it
        ("下一条", "3.2.1", DOTTED, "3.2.2"),  # the next sibling, not the next number in reading order
        ("下一条", "3.2", DOTTED, "3.3"),
        ("上一条", "3.2.2", DOTTED, "3.2.1"),
        ("那第3条呢", "3.2.1", DOTTED, "3.2.3"),
        ("3.3 是什么", "3.2.1", DOTTED, "3.3"),
        ("第九十九条呢", "第十七条", CLAUSES, None),
        ("下一条呢", "第十七条", [], None),
    ],
)
def test_a_named_clause_is_found_in_the_cited_articles_numbering(message, clause, clauses, expected):
    assert named_clause(message, Topic("a", clause=clause), clauses) == expected


def test_a_numbered_item_is_found_in_the_cited_section_when_the_article_has_no_clauses():
    items = [("一、单选", 1, 10), ("一、单选", 2, 10), ("一、单选", 3, 11), ("二、多选", 1, 12), ("二、多选", 2, 12)]
    here = Topic("quiz", "题库", "一、单选", "第2项")
    assert named_item("下一题呢", here, items) == (3, 11)
    assert named_item("那上一道呢", here, items) == (1, 10) and named_item("下一条", here, items) == (3, 11)
    assert named_item("第三题选什么", here, items) == (3, 11)  # the Nth of the cited section, not of another
    assert named_item("下一题", Topic("quiz", "题库", "一、单选", "第3项"), items) is None  # the section's last
    assert named_item("下一题", Topic("quiz", "题库", "一、单选", ""), items) is None  # no item was cited
    assert named_item("运营管理是什么", here, items) is None


def test_a_clock_time_stays_a_search_word():
    from indexer.lexical import Tokenizer

    assert "一点" in Tokenizer().tokens("营业厅下午一点开门吗")  # not a stopword: 一点 is also 1 p.m.


def test_key_terms_keep_the_subject_and_let_an_item_replace_an_item():
    assert key_terms(["预付卡"], ()) == ("预付卡",)
    assert key_terms(["材料"], ("预付卡",)) == ("预付卡", "材料")
    assert key_terms(["raci", "a"], ()) == ("raci",)  # 'A' is an item: the next one ('C 呢') replaces it
    assert len(key_terms([f"词{i}" for i in range(10)], ("甲", "乙", "丙", "丁"))) == 6


def test_a_topic_survives_the_slots_and_nonsense_in_them_is_no_topic():
    topic = Topic("company-service-policy", "营运公司服务管理制度", "第六章", "第十七条", "passage:3", ("考核",))
    assert Topic.from_slots(topic.slots()) == topic
    assert not Topic.from_slots({"topic_article": 5, "topic_terms": "考核"})
    assert not Topic.from_slots({}) and all(v is None for v in Topic.cleared().values())


def hit(text: str, kind: str = "passage", lead: str = "", snippet: str = "") -> Hit:
    return Hit(kind, "1", "doc", "某规定", "第三章", None, text, snippet or text[:40], [], 1.0, 0.9, 1.0, lead=lead)


LIST = "第三十一条 在轨道交通设施范围内禁止下列行为：\n" + "\n".join(
    f"（{n}）禁止的第{n}种行为，这一项写得比较长一些以便超出气泡长度；" for n in "一二三四五六七八九十"
)


def answering(h: Hit, query: str) -> SearchResult:
    return SearchResult(query, [h], Decision(True, 0.9, "test"))


def test_a_which_question_gets_the_list_with_its_lead_trimmed_with_a_show_all_button():
    snippet = "（三）禁止的第三种行为，这一项写得比较长一些以便超出气泡长度；"
    reply = reply_for("地铁里哪些行为是不允许的", answering(hit(LIST, snippet=snippet), "地铁里哪些行为是不允许的"))
    body = reply.body
    assert body.startswith("第三十一条 在轨道交通设施范围内禁止下列行为：") and "（一）" in body and "（三）" in body
    assert body.endswith("……") and "（十）" not in body  # trimmed at a whole item
    assert reply.buttons[0] == {"title": SHOW_ALL, "payload": '/show_all{"ref":"passage:1"}'}
    # The same passage asked about one thing: no list, no button.
    single = reply_for("地铁里能不能吃东西", answering(hit(LIST, snippet=snippet), "地铁里能不能吃东西"))
    assert not single.buttons and "（一）" not in single.body
    # asked about one thing and shown the item it names under the list's lead, with '……' for the rest: the
    # rest is a button away
    picked = "第三十一条 在轨道交通设施范围内禁止下列行为：\n……\n（九）禁止的第九种行为；\n……"
    one = reply_for("地铁里能做第九种吗", answering(hit(LIST, snippet=picked), "地铁里能做第九种吗"))
    assert one.body.endswith("……") and one.buttons[0]["title"] == SHOW_ALL


def test_a_later_part_of_a_long_clause_is_not_read_as_the_list_its_lead_announces():
    lead = "第七十六条 物业服务人应当自接到通知之日起三十日内履行下列交接义务，并且退出物业管理区域："
    later = "原物业服务人应当在办理交接至退出物业管理区域期间，维持正常的物业管理秩序。"
    body = answer_body(hit(later, lead=lead), "老物业赖着不走怎么办")
    assert body == f"{lead}\n……\n{later}"  # something was left out between them: the list
    items = "（一）移交物业共用部分；\n（二）结清预收、代收的有关费用。"
    assert answer_body(hit(items, lead=lead), "要交接什么") == f"{lead}\n{items}"  # the list itself follows on
    assert whole_text(hit(later, lead=lead)).startswith(f"{lead}\n……\n{later}")  # 查看全部 the same
    plain = "第十二条 业主大会会议可以采用集体讨论的形式。"
    assert answer_body(hit("也可以采用书面征求意见的形式。", lead=plain), "怎么开会") == (
        f"{plain}\n也可以采用书面征求意见的形式。"
    )


def test_a_short_list_is_shown_whole_without_a_button():
    text = "第二十一条 建设单位应当移交下列资料：\n（一）竣工总平面图；\n（二）设备的安装说明书；\n（三）物业质量保修文件。"
    reply = reply_for("要移交哪些资料", answering(hit(text, snippet="（二）设备的安装说明书；"), "要移交哪些资料"))
    assert "（一）竣工总平面图" in reply.body and "（三）物业质量保修文件" in reply.body and not reply.buttons


def test_an_item_named_by_its_letter_gets_its_own_sentence():
    faq = hit(
        "RACI模型用来描述角色和职责：负责人（Responsible）负责执行任务，批准人（Accountable）对任务负全责，"
        "咨询到的人（Consulted）提供意见。",
        kind="faq",
    )
    assert answer_body(faq, "RACI 里 C 代表什么") == "咨询到的人（Consulted）提供意见。"
    lines = hit("负责人(Responsible):负责执行任务的角色。\n批准人(Accountable):对任务负全责的角色。只有一个人负责。")
    assert answer_body(lines, "那A呢") == "批准人(Accountable):对任务负全责的角色。只有一个人负责。"
    assert answer_body(faq, "5G 套餐怎么办") == faq.text  # a letter after a digit names no item


def test_a_follow_up_reply_says_what_was_understood_and_its_body_is_the_answer():
    h = hit("第十八条 对优秀员工给予奖励。")
    reply = reply_for("下一条呢", answering(h, "下一条呢"), followed=True)
    assert reply.text.startswith("关于《某规定》第三章：\n") and reply.body == "第十八条 对优秀员工给予奖励。"
    assert "来源" not in reply.text
    # a heading set with a run of spaces, as documents set them, is cited with one
    spaced = replace(h, section="第三章  经营者的义务")
    assert reply_for("运费谁出", answering(spaced, "运费谁出")).text.endswith("来源：《某规定》第三章 经营者的义务")


def test_conversation_files_are_read_and_malformed_ones_named(tmp_path):
    good = tmp_path / "c.jsonl"
    good.write_text(
        json.dumps({"turns": ["a", "b"], "expect": ["x"], "doc": "d"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"turns": ["a", "c"], "expect": None, "new_subject": True})
        + "\n",
        encoding="utf-8",
    )
    [first, second] = load_conversations(good)
    assert first.turns == ("a", "b") and first.domain == "d" and second.new_subject and second.expect is None
    for bad in ('{"turns": [], "expect": null}', '{"turns": ["a"], "expect": "x"}', "not json", '{"turns": [1]}'):
        (tmp_path / "bad.jsonl").write_text(bad + "\n", encoding="utf-8")
        with pytest.raises(EvalDataError, match=r"bad\.jsonl:1"):
            load_conversations(tmp_path / "bad.jsonl")


# --- the shipped knowledge base, indexed for real -------------------------------------------------------------


@pytest.fixture(scope="module")
def retriever(real_kb_settings):
    from indexer.encoder import Encoder
    from indexer.retriever import Retriever
    from kb.database import Database
    from kb.store import Store

    store = Store(Database.open(real_kb_settings.database))
    return Retriever.load(store, Encoder.all_from_settings(real_kb_settings), real_kb_settings)


def play(retriever, *turns: str):
    topic, replies = Topic(), []
    for text in turns:
        reply, turn, topic = converse(text, topic, retriever)
        replies.append((reply, turn))
    return replies, topic


@pytest.mark.slow
def test_next_and_numbered_clauses_follow_the_cited_article(retriever):
    replies, topic = play(retriever, "考核不合格的员工会被怎么处理", "下一条呢", "那第十五条讲的什么")
    first, nxt, fifteenth = (r for r, _ in replies)
    assert "进行培训或调整岗位" in first.body and "第十七条" in first.text
    assert "对优秀员工给予奖励" in nxt.body and nxt.text.startswith("关于《营运公司服务管理制度》")
    # the 关于 line names the clause; the body does not say it a second time
    assert nxt.text.split("\n", 1)[0].endswith("第十八条：") and not nxt.body.startswith("第十八条")
    assert "服务监督部门" in fifteenth.body and topic.clause == "第十五条"


@pytest.mark.slow
@pytest.mark.parametrize("message", ["下一条", "上一条讲的是什么", "为什么？", "那为啥呢", "然后呢"])
def test_a_message_that_only_points_back_with_nothing_before_it_asks_what_is_wanted(retriever, message):
    [(reply, _)], topic = play(retriever, message)
    assert reply.kind == "prompt" and not reply.buttons and not topic.article_id
    # after an answer the same words follow it
    replies, _ = play(retriever, "考核不合格的员工会被怎么处理", message)
    assert replies[1][0].kind != "prompt"


@pytest.mark.slow
def test_a_follow_up_ranks_the_passage_just_answered_from_first_within_the_topic(retriever):
    replies, _ = play(retriever, "在线医疗平台搭建方案里功能模块设计是第几章？", "都有哪些模块")
    (first, _), (reply, turn) = replies
    assert "第四章 功能模块设计" in first.body
    # the modules are the chapter just cited, not the architecture chapter's '3.3 模块划分'
    assert turn.how == "with_topic" and "4.2 在线问诊" in reply.body and "3.3 模块划分" not in reply.body


@pytest.mark.slow
def test_an_item_alone_is_read_with_the_model_just_explained(retriever):
    replies, _ = play(retriever, "RACI模型是什么意思", "那C呢")
    (_, _), (reply, turn) = replies
    assert turn.how == "with_topic" and "咨询到的人" in reply.body and "负责人" not in reply.body
    alone, _ = play(retriever, "那C呢")  # without the conversation it is not about RACI
    assert "咨询到的人" not in alone[0][0].body


@pytest.mark.slow
def test_a_new_subject_introduced_with_a_cue_word_is_not_dragged_back(retriever):
    replies, topic = play(retriever, "考核不合格的员工会被怎么处理", "还有，客服热线是24小时的吗")
    reply, turn = replies[1]
    assert turn.how == "alone" and "7*24 小时" in reply.body and topic.article_id == "bank-call-centre-standard"


@pytest.mark.slow
def test_kefu_eval_plays_conversations_through_the_bots_code_path(retriever, tmp_path):
    path = tmp_path / "conv.jsonl"
    rows = [
        {"turns": ["考核不合格的员工会被怎么处理", "下一条呢"], "expect": ["对优秀员工给予奖励"]},
        {
            "turns": ["考核不合格的员工会被怎么处理", "还有，客服热线是24小时的吗"],
            "expect": ["7*24 小时"],
            "new_subject": True,
        },
        {"turns": ["考核不合格的员工会被怎么处理", "那考核结果会影响年终奖金多少钱"], "expect": None},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    metrics, details = evaluate_conversations(retriever, load_conversations(path))
    assert metrics["n_conversations"] == 3 and metrics["followup_accuracy"] == 1.0
    assert metrics["subject_change_accuracy"] == 1.0
    assert [d["read"] for d in details[:2]] == ["clause", "alone"]


@pytest.mark.slow
def test_a_follow_up_reply_quotes_the_sentence_its_own_words_ask_about(retriever):
    # the topic's terms (语音菜单) find the passage; the message's own (广告) pick the sentence
    replies, _ = play(retriever, "客服电话的语音菜单有什么要求", "那菜单里能放广告吗")
    reply, turn = replies[1]
    assert turn.how == "with_topic" and "禁止在主菜单插播广告" in reply.body


@pytest.mark.slow
def test_an_unanswered_question_still_gives_the_conversation_its_subject(retriever):
    replies, topic = play(retriever, "火星上能开户吗")
    assert replies[0][0].kind == "abstain"
    assert not topic.article_id and {"火星", "开户"} <= set(topic.terms)
    assert Topic.from_slots(topic.slots()) == topic  # kept in the bot's slots like any topic
    # the latest unanswered question's words, not the first's
    _, topic = play(retriever, "火星上能开户吗", "月球上的网点卖不卖宠物粮")
    assert "火星" not in topic.terms and "宠物粮" in "".join(topic.terms)
    # never a name or what masking left in the message
    _, topic = play(retriever, "我是王小明，帮我订去北京的机票，电话[手机号]")
    assert topic.terms and not {"王小明", "手机号", "手机"} & set(topic.terms)


@pytest.mark.slow
def test_a_question_opening_with_if_is_its_own_and_not_read_with_the_last_answer(retriever):
    # '如果…' opens most self-contained questions: unanswered alone, it is not answered from the last topic
    replies, _ = play(retriever, "客服中心的系统要怎么设计", "如果要出差报销怎么弄")
    reply, turn = replies[1]
    assert turn.how == "alone" and "系统维护" not in (reply.body or "")


@pytest.mark.slow
def test_the_message_alone_picks_which_clause_of_the_topic_is_meant(retriever):
    # the topic's terms (营运服务管理制度, 岗位) rank the scope clause first; the message's own words (原则),
    # ranked alone too, move the clause on principles up
    replies, topic = play(retriever, "营运服务管理制度适用哪些岗位", "那它遵循哪些原则")
    (first, _), (reply, turn) = replies
    assert "适用于公司所有营运服务相关岗位" in first.body
    assert turn.how == "with_topic" and "客户至上" in reply.body and topic.clause == "第三条"


@pytest.mark.slow
def test_the_next_question_of_a_quiz_follows_the_one_just_quoted(retriever):
    # the quiz numbers its questions, not its clauses: '下一题' is the next question of the same section
    replies, topic = play(retriever, "单选题里问哪个行业的产品以无形产品为主，答案是什么", "下一题呢", "那再下一道")
    (first, _), (nxt, turn), (after, _) = replies
    assert "服务业" in first.body and topic.section.startswith("一")
    assert turn.how == "clause" and nxt.text.startswith("关于《运营管理选择题及判断题》一、单项选择 · 第2项：")
    assert "中间转换过程" in nxt.body and not nxt.body.startswith("2.")  # the 关于 line names it once
    assert "主要任务" in after.body and topic.clause == "第3项"


CLUB = {
    "club-rules": """\
        ---
        id: club-rules
        title: 星河超市会员章程
        category: 会员
        source: test
        updated: 2026-12-07
        ---

        第三条 会员卡分为普卡、银卡、金卡三个等级。会员年度累计消费满五千元升级为银卡，满两万元升级为金卡。

        第四条 金卡会员购物享受九折优惠，银卡会员享受九五折优惠。

        第五条 会员卡遗失的，会员可凭身份证件到服务台挂失补办，补办收取工本费十元。
        """,
    "metro-rules": """\
        ---
        id: metro-rules
        title: 轨道交通乘客守则
        category: 交通
        source: test
        updated: 2026-12-07
        ---

        第十条 乘客应当持有效车票乘车。享受乘车优惠的乘客应当持本人有效证件乘车。

        第十一条 禁止携带易燃、易爆等危险品进站乘车。
        """,
}


@pytest.fixture
def club(tmp_path, settings, encoder):
    """The club's rules and a metro's, indexed for real (e5, FAISS, BM25), with a lexicon entry for 收钱."""
    from indexer.retriever import Retriever

    from conftest import indexed

    store, club_settings = indexed(tmp_path / "club", settings, encoder, CLUB, None, "收钱 = 收费，收取，费用\n")
    return Retriever.load(store, [encoder], club_settings)


def test_after_an_unanswered_question_a_short_question_answered_alone_is_a_new_subject(club):
    replies, topic = play(club, "地铁上能带狗吗", "金卡会员啥优惠")
    assert replies[0][0].kind == "abstain"
    reply, turn = replies[1]
    # read alone, not with the unanswered question's 地铁 and 狗 (which can bring the metro's 乘车优惠), and not
    # introduced as a follow-up ('关于《…》')
    assert turn.how == "alone" and "九折" in reply.body and not reply.text.startswith("关于")
    assert topic.article_id == "club-rules" and "地铁" not in topic.terms


def test_words_held_only_through_the_lexicon_count_when_they_are_all_the_message_says():
    from indexer.followup import _coverage
    from kb.lexicon import parse

    fee = hit("第五条 会员卡遗失的，可到服务台挂失补办，补办收取工本费十元。")
    lexicon = parse("收钱 = 收费，收取，费用\n")
    assert _coverage(["收钱"], fee, lambda w: 1.0, lexicon) == 1.0  # '要收钱吗' after the clause: held
    # '停车收钱吗': parking is not in the clause; 收取 there says nothing about parking
    assert _coverage(["停车", "收钱"], fee, lambda w: 1.0, lexicon) == 0.0
    assert _coverage(["补办", "收钱"], fee, lambda w: 1.0, lexicon) == 1.0
    assert _coverage(["补办", "停车"], fee, lambda w: 1.0, lexicon) == 0.5


def test_a_follow_up_in_everyday_words_for_the_clauses_formal_ones_is_read_with_its_topic(club):
    replies, _ = play(club, "会员卡丢了怎么办", "要收钱吗")
    (first, _), (reply, turn) = replies
    assert "挂失补办" in first.body
    # 收钱 is not in the clause; the lexicon's 收取 is: a follow-up on the clause just cited, not a new question
    assert turn.how == "with_topic" and reply.kind == "answer" and "工本费十元" in reply.body
