"""The eval runner: per-question scoring, the summary's keys and numbers, gates, determinism, the judge.

Runs use the hash embedder over the seed articles, so they are fast; the metrics themselves are tested
in test_metrics.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from embeddings.types import Hit
from evals.judge import Judge, parse_verdict
from evals.run import (
    EvalRun,
    default_out_dir,
    load_run,
    run_eval,
    score_item,
    summarize,
    write_run,
)
from evals.sets import SETS_DIR, EvalItem, Turn, load_eval_set
from qa import QA, Answer, Citation, get_settings

SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"
GROUP_KEYS = {
    "retrieval": {"doc_recall", "evidence_recall", "mrr", "ndcg"},
    "answer": {"exact", "f1", "contains"},
    "citations": {"precision", "recall", "quotes_exact"},
    "refusal": {"recall", "precision", "false_refusal_rate"},
    "latency_ms": {"p50", "p95"},
}


def build_hash_qa(index_dir: Path) -> QA:
    """A QA over the seed articles with the hash embedder (refusal threshold lowered for hash vectors)."""
    settings = get_settings({"index": {"dir": str(index_dir)}, "answer": {"refusal_threshold": 0.25}})
    embedder = HashEmbedder()
    build_index(load_articles([SEEDS]).articles, index_dir=index_dir, embedder=embedder, chunking=settings.chunking,
                index_settings=settings.index, progress=False)
    return QA(settings, Index.load(index_dir, embedder=embedder, chunking=settings.chunking), embedder)


def sample_items() -> list[EvalItem]:
    """Two questions of every type of seed_dev, in file order."""
    items = load_eval_set(SETS_DIR / "seed_dev.jsonl")
    picked: list[EvalItem] = []
    for item in items:
        if sum(p.type == item.type for p in picked) < 2:
            picked.append(item)
    return picked


@pytest.fixture(scope="module")
def hash_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    return build_hash_qa(tmp_path_factory.mktemp("evalrun") / "index")


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return sample_items()


@pytest.fixture(scope="module")
def full_run(hash_qa: QA, items: list[EvalItem]) -> EvalRun:
    return run_eval(items, hash_qa, k=5, progress=False, set_name="sample")


def test_summary_has_exactly_the_issue_groups(full_run: EvalRun, items: list[EvalItem]) -> None:
    s = full_run.summary
    assert s["n"] == len(items) and s["k"] == 5 and s["backend"] == "extractive"
    for group, keys in GROUP_KEYS.items():
        assert keys <= set(s[group]), group
    assert set(s["by_type"]) == {it.type for it in items}
    for t, g in s["by_type"].items():
        assert g["n"] == sum(it.type == t for it in items)
        for group, keys in GROUP_KEYS.items():
            assert keys <= set(g[group]), (t, group)
    assert s["n_answerable"] + s["n_unanswerable"] == s["n"]
    assert len(s["recall_at_k"]["doc_recall"]) == 10
    assert s["settings"]["retrieval"]["top_k"] == 5
    assert s["duration_s"] > 0
    json.dumps(s)  # JSON-ready


def test_records_hold_the_full_answer_and_metrics(full_run: EvalRun, items: list[EvalItem], hash_qa: QA) -> None:
    assert [r["id"] for r in full_run.records] == [it.id for it in items]
    for rec, item in zip(full_run.records, items, strict=True):
        a = rec["answer"]
        assert set(a) >= {"text", "citations", "chunks", "refused", "query", "backend", "timings_ms"}
        assert len(a["chunks"]) <= 5 and rec["query"] == a["query"]
        assert rec["gold"]["answers"] == list(item.answers)
        m = rec["metrics"]
        assert (m["answer"] is None) == (not item.answerable)
        assert m["refusal"]["should_refuse"] == (not item.answerable)
        assert m["refusal"]["refused"] == a["refused"]
        for c in a["citations"]:
            assert hash_qa.library.article(c["doc_id"]).text[c["start"] : c["end"]] == c["quote"]
        if item.history:
            assert rec["history"] == item.history_messages()
    assert full_run.summary["citations"]["quotes_exact"] == 1.0


def test_curve_at_k_matches_the_chunks_the_generator_saw(full_run: EvalRun) -> None:
    for rec in full_run.records:
        m = rec["metrics"]
        for key, value in m["retrieval"].items():
            assert m["recall_at_k"][key][4] == value, (rec["id"], key)


def test_runs_are_deterministic_apart_from_latency(hash_qa: QA, items: list[EvalItem], full_run: EvalRun) -> None:
    again = run_eval(items, hash_qa, k=5, progress=False, set_name="sample")

    def strip(rec: dict[str, Any]) -> dict[str, Any]:
        rec = json.loads(json.dumps(rec))
        rec.pop("latency_ms")
        if rec["answer"]:
            rec["answer"].pop("timings_ms")
        return rec

    assert [strip(r) for r in again.records] == [strip(r) for r in full_run.records]
    volatile = {"latency_ms", "duration_s", "started_at", "by_type"}
    assert {k: v for k, v in again.summary.items() if k not in volatile} == {
        k: v for k, v in full_run.summary.items() if k not in volatile}


def test_retrieval_only_skips_generation_and_retrieves_the_same_chunks(
    hash_qa: QA, items: list[EvalItem], full_run: EvalRun
) -> None:
    ro = run_eval(items, hash_qa, k=5, retrieval_only=True, progress=False)
    s = ro.summary
    assert s["answer"] is None and s["citations"] is None and s["refusal"] is None and s["backend"] is None
    assert s["retrieval_only"] is True
    assert s["retrieval"] == full_run.summary["retrieval"]
    for rec, full in zip(ro.records, full_run.records, strict=True):
        assert rec["answer"] is None
        assert rec["chunks"] == full["answer"]["chunks"]
    for g in s["by_type"].values():
        assert g["answer"] is None and g["refusal"] is None


def test_k_changes_the_cut_off(hash_qa: QA, items: list[EvalItem]) -> None:
    run = run_eval(items[:4], hash_qa, k=2, progress=False)
    assert run.summary["k"] == 2
    assert all(len(r["answer"]["chunks"]) <= 2 for r in run.records)
    assert run.summary["settings"]["retrieval"]["top_k"] == 2


def test_write_and_load_round_trip(full_run: EvalRun, tmp_path: Path) -> None:
    out = write_run(full_run, tmp_path / "run")
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(full_run.records)
    back = load_run(out)
    assert back.summary == json.loads(json.dumps(full_run.summary))
    assert load_run(out / "summary.json").records == back.records
    with pytest.raises(FileNotFoundError, match="not an eval run"):
        load_run(tmp_path)


# -- scoring hand-made answers ---------------------------------------------------------------------------

ART = "Macron hosted Putin at Versailles in 2017. They talked about Syria. The meeting was tense."


def _item(**kw: Any) -> EvalItem:
    base: dict[str, Any] = {"id": "x1", "question": "Where did Macron host Putin?", "answers": ("Versailles",),
                            "doc": "a.txt", "evidence": ("Macron hosted Putin at Versailles in 2017.",),
                            "type": "factoid"}
    base.update(kw)
    return EvalItem(**base)


def _hit(start: int = 0, end: int = len(ART), doc: str = "a.txt") -> Hit:
    return Hit(doc, start, end, ART[start:end], 1.0)


def _answer(text: str, citations: list[Citation], *, refused: bool = False) -> Answer:
    return Answer(text=text, citations=citations, chunks=[_hit()], refused=refused, query="q", backend="test")


def _texts(doc: str) -> str | None:
    return ART if doc == "a.txt" else None


def test_claims_without_markers_and_false_flags_lower_citation_scores() -> None:
    c1 = Citation(1, "a.txt", "A", 0, 42, ART[0:42], True)
    c2 = Citation(2, "a.txt", "A", 43, 67, "They talked about Iran.", False)  # not the source slice
    ans = _answer("Macron hosted Putin at Versailles. [1] They talked about Iran. [2] It was a fine day.", [c1, c2])
    m = score_item(_item(), ans, ans.chunks, ans.chunks, k=5, article_text=_texts)
    cit = m["citations"]
    assert cit["claims"] == 3 and cit["supported_claims"] == 1 and cit["citations"] == 2
    assert cit["recall"] == pytest.approx(1 / 3) and cit["precision"] == pytest.approx(1 / 2)
    assert cit["quotes_exact"] == 1  # the second quote is not article.text[start:end]
    assert m["answer"] == {"exact": 0.0, "f1": pytest.approx(m["answer"]["f1"]), "contains": 1.0,
                           "short_exact": 0.0, "short_f1": 0.0}  # no short answer stated: 0
    assert m["refusal"] == {"should_refuse": False, "refused": False, "correct": True, "confidence": None}


def test_a_refusal_scores_zero_on_answerable_and_right_on_unanswerable() -> None:
    refusal = _answer("The articles don't say where. Versailles is not mentioned.", [], refused=True)
    m = score_item(_item(), refusal, refusal.chunks, refusal.chunks, k=5, article_text=_texts)
    assert m["answer"] == {"exact": 0.0, "f1": 0.0, "contains": 0.0, "short_exact": 0.0, "short_f1": 0.0}  # a refusal
    assert m["refusal"]["correct"] is False and m["citations"] is None
    unans = _item(answers=(), doc=None, evidence=(), type="unanswerable")
    m = score_item(unans, refusal, refusal.chunks, refusal.chunks, k=5, article_text=_texts)
    assert m["answer"] is None and m["refusal"] == {"should_refuse": True, "refused": True, "correct": True,
                                                    "confidence": None}
    sure = replace(refusal, confidence=0.42)  # the generator's score, kept for the refusal curve
    assert score_item(unans, sure, sure.chunks, sure.chunks, k=5)["refusal"]["confidence"] == 0.42
    assert m["retrieval"] == {"doc_recall": None, "evidence_recall": None, "mrr": None, "ndcg": None}


def test_markers_are_stripped_before_answer_metrics() -> None:
    c1 = Citation(1, "a.txt", "A", 0, 42, ART[0:42], True)
    ans = _answer("Versailles [1]", [c1])
    m = score_item(_item(), ans, ans.chunks, ans.chunks, k=5, article_text=_texts)
    assert m["answer"]["exact"] == 1.0 and m["answer"]["f1"] == 1.0


def _rec(qid: str, type_: str, *, answerable: bool = True, refused: bool = False, contains: float = 1.0,
         doc_recall: float | None = 1.0, latency: float = 10.0) -> dict[str, Any]:
    curve = {k: [doc_recall] * 10 for k in ("doc_recall", "evidence_recall", "mrr", "ndcg")}
    return {
        "id": qid, "type": type_, "question": f"question {qid}?", "history": [], "error": None,
        "gold": {"answers": ["x"] if answerable else [], "doc": ["a.txt"] if answerable else None,
                 "evidence": ["e"] if answerable else []},
        "query": "q", "answer": None, "latency_ms": latency,
        "metrics": {
            "retrieval": {k: doc_recall for k in ("doc_recall", "evidence_recall", "mrr", "ndcg")},
            "recall_at_k": curve,
            "answer": {"exact": 0.0, "f1": contains / 2, "contains": contains} if answerable else None,
            "refusal": {"should_refuse": not answerable, "refused": refused, "correct": refused != answerable},
            "citations": None if refused else {"precision": 1.0, "recall": 0.5, "claims": 2, "supported_claims": 1,
                                               "citations": 2, "quotes_exact": 2},
        },
    }  # fmt: skip


def test_summarize_pools_refusals_and_averages_by_type() -> None:
    recs = [
        _rec("a", "factoid", contains=1.0),
        _rec("b", "factoid", contains=0.0, refused=True),
        _rec("c", "unanswerable", answerable=False, refused=True, doc_recall=None),
        _rec("d", "unanswerable", answerable=False, refused=False, doc_recall=None, latency=30.0),
    ]
    s = summarize(recs, k=5, backend="test")
    assert s["answer"]["contains"] == 0.5
    assert s["refusal"]["recall"] == 0.5 and s["refusal"]["precision"] == 0.5
    assert s["refusal"]["false_refusal_rate"] == 0.5 and s["refusal"]["accuracy"] == 0.5
    assert s["citations"]["answers"] == 2 and s["citations"]["quotes_exact"] == 1.0
    assert s["retrieval"]["doc_recall"] == 1.0  # unanswerable questions have no retrieval target
    assert s["by_type"]["unanswerable"]["answer"]["contains"] is None
    assert s["by_type"]["unanswerable"]["refusal"]["recall"] == 0.5
    assert s["by_type"]["factoid"]["refusal"]["recall"] is None
    assert s["latency_ms"]["p50"] == 10.0 and s["latency_ms"]["max"] == 30.0
    assert s["n_answerable"] == 2 and s["n_unanswerable"] == 2


def test_default_out_dir_is_timestamped_and_never_reused(tmp_path: Path) -> None:
    now = datetime(2025, 1, 2, 3, 4, 5)
    first = default_out_dir("evals/sets/seed_dev.jsonl", root=tmp_path, now=now)
    assert first == tmp_path / "20250102-030405-seed_dev"
    first.mkdir()
    assert default_out_dir("seed_dev.jsonl", root=tmp_path, now=now).name == "20250102-030405-seed_dev-2"
    assert default_out_dir("data/xquad/eval.jsonl", root=tmp_path, now=now).name == "20250102-030405-xquad"


# -- the judge -------------------------------------------------------------------------------------------


class FakeLLM:
    """Says yes when the prompt's answer/claim mentions Versailles or Chirac, else no; counts calls."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, str]]] = []

    def __call__(self, messages: list[dict[str, str]]) -> str:
        self.calls.append(messages)
        tail = messages[-1]["content"].split("Answer to grade:")[-1].split("Claim:")[-1]
        return "Yes." if any(w in tail for w in ("Versailles", "Chirac", "Palace")) else "No"


def test_parse_verdict() -> None:
    assert parse_verdict("Yes.") is True and parse_verdict("no, it does not") is False
    assert parse_verdict("Answer: YES") is True and parse_verdict("maybe") is None
    assert parse_verdict("Nobody knows") is None  # 'no' must be a word
    assert parse_verdict("The claim is not supported by the source text.") is False
    assert parse_verdict("The answer is incorrect.") is False and parse_verdict("It is unsupported") is False
    assert parse_verdict("The claim is fully supported.") is True and parse_verdict("Correct.") is True


def test_judge_verdicts_are_cached_on_disk(tmp_path: Path) -> None:
    llm = FakeLLM()
    cache = tmp_path / "cache" / "judge.jsonl"
    judge = Judge(llm, model="m1", cache_path=cache)
    c1 = Citation(1, "a.txt", "A", 0, 42, ART[0:42], True)
    ans = _answer("Macron hosted Putin at Versailles. [1] They talked about Iran.", [c1])
    verdict = judge.judge_answer(_item(), ans)
    assert verdict == {"correct": True, "claims": 2, "supported_claims": 1, "unparsed": 0}
    assert len(llm.calls) == 2  # correctness + the one cited claim; the uncited claim costs nothing
    assert all(m[0]["role"] == "system" for m in llm.calls)
    again = Judge(llm, model="m1", cache_path=cache)
    assert again.judge_answer(_item(), ans) == verdict
    assert len(llm.calls) == 2 and again.cache_hits == 2 and again.calls == 0
    other_model = Judge(llm, model="m2", cache_path=cache)
    other_model.judge_answer(_item(), ans)
    assert len(llm.calls) == 4  # the cache key includes the model
    refused = _answer("The articles don't say.", [], refused=True)
    assert judge.judge_answer(_item(), refused)["correct"] is False
    unans = _item(answers=(), doc=None, evidence=(), type="unanswerable")
    assert judge.judge_answer(unans, refused)["correct"] is None
    assert len(llm.calls) == 4


def test_judge_needs_an_endpoint(tmp_path: Path) -> None:
    from qa.config import GeneratorSettings
    from qa.errors import ConfigError

    with pytest.raises(ConfigError, match="--judge needs an LLM endpoint"):
        Judge.from_settings(GeneratorSettings.model_validate({}), cache_path=tmp_path / "c.jsonl")


def test_run_with_judge_reports_it_beside_offline_metrics(hash_qa: QA, items: list[EvalItem], tmp_path: Path) -> None:
    llm = FakeLLM()
    run = run_eval(items[:4], hash_qa, k=5, progress=False, judge=Judge(llm, model="fake", cache_path=tmp_path / "c"))
    j = run.summary["judge"]
    assert j["model"] == "fake" and j["calls"] == len(llm.calls) > 0
    assert 0 <= j["correct"] <= 1 and j["claims"] > 0
    assert run.summary["answer"]["contains"] is not None  # offline metrics stay
    assert all("judge" in r["metrics"] for r in run.records)


def test_follow_up_history_reaches_the_pipeline(hash_qa: QA) -> None:
    item = EvalItem("f1", "When was he president?", ("1995–2007",), "001_4531c746a2d8eea5.txt",
                    ("Russia dreams of reviving the kind of relationship it had with former president Jacques "
                     "Chirac (1995–2007)",), "follow-up",
                    history=(Turn("user", "Which former president does Russia miss?"),
                             Turn("assistant", "Jacques Chirac")))
    run = run_eval([item], hash_qa, k=5, progress=False)
    assert run.records[0]["query"] != item.question  # rewritten with the history


def test_the_api_key_never_reaches_the_outputs(hash_qa: QA, items: list[EvalItem], tmp_path: Path) -> None:
    qa = hash_qa.with_generator({"backend": "extractive", "api_key": "sk-LEAKCHECK-123", "base_url": "http://x/v1"})
    out = write_run(run_eval(items[:1], qa, k=5, progress=False), tmp_path / "run")
    for f in out.iterdir():
        assert "sk-LEAKCHECK-123" not in f.read_text(encoding="utf-8")
