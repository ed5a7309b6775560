"""A paraphrase is supported when it adds no fact to its quote; a model's refusal is recognised however it words it;
the evidence decides whenever the plan answers (issue 13).

The claims are the 1.5B model's own answers from the saved seed_dev run (``evals/runs/seed_dev-qwen1.5b``) that
were left without a citation, and paraphrases that must stay unsupported because they add a name, a number or a
date the quote lacks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scripted_generator import SCRIPTED, ScriptedGenerator

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from qa import QA, get_settings
from qa.align import align_and_cite
from qa.cite import lexically_supported, missing_facts
from qa.prompts import opens_with_refusal, says_articles_lack

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"
BALUZE = ("France–Russia diplomatic ties go back at least to 1702 when France had an ambassador "
          "(Jean-Casimir Baluze) in Moscow.")
TREATY = ("Two, article 42.7 in the EU Treaty enables France to work bilaterally with allies and does not force "
          "France to turn its fight against ISISinto a large bureaucratic exercise run by 28 veto-wielding EU members.")
ALLIANCE = ("In 1893-94, French and Russian diplomats negotiated a defensive alliance meant to counter the growing "
            "power of Germany.")


@pytest.mark.parametrize("claim, quote", [
    # q008: 'French' for the quote's 'France'
    ("The French ambassador in Moscow in 1702 was Jean-Casimir Baluze.", BALUZE),
    # q077: 'ISIS' glued to the next word by the article's typo, 'EUmembers' glued by the model's
    ("Article 42.7 in the EU Treaty enables France to work bilaterally with allies and does not force France to "
     "turn its fight against ISIS into a large bureaucratic exercise run by 28 veto-wielding EUmembers.", TREATY),
    ("Russia's ambassador was received in Paris.", "The Russian ambassador was received in Paris."),
    ("Macron met Putin on May 29.", "Macron met Putin at Versailles on 29 May 2017."),
    ("Macron may meet Putin again.", "Macron will meet Putin again."),  # 'may' the verb is no month
])
def test_a_paraphrase_that_adds_no_fact_passes_the_lexical_check(claim: str, quote: str) -> None:
    assert missing_facts(claim, quote) == set()
    assert lexically_supported(claim, quote)


@pytest.mark.parametrize("claim, quote, missing", [
    # q084: the model added a month the quote lacks
    ("In August 1893-94.", ALLIANCE, {"aug"}),
    # q021: the model added an article number the quote lacks
    ("The articles of the EU Treaty that let France work bilaterally with allies are article 42.7 and article 5.3.",
     TREATY, {"5.3"}),
    ("The French ambassador in Moscow in 1702 was Jean Dupont.", BALUZE, {"dupont"}),
    ("The French ambassador in Moscow in 1702 was Jean-Casimir Baluze.", BALUZE.replace(" (Jean-Casimir Baluze)", ""),
     {"jean", "casimir", "baluze"}),
    ("France had an ambassador in Moscow in 1703.", BALUZE, {"1703"}),
    ("Macron met Putin on Monday.", "Macron met Putin at Versailles.", {"monday"}),
    ("The German ambassador was in Moscow in 1702.", BALUZE, {"german"}),
])
def test_a_paraphrase_adding_a_name_number_or_date_fails(claim: str, quote: str, missing: set[str]) -> None:
    assert missing_facts(claim, quote) == missing
    assert not lexically_supported(claim, quote)


@pytest.mark.parametrize("text, opens", [
    ("The articles don't say.", True),
    ("The articles don’t say who won.", True),
    ("The articles do not say when Hollande expressed openness to lifting sanctions.", True),  # q050
    ("The articles do not say. The Russia Direct article states that ...", True),  # q048
    ("The article does not specify the date.", True),
    ("The passages do not contain the answer.", True),
    ("Macron hosted Putin, but the articles don't say why.", False),
])
def test_a_refusal_is_recognised_in_its_usual_wordings(text: str, opens: bool) -> None:
    assert says_articles_lack(text)
    assert opens_with_refusal(text) is opens


@pytest.mark.parametrize("text", ["Macron hosted Putin at Versailles. [1]", "The articles say Putin came in May.",
                                  "The article does not fit the pattern of earlier visits."])
def test_an_answer_is_not_taken_for_a_refusal(text: str) -> None:
    assert not says_articles_lack(text)


@pytest.fixture(scope="module")
def seed_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    embedder = HashEmbedder()
    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("para") / "index")},
                             "answer": {"refusal_threshold": 0.35, "support_threshold": 0.3}})
    build_index(load_articles([SEEDS]).articles, index_dir=settings.index_dir(), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


def test_the_demonym_paraphrase_gets_its_exact_quote(seed_qa: QA) -> None:
    question = "Who was France’s ambassador in Moscow in 1702?"
    hits = seed_qa.index.search(question, seed_qa.settings.retrieval)
    claim = "The French ambassador in Moscow in 1702 was Jean-Casimir Baluze."
    result, corrected = align_and_cite(claim, hits, seed_qa.evidence, support_threshold=0.3)
    assert corrected == [True] and len(result.citations) == 1 and result.citations[0].supported
    c = result.citations[0]
    assert "Jean-Casimir Baluze" in c.quote and seed_qa.library.article(c.doc_id).text[c.start:c.end] == c.quote
    # the same sentence with a name the quote lacks gets no citation and stays unsupported
    invented, _ = align_and_cite(claim.replace("Jean-Casimir Baluze", "Jean Dupont"), hits, seed_qa.evidence,
                                 support_threshold=0.3)
    assert invented.unsupported == 1 and not any(c.supported for c in invented.citations)


# The plan answers this one, without a short answer, only just above the test's refusal threshold 0.35 (0.36 with
# the HashEmbedder): a margin of 0.10 left the model's refusal standing.
JUST_ABOVE = "Why did Macron refuse to publicly discuss specific human rights cases with Putin?"


def test_a_model_refusal_is_overruled_whenever_the_plan_answers(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    scripted.enqueue("The articles do not say why Macron refused.")
    a = qa.answer(JUST_ABOVE)
    assert len(scripted.requests) == 1
    assert a.confidence is not None and 0.35 <= a.confidence < 0.45
    assert a.disagreement == "The articles do not say why Macron refused."
    assert not a.refused and a.citations and all(c.supported for c in a.citations)
