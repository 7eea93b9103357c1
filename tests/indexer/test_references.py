"""A penalty clause read with the rule it enforces: indexer.references, and its effect on real BM25 + dense
retrieval over a small regulation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from indexer.followup import PENALTY, PENALTY_OF_ACT, Topic, act_asked, act_item, converse
from indexer.references import citations, cited_texts, citing
from indexer.retriever import Retriever
from kb.model import Passage

from conftest import indexed

TRANSIT = {
    "transit-rules": """\
        ---
        id: transit-rules
        title: 城市轨道交通乘车规定
        category: 交通
        source: test
        updated: 2026-12-06
        ---

        ## 第三章 乘车

        第二十条 乘客应当持有效车票乘车，并接受工作人员的验票。

        第二十一条 在车站和列车内禁止下列行为：

        （一）携带易燃、易爆物品进站；

        （二）吸烟、随地吐痰；

        （三）携带猫、狗等宠物乘车。

        ## 第五章 法律责任

        第四十条 违反本规定第二十一条第二项、第三项的，由运营单位责令改正，处五十元以上二百元以下罚款。

        第四十一条 违反本规定第二十条，乘客无票乘车或者持无效车票乘车的，由运营单位按照全程票价补收票款，并处应补票款五倍的罚款。

        第四十二条 运营单位违反《中华人民共和国安全生产法》第十条规定的，依照该法处理。

        第四十三条 本规定第二十条所称有效车票，包括单程票和储值卡。
        """,
}


def _passage(ordinal: int, clause: str, text: str) -> Passage:
    return Passage("doc", ordinal, "", (clause,), 0, len(text), text, "规定")


def test_what_a_penalty_cites_after_violation_and_what_it_does_not():
    assert citations("违反本规定第二十一条第二项、第三项的，处罚款") == [(21, [("项", 2), ("项", 3)])]
    assert citations("违反本办法第十条规定的") == [(10, [])] == citations("违反第十条的")
    assert citations("违反本条例第二十一条至第二十三条规定") == [(21, []), (22, []), (23, [])]
    assert citations("违反本规定第二十条第（一）项至第（三）项") == [(20, [("项", 1), ("项", 2), ("项", 3)])]
    # another law's article, another regulation named without 《》, a pointer without 违反: nothing
    assert citations("违反《安全生产法》第十条的") == citations("违反城市市容管理条例第十条") == []
    assert citations("本规定第二十一条所称宠物，包括猫、狗") == []


def test_a_penalty_reads_the_items_it_cites_and_nothing_else():
    rule = _passage(
        0, "第二十一条", "第二十一条 禁止下列行为：\n\n（一）携带易燃物品；\n\n（二）吸烟；\n\n（三）携带宠物。"
    )
    penalty = _passage(1, "第四十条", "第四十条 违反本规定第二十一条第（二）项、第三项的，处五十元罚款。")
    whole = _passage(2, "第四十一条", "第四十一条 违反第二十一条规定的，责令改正。")
    other_law = _passage(3, "第四十二条", "第四十二条 违反《安全生产法》第二十一条的，依照该法处理。")
    pointer = _passage(4, "第四十三条", "第四十三条 本规定第二十一条所称宠物，包括猫、狗。")
    cited = cited_texts([rule, penalty, whole, other_law, pointer])
    assert cited[penalty.id] == "（二）吸烟；\n（三）携带宠物。"  # the items named, not the first one
    assert cited[whole.id].startswith("第二十一条 禁止下列行为")  # no item named: the rule's opening
    assert other_law.id not in cited and pointer.id not in cited and rule.id not in cited


def test_a_paragraph_is_counted_without_the_items_under_the_one_before():
    rule = _passage(
        0,
        "第十三条",
        "第十三条 经营者应当遵守下列规定：\n\n（一）取得许可；\n\n（二）如实记录。\n\n经营者应当将台账保存五年。",
    )
    penalty = _passage(1, "第三十六条", "第三十六条 违反本条例第十三条第二款规定的，处一万元罚款。")
    assert cited_texts([rule, penalty])[penalty.id] == "经营者应当将台账保存五年。"


def test_a_clause_split_over_passages_is_cited_whole():
    first = _passage(0, "第三十条", "第三十条 乘客应当购票。")
    second = _passage(1, "第三十条", "乘客不得冒用他人的优惠证件乘车。")
    penalty = _passage(2, "第五十条", "第五十条 违反本条例第三十条第二款，冒用证件的，处五十元以上五百元以下罚款。")
    assert cited_texts([first, second, penalty])[penalty.id] == "乘客不得冒用他人的优惠证件乘车。"


def test_the_paragraphs_that_penalise_breaking_a_clause_are_found_in_reading_order():
    rule = _passage(
        0, "第二十一条", "第二十一条 禁止下列行为：\n\n（一）携带易燃物品；\n\n（二）吸烟；\n\n（三）携带宠物。"
    )
    fines = _passage(
        1,
        "第四十条",
        "第四十条 违反本规定第二十条的，补收票款。\n\n违反本规定第二十一条第二项的，处警告；违反本规定第二十一条第三项的，"
        "处五十元罚款。",
    )
    other_law = _passage(2, "第四十二条", "第四十二条 违反《安全生产法》第二十一条的，依照该法处理。")
    unnumbered = _passage(3, "", "违反本规定第二十一条的，责令改正。")  # no clause to cite it by
    found = citing([unnumbered, other_law, fines, rule], "第二十一条")
    # the second paragraph of 第四十条, cited as 第四十条, with both items it names of the clause
    assert found == [
        (
            fines.id,
            "第四十条",
            "违反本规定第二十一条第二项的，处警告；违反本规定第二十一条第三项的，处五十元罚款。",
            [("项", 2), ("项", 3)],
            "（二）吸烟；\n（三）携带宠物。",
        )
    ]
    assert citing([rule, fines], "第二十条")[0][2:4] == ("第四十条 违反本规定第二十条的，补收票款。", [])
    for label in ("第四十条", "3.2", "第条", "第3.2条", "第二十条–第二十一条", ""):  # nothing cites it; no clause
        assert citing([rule, fines, other_law], label) == []


def test_a_clause_packed_with_others_is_cited_by_its_own_items():
    packed = _passage(
        0, "第五条", "第五条 乘客应当购票。\n\n（一）成人全票；\n\n第六条 禁止：\n\n（一）吸烟；\n\n（二）饮食。"
    )
    packed = Passage("doc", 0, "", ("第五条", "第六条"), 0, len(packed.text), packed.text, "规定")
    penalty = _passage(1, "第九条", "第九条 违反本规定第六条第一项的，处二十元罚款。")
    assert citing([packed, penalty], "第六条")[0][4] == "（一）吸烟；"  # not 第五条's first item


@pytest.fixture
def transit(tmp_path, settings, encoder):
    return indexed(tmp_path / "transit", settings, encoder, TRANSIT)


@pytest.mark.parametrize("query", ["在车厢里吸烟被抓到要罚款多少", "带宠物狗乘车会被罚款吗"])
def test_bm25_ranks_the_penalty_first_for_the_fine_for_an_act_only_through_the_rule_it_cites(
    transit, encoder, monkeypatch, query
):
    # the act (吸烟, 宠物) is only in the rule's items, the fine only in the penalty: read with the items it
    # cites, the penalty holds both. (The fused ranking on a base this small barely moves; the benchmark
    # measures that: docs/BENCHMARKS.md, issue 12.)
    store, settings = transit

    def bm25_first(retriever: Retriever) -> tuple[str, ...]:
        _, ids = retriever.passage_lexical.top(retriever.tokenizer.tokens(query), 1)
        return retriever.passages[int(ids[0])].clauses

    assert bm25_first(Retriever.load(store, [encoder], settings)) == ("第四十条",)
    monkeypatch.setattr("indexer.retriever.cited_texts", lambda passages: {})  # the control: penalties read alone
    assert bm25_first(Retriever.load(store, [encoder], settings)) != ("第四十条",)


def test_asked_what_happens_to_whoever_breaks_the_rule_just_cited_the_penalty_answers(transit, encoder):
    store, settings = transit
    retriever = Retriever.load(store, [encoder], settings)
    clauses = dict(retriever.clauses("transit-rules"))

    def after(clause: str, *terms: str) -> Topic:  # the topic an answer citing the clause leaves
        ref = f"passage:{clauses[clause]}"
        return Topic("transit-rules", "城市轨道交通乘车规定", "第三章 乘车", clause, ref, terms)

    smoking = after("第二十一条", "车厢", "吸烟")
    reply, turn, topic = converse("被抓到会怎么样", smoking, retriever)
    # the question's words are in neither clause: the penalty is found by what it cites
    assert turn.how == "penalty" and reply.kind == "answer" and topic.clause == "第四十条"
    assert (
        reply.text.startswith("关于《城市轨道交通乘车规定》第五章 法律责任 · 第四十条")
        and "二百元以下罚款" in reply.body
    )
    assert turn.result.decision.reason == PENALTY
    fare = after("第二十条", "乘车", "车票")
    assert converse("不买票会罚多少", fare, retriever)[1].result.hits[0].clause == "第四十一条"
    # 第四十条 names items (二) and (三) of 第二十一条: asked about (一), the fire hazard, it is no answer
    assert converse("被抓到会怎么样", after("第二十一条", "易燃", "物品"), retriever)[1].how != "penalty"
    # the controls: no consequence asked; no cue (a question of its own); a clause that nothing penalises
    assert converse("那带猫呢", smoking, retriever)[1].how != "penalty"
    # (a question of its own that names its act is read on its own words, not the topic's: penalty_of_act)
    assert not converse("乘客在车站里随地吐痰会被罚多少钱呢？我想知道具体数额", smoking, retriever)[1].followed
    assert converse("不遵守会怎样", after("第四十三条"), retriever)[1].how != "penalty"


PARK = {
    "park-rules": """\
        ---
        id: park-rules
        title: 城市公园管理办法
        category: 公园
        source: test
        updated: 2026-12-07
        ---

        第十条 在公园内禁止下列行为：

        （一）攀折花木；

        （二）燃放烟花爆竹。

        第三十条 违反本办法第九条规定，擅自进入施工区域的，责令离开，处二十元罚款。这一款写得长一些，以便和下一款合起来超过一个气泡能放下的长度，它说的是进入施工区域的行为，与燃放烟花爆竹无关，也不该出现在回答里。

        违反本办法第十条第二项规定的，由公园管理机构责令停止，处二百元以上一千元以下罚款。
        """,
}


def test_the_penalty_answer_is_the_paragraph_that_cites_the_clause_not_the_whole_penalty_clause(
    tmp_path, settings, encoder
):
    store, park_settings = indexed(tmp_path / "park", settings, encoder, PARK)
    retriever = Retriever.load(store, [encoder], park_settings)
    ref = f"passage:{dict(retriever.clauses('park-rules'))['第十条']}"
    fireworks = Topic("park-rules", "城市公园管理办法", "", "第十条", ref, ("公园", "烟花爆竹"))
    reply, turn, _ = converse("那要是被抓到会怎么样", fireworks, retriever)
    assert turn.how == "penalty" and "二百元以上一千元以下罚款" in reply.body
    assert "施工区域" not in reply.text  # the clause's first paragraph is about something else


def test_the_act_a_question_asked_about_stays_in_the_topic_for_what_happens_after(transit, encoder):
    # '吸烟' is a verb, not among the topic's terms (nouns, searched with every follow-up): kept apart as the act
    # asked about because the answer holds it, so that '被抓到会咋样' finds the paragraph citing the items on
    # smoking and pets, which the terms 列车 and 内 alone do not single out
    store, settings = transit
    retriever = Retriever.load(store, [encoder], settings)
    question = "在列车内可以吸烟吗"
    assert retriever.tokenizer.acts(question, "（二）吸烟、随地吐痰；") == ["吸烟"]
    assert retriever.tokenizer.acts(question, "（三）携带猫、狗等宠物乘车。") == []  # not held: not kept
    reply, _, topic = converse(question, Topic(), retriever)
    assert reply.kind == "answer" and topic.clause == "第二十一条" and topic.acts == ("吸烟",)
    assert "吸烟" not in topic.terms and Topic.from_slots(topic.slots()) == topic
    reply, turn, after = converse("被抓到会咋样", topic, retriever)
    assert turn.how == "penalty" and "五十元以上二百元以下罚款" in reply.body
    assert after.acts == ("吸烟",)  # a follow-up that names no act keeps the topic's
    # the control: the same topic without the act asked about
    assert converse("被抓到会咋样", replace(topic, acts=()), retriever)[1].how != "penalty"


def test_the_act_a_question_names_before_asking_its_consequence():
    assert act_asked("在地铁车厢里吸烟罚多少") == "在地铁车厢里吸烟"
    assert act_asked("有人往轨道里扔东西，会怎么处罚？") == "有人往轨道里扔东西"
    assert act_asked("那带宠物乘车要是被抓到呢") == "带宠物乘车"  # the lead cue is not the act
    # no consequence asked, or too little named before it: nothing to search
    assert act_asked("在车厢吸烟的话会受到什么处罚") == act_asked("在车厢吸烟如何处罚") == "在车厢吸烟"
    assert act_asked("在车厢里可以吸烟吗") == act_asked("被抓到会咋样") == act_asked("罚款怎么交") == ""
    # how to pay the fine is not its amount; English names the act after the penalty
    assert act_asked("我在车厢吸烟被罚款了，怎么交") == act_asked("What is the penalty for smoking on a train") == ""


def test_the_item_that_is_the_act_is_found_by_the_act_before_the_place():
    rule = "第十条 在车站和列车内禁止下列行为：\n（一）在列车内饮食；\n（二）在车站吸烟。"
    assert act_item(rule, ["吸烟"], ["列车"], lambda w: 1.0) == "（二）在车站吸烟。"
    assert act_item(rule, [], ["车站", "列车"], lambda w: 1.0) == ""  # one place each: not singled out
    assert act_item("第十条 禁止吸烟。", ["吸烟"], [], lambda w: 1.0) is None  # no list


def test_asked_the_penalty_for_an_act_the_bot_finds_the_rule_then_the_clause_that_cites_it(transit, encoder):
    # a first question, no topic: the act (吸烟) is among 第二十一条's items, the fine in 第四十条, which cites
    # them; the decision and the reply rest on the clause found that way
    store, settings = transit
    retriever = Retriever.load(store, [encoder], settings)
    reply, turn, topic = converse("在列车里吸烟被抓到了要罚多少钱", Topic(), retriever)
    assert turn.how == "penalty_of_act" and turn.result.decision.reason == PENALTY_OF_ACT
    assert reply.kind == "answer" and "五十元以上二百元以下罚款" in reply.body and topic.clause == "第四十条"
    assert "第二十一条" in turn.searched and not turn.followed  # read on its own words: no '关于…' line
    assert not reply.text.startswith("关于")
    # 第四十条 cites items (二) and (三): the penalty for (一), bringing in something flammable, is not it
    assert converse("携带易燃物品进站会被怎么处罚", Topic(), retriever)[1].how != "penalty_of_act"
    # no act named, or no consequence asked: the question alone
    assert converse("被抓到要罚多少钱", Topic(), retriever)[1].how == "alone"
    assert converse("在列车里可以吸烟吗", Topic(), retriever)[1].how == "alone"
    # asked how to pay the fine the last answer named: the penalty says no way to pay, so it is no answer
    assert converse("被罚款了怎么交", topic, retriever)[1].how != "penalty"


LIBRARY = {
    "library-rules": """\
        ---
        id: library-rules
        title: 城市图书馆读者规定
        category: 图书馆
        source: test
        updated: 2026-12-07
        ---

        第八条 读者在图书馆内应当遵守公共秩序，爱护馆藏文献和设施设备，尊重其他读者和工作人员，禁止下列行为：

        （一）携带易燃、易爆、有毒等危险物品入馆；

        （二）在阅览区大声喧哗、追逐打闹或者使用手机外放声音；

        （三）涂写、撕毁、剪裁、污损馆藏文献或者私自夹带出馆；

        （四）损坏座椅、书架、电脑、空调等设施设备；

        （五）在馆内吸烟或者使用明火。

        第二十条 违反本规定第八条的，由图书馆工作人员予以劝阻，并可以暂停其借阅资格三十日。
        """,
}


def test_a_penalty_for_the_whole_clause_covers_an_item_past_the_clauses_opening(tmp_path, settings, encoder):
    # 第二十条 cites 第八条 whole; what it cites is read as the clause's opening (160 characters), which ends
    # before item (五), the act asked about: the whole clause is still cited
    store, library_settings = indexed(tmp_path / "library", settings, encoder, LIBRARY)
    retriever = Retriever.load(store, [encoder], library_settings)
    assert "吸烟" not in retriever.citing("library-rules", "第八条")[0][4]
    reply, turn, _ = converse("在图书馆里吸烟会受到什么处罚", Topic(), retriever)
    assert turn.how == "penalty_of_act" and "暂停其借阅资格三十日" in reply.body
