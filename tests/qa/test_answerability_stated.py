"""Answers stated the way the question asks them (issue 12, ``qa.stated``): an entity question whose best sentence
scores a little below the refusal threshold is answered when that sentence states the candidate next to a phrase
of the question (a role as the name's title or apposition, a number before the counted noun, a date on a thing the
question names) and passes every check that refuses unanswerable questions. Invented sentences of each kind with
real spaCy parses, each next to the unanswerable twin that must stay refused."""

from __future__ import annotations

import pytest

from corpus.types import Article, ArticleMeta
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability, stated
from qa.analysis import sentence_entities
from qa.cite import cite, short_answer
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal


def _stated(question: str, text: str, author: str | None = None) -> str | None:
    evidence = Evidence({"d.txt": Article("d.txt", "T", text, ArticleMeta(author=author))}, HashEmbedder())
    sentence = Sentence("d.txt", 0, len(text), text)
    analysis = answerability.analyze(question)
    found = stated.stated_answer(
        analysis, sentence, answerability.stated_candidates(analysis, sentence, sentence_entities([text])[0]), evidence)
    return None if found is None else found.text


_COINED = "The phrase “strategic patience” was coined by Brookings Institution analyst Jane Doe in 2009."
_SPOKESMAN = "Dmitry Peskov, the Kremlin spokesman, commented on the visit on Tuesday."
_CARRIERS = "The regiment lost 14 armoured personnel carriers in the first week of fighting."
_TOUR = ("Between the Elysée Palace on April 3 and the Quirinal on April 5, Merkel found time for a press conference "
         "in Brussels.")


@pytest.mark.parametrize(("question", "text", "answer"), [
    # a person asked by role: the role phrase as the name's title, or as its apposition
    ("Which Brookings Institution analyst coined the phrase “strategic patience”?", _COINED, "Jane Doe"),
    ("Which Kremlin spokesman commented on the visit?", _SPOKESMAN, "Dmitry Peskov"),
    # 'how many N': the number right before N, also when a typo glued N to an abbreviation
    ("How many armoured personnel carriers did the regiment lose?", _CARRIERS, "14"),
    ("How many NATO allies signed the Madrid declaration?", "The Madrid declaration, signed by 30 NATOallies, was a "
     "first.", "30"),
    # a date on a thing the question names; a day of the asked month in a sentence naming no year
    ("When was Merkel at the Elysée Palace during her April 2016 tour?", _TOUR, "April 3"),
])
def test_an_answer_stated_as_asked_is_found(question: str, text: str, answer: str) -> None:
    assert _stated(question, text) == answer


@pytest.mark.parametrize(("question", "text"), [
    # the question quotes another term than the sentence's
    ("Which Brookings Institution analyst coined the phrase “rules-based order”?", _COINED),
    # another organisation's spokesman
    ("Which White House spokesman commented on the visit?", _SPOKESMAN),
    # the number counts something else: 14 tanks
    ("How many armoured personnel carriers did the regiment lose?",
     "The regiment lost 14 tanks and most of its armoured personnel carriers in the first week."),
    # the day is of another month, or of another year than the one asked about
    ("When was Merkel at the Elysée Palace during her June 2016 tour?", _TOUR),
    ("When was Merkel at the Elysée Palace during her April 2016 tour?", _TOUR.replace("April 3", "April 3, 2015")),
    # a one-word phrase ties nothing: 'the Quirinal on April 5' is left to the threshold
    ("When was Merkel at the Quirinal?", _TOUR),
])
def test_an_unanswerable_twin_is_not_stated_as_asked(question: str, text: str) -> None:
    assert _stated(question, text) is None


def test_a_name_the_question_attributes_is_met_by_the_articles_author() -> None:
    question = "How many guided-missile frigates does John Smith count in the Baltic fleet?"
    text = "The Baltic fleet now has 9 guided-missile frigates ready for sea."
    assert _stated(question, text, author="John Smith") == "9"
    assert _stated(question, text, author="Jane Doe") is None  # nobody says John Smith wrote or said it
    assert _stated(question, text) is None


def _generate(question: str, text: str, *, below: float, answerability: bool = True) -> str:
    """The extractive answer to ``question`` over a one-sentence article, the refusal threshold set ``below`` the
    cosine of the question and the sentence (negative: above it)."""
    body = "Notes\n\n" + text
    start = body.index(text)
    evidence = Evidence({"n.txt": Article("n.txt", "Notes", body)}, HashEmbedder())
    hits = [Hit("n.txt", start, len(body), text, 1.0, title="Notes")]
    probe = ExtractiveGenerator(AnswerSettings())
    cosine = probe.score(question, hits, evidence)[0].similarity
    settings = AnswerSettings(refusal_threshold=cosine + below, answerability=answerability)
    return "".join(ExtractiveGenerator(settings).generate(GenerationRequest(question, question, hits, [], evidence)))


def test_the_generator_answers_a_stated_answer_a_little_below_the_threshold() -> None:
    question = "Which Kremlin spokesman commented on the visit?"
    raw = _generate(question, _SPOKESMAN, below=stated.STATED_BONUS - 0.02)
    assert not is_refusal(raw) and raw.startswith("Dmitry Peskov")
    # too far below it, or without the analysis, the similarity rule alone refuses
    assert is_refusal(_generate(question, _SPOKESMAN, below=stated.STATED_BONUS + 0.02))
    assert is_refusal(_generate(question, _SPOKESMAN, below=stated.STATED_BONUS - 0.02, answerability=False))


def test_the_generator_still_refuses_the_unanswerable_twin_below_the_threshold() -> None:
    question = "Which Brookings Institution analyst coined the phrase “rules-based order”?"
    assert is_refusal(_generate(question, _COINED, below=stated.STATED_BONUS - 0.02))


def test_a_short_answer_with_an_abbreviated_month_is_supported_by_its_quote() -> None:
    # 'Nov. 24.': the claim's last period ends it, the one inside is the abbreviation's; the claim was looked for
    # with both periods ('Nov. 24.') and, not found in '... on Nov. 24 and ...', counted unsupported
    body = "Notes\n\n" + _TOUR.replace("April", "Nov.")
    start = body.index("Between")
    evidence = Evidence({"n.txt": Article("n.txt", "Notes", body)}, HashEmbedder())
    hits = [Hit("n.txt", start, len(body), body[start:], 1.0, title="Notes")]
    result = cite(f"Nov. 3. [1] {body[start:]} [1]", hits, evidence, support_threshold=0.5)
    assert result.unsupported == 0 and all(c.supported for c in result.citations)
    short = short_answer(result.text, result.citations)
    assert short is not None and short.text == "Nov. 3" and body[short.start:short.end] == "Nov. 3"


def test_a_number_stated_first_is_the_short_answer_not_list_numbering() -> None:
    # '28. [1] ...': a number opening the answer, followed by its marker, is a claim of its own (the sentence
    # splitter took it for the numbering of a list, '1. First point', and fused it with the next sentence)
    text = "Notes\n\nThe treaty was signed by 28 member states in Lisbon."
    start = text.index("The treaty")
    evidence = Evidence({"t.txt": Article("t.txt", "Notes", text)}, HashEmbedder())
    hits = [Hit("t.txt", start, len(text), text[start:], 1.0, title="Notes")]
    result = cite(f"28. [1] {text[start:]} [1]", hits, evidence, support_threshold=0.5)
    assert result.unsupported == 0 and result.text.startswith("28. [1] The treaty")
    short = short_answer(result.text, result.citations)
    assert short is not None and short.text == "28" and text[short.start:short.end] == "28"
