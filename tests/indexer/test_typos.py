"""Homophone typos corrected against the knowledge base's words (indexer.typos), with jieba's real dictionary,
then through real retrieval over a small knowledge base."""

from __future__ import annotations

import pytest
from test_generalizing import rules_retriever

from indexer.lexical import Tokenizer
from indexer.typos import Homophones


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def homophones(tokenizer: Tokenizer, **vocabulary: float) -> Homophones:
    return Homophones(vocabulary, tokenizer.words, tokenizer.in_dictionary)


def test_a_word_typed_with_a_character_of_the_same_sound_is_corrected(tokenizer):
    fix = homophones(tokenizer, 投诉=1.0, 合同=1.0, 导盲犬=3.0)
    assert fix.correct("去工商局头诉要多久") == ("去工商局投诉要多久", [("头诉", "投诉")])
    assert fix.correct("能签书面和同吗") == ("能签书面合同吗", [("和同", "合同")])
    assert fix.correct("导忙犬能进站吗")[1] == [("导忙犬", "导盲犬")]  # three of jieba's pieces, one word


def test_real_words_stopwords_and_pieces_of_other_words_are_left_alone(tokenizer):
    fix = homophones(tokenizer, 它们=1.0, 加收=1.0, 把握=1.0, 投诉=1.0)
    assert fix.corrections("他们会处理吗") == []  # 他们 is a word: never 'fixed' to 它们
    assert fix.corrections("商家收集我的信息") == []  # 家收 straddles 商家 and 收集
    assert fix.corrections("快递把我的包裹弄丢了") == []  # 把 and 我: stopwords, not a typo of 把握
    assert fix.corrections("") == [] and fix.corrections("hello 123") == []


def test_of_several_words_with_that_sound_the_commonest_in_the_knowledge_base_wins(tokenizer):
    # 记录 and 纪录 both sound ji lu and differ from 记鹿 in one character; 记录 is the commoner (lower IDF)
    assert homophones(tokenizer, 记录=0.5, 纪录=4.0).corrections("交易记鹿能查吗") == [("记鹿", "记录")]
    assert homophones(tokenizer, 纪律=0.5).corrections("交易记鹿能查吗") == []  # two characters apart


@pytest.fixture
def retriever(tmp_path, settings, encoder):
    return rules_retriever(tmp_path, settings, encoder)


def test_the_retriever_searches_the_corrected_question_and_says_so(retriever):
    result = retriever.search("卡里的余额和交易记鹿能查吗")
    assert "交易记录" in result.query and "错别字：记鹿→记录" in result.steps  # shown on the hit-test page
    assert result.hits[0].clause == "第十一条" and "记录" in result.hits[0].snippet_marked
    assert retriever.search("交易记录能查吗").steps == ()  # nothing to correct
