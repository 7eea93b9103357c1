"""Answer or abstain: a confidence calibrated on labelled questions, not a raw cosine cut-off.

Dense scores of e5 models crowd into 0.8–0.9 for any text, so the top score alone
cannot tell an answerable question from a greeting. The confidence combines how
far the best passage stands above the others for this question, how much of the
question's wording the top hit covers, and whether both legs agree; the weights
are fitted by logistic regression (``kefu calibrate``) and kept per model in
``kb/calibration.json``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.asks import asks_for, holds
from indexer.lexical import cjk_share, is_chinese

FEATURES = (
    "top_dense",
    "dense_margin",
    "coverage",
    "bigram_coverage",
    "agree",
    "agree_en",
    "english",
    "top_dense_en",
    "dense_margin_en",
    "idf_coverage",
    "asks_kind",
    "kind_found",
    "fused_margin",
    "kind_missing",
)
# What a question asks for that a passage either states or does not (a list or a place is too loose to tell).
SPECIFIC_KINDS = ("duration", "price", "amount", "count", "phone", "payment", "clock", "time")
# What a question asks for that no answer can do without: asked how much, how long or what number, a passage
# without an amount, a duration or a number does not answer it, however close its words (count, clock and time
# are left to the weights: '几个小时' and an English 'when' ask them loosely). Asked what something costs, a fine is
# no price ('补办门禁卡要收多少钱' against '处二万元以上五万元以下的罚款'); asked how to pay, a passage that never says
# how money is paid does not answer ('罚款怎么交' against a fine). Measured: docs/BENCHMARKS.md, 2026-12-07/08.
REQUIRED_KINDS = ("duration", "price", "amount", "phone", "payment")
# The kinds the decision reads (who pays or answers, indexer.asks's 'party', only chooses the reply's sentence: the
# calibration was fitted without it; 'payment' joined without a refit: no question it was fitted on asks it).
DECIDING_KINDS = ("duration", "price", "amount", "count", "clock", "time", "phone", "payment", "place", "list")
CALIBRATION_FILE = "calibration.json"
# Decision.reason when the first hit is a stored Q&A question in all but the customer's words (SAME_WORDS): it is
# answered whatever the calibrated confidence, since a curator wrote that question or attached it from a gap.
SAME_QUESTION = "a curated question in almost the same words"
SAME_WORDS = 0.8  # the share of character pairs (Jaccard) a question shares with a stored phrasing to be it
# Decision.reason when the answer rests on the document's structure, not on similarity (indexer.followup): a clause
# the customer named against the one just cited; the paragraph that cites, after 违反, the clause just cited or the
# clause (and item) found for the act the question names.
NAMED_CLAUSE = "the customer named this clause of the article just cited"
PENALTY = "the customer asked what follows from breaking the clause just cited; this clause sets it"
PENALTY_OF_ACT = "the customer asked what follows from an act; the clause found for the act is cited by this one"
# What the hit-test page says of those, in place of the similarity it did not weigh.
BY_STRUCTURE = {
    NAMED_CLAUSE: "客户点名了上一答所在文件的条款（下一条、第N条等），直接按条号回答，不看下面的相似度。",
    PENALTY: "问的是违反上一答条款的后果：这条罚则写明引用了那一条（“违反本…第N条”），"
    "按引用关系回答，不看下面的相似度。",
    PENALTY_OF_ACT: "问的是某个行为的后果：先单独检索这个行为，找到规定它的条款和项，再找到写明引用该条该项的罚则，"
    "按引用关系回答，不看下面的相似度（下面是整句问题单独检索的结果）。",
}


@dataclass(frozen=True)
class Decision:
    """Whether to answer, how confident, and why."""

    answer: bool
    confidence: float
    reason: str


def char_pairs(text: str) -> set[str]:
    """The pairs of neighbouring letters or digits of a text, lower-cased (punctuation and spaces skipped)."""
    chars = [c for c in text.lower() if c.isalnum()]
    return {a + b for a, b in itertools.pairwise(chars)}


# What makes two nearly identical questions different ones: numbers, units and negations.
SPECIFICS = re.compile(
    r"[\d零〇一二两三四五六七八九十百千万亿]+|[不没无非未别勿]|[天年月日周时分秒元角块%％倍次个张岁]"
)


def same_specifics(a: str, b: str) -> bool:
    """Whether two texts name the same numbers, units and negations in the same order ('逾期三天' and
    '逾期三年', '五万元' and '五十万元', '需要' and '不需要' do not)."""
    return SPECIFICS.findall(a) == SPECIFICS.findall(b)


def _top_and_margin(scores) -> tuple[float, float]:
    """A leg's best dense score, and how far it stands above the next 19."""
    s = np.asarray(scores, dtype=np.float64)
    if not len(s):
        return 0.0, 0.0
    return float(s[0]), float(s[0] - s[1:20].mean()) if len(s) > 1 else 0.0


def features_for(
    query: str,
    tokens: Sequence[str],
    hits: Sequence,
    leg_scores: Sequence,
    idf: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """The decision's inputs: a question, its ranked hits, each dense leg's passage scores, and the
    passages' inverse document frequency per token (absent tokens count as the rarest). None of them
    depends on one knowledge base: cosines and their margin, how much of the question's wording (weighted
    by how rare each word is) the top hit holds, and whether it holds what the question asks for."""
    english, chinese = 1.0 - cjk_share(query), is_chinese(query)
    feats = dict.fromkeys(FEATURES, 0.0)
    for j, scores in enumerate(leg_scores[1:], start=1):
        feats[f"top_dense_{j}"], feats[f"dense_margin_{j}"] = _top_and_margin(scores)
    feats["english"] = english
    if not hits:
        return feats
    top = hits[0]
    found_in = f"{top.title} {top.section} {top.question or ''} {top.text}".lower()
    idf = idf or {}
    rarest = max(idf.values(), default=1.0)
    weight = {t: idf.get(t, rarest) for t in tokens}
    asked = asks_for(query, DECIDING_KINDS)
    q_bigrams = char_pairs(query.lower())
    _, margin = _top_and_margin(leg_scores[0]) if leg_scores else (0.0, 0.0)
    feats.update(
        {
            "top_dense": float(top.dense),
            "dense_margin": margin,
            "coverage": sum(1 for t in tokens if t in found_in) / len(tokens) if tokens else 0.0,
            "bigram_coverage": len(q_bigrams & char_pairs(found_in)) / len(q_bigrams) if q_bigrams else 0.0,
            # English words are matched through a dictionary (indexer.english): their agreement is weighed apart.
            "agree": float(top.dense > 0 and top.lexical > 0 and chinese),
            "agree_en": float(top.dense > 0 and top.lexical > 0 and not chinese),
            # Cross-lingual cosines run lower and words match only through a dictionary: English gets its own scale.
            "top_dense_en": float(top.dense) * english,
            "dense_margin_en": margin * english,
            "idf_coverage": sum(w for t, w in weight.items() if t in found_in) / sum(weight.values())
            if weight
            else 0.0,
            "asks_kind": float(asked is not None),
            "kind_found": float(holds(top.text, asked)),
            "fused_margin": (top.score - hits[1].score) / top.score if len(hits) > 1 and top.score > 0 else 0.0,
            "kind_missing": float(asked in SPECIFIC_KINDS and not holds(top.text, asked)),
        }
    )
    return feats


KIND_WORDS = {
    "duration": "时长或期限",
    "price": "价格或收费",
    "amount": "金额或费用",
    "count": "数量",
    "clock": "钟点",
    "time": "时间",
    "phone": "电话号码",
    "payment": "缴费或付款的方式",
    "place": "地点或部门",
    "list": "一组条目",
}


def explain(feats: dict[str, float], asked: str | None = None, decision: Decision | None = None) -> list[str]:
    """The confidence in words a curator reads on the hit-test page (Chinese, one sentence each), from the
    decision's inputs (features_for), what the question asks for (indexer.asks.asks_for) and the decision."""
    if decision is not None and decision.reason == SAME_QUESTION:
        # the margin and coverage below are the passages': beside a curated question in the same words they mislead
        return ["问答库里有一条问法与这个问题几乎一字不差，直接用它的答案（不看下面各条的语义差距）。"]
    if decision is not None and decision.reason in BY_STRUCTURE:
        return [BY_STRUCTURE[decision.reason]]
    out = []
    share = feats.get("idf_coverage", 0.0)
    if feats.get("english", 0.0) > 0.5:  # not is_chinese: the words a dictionary gave are among the steps
        out.append("问题是英文：原话的词不会出现在中文资料里（按英汉词典换成的中文词见“英文词”），语义靠跨语言匹配。")
    else:
        out.append(
            f"问题原话里的关键词（按少见程度加权，不算同义词）有 {share:.0%} 出现在第一条结果中"
            + ("，用词很接近。" if share >= 0.7 else "，用词有一定差距。" if share >= 0.4 else "，用词差得较远。")
        )
    margin = feats.get("dense_margin", 0.0) + feats.get("dense_margin_en", 0.0)
    out.append(
        "按语义，第一条结果明显比其他内容更接近问题。"
        if margin >= 0.06
        else "按语义，第一条结果只比其他内容略接近问题。"
        if margin >= 0.03
        else "按语义，许多内容与问题差不多接近，没有突出的答案。"
    )
    if feats.get("asks_kind"):
        kind = KIND_WORDS.get(asked or "", "特定信息")
        out.append(
            f"问题问的是{kind}，第一条结果里有。"
            if feats.get("kind_found")
            else f"问题问的是{kind}，但第一条结果里没有，所以不作答。"
            if asked in REQUIRED_KINDS and feats.get("kind_missing")
            else f"问题问的是{kind}，但第一条结果里没有。"
        )
    if feats.get("agree") or feats.get("agree_en"):
        out.append("语义检索和关键词检索都找到了这条。")
    return out


@dataclass
class Calibration:
    """Logistic weights over FEATURES and the confidence needed to answer."""

    weights: dict[str, float]
    bias: float
    threshold: float = 0.5
    model: str = ""

    def confidence(self, feats: dict[str, float]) -> float:
        """Probability that the top hit answers the question."""
        z = self.bias + sum(w * feats.get(name, 0.0) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def decide(self, feats: dict[str, float], asked: str | None = None) -> Decision:
        """Answer when the confidence reaches the threshold; never when the question asks for a duration, an
        amount or a phone number (asked: indexer.asks.asks_for of the question) that the top hit does not hold
        (features_for's kind_missing)."""
        if asked in REQUIRED_KINDS and feats.get("kind_missing"):
            confidence = self.confidence(feats) if self.weights else float(feats.get("coverage", 0.0))
            return Decision(False, round(confidence, 4), f"the question asks for a {asked}; the best match states none")
        if not self.weights:
            # Uncalibrated model: answer only when the wording clearly matches.
            ok = feats.get("coverage", 0.0) >= 0.6 and feats.get("agree", 0.0) > 0
            return Decision(
                ok,
                float(feats.get("coverage", 0.0)),
                "uncalibrated model: run 'kefu calibrate'" if ok else "uncalibrated model, weak match",
            )
        c = self.confidence(feats)
        if c >= self.threshold:
            return Decision(True, round(c, 4), "confident match")
        return Decision(False, round(c, 4), "nothing in the knowledge base matches well enough")

    @classmethod
    def load(cls, kb_dir: Path, model: str, threshold: float | None = None) -> Calibration:
        """The calibration saved for a model (empty weights when there is none)."""
        path = Path(kb_dir) / CALIBRATION_FILE
        table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        entry = table.get(model)
        if not entry:
            return cls({}, 0.0, threshold if threshold is not None else 0.5, model)
        return cls(entry["weights"], entry["bias"], entry["threshold"] if threshold is None else threshold, model)

    def save(self, kb_dir: Path, extra: dict | None = None) -> Path:
        """Write this model's calibration into kb/calibration.json, keeping other models'."""
        path = Path(kb_dir) / CALIBRATION_FILE
        table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        table[self.model] = {"weights": self.weights, "bias": self.bias, "threshold": self.threshold, **(extra or {})}
        path.write_text(json.dumps(table, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


def fit_calibration(rows: list[dict[str, float]], labels: list[int], model: str, l2: float = 1.0) -> Calibration:
    """Fit logistic weights on feature rows and 0/1 labels (1: the top hit answers)."""
    from scipy.optimize import minimize

    if len(set(labels)) < 2:
        raise ValueError("calibration needs both answerable and unanswerable examples")
    names = sorted(rows[0])
    raw = np.array([[r[n] for n in names] for r in rows], dtype=np.float64)
    # Standardise so the penalty treats features alike (cosines vary in the second decimal).
    mean, std = raw.mean(axis=0), raw.std(axis=0) + 1e-9
    x = (raw - mean) / std
    y = np.asarray(labels, dtype=np.float64)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[1:] + w[0]
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-9
        value = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + l2 * np.sum(w[1:] ** 2) / len(y)
        grad = np.concatenate([[np.mean(p - y)], x.T @ (p - y) / len(y) + 2 * l2 * w[1:] / len(y)])
        return value, grad

    w = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B").x
    weights = w[1:] / std  # back to raw feature units
    bias = w[0] - float(np.sum(w[1:] * mean / std))
    return Calibration({n: round(float(v), 5) for n, v in zip(names, weights)}, round(bias, 5), 0.5, model)


def load_negatives(path: Path) -> list[str]:
    """Questions the knowledge base should abstain on, one per line ('#' comments)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
