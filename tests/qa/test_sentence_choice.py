"""Which sentences the extractive answer quotes (qa/extractive.py): a sentence that continues the best one (it opens
by pointing back to it) is quoted right after it, without deciding whether to answer. Real sentences of the seed
articles, over a HashEmbedder (the ranking here rests on the lexical part of the score)."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings import HashEmbedder
from embeddings.types import Hit
from qa import quoting, reasons, role_names
from qa.config import AnswerSettings
from qa.evidence import Evidence, Sentence
from qa.extractive import ExtractiveGenerator, Plan, Scored

VISIT = (
    "Macron in Versailles\n\n"
    "It was a working visit, but it excluded the possibility of official talks in the presidential office at the "
    "Elysée Palace. In this way, Macron demonstrated a desire to maintain a certain distance from his guest and the "
    "Russian leader’s policies. Judging by how the meeting went, it seems Macron will stand up for both principles "
    "and pragmatic interests.\n"
)
COALITION = (
    "Hollande in Moscow\n\n"
    "In New York in September, Russian President Vladimir Putin called for the creation of “a genuinely broad "
    "international coalition against terrorism” including Russia and the West. At the time, Western leaders mainly "
    "dismissed this as grandstanding. On Nov. 26 in Moscow, however, French President François Hollande appeared to "
    "agree.\n"
)
# the same first sentence, followed by one that names its own subject: nothing continues it
UNRELATED = (
    "Macron in Versailles\n\n"
    "It was a working visit, but it excluded the possibility of official talks in the presidential office at the "
    "Elysée Palace. Macron will stand up for both principles and pragmatic interests in Syria.\n"
)


def _plan(text: str, question: str, **settings: object) -> Plan:
    article = Article("a.txt", text.split("\n")[0], text)
    evidence = Evidence({"a.txt": article}, HashEmbedder())
    start = text.index("\n\n") + 2
    hit = Hit("a.txt", start, len(text) - 1, text[start:-1], 1.0, title=article.title)
    # hash vectors are no measure of relevance: answer whatever ranks first; one sentence unless one continues it
    answer = AnswerSettings(**{"refusal_threshold": -1.0, "answerability": False, "max_sentences": 1, **settings})
    return ExtractiveGenerator(answer).plan(question, [hit], evidence)


def _texts(plan: Plan) -> list[str]:
    return [c.sentence.text for c in plan.chosen]


def test_the_reason_that_continues_the_best_sentence_is_quoted_after_it() -> None:
    quoted = _texts(_plan(VISIT, "Why was the 2017 visit a working visit with no official talks at the Elysée Palace?"))
    assert quoted[0].startswith("It was a working visit")
    assert quoted[1].startswith("In this way, Macron demonstrated a desire to maintain a certain distance")
    assert len(quoted) == 2  # the continuation takes no other sentence's place and brings no third one


def test_a_reaction_told_at_the_time_continues_the_event() -> None:
    quoted = _texts(_plan(COALITION, "How did Western leaders react to Putin calling for a broad international "
                                     "coalition against terrorism in New York in September?"))
    assert quoted[:2] == [
        "In New York in September, Russian President Vladimir Putin called for the creation of “a genuinely broad "
        "international coalition against terrorism” including Russia and the West.",
        "At the time, Western leaders mainly dismissed this as grandstanding.",
    ]


def test_a_next_sentence_that_names_its_own_subject_is_not_added() -> None:
    quoted = _texts(_plan(UNRELATED, "Why was the 2017 visit a working visit with no official talks at the Elysée "
                                     "Palace?"))
    assert len(quoted) == 1 and quoted[0].startswith("It was a working visit")


@pytest.mark.parametrize("opening", ["It is clear that", "It was important that"])
def test_an_impersonal_it_does_not_point_back(opening: str) -> None:
    text = UNRELATED.replace("Macron will stand up", f"{opening} Macron will stand up")
    quoted = _texts(_plan(text, "Why was the 2017 visit a working visit with no official talks at the Elysée Palace?"))
    assert len(quoted) == 1


def test_a_refusal_is_not_turned_into_an_answer_by_a_continuation() -> None:
    # above any similarity a hash vector reaches: refused, whatever continues the closest sentence
    plan = _plan(VISIT, "Why was the 2017 visit a working visit with no official talks at the Elysée Palace?",
                 refusal_threshold=0.99)
    assert plan.chosen == []


def _coalition_scored(scores: list[float]) -> tuple[list[Scored], Evidence]:
    article = Article("a.txt", "Hollande in Moscow", COALITION)
    evidence = Evidence({"a.txt": article}, HashEmbedder())
    sentences = [Sentence("a.txt", s, e, COALITION[s:e]) for s, e in evidence.spans("a.txt")
                 if COALITION[s:e].endswith(".")]
    return [Scored(1, s, score, score) for s, score in zip(sentences, scores, strict=True)], evidence


def test_a_sentence_a_little_below_the_best_is_quoted_once_the_answer_is_decided() -> None:
    # real sentences, their scores set: the third scores 0.12 below the first (past MARGIN, within WIDE_MARGIN)
    scored, evidence = _coalition_scored([0.70, 0.20, 0.58])
    generator = ExtractiveGenerator(AnswerSettings())
    decided = Plan([scored[0]], 0.7)
    quoted = [c.sentence.text for c in quoting.widened(decided.chosen, sorted(scored, key=lambda c: -c.score),
                                                       evidence, generator.settings.max_sentences)]
    assert quoted == [scored[0].sentence.text, scored[2].sentence.text]
    assert generator._support(sorted(scored, key=lambda c: -c.score), evidence) == [scored[0]]  # not when deciding


def test_a_sentence_far_below_the_best_is_not_quoted() -> None:
    scored, evidence = _coalition_scored([0.70, 0.20, 0.50])
    decided = Plan([scored[0]], 0.7)
    widened = quoting.widened(decided.chosen, sorted(scored, key=lambda c: -c.score), evidence,
                              AnswerSettings().max_sentences)
    assert widened == [scored[0]]


# --- a why-question's reason, a few sentences after the sentence that tells the event (qa/reasons.py) ---------------

BRIDGE = (
    "Riverside council\n\n"
    "The council closed the old bridge to all traffic in March. The reasons for this were several. First, inspectors "
    "found deep cracks in two of its piers. Second, the new crossing downstream had opened a month earlier. "
    "Shopkeepers on the east bank were not consulted.\n"
)
TRIAL = (
    "The minister and the trial\n\n"
    "The minister's refusal to comment on the fraud trial of her former adviser drew criticism from the opposition. "
    "She was asked about the case twice at Monday's briefing. She said she would not comment on the trial while the "
    "jury was still out. Any remark from the government would not help the court reach a fair verdict, her spokesman "
    "said later.\n"
)


def test_reasons_announced_by_a_continuation_are_quoted_as_they_are_listed() -> None:
    quoted = _texts(_plan(BRIDGE, "Why did the council close the old bridge to all traffic?"))
    assert quoted == [
        "The council closed the old bridge to all traffic in March.",
        "The reasons for this were several.",
        "First, inspectors found deep cracks in two of its piers.",
        "Second, the new crossing downstream had opened a month earlier.",
    ]  # the announcement alone holds no reason; the list ends where the paragraph stops going through it


def test_a_reason_that_points_back_is_quoted_with_the_sentence_that_restates_the_event() -> None:
    quoted = _texts(_plan(TRIAL, "Why did the minister refuse to comment on the fraud trial of her former adviser?"))
    assert quoted[0].startswith("The minister's refusal to comment")
    assert quoted[1].startswith("She was asked about the case")  # the continuation, as before
    assert quoted[2:] == [
        "She said she would not comment on the trial while the jury was still out.",
        "Any remark from the government would not help the court reach a fair verdict, her spokesman said later.",
    ]


def test_a_sentence_with_a_goal_but_no_tie_to_the_event_is_not_quoted() -> None:
    text = BRIDGE.replace(
        "The reasons for this were several. First, inspectors found deep cracks in two of its piers. Second, the new "
        "crossing downstream had opened a month earlier.",
        "Residents of the east bank have complained for years. A new bus line will help commuters reach the centre.")
    quoted = _texts(_plan(text, "Why did the council close the old bridge to all traffic?"))
    assert quoted == ["The council closed the old bridge to all traffic in March."]


def test_no_further_sentence_when_the_event_sentence_states_its_reason() -> None:
    text = BRIDGE.replace("to all traffic in March.", "to all traffic in March because its piers were cracked.")
    quoted = _texts(_plan(text, "Why did the council close the old bridge to all traffic?"))
    assert quoted[0] == "The council closed the old bridge to all traffic in March because its piers were cracked."
    assert not any(q.startswith(("First,", "Second,")) for q in quoted)


def test_the_reason_is_not_taken_from_the_next_paragraph() -> None:
    text = TRIAL.replace(" Any remark from the government", "\n\nAny remark from the government")
    quoted = _texts(_plan(text, "Why did the minister refuse to comment on the fraud trial of her former adviser?"))
    assert not any(q.startswith("Any remark") for q in quoted)


def test_only_a_why_question_gets_the_reason() -> None:
    quoted = _texts(_plan(BRIDGE, "When did the council close the old bridge to all traffic?"))
    assert not any(q.startswith(("First,", "Second,")) for q in quoted)


@pytest.mark.parametrize(("sentence", "holds"), [
    ("The reasons for this were multifold.", False),  # announces reasons, gives none
    ("There were two main reasons for the delay.", False),
    ("The reason was that the piers had cracked.", True),
    ("Turning to the court also avoids a public quarrel.", True),
    ("That would not help the talks.", True),
    ("The council met on Monday.", False),
])
def test_what_holds_a_reason(sentence: str, holds: bool) -> None:
    assert reasons.holds_reason(sentence) is holds


# --- people asked for by role, named in the sentence after the one that describes them (qa/role_names.py) ----------

DELEGATION = (
    "Talks in Oslo\n\n"
    "The Austrian trade and energy secretaries are visiting Oslo together for the first time since 2015, a sign of "
    "warmer ties between the two governments.\n\n"
    "Trade Secretary Anna Berger and Energy Secretary Markus Huber have met their Norwegian counterparts on Tuesday. "
    "The agenda covers gas prices and fishing quotas.\n"
)


def test_the_people_a_role_question_asks_for_are_quoted_from_the_next_sentence() -> None:
    quoted = _texts(_plan(DELEGATION, "Which Austrian secretaries visited Oslo together?"))
    assert quoted == [
        "The Austrian trade and energy secretaries are visiting Oslo together for the first time since 2015, a sign of "
        "warmer ties between the two governments.",
        "Trade Secretary Anna Berger and Energy Secretary Markus Huber have met their Norwegian counterparts on "
        "Tuesday.",
    ]


def test_a_next_sentence_naming_people_without_the_role_is_not_added() -> None:
    text = DELEGATION.replace("Trade Secretary Anna Berger and Energy Secretary Markus Huber",
                              "Anna Berger and Markus Huber")
    quoted = _texts(_plan(text, "Which Austrian secretaries visited Oslo together?"))
    assert len(quoted) == 1


def test_no_names_added_when_the_answer_names_someone_already() -> None:
    text = DELEGATION.replace("The Austrian trade and energy secretaries are", "Karl Brandt and the Austrian trade "
                              "and energy secretaries are")
    quoted = _texts(_plan(text, "Which Austrian secretaries visited Oslo together?"))
    assert len(quoted) == 1


@pytest.mark.parametrize(("question", "role"), [
    ("Which Austrian secretaries visited Oslo together?", "secretary"),
    ("What top official signed the accord?", "official"),
    ("Which city did the secretaries visit?", None),  # asks for a place
    ("What did the minister say?", None),  # asks for a thing
    ("Who met the ministers?", None),
])
def test_the_role_a_question_asks_for(question: str, role: str | None) -> None:
    assert role_names.asked_role(question) == role
