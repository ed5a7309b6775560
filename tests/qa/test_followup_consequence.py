"""What an event led to, said in the sentence after the event's (qa/consequences.py): which questions ask it, which
sentences point back to the one before with what came of it, and the pair quoted for such a question over a small
article of our own (none from the eval sets)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from corpus.types import Article
from embeddings import HashEmbedder
from qa.consequences import asks_consequence, points_back, with_consequence
from qa.evidence import Evidence, Sentence

TEXT = ("Canals\n\n"
        "The town grew quickly after the railway arrived in 1851. "
        "A dispute over water rights led to the closure of the Ormsby canal in 1872. "
        "This was a heavy blow for the barge owners, and most of them had sold their boats within two years. "
        "The canal itself is now a walking path.\n\n"
        "Visitors often ask about the canal's closure in 1872 and the barge owners.")


@pytest.mark.parametrize(("question", "asks"), [
    ("What did the closure of the Ormsby canal in 1872 lead to?", True),
    ("What did closing the canal result in?", True),
    ("What was the consequence of the Ormsby canal closing?", True),
    ("What did the dispute cause?", True),
    ("When was the Ormsby canal closed?", False),  # a date is asked, not what came of it
    ("Why was the Ormsby canal closed?", False),
    ("What did the barge owners sell?", False),
])
def test_questions_asking_what_an_event_led_to(question: str, asks: bool) -> None:
    assert asks_consequence(question) is asks


@pytest.mark.parametrize(("sentence", "back"), [
    ("This was a heavy blow for the barge owners.", True),
    ("That led to a decade of decline.", True),
    ("As a result, most owners sold their boats.", True),
    ("The move prompted protests in the town.", True),
    ("The canal itself is now a walking path.", False),
    ("This canal is now a walking path.", False),  # "this" as a determiner of a noun it names anew
])
def test_sentences_pointing_back_with_what_came_of_it(sentence: str, back: bool) -> None:
    assert points_back(sentence) is back


@dataclass(frozen=True)
class _Quoted:
    sentence: Sentence


@pytest.fixture(scope="module")
def evidence() -> Evidence:
    return Evidence({"canals.txt": Article("canals.txt", "Canals", TEXT)}, HashEmbedder())


def _sentences(evidence: Evidence) -> dict[str, _Quoted]:
    return {TEXT[s:e].split()[1]: _Quoted(Sentence("canals.txt", s, e, TEXT[s:e]))
            for s, e in evidence.spans("canals.txt") if len(TEXT[s:e].split()) > 3}


def test_the_event_sentence_and_the_one_after_it_are_quoted_first(evidence: Evidence) -> None:
    q = _sentences(evidence)
    event, blow, path, visitors = q["dispute"], q["was"], q["canal"], q["often"]
    retrieved = [visitors, event, path, blow]  # best first: the event's words rank another sentence above it
    question = "What did the closure of the Ormsby canal in 1872 lead to?"
    assert with_consequence(question, [visitors, path], retrieved, evidence, keep_first=False) == [event, blow]
    # the first sentence holds the short answer: it stays first
    assert with_consequence(question, [visitors, path], retrieved, evidence, keep_first=True) == [visitors, event,
                                                                                                  blow]
    # already quoted, another kind of question, or the sentence after it not retrieved (it could not be cited)
    assert with_consequence(question, [event, blow], retrieved, evidence, keep_first=False) == [event, blow]
    assert with_consequence("When was the Ormsby canal closed in 1872?", [visitors], retrieved, evidence,
                            keep_first=False) == [visitors]
    assert with_consequence(question, [visitors], [visitors, event, path], evidence, keep_first=False) == [visitors]
