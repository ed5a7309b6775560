"""The warm answer path: timed with pytest-benchmark (``pytest --benchmark-enable`` on this file; the default run
calls it once, untimed), and checked to answer exactly as a cold one does.

The warm path keeps what it reads of the corpus (sentence vectors read from the index, each quote's facts, folded
texts, parses): none of it may change an answer. ``citeqa bench --sections latency`` measures the real model's
latency; this measures the same path over the fast hash embedder, with no timing assertion.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.load import load_articles
from embeddings import ChunkSettings, HashEmbedder, IndexSettings, build_index
from qa import QA
from qa.types import Answer

QUESTIONS = (
    "How many people were massacred in Paris?",
    "Where did Macron receive Putin in 2017?",
    "Who was France's ambassador in Moscow in 1702?",
    "How much did France agree to refund Moscow over the cancelled Mistral sale?",
    "Why did Macron invite Putin to Versailles?",
)


def _digest(a: Answer) -> tuple:
    return (a.text, a.refused, [(c.doc_id, c.start, c.end, c.supported) for c in a.citations],
            a.short_answer, a.confidence, [(c.text, c.supported) for c in a.claims])


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warm") / "index"
    build_index(load_articles(None).articles, index_dir=path, embedder=HashEmbedder(), chunking=ChunkSettings(),
                index_settings=IndexSettings(), progress=False, sources=[], sentence_vectors=True)
    return path


def _qa(index_dir: Path) -> QA:
    return QA.from_settings({"embedding": {"model": "hash"}, "index": {"dir": str(index_dir)},
                             "answer": {"refusal_threshold": 0.3}}, preload_nlp=False)


def test_warm_answers_equal_cold_ones(index_dir: Path, benchmark) -> None:  # type: ignore[no-untyped-def]
    cold = []
    for q in QUESTIONS:  # each on a QA of its own: nothing of another question is cached in it
        cold.append(_digest(_qa(index_dir).answer(q)))
    assert "129" in cold[0][0]  # the index really answers
    warm = _qa(index_dir)
    for q in QUESTIONS:
        warm.answer(q)

    def answer_all() -> list[tuple]:
        return [_digest(warm.answer(q)) for q in QUESTIONS]

    assert benchmark(answer_all) == cold


class _Counting(HashEmbedder):
    """The hash embedder, recording every text it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed(self, texts, *, progress: bool = False):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().embed(texts, progress=progress)


def test_a_warm_answer_embeds_the_question_once_and_no_short_answer_its_quote_holds(index_dir: Path) -> None:
    """A QA over an index loaded with the bare model (as ``citeqa bench`` builds one per pass) embeds the question
    for retrieval and reuses that vector; a short answer its next sentence's quote holds verbatim is not embedded
    (the quote supports it whatever its cosine)."""
    from embeddings import Index
    from qa.config import get_settings

    settings = get_settings({"embedding": {"model": "hash"}, "index": {"dir": str(index_dir)},
                             "answer": {"refusal_threshold": 0.3}})
    counting = _Counting()
    qa = QA(settings, Index.load(index_dir, embedder=counting, chunking=settings.chunking), counting)
    answer = qa.answer(QUESTIONS[0])
    assert answer.text.startswith("129. [1] ") and answer.citations[0].supported, answer.text  # the short answer
    assert counting.seen.count(QUESTIONS[0]) == 1, counting.seen
    assert not [t for t in counting.seen if t.strip().rstrip(".") == "129"], counting.seen


def test_a_new_question_is_parsed_once(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis, the swap check and the two-hop reading share one parse of the question (each made its own)."""
    from spacy.language import Language

    parsed: list[str] = []
    original = Language.__call__

    def counting(self, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(text if isinstance(text, str) else "")
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(Language, "__call__", counting)
    from qa import analysis, answerability, ties

    for cached in (analysis.parse, answerability.analyze, ties.parse):  # nothing parsed by an earlier test
        cached.cache_clear()
    question = "On what date did the French president elected in 2012 visit the Kremlin?"  # read by all three
    _qa(index_dir).answer(question)
    assert parsed.count(question) == 1, parsed
