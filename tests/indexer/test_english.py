"""English questions read into the knowledge base's Chinese words through CC-CEDICT (indexer.english), with the
real dictionary and lemmatiser, then through real retrieval over a small knowledge base."""

from __future__ import annotations

import pytest
from test_generalizing import rules_retriever

from indexer.english import EnglishTerms, content_words

WORDS = "退款 退还 预付 不得 允许 许可 物业管理 财产 管理 商品 良好 货物 押金 余额 轨道交通"


@pytest.fixture(scope="module")
def terms() -> EnglishTerms:
    return EnglishTerms(dict.fromkeys(WORDS.split(), 1.0))


def test_english_words_become_the_knowledge_bases_chinese_words(terms):
    assert terms.terms("Can I get a refund on my prepaid card?") == [
        ("refund", ["退款", "退还"]),
        ("prepaid", ["预付"]),
    ]
    # inflected forms through their lemmas: refunded -> refund
    assert ("refunded", ["退款", "退还"]) in terms.terms("was the deposit refunded")
    assert ("deposit", ["押金"]) in terms.terms("was the deposit refunded")


def test_only_words_the_knowledge_base_uses_are_given():
    # 退款 is CC-CEDICT's first reading of "refund"; a base that never says it gets only what it does say
    assert EnglishTerms({"退还": 1.0}).terms("refund the money") == [("refund", ["退还"])]
    assert EnglishTerms({"银行": 1.0}).terms("refund the money") == []


def test_the_longest_phrase_wins_and_negations_are_kept(terms):
    assert terms.terms("who pays the property management fee") == [("property management", ["物业管理"])]
    assert terms.terms("dogs are not allowed on the metro") == [("not allowed", ["不得"]), ("metro", ["轨道交通"])]
    assert terms.terms("is smoking allowed")[0][1][0] in ("许可", "允许")  # without 'not', never 不得


def test_contractions_and_curly_apostrophes_keep_the_negation(terms):
    assert terms.terms("Dogs aren’t allowed on the metro")[0] == ("not allowed", ["不得"])
    assert terms.terms("dogs isn't allowed, won't they refund")[0] == ("not allowed", ["不得"])
    assert all(len(word) > 1 for word, _ in content_words("don’t the hall’s refund"))


def test_a_sense_mostly_of_little_words_is_not_filed_under_its_one_word():
    # 按时 is "on time", 时间 is "time": "time" gives 时间 only; 不必 ("does not have to") gives nothing for "not"
    assert EnglishTerms({"按时": 1.0, "时间": 1.0}).terms("what time tomorrow") == [("time", ["时间"])]
    assert EnglishTerms({"不必": 1.0, "不同": 1.0}).terms("it's not fine") == []


def test_a_plural_noun_is_read_as_written_before_its_lemma(terms):
    # "goods" lemmatises to "good": 货物 (goods) comes before 良好 (good)
    assert terms.terms("fake goods")[0][1][0] == "货物"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "12345 !!!",
        "退款要多久",
        "the of and is",
        "x" * 10_000,
        "\x00\ufffd",
        "refund?",
        "<script>alert(1)</script>",
    ],
)
def test_nothing_to_read_gives_nothing(terms, text):
    assert terms.terms(text) == []


def test_content_words_drop_function_words_and_lemmatise():
    assert content_words("Hey, can I bring my bikes?") == [("bring", "bring"), ("bikes", "bike")]
    # chat's "…, right?" and "my money back" are not 权益 and 支持; "rights" still is a word
    assert content_words("money back, right? consumer rights") == [
        ("money", "money"),
        ("consumer", "consumer"),
        ("rights", "right"),
    ]


def test_the_sentence_that_holds_what_is_asked_weighs_more_when_words_come_through_a_dictionary():
    from indexer.snippets import make_snippet

    text = "服务时间原则上应为 7*24 小时，客户服务中心可进行调整。\n提倡使用普通话，客户服务中心可开通多语种服务。"
    words = ["客户服务", "开通", "多语种"]  # "customer service", "open", "multilingual" read into Chinese
    assert make_snippet(text, words, asked="time").text.startswith("提倡")  # the Chinese weighting: words win
    assert make_snippet(text, words, asked="time", kind_weight=3.0).text.startswith("服务时间")


@pytest.fixture
def retriever(tmp_path, settings, encoder):
    return rules_retriever(tmp_path, settings, encoder)


def test_an_english_question_is_searched_with_its_chinese_words_and_says_so(retriever):
    result = retriever.search("The shop closed down. Will they return the balance on my card?")
    assert any(step.startswith("英文词：") and "balance→余额" in step for step in result.steps)
    top = result.hits[0]
    assert top.clause == "第十条" and top.lexical > 0  # BM25 matched the Chinese words
    assert "余额" in top.snippet_marked  # the reply's sentence is chosen by them too


def test_with_the_english_weight_at_zero_words_play_no_part(tmp_path, settings, encoder):
    retriever = rules_retriever(tmp_path, settings.replace(english_lexical_weight=0.0), encoder)
    result = retriever.search("Will they return the balance on my card?")
    assert not any(step.startswith("英文词") for step in result.steps)
    assert all(hit.lexical == 0 for hit in result.hits)


def test_a_chinese_question_with_english_words_is_searched_as_chinese(tmp_path, settings, encoder):
    question = "预付卡的余额在商家停业以后能退吗 refund deposit"  # half its letters or more are Chinese
    searched = rules_retriever(tmp_path / "on", settings, encoder).search(question)
    plain = rules_retriever(tmp_path / "off", settings.replace(english_lexical_weight=0.0), encoder).search(question)
    assert not any(step.startswith("英文词") for step in searched.steps)
    assert [(h.id, h.score) for h in searched.hits] == [(h.id, h.score) for h in plain.hits]
