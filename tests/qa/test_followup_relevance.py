"""A follow-up's refusal is weighed against the conversation, not only its short standalone query."""

from __future__ import annotations

import pytest

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


# --- a sentence the previous answer already said, in its own words, ranks lower (qa/reasons.restates) ---------------

BRIDGE = (
    "The Kessel bridge\n\n"
    "The harbour council closed the old Kessel bridge to all traffic in March 1994 after a storm. "
    "The ferry company doubled its crossings from Kessel Point once the harbour council closed the bridge.\n"
)
FOLLOWUP = "What did the ferry company do once the harbour council closed the Kessel bridge?"


def _scores(history: list[dict[str, str]]) -> dict[str, float]:
    article = Article("k.txt", "The Kessel bridge", BRIDGE)
    evidence = Evidence({"k.txt": article}, HashEmbedder())
    start = BRIDGE.index("The harbour")
    hit = Hit("k.txt", start, len(BRIDGE) - 1, BRIDGE[start:-1], 1.0, title=article.title)
    scored = ExtractiveGenerator(AnswerSettings()).score(FOLLOWUP, [hit], evidence, query=FOLLOWUP, history=history)
    return {c.sentence.text.split()[1]: c.score for c in scored}  # "harbour" / "ferry" sentence


def _history(answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": "What did the harbour council do in March 1994?"},
            {"role": "assistant", "content": answer}]


def test_a_sentence_the_previous_answer_said_in_other_words_ranks_lower() -> None:
    before = _scores([])
    after = _scores(_history("The harbour council closed the Kessel bridge to traffic in March 1994 [1]."))
    assert after["harbour"] == pytest.approx(before["harbour"] - 0.2)  # said already: something new is wanted
    assert after["ferry"] == pytest.approx(before["ferry"])


@pytest.mark.parametrize("answer", [
    "It closed the bridge [1].",  # too few words to say what a sentence says
    "The harbour council met the ferry company about storm damage in April [1].",  # shares words, says another thing
])
def test_an_answer_that_does_not_restate_the_sentence_leaves_it_as_it_ranks(answer: str) -> None:
    assert _scores(_history(answer)) == pytest.approx(_scores([]))
