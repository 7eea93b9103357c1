"""The colloquial-to-formal lexicon: parsed strictly, saved atomically, matched longest first."""

from __future__ import annotations

import pytest

from kb.lexicon import LexiconError, add_entry, load, parse, save


def test_entries_match_longest_first_and_expand_to_words_not_already_asked():
    lex = parse("# 注释\n卡丢了 = 挂失\n卡 = 银行卡\n退钱 = 退款，退还\n")
    assert [e.colloquial for e in lex.matches("我的卡丢了想退钱")] == ["卡丢了", "退钱"]
    assert lex.expansion("我的卡丢了想退钱") == ["挂失", "退款", "退还"]
    assert lex.expansion("退钱还是退款") == ["退还"]  # 退款 is already in the question
    assert lex.expansion("没有相关的词") == []


@pytest.mark.parametrize("text", ["退钱", "= 退款", "退钱 = ", "退钱 = " + "长" * 21])
def test_a_malformed_line_is_named(text):
    with pytest.raises(LexiconError, match="第 1 行"):
        parse(text)


def test_save_checks_before_writing_and_add_entry_appends(tmp_path):
    save(tmp_path, "退钱 = 退款\n")
    with pytest.raises(LexiconError):
        save(tmp_path, "退钱 = 退款\n坏行\n")
    assert (tmp_path / "lexicon.txt").read_text(encoding="utf-8") == "退钱 = 退款\n"  # nothing lost
    add_entry(tmp_path, "跑路", ["停业", "歇业"])
    assert load(tmp_path).expansion("老板跑路了") == ["停业", "歇业"]
    assert load(tmp_path / "none").entries == ()
