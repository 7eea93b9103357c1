"""The vector index on small hand-written vectors, with exact numpy search as the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.vector_index import IndexCorruptError, IndexMissingError, IndexModelMismatchError, VectorIndex


def unit(rows) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def oracle(ids, vectors, query, k):
    scores = vectors @ query
    order = np.argsort(-scores)[:k]
    return [ids[i] for i in order], scores[order]


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    vectors = unit(rng.normal(size=(300, 8)))
    ids = [10_000 + 37 * i for i in range(300)]
    return ids, vectors


@pytest.fixture(params=["flat", "ivf"])
def index(request, data):
    ids, vectors = data
    # nprobe = nlist makes IVF exhaustive, so it must agree with the oracle exactly.
    vi = VectorIndex(8, request.param, nlist=8, nprobe=8, model="m")
    vi.add(ids, vectors)
    return vi


def test_search_matches_exact_numpy_search(index, data):
    ids, vectors = data
    for q in unit(np.random.default_rng(1).normal(size=(5, 8))):
        got_scores, got_ids = index.search(q[None], 10)
        want_ids, want_scores = oracle(ids, vectors, q, 10)
        assert got_ids[0].tolist() == want_ids
        np.testing.assert_allclose(got_scores[0], want_scores, rtol=1e-5)


def test_hand_written_vectors():
    vi = VectorIndex(3)
    vi.add([5, 6, 7], unit([[1, 0, 0], [0, 1, 0], [1, 1, 0]]))
    scores, ids = vi.search(unit([[1, 0.1, 0]]), 2)
    assert ids[0].tolist() == [5, 7]
    assert scores[0][0] == pytest.approx(1 / np.sqrt(1.01), rel=1e-5)


def test_replace_and_delete(index, data):
    ids, vectors = data
    target = unit([[1, 2, 3, 4, 5, 6, 7, 8]])
    index.add([ids[0]], target)  # same id: replaced, not duplicated
    assert len(index) == 300
    assert index.search(target, 1)[1][0][0] == ids[0]
    assert index.remove([ids[0], 999]) == 1
    assert len(index) == 299 and ids[0] not in index
    assert ids[0] not in index.search(target, 10)[1][0].tolist()


def test_fewer_vectors_than_k_pads_with_minus_one():
    vi = VectorIndex(2)
    vi.add([1], unit([[1, 0]]))
    scores, ids = vi.search(unit([[1, 0]]), 3)
    assert ids[0].tolist() == [1, -1, -1] and np.isinf(scores[0][1:]).all()
    assert VectorIndex(2).search(unit([[1, 0]]), 2)[1][0].tolist() == [-1, -1]


def test_save_and_load_round_trip(index, data, tmp_path):
    ids, vectors = data
    path = tmp_path / "sub" / "p.kfi"
    index.save(path)
    loaded = VectorIndex.load(path, model="m", dim=8)
    assert len(loaded) == 300 and loaded.kind == index.kind and loaded.meta["count"] == 300
    assert loaded.meta["model"] == "m" and loaded.meta["dim"] == 8 and loaded.meta["normalised"]
    q = vectors[3][None]
    assert loaded.search(q, 5)[1].tolist() == index.search(q, 5)[1].tolist()
    assert loaded.remove([ids[3]]) == 1  # ids survive a save
    assert not list(tmp_path.joinpath("sub").glob("*.tmp"))


def test_load_refuses_another_model(index, tmp_path):
    index.save(tmp_path / "p.kfi")
    with pytest.raises(IndexModelMismatchError, match=r"built with model 'm'.*'other'.*kefu index build"):
        VectorIndex.load(tmp_path / "p.kfi", model="other")
    with pytest.raises(IndexModelMismatchError, match="8-dimensional"):
        VectorIndex.load(tmp_path / "p.kfi", model="m", dim=384)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(IndexMissingError, match="kefu index build"):
        VectorIndex.load(tmp_path / "none.kfi")
    (tmp_path / "bad.kfi").write_bytes(b"not an index at all")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        VectorIndex.load(tmp_path / "bad.kfi")


def test_nprobe_reaches_faiss_after_load(tmp_path, data):
    ids, vectors = data
    vi = VectorIndex(8, "ivf", nlist=8, nprobe=1)
    vi.add(ids, vectors)
    vi.save(tmp_path / "i.kfi")
    loaded = VectorIndex.load(tmp_path / "i.kfi")
    q = unit(np.random.default_rng(3).normal(size=(20, 8)))
    loaded.nprobe = 8
    assert loaded.search(q, 5)[1].tolist() == [oracle(ids, vectors, x, 5)[0] for x in q]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dim": 0}, "dim must be positive"),
        ({"dim": 4, "kind": "hnsw"}, "kind must be"),
    ],
)
def test_bad_constructor_values_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VectorIndex(**kwargs)


def test_wrong_shapes_are_refused():
    vi = VectorIndex(4)
    with pytest.raises(ValueError, match="dimension 3"):
        vi.add([1], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="2 ids for 1 vectors"):
        vi.add([1, 2], np.ones((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="unique"):
        vi.add([1, 1], np.ones((2, 4), dtype=np.float32))


def test_for_size_chooses_ivf_past_the_threshold():
    assert VectorIndex.for_size(8, 100, ann_threshold=1000).kind == "flat"
    assert VectorIndex.for_size(8, 5000, ann_threshold=1000).kind == "ivf"
    assert VectorIndex.for_size(8, 100, kind="ivf").kind == "ivf"
