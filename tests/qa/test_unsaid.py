"""Unsaid events (issue 12, qa/unsaid.py): a 'what' question asks for a party to its verb's event, and a sentence
that gives every other word of the question tells another event of them ('What exposed the former coasts of
Europe?' of 'Meltwater drowned the former coasts of Europe'). Invented sentences of that kind, on real spaCy parses,
and the twins that still answer: the verb in other words or as a noun, a thing of the asked kind named, a sentence
that lacks the question's things, light verbs, other wh-words, a clause asked about."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from qa import answerability, relations, unsaid, vetoes
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Plan, Scored


@pytest.mark.parametrize(("question", "sentence", "verb"), [
    ("What exposed the old coast of the island?", "Storm floods drowned the old coast of the island in 1362.",
     "expose"),
    ("What flowed across the frozen plain?", "A glacier stretched across the frozen plain.", "flow"),
    # a base form after 'did' the parser takes for a noun
    ("What did the monks invent in the abbey?", "The monks copied books in the abbey.", "invent"),
    # a passive; the question's 'list' said as a verb is still the word
    ("What was removed from the list of monuments?", "The chapel is listed among the monuments.", "remove"),
    ("What did the glacier push into the valley?", "The glacier left boulders in the valley.", "push"),
    # a passive whose 'by' the parser hangs on the subject
    ("What were the northern valleys flooded by?", "The northern valleys were then drained by the river.", "flood"),
])
def test_a_sentence_telling_another_event_of_the_question_s_things_answers_nothing(question: str, sentence: str,
                                                                                   verb: str) -> None:
    assert unsaid.unsaid_in(question, sentence) == verb
    assert unsaid.unsaid in vetoes.ELSEWHERE
    assert relations.answers_nothing(answerability.analyze(question), sentence)


@pytest.mark.parametrize(("question", "sentence"), [
    # the event in other words: a synonym, a noun of the verb, a verb WordNet puts under the question's
    ("What did the duke found in Caen?", "The duke established an abbey in Caen."),
    ("What was constructed on the island?", "The construction of a lighthouse on the island began in 1820."),
    ("What did the monks invent in the abbey?", "The monks devised a clock in the abbey."),
    ("What did the river carve through the hills?", "The river cut a deep gorge through the hills."),
    ("What did the settlers grow on the island?", "The settlers cultivated barley on the island."),
    # a thing of the asked kind is named: maybe the answer, in other words
    ("What flood damaged the town?", "The great flood of 1342 swept through the town."),
    ("Which tribe crossed the mountains in winter?", "A Gothic tribe settled the mountains in winter."),
    # the sentence lacks a word the question gives: not the sentence the question is about
    ("What exposed the old coast of the island?", "Storm floods drowned the coast."),
    ("What were the northern valleys flooded by?", "The northern valleys were flooded by the river."),
    ("What did the lagoon change into?", "The lagoon, since 1932 a freshwater lake, lies north of the dam."),
    # light verbs, another wh-word, a clause asked about, a negated question
    ("What did the monks have in the abbey?", "The monks copied books in the abbey."),
    ("When did the monks invent the abbey clock?", "The monks copied books in the abbey clock."),
    ("What did the king accuse the monks of doing?", "The king criticised the monks."),
    ("What did the monks not invent in the abbey?", "The monks copied books in the abbey."),
])
def test_the_event_said_another_way_or_another_sentence_is_left_alone(question: str, sentence: str) -> None:
    assert unsaid.unsaid_in(question, sentence) is None


def test_a_name_date_or_number_question_is_left_to_its_candidate() -> None:
    """The next sentence may tell the event of the same thing ('The event celebrated the 300th anniversary'): a
    name, date or number question is judged by its candidate, not refused for the sentence before it."""
    question = "What anniversary did the festival in Bruges celebrate?"
    sentence = "The festival was held in Bruges until the end of May."
    assert unsaid.unsaid_in(question, sentence) == "celebrate"
    analysis = answerability.analyze(question)
    assert analysis.expects_entity and not unsaid.unsaid(analysis, sentence)


def _plan(question: str, *texts: str) -> Plan:
    text = " ".join(texts)
    ev = Evidence({"d.txt": Article("d.txt", "D", text)}, HashEmbedder())
    scored, start = [], 0
    for i, t in enumerate(texts):
        start = text.index(t, start)
        scored.append(Scored(i + 1, Sentence("d.txt", start, start + len(t), t), 1.0 - i / 10, similarity=0.9))
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=0.2, answerability=True, answer_margin=0.1))
    return gen._plan_by_analysis(answerability.analyze(question), scored, scored, ev)


def test_a_clause_answer_whose_sentences_all_tell_another_event_is_refused() -> None:
    """Answered with the sentence before qa.unsaid; the twin whose sentence says the event stays answered."""
    plan = _plan("What exposed the old coast of the island?",
                 "Storm floods drowned the old coast of the island in 1362.")
    assert plan.chosen == [] and plan.missing is not None
    said = "Falling sea levels exposed the old coast of the island in 1362."
    plan = _plan("What exposed the old coast of the island?", said)
    assert plan.chosen and plan.chosen[0].sentence.text == said
