"""Generators: one interface, one registry, and the LLM branch of ``QA.stream`` driven by a scripted generator."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripted_generator import SCRIPTED, ScriptedGenerator

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from qa import QA, Answer, ConfigError, EndpointError, get_settings
from qa.extractive import ExtractiveGenerator
from qa.generators import GENERATORS, make_generator, register_generator

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"
QUESTION = "How many people were massacred in Paris?"
# The model's own output, unchecked by the evidence test before the call (tests/qa/test_llm_alignment.py has that)
MODEL_ONLY = {"backend": SCRIPTED, "refuse_by_evidence": False}


@pytest.fixture(scope="module")
def seed_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    embedder = HashEmbedder()
    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("gen") / "index")},
                             "answer": {"refusal_threshold": 0.3, "support_threshold": 0.3}})
    build_index(load_articles([SEEDS]).articles, index_dir=settings.index_dir(), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)


def _final(items: list) -> Answer:
    assert isinstance(items[-1], Answer)
    return items[-1]


# -- the registry ----------------------------------------------------------------------------------------------
def test_the_built_in_generators_are_registered_by_name() -> None:
    assert {"extractive", "openai"} <= set(GENERATORS)
    assert isinstance(make_generator(get_settings()), ExtractiveGenerator)  # auto, no endpoint: extractive
    with pytest.raises(ConfigError, match="needs generator.base_url"):  # openai made through the registry
        make_generator(get_settings({"generator": {"backend": "openai", "model": "m"}}))


def test_an_unregistered_backend_is_a_setting_error(seed_qa: QA) -> None:
    with pytest.raises(ConfigError, match="unknown generator 'scripted'; registered: extractive, openai"):
        seed_qa.with_generator({"backend": SCRIPTED})  # registered only inside the `scripted` fixture


def test_a_name_is_registered_once(scripted: ScriptedGenerator) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_generator(SCRIPTED, lambda settings: scripted)
    with pytest.raises(ValueError, match="reserved"):
        register_generator("auto", lambda settings: scripted)


# -- the LLM branch of QA.stream, scripted ------------------------------------------------------------------------
def test_deltas_stream_through_and_markers_become_exact_citations(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator(MODEL_ONLY)
    hits = qa.index.search(QUESTION, qa.settings.retrieval)
    target = next(i for i, h in enumerate(hits, 1) if "massacred 129 people" in h.text)
    sentence = next(s.text for s in qa.evidence.sentences(hits[target - 1]) if "129" in s.text)
    deltas = [f"{' '.join(sentence.split())} [{target}]", " Paris has nine million dragons. [9]"]
    scripted.enqueue(*deltas)
    items = list(qa.stream(QUESTION))
    final = _final(items)
    assert items[:-1] == deltas  # passed on as the generator streamed them
    assert final.backend == SCRIPTED and not final.refused
    assert len(final.citations) == 1 and "129" in final.citations[0].quote
    c = final.citations[0]
    assert qa.index.articles[c.doc_id].text[c.start : c.end] == c.quote and c.supported
    assert "[9]" not in final.text and "[2]" not in final.text  # a marker outside the hits is dropped
    assert final.unsupported == 1  # the invented claim cites nothing that exists
    request = scripted.requests[-1]
    assert (request.question, request.query, list(request.hits)) == (QUESTION, QUESTION, hits)
    assert request.evidence is qa.evidence


def test_the_refusal_phrase_sets_refused_and_cites_nothing(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator(MODEL_ONLY)
    scripted.enqueue("The articles don't say", " how many dragons live in Paris.")
    final = _final(list(qa.stream("How many dragons live in Paris?")))
    assert final.refused and final.citations == [] and final.unsupported == 0
    assert final.chunks  # the closest passages are still shown
    scripted.enqueue("Dragons are not counted anywhere.")  # no phrase: an answer, and an unsupported claim
    final = _final(list(qa.stream("How many dragons live in Paris?")))
    assert not final.refused and final.unsupported == 1


def test_a_followup_is_searched_as_the_generators_rewrite(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator(MODEL_ONLY)
    history = [{"role": "user", "content": "Which French ministers visited Moscow in September 2019?"},
               {"role": "assistant", "content": "Florence Parly and Jean-Yves Le Drian visited Moscow."}]
    scripted.enqueue_rewrite("Who did Parly and Le Drian meet in Moscow in September 2019?")
    scripted.enqueue("The articles don't say.")
    final = _final(list(qa.stream("And who did they meet?", history)))
    assert final.query == "Who did Parly and Le Drian meet in Moscow in September 2019?"
    assert scripted.rewrites_asked == [("And who did they meet?", history)]
    assert scripted.requests[-1].query == final.query and scripted.requests[-1].history == history


def test_an_unusable_rewrite_falls_back_to_the_deterministic_one(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator(MODEL_ONLY)
    history = [{"role": "user", "content": "Which French ministers visited Moscow in September 2019?"},
               {"role": "assistant", "content": "Florence Parly and Jean-Yves Le Drian visited Moscow."}]
    scripted.enqueue("The articles don't say.")  # no rewrite queued: the question comes back unchanged
    final = _final(list(qa.stream("And who did they meet?", history)))
    assert final.query == "Who did Florence Parly and Jean-Yves Le Drian meet?"  # resolved by qa.rewrite


def test_a_generator_error_mid_answer_reaches_the_caller(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    qa = seed_qa.with_generator(MODEL_ONLY)
    scripted.enqueue("Terrorists attacked", EndpointError("the LLM endpoint closed the stream mid-answer"))
    received: list = []
    with pytest.raises(EndpointError, match="mid-answer"):
        for item in qa.stream(QUESTION):
            received.append(item)
    assert received == ["Terrorists attacked"]


def test_the_generators_reported_confidence_reaches_the_answer(seed_qa: QA, scripted: ScriptedGenerator) -> None:
    extractive = seed_qa.answer(QUESTION)  # the extractive generator reports the score it thresholds
    assert extractive.confidence is not None and -1.0 <= extractive.confidence <= 1.0
    qa = seed_qa.with_generator(MODEL_ONLY)
    scripted.enqueue("Nothing reported.")
    assert _final(list(qa.stream(QUESTION))).confidence is None  # a generator that reports none
    scripted.report = {"confidence": float("nan")}
    scripted.enqueue("A score that is not a number.")
    assert _final(list(qa.stream(QUESTION))).confidence is None
    scripted.report = {"confidence": 0.4321}
    scripted.enqueue("A score.")
    assert _final(list(qa.stream(QUESTION))).confidence == 0.4321
