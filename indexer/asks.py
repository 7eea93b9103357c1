"""What a question asks for (a duration, a price, an amount such as a fine or compensation, a count, the hour
(a clock time), a day or date, a phone number, how or where to pay, a place, a list, or who pays or answers for
something), whether a text holds one, and whether a question asks what follows from breaking a rule
(asks_consequence): the reply's sentence choice uses every kind, the decision all but who pays
(indexer.decision.DECIDING_KINDS); neither depends on one knowledge base. Patterns over Chinese and English wording;
plain functions."""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUM = r"[\d一二三四五六七八九十百千万两半]+"
# what a question asks someone to pay or bear ('谁来出' the cost; not 出具, 出示, 出面, 出的错; not 付出)
_PAYS = r"(?:出(?![具示面的了])|付(?!出)|掏|承担|负担|负责|赔|买单|支付)"

# asking how much: what something costs, or what a fine or compensation comes to
_HOW_MUCH = r"多少钱|多少元|多少块|收多少|费用?是?多少"
# a sum stated, or none to pay
_SUM = rf"{_NUM}\s*(?:元|块|倍|%|％)|免费|不收取|不得收取"
# asking a price, not naming one ('价格是多少', '什么价'; not '老顾客看到的价格更贵，这违法吗')
_PRICE = r"(?:价格|价钱|票价|价位|单价)(?:是|大概|一般|要)?多少|什么价"
# how or where, before a word for paying ('怎么', '在哪', '去哪里'); a word that is paying; money named; what 交 or
# 付 begins that is not paying (交通, 交流, 交付 handing over, 交房, 交朋友, 付出, 付诸 …)
_HOW_TO_PAY = r"(?:怎么|怎样|如何|咋|在哪里?|在哪儿|去哪里?|去哪儿|到哪里?|到哪儿|哪里(?:能|可以)?)"
_PAY = r"(?:缴(?![获械])|付款|付钱|付费|支付(?!宝)|交费|交钱|交款|交税|交纳|充值|续费)"
_MONEY = r"(?:罚款|罚金|费|钱|税|押金|保证金|租金|房租|利息)"
_NOT_PAYING = "通流往易代涉接给换叉付还房朋友心互汇界融配底班待卷诸出"
# A sum stated as a fine, the sum before or after the word ('处二千元以上二万元以下罚款', '并处罚款2000元'): no price.
FINE_SUM = re.compile(rf"罚款[^，。；,;]{{0,8}}?{_NUM}\s*(?:元|块)|{_NUM}\s*(?:元|块)[^，。；,;]{{0,12}}罚款")
# kind: (the question asks for it, a text holds one)
KINDS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    # asked how or where to pay ('罚款怎么交', '物业费在哪缴', '交罚款去哪里', 'how do I pay'): a text that never says
    # how money is paid (缴纳, 交纳, 支付, a bank, a counter, online …) does not answer it, whatever amount it states (a
    # trial: '那罚款怎么交' after the metro's smoking fine was answered with the fine on the metro company, at 0.80).
    # A word that is paying (缴费, 付款, 充值 …), or a bare 交 or 付 when the question names money (交 alone is handing
    # in: '材料在哪里交', '怎么交房'). Asked first: '在哪' would read it as a place, 'fine' as an amount.
    "payment": (
        re.compile(
            rf"{_HOW_TO_PAY}{_PAY}|{_PAY}[^，。？?；;]{{0,4}}?(?:到|在|去)?哪|(?:交|缴)(?:费|款)的?(?:方式|渠道|途径|地点)|"
            rf"^(?=.*{_MONEY})(?:.*{_HOW_TO_PAY}[交付](?![{_NOT_PAYING}])|.*[交付][^，。？?；;]{{0,4}}?(?:到|在|去)?哪)|"
            r"\b(?:how|where) (?:do|can|should|to) (?:i |we |you )?pay\b|\bways? to pay\b",
            re.I | re.S,
        ),
        re.compile(
            r"缴(?![获械])|交纳|交费|付款|支付(?!宝)|转账|汇款|扫码|银行|柜台|窗口|网上|线上|(?<![A-Za-z])app(?![A-Za-z])|"
            r"微信|支付宝|代扣|自助|收款",
            re.I,
        ),
    ),
    "duration": (
        re.compile(r"多久|多长时间|多长|几天|几个?月|几年|几个?小时|多少天|多少年|期限|时限|有效期|\bhow long\b", re.I),
        re.compile(rf"{_NUM}\s*个?(?:工作日|日|天|小时|分钟|个月|月|年|周|星期)|日内|之日起|期限|时限"),
    ),
    # asked what something costs, not what a fine or compensation comes to ('补办一张要收多少钱', 'how much does it
    # cost'): an amount stated as a fine ('处二千元以上二万元以下罚款') does not answer it
    "price": (
        re.compile(
            rf"^(?!.*(?:罚|赔|违约金|\bfine[sd]?\b|\bpenalt|\bcompensat))(?=.*(?:{_HOW_MUCH}|{_PRICE}|"
            r"\bhow much\b|\bfees?\b|\bcosts?\b))",
            re.I | re.S,
        ),
        re.compile(_SUM),  # read without FINE_SUM's sums (holds)
    ),
    "amount": (
        re.compile(
            rf"{_HOW_MUCH}|罚多少|赔多少|怎么赔|赔偿多少|{_PRICE}|金额|"
            r"\bhow much\b|\bfines?\b|\bfees?\b|\bcosts?\b",
            re.I,
        ),
        re.compile(rf"{_SUM}|罚款|倍|赔偿"),
    ),
    "count": (
        re.compile(r"几个|几次|几名|几人|多少个|多少次|多少人|\bhow many\b", re.I),
        re.compile(rf"{_NUM}\s*(?:个|次|人|名|家|项|条|户|位)|过半|半数|以上|以下"),
    ),
    # asked the hour ('几点关门', 'what time', 'open at night'): only a clock time answers it, not 工作日 or a date
    "clock": (
        re.compile(
            r"几点|营业时间|上班时间|下班|(?:开门|关门)(?!了(?!吗))|半夜|夜里|"
            r"\bwhat time\b|\b(?:opening|business|office|working) hours\b|\bwhat hours\b|"
            r"\bopen (?:at|until|till|late)\b|\bclosed? at\b|around the clock|\b24/7\b|\bat night\b|"
            r"\bmidnight\b|\bovernight\b",
            re.I,
        ),
        re.compile(
            r"\d{1,2}[:：]\d{2}|\d{1,2}\s*时(?![间候期效段])|[\d一二三四五六七八九十]+点|全天|24\s*小时|昼夜|通宵"
        ),
    ),
    # asked when, a day or a date ('什么时候', '周末', 'when'): a date, a day or an hour answers it
    "time": (
        re.compile(r"什么时候|何时|哪天|哪一天|几号|周末|\bwhen\b|\bopen on\b|\bclosed? on\b|\bweekends?\b", re.I),
        re.compile(r"\d{1,2}[:：]\d{2}|[\d一二三四五六七八九十]+点|\d+月|\d+日|全天|24\s*小时|工作日|节假日|时段"),
    ),
    "phone": (
        re.compile(
            r"电话(?:是|号码)?多少|热线(?:电话)?(?:是)?多少|号码(?:是)?多少|联系方式|怎么联系|"
            r"phone number|hotline number|what number|number to call",
            re.I,
        ),
        re.compile(r"\d{3,4}[-\s]?\d{4,8}|(?<!\d)\d{5}(?!\d)"),
    ),
    "place": (
        re.compile(r"哪里|在哪|哪儿|地址|什么地方|哪个部门|找谁|\bwhere\b", re.I),
        re.compile(r"地址|位于|路\d|号楼|网点|窗口|柜台|部门|机构|委员会|中心"),
    ),
    "list": (
        re.compile(r"哪些|有什么|有哪|包括什么|包括哪|都有啥|什么情况下|\bwhich\b|\bwhat are\b", re.I),
        re.compile(r"[（(][一二三四五六七八九十\d]+[）)]|[：:]\s*\n|^\s*\d+[.、]", re.M),
    ),
    # who pays, answers for or owns something (not who does it: 由谁受理, 谁出具): asked last, so a question
    # that asks anything else is read as that
    "party": (
        re.compile(
            rf"谁(?:来)?{_PAYS}|由谁(?:来)?{_PAYS}|归谁|谁的责任|我出还是|我付还是|"
            r"\bwho (?:pays|is responsible|bears|covers|owns)\b|\bwho should pay\b",
            re.I,
        ),
        re.compile(
            r"(?<![理自缘经])由(?![于此])[^，。；：,;]{1,24}?(?:承担|负担|垫付|支付|负责|赔偿)|归(?![还档纳])[^，。；：,;]{1,16}所有"
        ),
    ),
}


# What follows from breaking a rule ('不照做会罚多少', '被抓到会咋样', '要是瞒着不报呢', '要是不交呢'): a penalty or a
# liability, which a regulation sets in another clause that cites the rule (indexer.references.citing). Not how
# to pay a fine (罚款怎么交, 罚单), 罚息, 被查询, what will happen to an order ('订单会怎么样处理'), a violation
# named without asking its consequence ('违规了找谁投诉'), 'fine print'.
CONSEQUENCE = re.compile(
    r"罚(?!息|单|款(?:怎么|如何|在哪|交|缴|到哪|能不能|可以|可不可以))|处分|后果|追究|吊销|被抓|被查(?![询封])|被发现|"
    r"会(?:怎么?|咋)样(?:[了吗呢啊？?]|$)|会有(?:什么|啥)(?:事|后果|处罚)|(?:什么|啥)责任|瞒(?=报|着)|"
    r"^(?:那么?)?(?:要是|如果|万一|假如)?[不没](?:照做|遵守|执行|按规定|按时|整改|改正|交|缴|报)[^，。？?]{0,4}"
    r"(?:呢|的话)?[?？]?$|"
    r"\bpenalt|\bfines?\b(?! print)|\bfined\b|\bpunish|\bwhat happens if\b",
    re.I,
)


def asks_consequence(question: str) -> bool:
    """Whether a question asks what follows from breaking a rule (a fine, a punishment, a liability)."""
    return bool(CONSEQUENCE.search(question))


def asks_for(question: str, kinds: Iterable[str] | None = None) -> str | None:
    """The kind of thing a question asks for (a key of KINDS, the first that matches; only those of kinds when
    given), or None when it asks for none of them."""
    wanted = None if kinds is None else frozenset(kinds)
    for kind, (asks, _) in KINDS.items():
        if (wanted is None or kind in wanted) and asks.search(question):
            return kind
    return None


def holds(text: str, kind: str | None) -> bool:
    """Whether a text holds something of the kind (False for None); a price is not a sum stated as a fine
    (FINE_SUM)."""
    if kind == "price":
        text = FINE_SUM.sub("", text)
    return bool(kind) and bool(KINDS[kind][1].search(text))  # type: ignore[index]
