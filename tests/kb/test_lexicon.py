"""The colloquial-to-formal lexicon: parsed strictly, saved atomically, matched longest first."""

from __future__ import annotations

import re

import pytest

from kb.lexicon import LexiconConflict, LexiconError, add_entry, load, parse, save, version


def test_entries_match_longest_first_and_expand_to_words_not_already_asked():
    lex = parse("# 注释\n卡丢了 = 挂失\n卡 = 银行卡\n退钱 = 退款，退还\n")
    assert [e.colloquial for e in lex.matches("我的卡丢了想退钱")] == ["卡丢了", "退钱"]
    assert lex.expansion("我的卡丢了想退钱") == ["挂失", "退款", "退还"]
    assert lex.expansion("退钱还是退款") == ["退还"]  # 退款 is already in the question
    assert lex.expansion("没有相关的词") == []


@pytest.mark.parametrize(
    "text, reason",
    [
        ("退钱", "应写成"),
        ("= 退款", "应写成"),
        ("退钱 = ", "应写成"),
        ("退钱 = " + "长" * 21, "不超过 20 个字"),
        ("下班 = 营业时间=关门", "只能有一个「=」"),
    ],
)
def test_a_malformed_line_is_named_and_quoted(text, reason):
    with pytest.raises(LexiconError, match=f"第 1 行「{re.escape(text.strip()[:10])}") as caught:
        parse(text)
    assert reason in str(caught.value)


def test_a_word_given_twice_is_refused_not_silently_replaced():
    with pytest.raises(LexiconError, match="第 3 行「押金 = 定金」：「押金」在第 1 行已经有了"):
        parse("押金 = 保证金\n退钱 = 退款\n押金 = 定金\n")


def test_save_checks_before_writing_and_add_entry_appends(tmp_path):
    save(tmp_path, "退钱 = 退款\n")
    with pytest.raises(LexiconError):
        save(tmp_path, "退钱 = 退款\n坏行\n")
    assert (tmp_path / "lexicon.txt").read_text(encoding="utf-8") == "退钱 = 退款\n"  # nothing lost
    add_entry(tmp_path, "跑路", ["停业", "歇业"])
    assert load(tmp_path).expansion("老板跑路了") == ["停业", "歇业"]
    add_entry(tmp_path, "退钱", ["退还", "退款"])  # a word already listed keeps what it had
    assert (tmp_path / "lexicon.txt").read_text(encoding="utf-8") == "退钱 = 退款，退还\n跑路 = 停业，歇业\n"
    assert load(tmp_path / "none").entries == ()


def test_a_save_over_a_changed_file_or_an_empty_box_is_refused_and_a_merge_keeps_comments(tmp_path):
    save(tmp_path, "退钱 = 退款  # 常见\n")
    seen = version((tmp_path / "lexicon.txt").read_text(encoding="utf-8"))
    add_entry(tmp_path, "退钱", ["退还"])  # a gap adds a word meanwhile
    assert (tmp_path / "lexicon.txt").read_text(encoding="utf-8") == "退钱 = 退款，退还  # 常见\n"
    with pytest.raises(LexiconConflict):
        save(tmp_path, "退钱 = 退款\n跑路 = 停业\n", based_on=seen)  # would drop 退还
    with pytest.raises(LexiconError, match="一条同义词也没有"):
        save(tmp_path, "# 全删了\n")
    assert load(tmp_path).expansion("退钱") == ["退款", "退还"]
