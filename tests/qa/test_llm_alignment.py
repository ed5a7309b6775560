"""The LLM path without a server (issue 13): what citeqa does with a free-text answer, driven by the scripted generator.

- citations never depend on the model writing markers: every claim is aligned with the retrieved sentences
  (``qa.align``), a wrong marker is moved, an unsupported claim is flagged on that claim (``Answer.claims``);
- refusal is decided with evidence: when the extractive plan finds nothing, the model is not called; when the
  model refuses although a sentence clearly answers, the evidence is shown and the disagreement flagged;
- citations attach sentence by sentence while the answer streams (``CitedClaim`` events).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scripted_generator import SCRIPTED, ScriptedGenerator

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from qa import QA, Answer, CitedClaim, Retrieved, get_settings
from qa.align import align, complete_claims

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"
MASSACRE = "How many people were massacred in Paris?"  # the plan answers it (HashEmbedder cosine 0.52)
DRAGONS = "How many dragons live in Paris?"  # nothing answers it (best cosine 0.30)


@pytest.fixture(scope="module")
def seed_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    embedder = HashEmbedder()
    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("align") / "index")},
                             "answer": {"refusal_threshold": 0.35, "support_threshold": 0.3}})
    build_index(load_articles([SEEDS]).articles, index_dir=settings.index_dir(), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


def _final(items: list) -> Answer:
    assert isinstance(items[-1], Answer)
    return items[-1]


def _sentence(qa: QA, question: str, needle: str) -> tuple[int, str]:
    """(passage number, text) of the retrieved sentence holding ``needle``."""
    hits = qa.index.search(question, qa.settings.retrieval)
    for n, hit in enumerate(hits, start=1):
        for s in qa.evidence.sentences(hit):
            if needle in s.text:
                return n, " ".join(s.text.split())
    raise AssertionError(f"no retrieved sentence holds {needle!r}")


def _assert_exact(qa: QA, a: Answer) -> None:
    for c in a.citations:
        assert qa.library.article(c.doc_id).text[c.start : c.end] == c.quote


def test_a_reply_without_markers_gets_exact_citations(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    _, sentence = _sentence(qa, MASSACRE, "129")
    scripted.enqueue(sentence)  # what small models write: the fact, no [n]
    a = qa.answer(MASSACRE)
    assert not a.refused and len(scripted.requests) == 1
    assert len(a.citations) == 1 and "129" in a.citations[0].quote and a.citations[0].supported
    assert a.text.endswith("[1]") and a.unsupported == 0
    assert [(c.citations, c.supported, c.corrected) for c in a.claims] == [((1,), True, True)]
    _assert_exact(qa, a)


def test_a_marker_naming_the_wrong_passage_is_moved(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    n, sentence = _sentence(qa, MASSACRE, "129")
    wrong = 1 if n != 1 else 2
    scripted.enqueue(f"{sentence} [{wrong}]")
    a = qa.answer(MASSACRE)
    hits = qa.index.search(MASSACRE, qa.settings.retrieval)
    assert len(a.citations) == 1 and "129" in a.citations[0].quote and a.citations[0].supported
    assert a.citations[0].doc_id == hits[n - 1].doc_id
    assert a.claims[0].corrected and a.claims[0].supported
    _assert_exact(qa, a)
    # a right marker is kept as written
    scripted.enqueue(f"{sentence} [{n}]")
    right = qa.answer(MASSACRE)
    assert not right.claims[0].corrected and right.citations == a.citations


def test_a_sentence_marker_as_numbered_in_the_prompt_names_its_passage(seed_qa: QA) -> None:
    hits = seed_qa.index.search(MASSACRE, seed_qa.settings.retrieval)
    n, sentence = _sentence(seed_qa, MASSACRE, "129")
    aligned = align(f"{sentence} [{n}.3]", hits, seed_qa.evidence, support_threshold=0.3)
    assert aligned.raw.endswith(f"[{n}]") and aligned.corrected == [False]


def test_an_unsupported_claim_is_flagged_on_that_claim(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    _, sentence = _sentence(qa, MASSACRE, "129")
    scripted.enqueue(f"{sentence} Paris is home to nine million purple dragons.")
    a = qa.answer(MASSACRE)
    assert not a.refused and a.unsupported == 1
    assert [c.supported for c in a.claims] == [True, False]
    invented = a.claims[1]
    assert invented.citations == () and "dragons" in invented.text
    assert a.text[invented.start : invented.end].startswith("Paris is home")  # offsets into Answer.text
    # the model's own marker on an invented claim is checked too: kept visible, and flagged
    scripted.enqueue(f"{sentence} [1] Paris is home to nine million purple dragons. [1]")
    b = qa.answer(MASSACRE)
    assert [c.supported for c in b.claims] == [True, False] and b.unsupported == 1


def test_nothing_answers_so_the_model_is_not_called(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    a = qa.answer(DRAGONS)
    assert scripted.requests == []  # refused by the evidence, before any model call
    assert a.refused and a.backend == SCRIPTED
    assert a.text.startswith("The articles don't say")
    assert "the closest they come is" in a.text and len(a.citations) == 1  # the closest evidence, cited
    _assert_exact(qa, a)
    assert a.confidence is not None and a.confidence < 0.35  # the plan's score, reported
    # with the check off, the model is asked
    scripted.enqueue("The articles don't say how many dragons live there.")
    off = seed_qa.with_generator({"backend": SCRIPTED, "refuse_by_evidence": False}).answer(DRAGONS)
    assert len(scripted.requests) == 1 and off.refused and off.confidence is None


def test_a_model_refusal_against_clear_evidence_shows_the_evidence(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    scripted.enqueue("The articles don't say.")
    a = qa.answer(MASSACRE)
    assert len(scripted.requests) == 1
    assert a.disagreement == "The articles don't say."
    assert not a.refused and "129" in a.text and a.citations and all(c.supported for c in a.citations)
    _assert_exact(qa, a)
    # trusting the model's refusal keeps it, with the evidence shown and the disagreement flagged
    trusting = seed_qa.with_generator({"backend": SCRIPTED, "trust_model_refusal": True})
    scripted.enqueue("The articles don't say.")
    b = trusting.answer(MASSACRE)
    assert b.refused and b.disagreement == "The articles don't say."
    assert b.text.startswith("The articles don't say.") and "129" in b.text and b.citations
    _assert_exact(qa, b)


def test_citations_attach_sentence_by_sentence_while_streaming(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    _, sentence = _sentence(qa, MASSACRE, "129")
    words = sentence.split()
    deltas = [" ".join(words[:3]), " " + " ".join(words[3:]), " Paris is home", " to Zorblax the purple dragon."]
    scripted.enqueue(*deltas)
    items = list(qa.events(MASSACRE))
    assert isinstance(items[0], Retrieved)
    kinds = ["R" if isinstance(i, Retrieved) else "C" if isinstance(i, CitedClaim) else "A" if isinstance(i, Answer)
             else "d" for i in items]
    # claim 0 is cited as soon as claim 1 begins, before the rest of the answer streams; claim 1 before the Answer
    assert kinds == ["R", "d", "d", "d", "C", "d", "C", "A"]
    first, second, final = items[4], items[6], items[-1]
    assert (first.index, first.supported, second.index, second.supported) == (0, True, 1, False)
    assert [c.quote for c in first.citations] == [final.citations[0].quote] and first.citations[0].n == 1
    assert second.citations == []
    # QA.stream is unchanged: deltas then the Answer
    scripted.enqueue(*deltas)
    streamed = list(qa.stream(MASSACRE))
    assert streamed[:-1] == deltas and isinstance(streamed[-1], Answer)


def test_a_marker_still_being_written_does_not_end_a_claim() -> None:
    assert complete_claims("Putin came to Versailles. [1") == 0
    assert complete_claims("Putin came to Versailles. [1] They") == 1
    assert complete_claims("Putin came to Versailles.") == 0


def test_the_cli_marks_the_unsupported_claim_and_the_disagreement(seed_qa: QA, scripted: ScriptedGenerator,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from ui.cli import _print_answer

    qa = seed_qa.with_generator({"backend": SCRIPTED})
    _, sentence = _sentence(qa, MASSACRE, "129")
    scripted.enqueue(f"{sentence} Paris is home to Zorblax the purple dragon.")
    _print_answer(qa.answer(MASSACRE))
    out = capsys.readouterr().out
    assert "dragon. ⚠ unsupported" in out and out.count("⚠ unsupported") == 1
    assert "1 claim(s) not supported" in out
    scripted.enqueue("The articles don't say.")
    _print_answer(qa.answer(MASSACRE))
    assert "The model said “The articles don't say.”" in capsys.readouterr().out


def test_an_answer_that_also_says_what_is_missing_is_kept(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    # Only a reply that refuses (opens with the phrase, or cites nothing) is checked against the evidence: an
    # answer that also names what the articles lack is the model's, cited, and not overruled.
    qa = seed_qa.with_generator({"backend": SCRIPTED})
    _, sentence = _sentence(qa, MASSACRE, "129")
    scripted.enqueue(f"{sentence} The articles don't say who the victims were.")
    a = qa.answer(MASSACRE)
    assert a.disagreement is None and not a.refused
    assert a.text.startswith(sentence) and a.claims[0].supported and "129" in a.citations[0].quote
