"""The whole answer path through a real OpenAI-compatible server (llama.cpp serving SmolLM2-135M).

The 135M model answers poorly and, in practice, never writes [n] markers: these tests check what citeqa
does with such output (every claim flagged unsupported, exact quotes where it does cite, streaming,
rewrite, errors), not answer quality. Nothing is mocked at the HTTP level.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from qa import QA, Answer, CitedClaim, EndpointError, Retrieved, get_settings
from qa.cite import split_claims

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HashEmbedder]:
    embedder = HashEmbedder()
    settings = get_settings({"index": {"dir": str(tmp_path_factory.mktemp("llmqa") / "index")}})
    build_index(load_articles([SEEDS]).articles, index_dir=settings.index_dir(), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    return settings.index_dir(), embedder


def _qa(seed_index: tuple[Path, HashEmbedder], generator: dict) -> QA:
    index_dir, embedder = seed_index
    # three short chunks keep the prompt well inside the test model's 2048-token context
    # the model is always asked (refuse_by_evidence off): these tests are about what citeqa does with its output
    generator = {"refuse_by_evidence": False, **generator}
    settings = get_settings({"index": {"dir": str(index_dir)}, "generator": generator,
                             "retrieval": {"top_k": 3}, "answer": {"support_threshold": 0.3}})
    return QA(settings, Index.load(index_dir, embedder=embedder, chunking=settings.chunking), embedder)


def _unsupported_claims(a: Answer) -> tuple[int, int]:
    """(claims citing nothing, claims whose citations are not all supported) recomputed from the final text."""
    uncited = failing = 0
    for claim in split_claims(a.text):
        if not claim.markers:
            uncited += 1
        elif not all(a.citations[n - 1].supported for n in claim.markers):
            failing += 1
    return uncited, failing


def test_streamed_answer_is_checked_claim_by_claim(llm_server, seed_index) -> None:
    qa = _qa(seed_index, llm_server.generator_settings(max_tokens=96))
    items = list(qa.stream("How many people were massacred in Paris?"))
    final = items[-1]
    assert isinstance(final, Answer) and final.backend == "openai"
    deltas = [d for d in items[:-1] if isinstance(d, str)]
    assert deltas and all(d for d in deltas)  # the generator's deltas, passed on; how many is the model's business
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", final.text)}
    assert cited == {c.n for c in final.citations}  # markers renumbered onto real citations only
    for c in final.citations:
        assert qa.library.article(c.doc_id).text[c.start : c.end] == c.quote
    if not final.refused:
        uncited, failing = _unsupported_claims(final)
        assert uncited <= final.unsupported <= uncited + failing


@pytest.fixture(scope="module")
def lighthouse_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HashEmbedder]:
    folder = tmp_path_factory.mktemp("lighthouse")
    (folder / "lighthouse.txt").write_text("The Zorbian lighthouse was painted green in 1911 by Albertine Moreau.\n")
    embedder = HashEmbedder()
    settings = get_settings({"index": {"dir": str(folder / "index")}})
    build_index(load_articles([folder / "lighthouse.txt"]).articles, index_dir=settings.index_dir(),
                embedder=embedder, chunking=settings.chunking, index_settings=settings.index, progress=False)
    return settings.index_dir(), embedder


def test_invented_claims_and_stray_markers_are_caught(llm_server, lighthouse_index) -> None:
    # One passage only. At temperature 0 SmolLM2-135M repeats the passage, writes a "[2]" (there is no
    # passage 2) and, asked about Mars, invents "Mars is the planet named after the Zorbian."
    qa = _qa(lighthouse_index, llm_server.generator_settings(max_tokens=40))
    items = list(qa.stream("What is the population of Mars?"))
    raw, final = "".join(d for d in items[:-1] if isinstance(d, str)), items[-1]
    assert isinstance(final, Answer)
    assert all(n == 1 for c in final.citations for n in [c.n])  # only passage 1 can be cited
    if "[2]" in raw:
        assert "[2]" not in final.text  # a marker outside the retrieved set is removed
    uncited, failing = _unsupported_claims(final)
    assert uncited <= final.unsupported <= uncited + failing
    if "Mars" in final.text and not final.refused:
        # the invented claim about Mars cannot be supported by the lighthouse passage
        assert final.unsupported >= 1


def test_followup_is_rewritten_through_the_llm_or_deterministically(llm_server, seed_index) -> None:
    qa = _qa(seed_index, llm_server.generator_settings(max_tokens=48))
    history = [
        {"role": "user", "content": "Which French ministers visited Moscow in September 2019?"},
        {"role": "assistant", "content": "Florence Parly and Jean-Yves Le Drian visited Moscow."},
    ]
    a = qa.answer("And who did they meet on the Russian side?", history=history)
    assert a.query and a.query != a.question  # rewritten by the model, or carried over when its rewrite was unusable
    assert a.chunks


def test_refusal_phrase_from_the_model_sets_refused(llm_server, lighthouse_index) -> None:
    qa = _qa(lighthouse_index, llm_server.generator_settings(max_tokens=32))
    # the model is asked outright to use the phrase: this tests the refusal mapping, not the model's judgement
    a = qa.answer("Say: The articles don't say.")
    if "articles don" not in a.text.lower():
        pytest.skip(f"the model did not echo the phrase this time: {a.text[:80]!r}")
    assert a.refused and a.chunks


def test_unreachable_endpoint_is_a_clear_error(seed_index) -> None:
    qa = _qa(seed_index, {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "x",
                          "max_retries": 0, "timeout": 5})
    with pytest.raises(EndpointError, match="cannot reach the LLM endpoint at http://127.0.0.1:9/v1"):
        qa.answer("Where did Macron receive Putin?")


def test_claims_of_a_real_answer_are_aligned_and_streamed_with_their_citations(llm_server, seed_index) -> None:
    # SmolLM2 writes no [n]: every claim the retrieved sentences support gets its citation from qa.align, the
    # others are flagged; one CitedClaim per claim, with the numbers of the final answer.
    qa = _qa(seed_index, llm_server.generator_settings(max_tokens=96))
    items = list(qa.events("How many people were massacred in Paris?"))
    assert isinstance(items[0], Retrieved)
    final = items[-1]
    assert isinstance(final, Answer)
    for c in final.citations:
        assert qa.library.article(c.doc_id).text[c.start : c.end] == c.quote
    if final.refused or final.disagreement:
        return
    assert [c.text for c in final.claims] == [c.text for c in split_claims(final.text)]
    assert final.unsupported == sum(not c.supported for c in final.claims)
    events = [i for i in items if isinstance(i, CitedClaim)]
    assert [e.index for e in events] == list(range(len(final.claims)))
    for e, claim in zip(events, final.claims, strict=True):
        assert [c.n for c in e.citations] == list(claim.citations) and e.supported == claim.supported
        assert all(c in final.citations for c in e.citations)

