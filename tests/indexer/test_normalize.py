"""What a customer typed, made searchable: OpenCC for Traditional characters, pleasantries off, the
sentence that asks in a long message."""

from __future__ import annotations

import pytest

from indexer.normalize import has_words, is_pleasantry, normalize_query, question_sentence, to_simplified


def test_traditional_characters_become_the_documents_simplified_wording():
    assert to_simplified("請問帳戶被凍結了怎麼辦") == "请问账户被冻结了怎么办"
    assert to_simplified("營業廳幾點關門") == "营业厅几点关门"
    assert to_simplified("软件和网络") == "软件和网络"  # simplified text is left alone
    assert to_simplified("How long?") == "How long?"


@pytest.mark.parametrize(
    "message, searched",
    [
        ("哈喽，麻烦问下信用卡年费怎么收？", "信用卡年费怎么收"),
        ("亲，在吗？快递丢了找谁赔啊，谢谢！", "快递丢了找谁赔啊"),
        ("客服，卡被吞了怎么办", "卡被吞了怎么办"),
        ("客服电话几点有人接", "客服电话几点有人接"),  # '客服' here is the subject, not someone addressed
        ("Hello, how do I close my account?", "how do I close my account"),
        ("我只是想问营业厅几点关门", "营业厅几点关门"),
        ("我就想知道一下年费多少", "年费多少"),
    ],
)
def test_greetings_and_politeness_come_off_the_question(message, searched):
    assert normalize_query(message).text == searched


def test_a_long_message_is_searched_by_the_sentence_that_asks():
    message = (
        "上周我在你们门店办了一张健身卡，充了三千块，当时店员说随时可以退。现在门店贴了通知说要装修三个月，"
        "我打了好几次电话都没人接，真的很着急。这种情况卡里的钱能退吗？"
    )
    assert question_sentence(message).endswith("这种情况卡里的钱能退吗")  # with the sentence its 这种情况 points to
    normalized = normalize_query(message)
    assert normalized.text.startswith("现在门店贴了通知") and "长消息取提问句" in normalized.steps
    # a short one, or a long one that asks nowhere, is searched whole
    assert question_sentence("卡里的钱能退吗") == "卡里的钱能退吗"
    statement = "我想说一下，" * 12
    assert question_sentence(statement) == statement


def test_a_short_question_sentence_takes_the_sentence_before_it():
    message = "我家楼上每天半夜都在装修，电钻声音特别大，已经好几个星期了，邻居们也很有意见。能管吗？"
    assert question_sentence(message).startswith("我家楼上每天半夜都在装修")


def test_messages_without_words_and_pleasantries_alone():
    assert not has_words("🙏🙏") and not has_words("。。。？！") and not has_words("   ")
    assert has_words("🙏 退款") and has_words("1")
    assert is_pleasantry("您好") and is_pleasantry("谢谢！") and is_pleasantry("hi")
    assert not is_pleasantry("您好，退款多久到账") and not is_pleasantry("🙏")
    steps = normalize_query("ＡＢＣ１２３").steps
    assert steps == ("全角转半角",)


@pytest.mark.parametrize(
    "message",
    [
        "hidden fees on my card?",
        "high interest rate, why?",
        "history of my account",
        "his card was lost",
        "下午好像关门了吗",
        "问下午几点开门",
        "问下载APP在哪里",
        "麻烦事怎么处理",
        "感谢信怎么写",
    ],
)
def test_a_word_that_only_starts_like_a_greeting_is_left_whole(message):
    assert normalize_query(message).text.rstrip("?？") == message.rstrip("?？")  # nothing of it taken off


def test_greetings_and_thanks_with_a_word_left_over_are_still_pleasantries():
    for text in ("谢谢你", "谢谢您", "辛苦了", "好的谢谢", "你好呀", "hey there", "非常感谢！"):
        assert is_pleasantry(text), text
    for text in ("年费", "你好，年费多少", "谢谢，另外想问下挂失"):
        assert not is_pleasantry(text), text


def test_a_long_message_of_punctuation_is_quick_and_harmless():
    assert normalize_query("，" * 2000 + "年费多少").text.endswith("年费多少")
