"""Measures (issue 12): "how wide/long/high" asks for a length or a span of time, "how many N" for a count of N; a
sentence that gives none (only another count, a date, a point in time, no figure at all) answers nothing
(``qa.measures``, said by ``qa.relations.mismatch``). Real spaCy parses; invented sentences of those kinds."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, measures, refusal_text, relations
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Scored


def _plan(question: str, *texts: str):  # type: ignore[no-untyped-def]
    """The plan for a question whose retrieved sentences are ``texts``, best first."""
    text = " ".join(texts)
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    scored, start = [], 0
    for i, t in enumerate(texts):
        start = text.index(t, start)
        scored.append(Scored(i + 1, Sentence("d.txt", start, start + len(t), t), 1.0 - i / 20, similarity=0.9))
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.12))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored, ev)


@pytest.mark.parametrize(("question", "dimensions"), [
    ("How wide is the canal at Hallen?", {measures.LENGTH}),
    ("How deep is the harbour?", {measures.LENGTH}),
    ("How long is the Vatten river?", {measures.LENGTH, measures.TIME}),
    ("How long did the siege last?", {measures.TIME}),
    ("How long has the abbey stood on the hill?", {measures.TIME}),
    ("How many years did the dyke take to build?", {measures.TIME}),
    ("How long ago was the abbey founded?", set()),  # a date
    ("How many years later did the monks return?", set()),  # a difference of dates
    ("How big is the lake?", set()),  # an area, a volume or a count answer it
    ("Who built the dyke?", set()),
])
def test_the_dimension_a_question_asks_for(question: str, dimensions: set[str]) -> None:
    assert measures.asked_dimension(question) == dimensions


@pytest.mark.parametrize(("question", "sentence", "said"), [
    # only a count of something else
    ("How long is the Vatten lake?", "The Vatten lake is made of two basins and a narrow strait.",
     "no length or span of time"),
    # a date, not a length
    ("How long is the Hallen bridge?", "The Hallen bridge was opened in May 1931 by the king.",
     "no length or span of time"),
    # a point in time, not a span
    ("How long did the great drought last?", "The great drought ended about 4,200 years ago in the valley.",
     "no span of time"),
    ("How many years did it take for the marsh to dry out?",
     "The marsh began to dry out from 9,000 years ago onward.", "no span of time"),
    # the adjective without a figure
    ("How wide is the valley known as the Dal?", "The river flows through a wide valley known as the Dal.",
     "no length"),
    # every length the sentence gives measures another dimension (a conversion in brackets passed over)
    ("How wide is the northern canal?", "At Hallen, 30 km downstream of the weir, the northern canal begins.",
     "a distance, no width"),
    ("How wide is the upper basin?", "The basin drains the 2,310 m (7,580 ft) summit of the Kamm.",
     "a height, no width"),
    ("How long is the old bridge?", "The old bridge crosses the 400 m wide river.", "a width, no length"),
])
def test_a_sentence_without_the_measure_asked_is_a_mismatch(question: str, sentence: str, said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and found.slot == relations.MEASURE and found.said == said
    assert "the question asks how" in found.describe()


@pytest.mark.parametrize(("question", "sentence"), [
    ("How wide is the canal at Hallen?", "At Hallen the 40 m wide canal passes under a bridge."),
    ("How long is the Vatten river?", "The Vatten river runs for about 1,230 km (760 mi) to the sea."),
    ("How long is the Vatten river?", "The Vatten river is two hundred kilometres long."),
    ("How high is the dam?", "The dam, only a few metres high, holds back the lake."),
    # one of the lengths is of the asked dimension, or says no dimension at all
    ("How wide is the plain?", "The plain is about 300 km long and up to 40 km wide."),
    ("How high is the Kamm?", "The basin drains the 2,310 m (7,580 ft) summit of the Kamm."),
    ("How wide is the plain?", "The plain stretches for 300 km (190 mi) along the river."),
    ("How long did the siege last?", "The siege lasted three months before the town fell."),
    ("How long did the siege last?", "The siege, from 1421 to 1424, ruined the town."),
    ("How many years did the dyke take to build?", "The dyke took twelve years to build."),
    ("How long has the abbey stood on the hill?", "The abbey has stood on the hill for several centuries."),
])
def test_a_sentence_with_the_measure_asked_is_no_mismatch(question: str, sentence: str) -> None:
    assert relations.mismatch(question, sentence) is None


@pytest.mark.parametrize(("question", "sentence", "said"), [
    # the counted noun said, but no figure counts anything ('many' is no count, a year is none)
    ("How many villages lie in the valley?", "Many quiet villages lie in the valley of the Vatten.", "no count"),
    ("How many branches does the old lagoon have?",
     "The northern branch enters the old lagoon, a freshwater lake since 1932.", "no count"),
    # the counted noun never said, and each figure counts another noun
    ("How many battles did the Danes fight on the coast?", "The Danes kept six ships in two harbours on the coast.",
     "a count of ships instead"),
])
def test_a_sentence_without_a_count_of_the_noun_is_a_mismatch(question: str, sentence: str, said: str) -> None:
    found = relations.mismatch(question, sentence)
    assert found is not None and found.slot == relations.MEASURE and found.said == said


@pytest.mark.parametrize(("question", "sentence"), [
    ("How many ships did the Danes keep on the coast?", "The Danes kept six ships in two harbours on the coast."),
    ("How many harbours did the Danes use?", "The Danes kept six ships in two harbours on the coast."),
    # a figure that counts no noun of its own (a bare number, a total): left to the other checks
    ("How many people live in Hallen?", "The population of Hallen is 12,400."),
    ("How many people died in the flood?", "The flood of 1953 killed 1,836 in the province."),
    # the counted noun glued to the word before it by a typo
    ("How many guild members signed the charter?", "The charter, signed by 40 guildmembers, was a first."),
])
def test_a_sentence_with_a_count_that_may_be_the_nouns_is_no_mismatch(question: str, sentence: str) -> None:
    assert relations.mismatch(question, sentence) is None


def test_a_measure_question_is_refused_when_no_sentence_gives_the_measure() -> None:
    """End to end: 'two basins' was the answer to 'How long is the lake?' before."""
    basins = "The Vatten lake consists of two basins joined by a narrow strait."
    plan = _plan("How long is the Vatten lake?", basins)
    assert plan.chosen == [] and plan.short is None and plan.missing is not None
    length = "The Vatten lake is about 64 km long and 8 km wide."
    plan = _plan("How long is the Vatten lake?", basins, length)
    assert plan.chosen and plan.short is not None and "64" in plan.short.text


def test_a_count_question_is_refused_when_every_sentence_counts_another_noun() -> None:
    """End to end, on the threshold path of 'how many N' (a clause-like answer judged on its quoted sentences)."""
    ships = "The Danes kept six ships in two harbours on the coast."
    towns = "The Danes raided many towns on the coast in the ninth century."
    plan = _plan("How many battles did the Danes fight on the coast?", ships, towns)
    assert plan.chosen == [] and plan.missing is not None
    plan = _plan("How many ships did the Danes keep on the coast?", ships, towns)
    assert plan.chosen and plan.chosen[0].sentence.text == ships


def test_a_refusal_says_the_measure_is_missing_unless_the_sentence_leaves_a_constraint_out() -> None:
    """The refusal's words: 'the question asks how long, the sentence gives no length …' when the sentence mentions
    what the question names; when it leaves a constraint out, that is said instead ('does not mention Vatten')."""
    analysis = answerability.analyze("How long is the Vatten lake?")
    basins = "The Vatten lake consists of two basins joined by a narrow strait."
    said = refusal_text.said(analysis, basins, answerability.unmet(analysis, basins))
    assert said["differs"] is not None and "the question asks how long" in said["differs"]
    other = "The Kalla lake consists of two basins joined by a narrow strait."
    unmet = answerability.unmet(analysis, other)
    assert unmet and refusal_text.said(analysis, other, unmet)["differs"] is None
