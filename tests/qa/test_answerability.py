"""Answerability and the short answer first (issue 12 items 2-3): the extractive generator with
``answer.answerability`` on, the short answer's exact offsets, and the refusal that says what is missing."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa.cite import cite, short_answer
from qa.config import AnswerSettings
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal

TEXT = (
    "Summit at Versailles\n\n"
    "France's new president, Emmanuel Macron, hosted his Russian counterpart Vladimir Putin at the Palace of "
    "Versailles on May 29, 2017. Russia sent an Alsatian puppy to replace the police dog killed in the raid. "
    "The talks were frank."
)


@pytest.fixture(scope="module")
def setup() -> tuple[Evidence, list[Hit]]:
    art = Article("v.txt", "Summit at Versailles", TEXT)
    ev = Evidence({"v.txt": art}, HashEmbedder())
    start = TEXT.index("France's")
    return ev, [Hit("v.txt", start, len(TEXT), TEXT[start:], 1.0, title=art.title)]


def _run(ev: Evidence, hits: list[Hit], question: str) -> tuple[str, object]:
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))
    raw = "".join(gen.generate(GenerationRequest(question, question, hits, [], ev)))
    return raw, cite(raw, hits, ev, support_threshold=0.3)


def test_short_answer_first_with_exact_offsets(setup: tuple[Evidence, list[Hit]]) -> None:
    ev, hits = setup
    raw, result = _run(ev, hits, "When did Macron host Putin at Versailles?")
    short = short_answer(result.text, result.citations)  # type: ignore[attr-defined]
    assert short is not None and short.text == "May 29, 2017"
    assert TEXT[short.start:short.end] == short.text
    first = result.citations[0]  # type: ignore[attr-defined]
    # the short answer cites the sentence it comes from, which the answer then quotes
    assert first.start <= short.start and short.end <= first.end and "Palace of Versailles" in first.quote
    assert result.text.startswith("May 29, 2017. [1] France's new president")  # type: ignore[attr-defined]


def test_refusal_names_what_is_missing_and_cites_the_closest(setup: tuple[Evidence, list[Hit]]) -> None:
    ev, hits = setup
    raw, result = _run(ev, hits, "What was the name of the Alsatian puppy Russia sent?")
    assert is_refusal(raw) and raw.startswith("The articles don't say the name of")
    assert "puppy" in raw.split(";")[0]
    assert len(result.citations) == 1  # type: ignore[attr-defined]
    assert short_answer(result.text, result.citations) is None  # type: ignore[attr-defined]


def test_without_answerability_no_short_answer(setup: tuple[Evidence, list[Hit]]) -> None:
    ev, hits = setup
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=False))
    q = "When did Macron host Putin at Versailles?"
    raw = "".join(gen.generate(GenerationRequest(q, q, hits, [], ev)))
    result = cite(raw, hits, ev, support_threshold=0.3)
    assert short_answer(result.text, result.citations) is None
