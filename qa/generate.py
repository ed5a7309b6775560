"""The generation stage's interface: what every generator is given and what it must do.

A generator turns the retrieved chunks into answer text whose ``[n]`` markers index the hits; ``qa.cite``
then aligns every claim with its exact quote, whatever the generator wrote. Generators are picked by name
from the registry in ``qa.generators``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embeddings.types import Hit
    from qa.evidence import Evidence


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator answers from.

    Attributes:
        question: the question as asked (validated).
        query: the standalone query that was searched (the question itself unless a follow-up was rewritten).
        hits: the retrieved chunks in rank order; ``[n]`` in the answer means ``hits[n - 1]``.
        history: earlier turns, ``{"role": ..., "content": ...}``.
        evidence: sentences and vectors of the index the hits come from.
        report: what the generator tells the answer path besides its text, filled while it generates. Known keys:
            ``confidence`` (float): the score the generator's answer-or-refuse decision compares with its
            threshold (``answer.refusal_threshold`` for the extractive generator); it becomes
            ``Answer.confidence``, from which ``citeqa eval`` draws the refusal / false-refusal curve.
    """

    question: str
    query: str
    hits: Sequence[Hit]
    history: Sequence[Mapping[str, str]]
    evidence: Evidence
    report: dict[str, Any] = field(default_factory=dict)


class Generator(ABC):
    """The one interface of every generator: ``generate`` is required, ``rewrite_query`` is optional."""

    name: str = "generator"

    @abstractmethod
    def generate(self, request: GenerationRequest) -> Iterator[str]:
        """Yield the answer's text deltas, with ``[n]`` markers indexing ``request.hits``."""

    def rewrite_query(self, question: str, history: Sequence[Mapping[str, str]]) -> str:
        """A follow-up rewritten as a standalone query, or ``question`` unchanged when this generator has no
        rewrite of its own (the answer path then resolves the follow-up with ``qa.rewrite``)."""
        return question
