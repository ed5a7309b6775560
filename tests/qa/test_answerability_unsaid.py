"""Answerability for kinds of unanswerable question the seed_dev rules let through (issue 12, seed_dev2's misses):
what someone said or agreed when no sentence reports it, a candidate the question gives through its adjective,
'one of' read as a count, a date another sentence gives ('that year'), a quoted adjective as a name, an ordinal as
'how many', and the article's publication date as the year of its undated sentences. Each case is built from a
sentence of its kind; real spaCy parses."""

from __future__ import annotations

import pytest

from corpus.types import Article, ArticleMeta
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability, constraints, speech
from qa.analysis import sentence_entities
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal


def _pick(question: str, text: str) -> str | None:
    sentence = Sentence("d", 0, len(text), text)
    found = answerability._pick(answerability.analyze(question), sentence, sentence_entities([text])[0])
    return None if found is None else text[found[0].start:found[0].end]


def _answer(question: str, text: str, date: str | None = None) -> str:
    """The extractive answer to ``question`` over one article holding ``text`` (threshold off: the analysis
    alone decides)."""
    body = "Summit\n\n" + text
    ev = Evidence({"v.txt": Article("v.txt", "Summit", body, meta=ArticleMeta(date=date))}, HashEmbedder())
    start = body.index(text)
    hits = [Hit("v.txt", start, len(body), body[start:], 1.0, title="Summit")]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))
    return "".join(gen.generate(GenerationRequest(question=question, query=question, hits=hits, history=[],
                                                  evidence=ev)))


# -- what someone said or agreed ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "text"), [
    ("What did Putin say at his news conference with Hollande in Moscow?",
     "Hollande and Putin enter a hall for their news conference following the talks in Moscow."),
    ("What did Nicolas Sarkozy say about the decision to cancel the Mistral sale?",
     "Nicolas Sarkozy had closed a deal to sell two Mistral-class helicopter carriers to Russia."),
    ("What did Parly and Shoigu agree about a European army at their talks?",
     "Discussions between Parly and Shoigu will doubtless focus on a European army."),
])
def test_what_was_said_or_agreed_needs_a_sentence_reporting_it(question: str, text: str) -> None:
    assert answerability.unstated_result(answerability.analyze(question), [text]) in ("say", "agree")
    assert is_refusal(_answer(question, text))


@pytest.mark.parametrize(("question", "text"), [
    ("What did Putin say at his news conference with Hollande?",
     "At the news conference with Hollande, Putin said that Russia would help."),
    ("What did Putin say at his news conference with Hollande?",
     "“Russia is ready to cooperate,” Putin told the news conference with Hollande."),
    ("What did Maas say about Russia?", "Maas: “Without Russia, we will not find answers to the pressing issues.”"),
    ("What did Putin say at his news conference with Hollande?",
     "At the news conference with Hollande, Putin quipped that Russia would help."),  # a verb with a clause said
    ("What did Parly and Shoigu agree about a European army?",
     "Parly and Shoigu reached an agreement to discuss a European army."),
])
def test_a_sentence_reporting_speech_or_agreement_answers(question: str, text: str) -> None:
    assert answerability.unstated_result(answerability.analyze(question), [text]) is None
    assert not is_refusal(_answer(question, text))


def test_only_questions_asking_what_was_said() -> None:
    assert speech.content_verb(answerability.analyze("Who said that Russia would help?")) is None
    assert speech.content_verb(answerability.analyze("What did Putin do at the news conference?")) is None


# -- candidates of the wrong kind ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "text"), [
    ("What is the name of the Chechen man France granted asylum to during Putin's visit?",
     "On the day of Putin’s visit, France granted political asylum for the first time to a victim of homophobic "
     "persecution in Chechnya."),  # 'Chechnya' is given by 'Chechen'
    ("What price did Russia originally agree to pay for the Mistral ships?",
     "One of the major news has been the sale of Mistral class amphibious assault ships to Russia."),  # 'one of'
    ("In what year did the Crimean War begin?",
     "The coup set off revolts in several regions, including Crimea, which voted to return to Russia in March of "
     "that year."),  # a year another sentence gives
    ("What exactly was Evelyn Farkas's job title at the Pentagon?",
     "Former Pentagon official Evelyn Farkas published an indictment of Russia as a “fundamental” challenge."),
    ("How many people attended the opening of the Peter the Great exhibition?",
     "The special event celebrates the 300th anniversary of Peter’s first visit to France."),  # no count
])
def test_no_candidate_of_the_kind_asked(question: str, text: str) -> None:
    assert _pick(question, text) is None


@pytest.mark.parametrize(("question", "text", "answer"), [
    ("Who led the German troops that entered Paris?", "Germany sent troops into Paris under General Hans Speidel.",
     "Hans Speidel"),
    ("How many ships did Russia buy?", "Russia bought two of the ships.", "two"),
    ("In what year did the Crimean War begin?", "The Crimean War began in 1853.", "1853"),
    ("Until when does the Peter the Great exhibition run at the Great Trianon?",
     "The exhibition, “Peter the Great: a Tsar in France,” will run in the Great Trianon Palace until the end of "
     "September.", "the end of September"),  # the bound is what is asked
])
def test_candidates_of_the_kind_asked_still_answer(question: str, text: str, answer: str) -> None:
    assert _pick(question, text) == answer


def test_until_still_bounds_a_plain_when_question() -> None:
    text = "The exhibition will run in the Great Trianon Palace until the end of September."
    assert _pick("When does the exhibition run at the Great Trianon?", text) is None


def test_what_year_is_asked_not_given() -> None:
    analysis = constraints.without_type_noun(answerability.analyze("In what year did the Crimean War begin?"))
    assert [c.text for c in analysis.constraints] == ["the Crimean War"]


@pytest.mark.parametrize("question", [
    "How many prisoners were exchanged under the deal Macron negotiated with Putin at Bregancon?",
    "How many people were killed in the November 2015 Paris attacks?",
])
def test_how_many_is_refused_without_a_number(question: str) -> None:
    assert answerability.can_refuse(answerability.analyze(question))
    text = ("Ukraine has been a focal point of Macron’s foreign policy, with the French president negotiating "
            "prisoner exchange initiatives with Putin at Bregancon and condemning the Paris attacks.")
    assert is_refusal(_answer(question, text))


def test_how_many_with_its_number_answers() -> None:
    text = "Macron and Putin agreed at Bregancon on a deal under which 35 prisoners were exchanged."
    answer = _answer("How many prisoners were exchanged under the deal Macron negotiated with Putin at Bregancon?",
                     text)
    assert not is_refusal(answer) and answer.startswith("35")


# -- the article's publication date ---------------------------------------------------------------------------------
def test_an_article_cannot_say_what_happened_after_it_was_published() -> None:
    analysis = answerability.analyze("Where did Macron and Putin meet in 2018?")
    said = "Macron and Putin met in Versailles."
    assert constraints.after_publication(analysis, "2017-05-30", said)
    assert not constraints.after_publication(analysis, "2018-06-01", said)
    assert not constraints.after_publication(analysis, None, said)
    assert not constraints.after_publication(analysis, "2017-05-30", "Macron and Putin met in Versailles in 2018.")
    assert not constraints.after_publication(analysis, "2017-05-30", "Macron and Putin will meet in Versailles.")
    assert is_refusal(_answer("Where did Macron and Putin meet in 2018?", said, date="2017-05-30"))
    assert not is_refusal(_answer("Where did Macron and Putin meet in 2018?", said, date="2018-06-01"))


def test_an_undated_sentence_is_dated_by_its_article() -> None:
    said = "Putin visited Macron in late August at Bregancon."
    assert constraints.dated_by("2019", "2019-09-09", said)
    assert not constraints.dated_by("2017", "2019-09-09", said)
    assert not constraints.dated_by("2019", "2019-09-09", "Putin visited Macron in August 2017 at Bregancon.")
    assert not constraints.dated_by("March 2019", "2019-09-09", said)  # a month the sentence does not give
    analysis = answerability.analyze("Where did Putin visit Macron in 2019?")
    body = "Summit\n\n" + said
    dated = Evidence({"v.txt": Article("v.txt", "Summit", body, meta=ArticleMeta(date="2019-09-09"))}, HashEmbedder())
    undated = Evidence({"v.txt": Article("v.txt", "Summit", body)}, HashEmbedder())
    sentence = Sentence("v.txt", body.index(said), len(body), said)
    assert answerability._unmet_in(analysis, sentence, dated) == ()
    assert answerability._unmet_in(analysis, sentence, undated) == ("2019",)


def test_since_when_is_not_answered_by_the_dateline() -> None:
    text = "Italy, which repeatedly advocated the easing of tensions with the Kremlin, voiced a similar position."
    body = "Summit\n\n9 Sep, 2019 09:12\n\n" + text
    ev = Evidence({"v.txt": Article("v.txt", "Summit", body, meta=ArticleMeta(date="2019-09-09"))}, HashEmbedder())
    start = body.index(text)  # the dateline is added to a date question's answer (qa.quoting)
    hits = [Hit("v.txt", start, len(body), body[start:], 1.0, title="Summit")]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))

    def answer(question: str) -> str:
        return "".join(gen.generate(GenerationRequest(question=question, query=question, hits=hits, history=[],
                                                      evidence=ev)))

    assert answerability.asks_bound(answerability.analyze("Since when has Italy been pushing to ease tensions?"))
    assert is_refusal(answer("Since when has Italy been pushing to ease tensions with the Kremlin?"))
    assert not is_refusal(answer("When did Italy voice a position on easing tensions with the Kremlin?"))
