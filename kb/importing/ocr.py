"""Text in pictures (scanned pages, screenshots), read by RapidOCR: Chinese and English models shipped
inside its wheel, so nothing is downloaded. The engine loads once per process, on first use."""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np

MIN_SCORE = 0.5  # boxes the recogniser is less sure of are mostly specks and stamps
MIN_SIDE = 48  # pixels: smaller pictures are icons, not text

_lock = threading.Lock()
_engine: Any = None


def _ocr() -> Any:
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _engine = RapidOCR()
        return _engine


def as_image(data: bytes | np.ndarray) -> np.ndarray | None:
    """An RGB array from encoded image bytes (PNG, JPEG …) or an array; None if it is not a picture or is
    too small to hold text."""
    if isinstance(data, np.ndarray):
        image = data
    else:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as picture:
                picture.load()
                image = np.asarray(picture.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            return None
    if image.ndim < 2 or min(image.shape[:2]) < MIN_SIDE:
        return None
    return image


def lines_of(boxes: list[tuple[list[list[float]], str, float]]) -> list[str]:
    """OCR boxes (corner points, text, score) as lines of text, top to bottom: boxes whose vertical
    centres are within half a box height of each other are one line, read left to right."""
    kept = [(pts, text.strip(), score) for pts, text, score in boxes if text.strip() and score >= MIN_SCORE]
    placed = []
    for pts, text, _ in kept:
        ys = [p[1] for p in pts]
        placed.append((sum(ys) / 4, min(p[0] for p in pts), max(ys) - min(ys), text))
    placed.sort()
    lines: list[list[tuple[float, str]]] = []
    centres: list[float] = []
    for centre, left, height, text in placed:
        if lines and abs(centre - centres[-1]) <= max(height, 1.0) / 2:
            lines[-1].append((left, text))
        else:
            lines.append([(left, text)])
            centres.append(centre)
    return ["".join(text for _, text in sorted(line)) for line in lines]


def recognise(data: bytes | np.ndarray) -> list[str]:
    """The lines of text in a picture ([] for none, or for something that is not a picture)."""
    image = as_image(data)
    if image is None:
        return []
    boxes, _ = _ocr()(image)
    return lines_of(boxes or [])
