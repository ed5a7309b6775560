"""Records of the generation stage: what ``answer()`` returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from embeddings.types import Hit


@dataclass(frozen=True)
class Citation:
    """Marker ``[n]`` in ``Answer.text``: an exact span of a source article.

    ``article.text[start:end] == quote`` always holds. ``supported`` is True when the claim it backs passed
    the support check, False when it failed, None when not checked.
    """

    n: int
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    supported: bool | None = None


@dataclass(frozen=True)
class ShortAnswer:
    """The answer in a few words (a name, number, date or place): an exact span of a source article.

    ``article.text[start:end] == text``; it lies inside the quote of the citation its marker in ``Answer.text``
    names.
    """

    text: str
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class ClaimCheck:
    """One claim (sentence) of ``Answer.text`` and the verdict of the support check on it.

    Attributes:
        text: the claim without its markers.
        start: offset of the claim's sentence in ``Answer.text``.
        end: end offset of the claim's sentence (its markers included) in ``Answer.text``.
        citations: the ``Citation.n`` its markers name (empty: it cites nothing).
        supported: True when it cites at least one quote and every quote it cites supports it.
        corrected: True when the model cited a passage that does not support the claim and the marker was moved
            to the passage that does (or dropped), or when the model wrote no marker and one was attached.
    """

    text: str
    start: int
    end: int
    citations: tuple[int, ...]
    supported: bool
    corrected: bool = False


@dataclass(frozen=True)
class Answer:
    """An answer grounded in retrieved chunks.

    Attributes:
        text: the answer with inline markers [1], [2] … indexing ``citations`` (1-based ``n``).
        citations: one per marker.
        chunks: retrieved chunks in rank order.
        refused: True when the articles do not contain the answer; ``text`` then says so.
        query: the standalone query actually searched.
        backend: which generator answered ('extractive', 'openai').
        question: the question as asked.
        unsupported: number of claims whose citation failed the support check or that cite nothing.
        timings_ms: time spent per stage.
        short_answer: the answer in a few words with its exact offsets, stated first in ``text`` (when the articles
            differ, the first value of "The articles differ: one says A [1]; another says B [2]."); None when the
            answer is not a short span (or refused).
        confidence: the generator's score for answering, which it compares with its refusal threshold (None when
            the generator reports none); refusals for want of an answer of the asked kind report the score too.
            On the LLM path the evidence check before the model call reports it (the extractive plan's confidence).
        claims: every claim of ``text`` with its citations and support verdict, in order (``unsupported`` counts
            the ones with ``supported`` False): the UI and CLI mark unsupported claims from it.
        disagreement: set when the model refused although a retrieved sentence clearly answers: what the model
            said. ``text`` then gives that evidence (or, with ``generator.trust_model_refusal``, the refusal and
            the evidence).
    """

    text: str
    citations: list[Citation]
    chunks: list[Hit]
    refused: bool
    query: str
    backend: str
    question: str = ""
    unsupported: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    short_answer: ShortAnswer | None = None
    confidence: float | None = None
    claims: list[ClaimCheck] = field(default_factory=list)
    disagreement: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Retrieved:
    """An event of ``QA.events``: retrieval is done, before the generator writes anything.

    Attributes:
        query: the standalone query that was searched.
        hits: the retrieved chunks in rank order (``[n]`` in the answer will mean ``hits[n - 1]``).
    """

    query: str
    hits: list[Hit]


@dataclass(frozen=True)
class CitedClaim:
    """An event of ``QA.events``: a sentence of the streamed answer is complete and its citations are attached.

    Emitted while the answer streams, one per claim in order (``index`` 0, 1, ...); the numbers ``n`` of
    ``citations`` are those the final ``Answer`` uses, and ``Answer.claims[index]`` holds the same verdict.

    Attributes:
        index: the claim's position among the answer's claims.
        claim: the claim's text without markers.
        citations: the exact quotes attached to it (possibly unsupported ones: see ``supported``).
        supported: True when a quote supports the claim.
    """

    index: int
    claim: str
    citations: list[Citation]
    supported: bool
