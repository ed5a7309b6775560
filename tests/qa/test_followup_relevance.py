"""A follow-up's refusal is weighed against the conversation, not only its short standalone query."""

from __future__ import annotations

from corpus.types import Article
from embeddings import HashEmbedder
from embeddings.types import Hit
from qa.config import AnswerSettings
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator

TEXT = (
    "The Zorbian treaty\n\n"
    "In 1987 the Zorbian and Quorvanian harbour councils signed a treaty on the lighthouse of Kessel Point. "
    "In 1993 the Zorbian and Quorvanian harbour councils amended the lighthouse treaty to cover the new pier.\n"
)
EARLIER = "What did the Zorbian and Quorvanian harbour councils sign in 1987?"


def _scored(question: str, query: str, history: list[dict[str, str]]) -> float:
    article = Article("z.txt", "The Zorbian treaty", TEXT)
    evidence = Evidence({"z.txt": article}, HashEmbedder())
    start = TEXT.index("In 1987")
    hit = Hit("z.txt", start, len(TEXT) - 1, TEXT[start:-1], 1.0, title=article.title)
    scored = ExtractiveGenerator(AnswerSettings()).score(question, [hit], evidence, query=query, history=history)
    best = next(s for s in scored if "1993" in s.sentence.text)
    return best.similarity


def test_a_followup_is_as_relevant_as_its_conversation_makes_it() -> None:
    history = [{"role": "user", "content": EARLIER}, {"role": "assistant", "content": "A lighthouse treaty [1]."}]
    # the rewrite has nothing to resolve: the standalone query is short and shares little with the sentence
    alone = _scored("What changed in 1993?", "What changed in 1993?", [])
    in_conversation = _scored("And what changed in 1993?", "What changed in 1993?", history)
    assert in_conversation > alone


def test_a_question_that_is_not_a_followup_is_weighed_on_its_own() -> None:
    history = [{"role": "user", "content": EARLIER}, {"role": "assistant", "content": "A lighthouse treaty [1]."}]
    # searched as asked (query == question): the conversation adds nothing to its relevance
    assert _scored("What changed in 1993?", "What changed in 1993?", history) == _scored(
        "What changed in 1993?", "What changed in 1993?", [])
