"""Records of the retrieval stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its fused score and each retriever's 1-based rank (None: not found by it)."""

    doc_id: str
    start: int
    end: int
    text: str
    score: float
    title: str = ""
    dense_rank: int | None = None
    bm25_rank: int | None = None
