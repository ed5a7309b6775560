"""evals.bench.latency_queries: the latency section's passes never share a question ("warm" = loaded, not cached).

Before, every pass asked the same questions, so passes after the first timed cached question parses (~7 ms
against ~26 ms for new questions) and the reported p50 (the median of the passes') was the cached one.
No assertion depends on how fast anything ran.
"""

from __future__ import annotations

import pytest

from embeddings.embedder import HashEmbedder
from evals.bench import pipeline as bench_pipeline
from evals.bench.latency_queries import LatencyPass, latency_passes, latency_pool, repeated_questions
from evals.bench.run import FULL, QUICK


def _key(q: str) -> str:
    return " ".join(q.casefold().split())


@pytest.mark.parametrize("plan", [QUICK, FULL], ids=["quick", "full"])
def test_the_plans_passes_ask_disjoint_questions(plan):
    """Every timed question and every warm-up question belongs to one pass only, at the plan's sizes."""
    passes = latency_passes(latency_pool(), per_pass=plan.latency_items, passes=plan.latency_passes, warmup=5,
                            variants=plan.latency_variants)
    assert len(passes) == plan.latency_passes
    if plan.latency_items:
        assert all(len(p.queries) == plan.latency_items * plan.latency_variants for p in passes)
    owners: dict[str, int] = {}
    for i, p in enumerate(passes):
        assert len(p.warmup) == 5 and p.queries
        for q, _ in [*p.warmup, *p.queries]:
            assert owners.setdefault(_key(q), i) == i, f"{q!r} is asked in passes {owners[_key(q)] + 1} and {i + 1}"
        assert not {_key(q) for q, _ in p.warmup} & {_key(q) for q, _ in p.queries}
    assert repeated_questions(passes) == []


def test_passes_spread_over_the_pool_and_keep_histories():
    pool = latency_pool()
    passes = latency_passes(pool, per_pass=4, passes=3, warmup=1)
    assert [q for q, _ in passes[1].warmup] == [pool[1].question]  # item j goes to pass j % 3
    assert [q for q, _ in passes[0].queries] == [pool[j].question for j in (3, 6, 9, 12)]
    followup = next(j for j, it in enumerate(pool) if it.history)
    per_pass = followup // 3 + 1  # item j is the (j // 3 + 1)-th of its pass
    dealt = latency_passes(pool, per_pass=per_pass, passes=3, warmup=0)[followup % 3].queries
    assert (pool[followup].question, pool[followup].history_messages()) in dealt


def test_a_pool_too_small_is_refused_in_one_line():
    pool = latency_pool()
    with pytest.raises(ValueError, match=r"needs 3 x \(5 warm-up \+ 100 timed\) = 315 distinct questions"):
        latency_passes(pool, per_pass=100, passes=3, warmup=5)
    # a question repeated in the pool counts once: two copies of one item are not two questions
    with pytest.raises(ValueError, match="the pool has 1"):
        latency_passes([pool[0], pool[0]], per_pass=1, passes=2, warmup=0)


def test_repeats_between_passes_are_found():
    a, b, c = ("Who built it?", []), ("When was it built?", []), ("Where is it?", [])
    assert repeated_questions([LatencyPass([a], [b]), LatencyPass([c], [("when was it  BUILT?", [])])]) == [
        "when was it  BUILT?"]
    assert repeated_questions([LatencyPass([a], [b]), LatencyPass([a], [c])]) == ["Who built it?"]
    assert repeated_questions([LatencyPass([a], [b, a])]) == ["Who built it?"]  # a warm-up timed again
    assert repeated_questions([LatencyPass([a], [b, ("when was it built?", [])])]) == []  # forms of one item


def test_bench_latency_refuses_passes_that_reuse_a_question():
    """The section cannot time a question a previous pass asked (as it did when every pass asked the same list)."""
    same = [("Who built the chapel?", [])]
    made: list[int] = []

    def make_qa():
        made.append(1)
        raise AssertionError("no QA is made for passes that reuse a question")

    with pytest.raises(ValueError, match="reuse 1 question"):
        bench_pipeline.bench_latency(make_qa, [LatencyPass([], same), LatencyPass([], same)],
                                     progress=lambda m: None, label="x")
    assert made == []


def test_each_timed_question_reaches_qa_once_outside_the_repeat(seeds, tmp_path):
    """End to end on a real QA (hash embedder): the questions each pass times are ones no earlier pass asked."""
    from embeddings import ChunkSettings, Index, IndexSettings, build_index
    from qa.config import get_settings
    from qa.pipeline import QA

    emb = HashEmbedder()
    build_index(seeds, index_dir=tmp_path / "ix", embedder=emb, chunking=ChunkSettings(),
                index_settings=IndexSettings(), progress=False)
    settings = get_settings({"index": {"dir": str(tmp_path / "ix")}, "embedding": {"model": "hash"},
                             "answer": {"answerability": False}})
    index = Index.load(tmp_path / "ix", embedder=emb, chunking=settings.chunking)
    asked: list[list[str]] = []

    class RecordingQA(QA):
        def answer(self, question, history=None, **kwargs):  # type: ignore[override]
            asked[-1].append(question)
            return super().answer(question, history, **kwargs)

    def make_qa():
        asked.append([])
        return RecordingQA(settings, index, emb)

    passes = latency_passes(latency_pool(), per_pass=3, passes=3, warmup=1)
    lat = bench_pipeline.bench_latency(make_qa, passes, progress=lambda m: None, label="rec")
    assert len(asked) == 3 and lat["passes"] == 3
    first_time = [qs[: len(p.warmup) + len(p.queries)] for qs, p in zip(asked, passes, strict=True)]
    for i, qs in enumerate(first_time):
        earlier = {_key(q) for prev in first_time[:i] for q in prev}
        assert not earlier & {_key(q) for q in qs}
        assert asked[i][len(qs):] == [q for q, _ in passes[i].queries]  # the repeat: the same questions again
