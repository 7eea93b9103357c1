"""Callbacks that can be returned: a contact number found in what the customer typed, sealed with the desk's
own key, shown whole only to the ticket's agent, a supervisor or an admin (each time recorded); a callback due
when agents are back, called, and closed only with an outcome; the words of the exchange read for the bot."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading

import pytest

from kb.database import Database
from kb.desk import DeskError
from kb.desk.callback import gave_number, next_step, preferred_time, problem_words, wants_other_number, withdraws
from kb.desk.contacts import ContactKeyError, ContactVault, find_contacts, hint
from kb.desk.rules import DeskPolicy, next_opening
from kb.desk.service import ContactNotAllowed, Desk, NotYourTicket, TicketStateError
from kb.migrations import MIGRATIONS

DAY = DeskPolicy("08:00-20:00", "Asia/Shanghai", 300.0)
NIGHT = dt.datetime(2026, 11, 29, 14, 30, tzinfo=dt.UTC)  # 22:30 in Shanghai
MORNING = "2026-11-30T00:00:00+00:00"  # 08:00 the next day in Shanghai


@pytest.fixture
def db(new_database, tmp_path):
    return new_database("kefu")


@pytest.fixture
def vault(tmp_path):
    return ContactVault.in_folder(tmp_path / "data")


@pytest.mark.parametrize(
    "text, numbers",
    [
        ("请尽快回电13812345678谢谢", ["13812345678"]),
        ("我的电话是 138-1234-5678，明天上午打", ["13812345678"]),
        ("+86 139 1234 5678", ["13912345678"]),
        ("座机010-62345678", ["01062345678"]),
        ("手机13912345678或者家里021-55556666", ["13912345678", "02155556666"]),
        ("卡号6222021234567890123，身份证110101199003074578", []),  # not phone numbers
        ("订单号 20231234567890，金额 12345678901 元", []),
        ("", []),
    ],
)
def test_mainland_numbers_are_found_and_nothing_else(text, numbers):
    assert [c.number for c in find_contacts(text)] == numbers


def test_the_hint_shows_at_most_three_and_four_digits():
    assert hint("13812345678") == "138****5678"
    assert hint("01062345678") == "010****5678"
    assert find_contacts("打 0755-8888 9999")[0].hint == "075*****9999"
    assert hint("1234") == "****"


def test_the_key_is_made_once_owner_only_and_seals_what_only_it_opens(tmp_path):
    folder = tmp_path / "data"
    vaults: list[ContactVault] = []
    threads = [threading.Thread(target=lambda: vaults.append(ContactVault.in_folder(folder))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    key = folder / "contact_key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["contact_key"]  # no drafts left behind
    token = vaults[0].seal("13812345678")
    assert "13812345678" not in token and all(v.open(token) == "13812345678" for v in vaults)
    with pytest.raises(ContactKeyError):
        ContactVault.in_folder(tmp_path / "other").open(token)
    key.write_text("not a key")
    with pytest.raises(ContactKeyError):
        ContactVault.in_folder(folder)


def test_a_callback_is_due_when_agents_are_back():
    assert next_opening("08:00-20:00", "Asia/Shanghai", NIGHT).isoformat() == MORNING
    assert next_opening("08:00-20:00", "Asia/Shanghai", dt.datetime(2026, 11, 30, 3, tzinfo=dt.UTC)) == dt.datetime(
        2026, 11, 30, 3, tzinfo=dt.UTC
    )
    assert next_opening("09:00-09:00", "Asia/Shanghai", NIGHT) is None


def test_a_callback_is_not_due_before_the_time_the_customer_asked_for(db, vault):
    desk = Desk(db, DAY, vault)
    later = desk.request_human("c1", "asked", "卡被吞了", when=NIGHT)  # 22:30 in Shanghai: due at 08:00
    assert later.due_at == MORNING
    desk.set_preferred_time(later.id, "明天下午三点以后", now=NIGHT)
    assert (desk.ticket(later.id).due_at, desk.ticket(later.id).preferred_time) == (
        "2026-11-30T07:00:00+00:00",  # 15:00 in Shanghai
        "明天下午三点以后",
    )
    sooner = desk.request_human("c2", "asked", "卡被吞了", when=NIGHT)
    for words in ("明天早上六点", "随时", "十二点前", "<b>"):  # before agents are back, or no time to read
        desk.set_preferred_time(sooner.id, words, now=NIGHT)
        assert desk.ticket(sooner.id).due_at == MORNING, words
    queued = desk.request_human("c3", "asked", "q", when=dt.datetime(2026, 11, 30, 3, tzinfo=dt.UTC))
    desk.set_preferred_time(queued.id, "明天下午三点以后")  # a chat waiting now has no due time
    assert desk.ticket(queued.id).due_at is None


def test_a_number_given_before_the_ticket_goes_onto_it_sealed(db, vault):
    desk = Desk(db, DAY, vault)
    assert desk.record_contact("c1", find_contacts("13812345678")[0]) == "138****5678"
    assert desk.contact_hint("c1") == "138****5678"
    ticket = desk.request_human("c1", "asked", "信用卡被盗刷了", when=NIGHT)
    assert (ticket.status, ticket.contact, ticket.due_at, ticket.problem) == (
        "callback",
        "138****5678",
        MORNING,
        "信用卡被盗刷了",
    )
    assert desk.conversations.held_contact("c1") == ("", "")  # the ticket keeps it from here
    stored = next(iter(db["handoffs"].rows))
    assert "13812345678" not in str(stored) and vault.open(stored["contact_secret"]) == "13812345678"
    desk.record_contact("c1", find_contacts("换成 021-55556666")[0])  # a later number replaces it
    assert desk.ticket(ticket.id).contact == "021****6666"


def test_a_desk_without_the_key_refuses_to_keep_a_number(db):
    with pytest.raises(DeskError, match="no contact key"):
        Desk(db, DAY).record_contact("c1", find_contacts("13812345678")[0])


def test_the_number_is_shown_to_the_tickets_agent_supervisors_and_admins_and_each_showing_is_recorded(db, vault):
    desk = Desk(db, DAY, vault)
    desk.record_contact("c1", find_contacts("13812345678")[0])
    ticket = desk.request_human("c1", "asked", "卡被吞了", when=NIGHT)
    with pytest.raises(ContactNotAllowed):
        desk.reveal_contact(ticket.id, "王", "agent")  # nobody has taken it yet
    desk.take_callback(ticket.id, "王")
    with pytest.raises(NotYourTicket):
        desk.take_callback(ticket.id, "李")  # one agent calls
    with pytest.raises(ContactNotAllowed):
        desk.reveal_contact(ticket.id, "李", "agent")
    with pytest.raises(ContactNotAllowed):
        desk.reveal_contact(ticket.id, "周", "curator")
    assert desk.reveal_contact(ticket.id, "王", "agent") == "13812345678"
    assert desk.reveal_contact(ticket.id, "赵", "supervisor") == "13812345678"
    assert desk.reveal_contact(ticket.id, "root", "admin") == "13812345678"
    assert [(r["user"], r["role"]) for r in desk.tickets.reveals(ticket.id)] == [
        ("王", "agent"),
        ("赵", "supervisor"),
        ("root", "admin"),
    ]
    other = desk.request_human("c2", "asked", "没留号码", when=NIGHT)
    with pytest.raises(TicketStateError, match="no contact"):
        desk.reveal_contact(other.id, "赵", "supervisor")


def test_a_callback_closes_only_with_an_outcome_and_no_answer_is_tried_again_in_hours(db, vault):
    desk = Desk(db, DAY, vault)
    ticket = desk.request_human("c1", "asked", "卡被吞了", when=NIGHT)
    with pytest.raises(TicketStateError, match="recording how the call went"):
        desk.close_chat(ticket.id, "王", "bye", lambda _: True)
    with pytest.raises(TicketStateError, match="take this callback"):
        desk.record_attempt(ticket.id, "王", "reached")
    desk.take_callback(ticket.id, "王")
    with pytest.raises(DeskError, match="outcome must be one of"):
        desk.record_attempt(ticket.id, "王", "maybe")
    late = dt.datetime(2026, 11, 30, 13, 0, tzinfo=dt.UTC)  # 21:00: after closing, so moved to 08:00 next day
    after = desk.record_attempt(ticket.id, "王", "no_answer", "响了没人接 13812345678", next_try=late)
    assert (after.status, after.agent, after.due_at) == ("callback", None, "2026-12-01T00:00:00+00:00")
    assert desk.tickets.attempts(ticket.id)[0]["note"] == "响了没人接 [手机号]"
    desk.take_callback(ticket.id, "李")  # free for anyone again
    done = desk.record_attempt(ticket.id, "李", "reached", "已挂失补卡")
    assert (done.status, done.outcome, done.agent) == ("closed", "reached", "李")
    assert [a["outcome"] for a in desk.tickets.attempts(ticket.id)] == ["no_answer", "reached"]


def test_callbacks_are_listed_the_one_due_first_first(db, vault):
    desk = Desk(db, DAY, vault)
    first = desk.request_human("c1", "asked", "a", when=NIGHT)
    second = desk.request_human("c2", "asked", "b", when=NIGHT)
    desk.take_callback(first.id, "王")
    desk.record_attempt(first.id, "王", "no_answer", next_try=dt.datetime(2026, 11, 30, 5, tzinfo=dt.UTC))
    assert [t.id for t in desk.tickets.callbacks_due()] == [second.id, first.id]


def test_a_queued_customer_can_choose_a_callback_instead(db, vault):
    desk = Desk(db, DAY, vault)
    at_noon = dt.datetime(2026, 11, 30, 4, tzinfo=dt.UTC)
    ticket = desk.request_human("c1", "asked", "卡被吞了", when=at_noon)
    desk.conversations.get_or_create("c1")
    desk.conversations.set_state("c1", "queued")
    assert ticket.status == "queued"
    moved = desk.callback_instead("c1")
    assert moved.status == "callback" and moved.due_at and desk.conversations.get("c1")["state"] == "bot"
    with pytest.raises(TicketStateError):
        desk.callback_instead("c1")
    asked = desk.request_human("c2", "asked", "请给我回电话", when=at_noon, callback=True)
    assert asked.status == "callback"  # asked for in hours: a callback, due now


def test_an_old_callback_message_becomes_part_of_the_problem(tmp_path):
    """v11 moves what the old `contact` held (the customer's message, masked) into the problem."""
    path = tmp_path / "old.db"
    import sqlite_utils

    raw = sqlite_utils.Database(path)
    for step in MIGRATIONS[:10]:
        step(raw)
    raw.execute(f"PRAGMA user_version = {10}")
    raw["handoffs"].insert(
        {
            "conversation_id": "c",
            "reason": "asked",
            "question": "转人工",
            "passages": "[]",
            "status": "callback",
            "contact": "明天上午打[手机号]",
            "created_at": "2026-11-01T00:00:00+00:00",
        }
    )
    raw.conn.commit()
    raw.conn.close()
    ticket = Desk(Database.open(path), DAY).tickets.recent()[0]
    assert (ticket.problem, ticket.contact, ticket.due_at) == ("转人工\n明天上午打[手机号]", "", ticket.created_at)


@pytest.mark.parametrize(
    "text, words, when",
    [
        ("我的信用卡被盗刷了，请给我回电话 [手机号]", "我的信用卡被盗刷了", ""),
        ("我的手机号是[手机号]，明天上午十点以后打", "", "明天上午十点以后"),
        ("请回电 [手机号]", "", ""),
        ("转人工", "", ""),
        ("我要转人工，卡被ATM吞了", "卡被ATM吞了", ""),
        ("我要投诉你们网点的服务态度，麻烦回个电话", "我要投诉你们网点的服务态度", ""),
        ("[电话]转123", "", ""),
        ("周三下午3点到5点之间都行", "", "周三下午3点到5点"),
    ],
)
def test_what_a_message_gives_the_callback(text, words, when):
    assert problem_words(text) == words
    assert preferred_time(text) == when


def test_the_exchange_knows_a_number_a_change_and_a_withdrawal():
    assert gave_number("我的号码 [手机号]") and gave_number("[电话]") and not gave_number("手机号忘了")
    assert all(wants_other_number(t) for t in ("修改号码", "/callback_change", "号码不对", "换个号"))
    assert not wants_other_number("对的")
    assert all(withdraws(t) for t in ("不用了", "算了吧", "取消回电", "不需要了"))
    assert not withdraws("不用了，我的卡被吞了怎么办")
    assert (next_step(False, False), next_step(True, False), next_step(False, True)) == (
        "problem",
        "contact",
        "confirm",
    )


def test_a_time_is_for_the_call_only_when_said_about_calling_or_alone():
    from kb.desk.callback import asks_for_call, call_time, tries_a_number

    assert call_time("周六上午打") == "周六上午" and call_time("明天上午吧") == "明天上午"
    assert call_time("下午三点以后联系我") == "下午三点以后"
    assert call_time("对了，卡是昨天下午在地铁上丢的") == ""  # part of the story
    assert call_time("客服热线晚上能打通吗") == ""  # part of a question
    assert asks_for_call("信用卡被盗刷了，请给我回电话") and asks_for_call("回电给我")
    assert not asks_for_call("你们会回电吗") and not asks_for_call("不用回电了")
    assert tries_a_number("12345") and tries_a_number("新号码是 1391234123")
    assert not tries_a_number("卡被吞了") and not tries_a_number("[手机号]")
