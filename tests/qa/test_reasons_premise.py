"""Why-questions whose premise the quoted sentences deny (qa.reasons.denied_premise): the question asks why something
happened ('Why did the council approve the plan?') and every sentence telling that event of the question's doer says
it the other way round ('The council rejected the plan'). Built from sentences of that kind, with real spaCy parses;
the guards keep answerable why-questions answered."""

from __future__ import annotations

import pytest

from corpus.types import Article
from embeddings.embedder import HashEmbedder
from embeddings.types import Hit
from qa import answerability, reasons
from qa.config import AnswerSettings
from qa.evidence import Evidence
from qa.extractive import ExtractiveGenerator
from qa.generate import GenerationRequest
from qa.pipeline import is_refusal

DENIED = [
    # an affirmative premise, the sentence negates the event or puts it under a denying verb or noun
    ("Why did the council approve the budget in March?", "In March the council refused to approve the budget.",
     "approve"),
    ("Why did Spain support Portugal during the fishing dispute?",
     "During the fishing dispute, Spain declined to support Portugal.", "support"),
    ("Why did Lisbon recognise the new government?", "Lisbon has not recognized the new government.", "recognize"),
    ("Why did the Dutch sign the treaty?", "The Netherlands never signed the treaty, to the surprise of its allies.",
     "sign"),
    # a denied premise ('refuse to', 'cancel'), the sentence tells the event as done
    ("Why did Maria refuse to join the orchestra?", "In 1998 Maria joined the orchestra as its first oboe.",
     "join"),
    ("Why did the mayor refuse to repay the loan?", "The mayor settled the quarrel by agreeing to repay the loan.",
     "repay"),
    ("Why did the minister cancel her visit to Oslo?",
     "The minister's visit to Oslo took place on a cold Tuesday in May.", "visit"),
    # a choice the question takes for granted, rejected in the sentence
    ("Why did the mayor turn to the police rather than the courts?",
     "The mayor turned to the courts, not the police, for help.", "police"),
    ("Why did the club pick Oslo instead of Bergen for the final?",
     "The club picked Bergen rather than Oslo for the final.", "Oslo"),
]

KEPT = [
    # told the way the question takes it
    ("Why did Spain decline to support Portugal during the fishing dispute?",
     "During the fishing dispute, Spain declined to support Portugal."),
    ("Why did the minister cancel her visit to Oslo?",
     "Her aides advised the minister against visiting Oslo during the strike."),
    # not told as a fact: considered, wondered about, a modal
    ("Why did the king not leave the alliance?",
     "At the time the king seriously considered leaving the alliance, and was only stopped by his generals."),
    ("Why did the mayor turn to the courts rather than the police?",
     "Critics wonder why the mayor did not turn to both the courts and the police."),
    ("Why did Spain support Portugal?", "Spain would not support Portugal if the dispute went on."),
    # a contrast after the verb negates its object, not the event; the option asked is the one chosen
    ("Why did the mayor turn to the courts rather than the police?",
     "The mayor turned to the courts, not the police, for help."),
    # the option only wondered about, or named without a rejection
    ("Why did the mayor turn to the police rather than the courts?",
     "Critics wonder why the mayor did not turn to both the courts and the police."),
    ("Why did the club pick Oslo instead of Bergen for the final?", "Oslo hosted the final in a sold-out stadium."),
    # another doer's refusal says nothing of the question's doer
    ("Why did Spain support Portugal?", "Italy refused to support Portugal."),
    # no sentence tells the event: the premise stays open
    ("Why did Spain support Portugal?", "Portugal was grateful for the help it received that year."),
    # told both ways: kept
    ("Why did Spain support Portugal?",
     "Spain supported Portugal in May, though it had declined to support it before."),
    # not a why-question
    ("When did Spain support Portugal?", "Spain declined to support Portugal."),
]


@pytest.mark.parametrize(("question", "sentence", "event"), DENIED)
def test_a_denied_premise_is_found(question: str, sentence: str, event: str) -> None:
    assert reasons.denied_premise(question, [sentence]) == event
    assert answerability.unstated_result(answerability.analyze(question), [sentence]) == event  # the hook


@pytest.mark.parametrize(("question", "sentence"), KEPT)
def test_a_premise_told_so_or_not_told_is_kept(question: str, sentence: str) -> None:
    assert reasons.denied_premise(question, [sentence]) is None


def test_one_sentence_telling_the_premise_keeps_the_answer() -> None:
    question = "Why did Spain support Portugal during the fishing dispute?"
    denied = "During the fishing dispute, Spain declined to support Portugal."
    told = "Later in the dispute Spain supported Portugal because the fleets shared a port."
    assert reasons.denied_premise(question, [denied]) == "support"
    assert reasons.denied_premise(question, [denied, told]) is None


def _answer(question: str, text: str) -> str:
    body = "Harbour news\n\n" + text
    ev = Evidence({"h.txt": Article("h.txt", "Harbour news", body)}, HashEmbedder())
    start = body.index(text)
    hits = [Hit("h.txt", start, len(body), body[start:], 1.0, title="Harbour news")]
    gen = ExtractiveGenerator(AnswerSettings(refusal_threshold=-1.0, answerability=True, answer_margin=1.0))
    return "".join(gen.generate(GenerationRequest(question=question, query=question, hits=hits, history=[],
                                                  evidence=ev)))


def test_the_extractive_answer_refuses_a_denied_premise_and_answers_a_told_one() -> None:
    text = "In 2004 the harbour board refused to sell the old pier. It wanted to keep the pier for the fishing fleet."
    assert is_refusal(_answer("Why did the harbour board sell the old pier?", text))
    assert not is_refusal(_answer("Why did the harbour board refuse to sell the old pier?", text))
