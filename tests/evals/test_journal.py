"""The run folder written as a run goes (evals/journal.py), resume checks, progress lines, and how failed questions
are summarised, reported and compared. Real files in tmp_path; no QA needed."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from evals.compare import COMPARED_METRICS, compare_runs, render_comparison
from evals.journal import (
    MANIFEST_FILE,
    ResumeError,
    RunJournal,
    answer_settings,
    file_sha256,
    mismatch,
    read_records,
)
from evals.progress import Progress, format_eta
from evals.report import render_markdown
from evals.runfiles import RESULTS_FILE, SUMMARY_FILE, EvalRun
from evals.summary import summarize


def _record(qid: str, *, failed: bool = False, contains: float = 1.0, unsupported: int | None = 0) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": qid, "type": "factoid", "question": f"question {qid}?", "history": [],
                           "gold": {"answers": ["x"], "doc": ["d"], "evidence": []}, "query": qid, "answer": None,
                           "error": None, "latency_ms": 10.0}
    if failed:
        rec.update(error="cannot reach the LLM endpoint", error_type="EndpointError", failed=True, metrics=None)
        return rec
    rec["metrics"] = {
        "retrieval": {"doc_recall": 1.0, "evidence_recall": None, "mrr": 1.0, "ndcg": 1.0},
        "recall_at_k": {"doc_recall": [1.0], "evidence_recall": [None], "mrr": [1.0], "ndcg": [1.0]},
        "answer": {"exact": 0.0, "f1": 0.5, "contains": contains, "short_exact": 0.0, "short_f1": 0.0},
        "refusal": {"should_refuse": False, "refused": False, "correct": True, "confidence": 0.8},
        "citations": {"precision": 1.0, "recall": 1.0, "claims": 2, "supported_claims": 2,
                      "unsupported_claims": unsupported, "citations": 2, "quotes_exact": 2, "quotes": 2},
    }
    return rec


def _manifest(set_file: Path, **settings: Any) -> dict[str, Any]:
    return {"version": 1, "set": set_file.stem, "set_path": str(set_file), "set_sha256": file_sha256(set_file),
            "index": "abc", "k": 5, "retrieval_only": False, "judge": None,
            "settings": {"retrieval.top_k": 5, "generator.model": "m", **settings}, "total": 4, "complete": False,
            "elapsed_s": 0.0}


@pytest.fixture
def set_file(tmp_path: Path) -> Path:
    path = tmp_path / "myset.jsonl"
    path.write_text('{"id": "q1"}\n', encoding="utf-8")
    return path


def test_each_record_is_on_disk_as_soon_as_it_is_appended(tmp_path: Path, set_file: Path) -> None:
    journal = RunJournal.open(tmp_path / "run", _manifest(set_file), resume=False)
    journal.append(_record("q1"))
    # read through another handle while the journal is still open: the line is there, whole
    lines = (tmp_path / "run" / RESULTS_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["q1"]
    journal.append(_record("q2", failed=True))
    assert len((tmp_path / "run" / RESULTS_FILE).read_text(encoding="utf-8").splitlines()) == 2
    assert json.loads((tmp_path / "run" / MANIFEST_FILE).read_text(encoding="utf-8"))["complete"] is False
    journal.close()


def test_read_records_last_line_wins_and_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / RESULTS_FILE
    first, again = _record("q1", failed=True), _record("q1")
    path.write_text(json.dumps(first) + "\n" + json.dumps(_record("q2")) + "\n" + json.dumps(again) + "\n"
                    + json.dumps(_record("q3"))[:40], encoding="utf-8")  # a crash in the middle of the last line
    records = read_records(path)
    assert list(records) == ["q1", "q2"] and "failed" not in records["q1"]


def test_resume_keeps_answered_questions_and_asks_failed_ones_again(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    journal = RunJournal.open(out, _manifest(set_file), resume=False)
    journal.append(_record("q1"))
    journal.append(_record("q2", failed=True))
    journal.close()
    resumed = RunJournal.open(out, _manifest(set_file), resume=True)
    assert set(resumed.done) == {"q1"} and resumed.resumed
    resumed.append(_record("q2"))
    run = EvalRun([resumed.done["q1"], _record("q2")], {"n": 2})
    resumed.finish(run, complete=True, elapsed_s=3.0)
    lines = (out / RESULTS_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["q1", "q2"]  # compacted: one line per question, set order
    assert json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8")) == {"n": 2}
    manifest = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["complete"] is True and manifest["elapsed_s"] == 3.0
    assert not list(out.glob(".*.tmp"))  # the atomic writes left no temporary file


def test_resume_after_a_crash_mid_line_appends_on_a_line_of_its_own(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    journal = RunJournal.open(out, _manifest(set_file), resume=False)
    journal.append(_record("q1"))
    journal.close()
    with (out / RESULTS_FILE).open("a", encoding="utf-8") as f:
        f.write(json.dumps(_record("q2"))[:50])  # killed while writing q2
    resumed = RunJournal.open(out, _manifest(set_file), resume=True)
    assert set(resumed.done) == {"q1"}
    resumed.append(_record("q2"))
    resumed.append(_record("q3"))
    resumed.close()  # a second crash before the end: what was appended must still read back
    assert list(read_records(out / RESULTS_FILE)) == ["q1", "q2", "q3"]


def test_an_unfinished_run_is_not_overwritten_without_resume(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    journal = RunJournal.open(out, _manifest(set_file), resume=False)
    journal.append(_record("q1"))
    journal.close()
    with pytest.raises(ResumeError, match=r"unfinished run of myset \(1 of 4 questions answered\): add --resume"):
        RunJournal.open(out, _manifest(set_file), resume=False)
    assert len((out / RESULTS_FILE).read_text(encoding="utf-8").splitlines()) == 1  # untouched


def test_a_finished_run_is_replaced_and_resume_of_nothing_starts_fresh(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "run"
    journal = RunJournal.open(out, _manifest(set_file), resume=True)  # nothing there: a new run
    assert journal.done == {}
    journal.append(_record("q1"))
    journal.finish(EvalRun([_record("q1")], {"n": 1}), complete=True, elapsed_s=1.0)
    again = RunJournal.open(out, _manifest(set_file), resume=False)
    assert again.done == {} and not (out / RESULTS_FILE).read_text(encoding="utf-8")
    assert not (out / SUMMARY_FILE).exists()
    again.close()


@pytest.mark.parametrize(("change", "message"), [
    ("other_set", "it holds a run of another set"),
    ("edited_set", "changed since the run began"),
    ("settings", r"other settings \(generator.model 'm' → 'other'\)"),
    ("k", r"other settings \(k 5 → 3"),
    ("index", "the index holds other articles"),
])  # fmt: skip
def test_resume_refuses_another_set_or_other_settings(tmp_path: Path, set_file: Path, change: str,
                                                      message: str) -> None:
    out = tmp_path / "run"
    RunJournal.open(out, _manifest(set_file), resume=False).close()
    new = _manifest(set_file)
    if change == "other_set":
        other = tmp_path / "other.jsonl"
        other.write_text('{"id": "z"}\n', encoding="utf-8")
        new = _manifest(other)
    elif change == "edited_set":
        set_file.write_text('{"id": "q1"}\n{"id": "q2"}\n', encoding="utf-8")
        new = _manifest(set_file)
    elif change == "settings":
        new["settings"]["generator.model"] = "other"
    elif change == "k":
        new["k"] = 3
        new["settings"]["retrieval.top_k"] = 3
    else:
        new["index"] = "def"
    with pytest.raises(ResumeError, match=message) as info:
        RunJournal.open(out, new, resume=True)
    assert "\n" not in str(info.value)
    assert mismatch(_manifest(set_file), _manifest(set_file), out) is None  # the same run: nothing to refuse


def test_resume_without_a_manifest_is_refused(tmp_path: Path, set_file: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / RESULTS_FILE).write_text(json.dumps(_record("q1")) + "\n", encoding="utf-8")
    with pytest.raises(ResumeError, match="no run.json"):
        RunJournal.open(out, _manifest(set_file), resume=True)


def test_answer_settings_leave_out_what_does_not_change_answers() -> None:
    flat = answer_settings({"generator": {"model": "m", "base_url": "http://x", "api_key": "**********",
                                          "timeout": 60, "max_retries": 2, "temperature": 0.0},
                            "ui": {"admins": ["a"]}, "retrieval": {"top_k": 5},
                            "index": {"dir": "/i", "faiss": "flat"}})
    assert flat == {"generator.model": "m", "generator.temperature": 0.0, "retrieval.top_k": 5, "index.faiss": "flat"}


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_progress_prints_a_line_per_question_with_errors_and_eta() -> None:
    stream = _Tty()
    bar = Progress(4, done=1, desc="myset", stream=stream)
    bar.update(_record("q2"))
    bar.update(_record("q3", failed=True))
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "myset: resuming, 1 of 4 questions already answered"
    assert lines[1].startswith("myset 2/4 q2 ok · ETA ")
    assert lines[2].startswith("myset 3/4 q3 FAILED (cannot reach the LLM endpoint) · errors 1 · ETA ")
    quiet = _Tty()
    bar = Progress(4, stream=quiet, enabled=False)
    bar.update(_record("q1", failed=True))
    assert quiet.getvalue() == "" and bar.errors == 1


class _GonePipe(_Tty):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_progress_to_a_pipe_whose_reader_left_does_not_stop_the_run() -> None:
    bar = Progress(3, stream=_GonePipe())  # `citeqa eval ... 2>&1 | head -3`: once head exits, writes fail
    bar.update(_record("q1"))
    bar.update(_record("q2"))
    assert bar.done == 2


def test_format_eta() -> None:
    assert [format_eta(s) for s in (None, 4.4, 190, 3900)] == ["?", "4s", "3m10s", "1h05m"]


def test_failed_questions_are_counted_and_left_out_of_every_metric() -> None:
    ok = [_record("q1"), _record("q2", contains=0.0)]
    with_failed = [ok[0], _record("q9", failed=True), ok[1]]
    a = summarize(ok, k=5, backend="openai", refusal_threshold=0.5)
    b = summarize(with_failed, k=5, backend="openai", refusal_threshold=0.5)
    assert b["n_failed"] == 1 and b["failed_ids"] == ["q9"] and a["n_failed"] == 0
    assert {k: v for k, v in b.items() if k not in ("n_failed", "failed_ids")} == \
        {k: v for k, v in a.items() if k not in ("n_failed", "failed_ids")}
    report = render_markdown(EvalRun(with_failed, {**b, "complete": True, "n_total": 3}))
    assert "**1 question(s) failed at the LLM endpoint** and are left out of every metric" in report
    assert "- `q9`: cannot reach the LLM endpoint" in report


def test_an_unfinished_run_says_so_in_its_report() -> None:
    s = summarize([_record("q1")], k=5, backend="extractive")
    report = render_markdown(EvalRun([_record("q1")], {**s, "complete": False, "n_total": 86}))
    assert "**This run did not finish**: 1 of 86 questions were asked" in report


def test_compare_covers_unsupported_claims_and_every_summary_metric() -> None:
    ra = [_record("q1", unsupported=0), _record("q2")]
    rb = [_record("q1", unsupported=2), _record("q2", failed=True)]
    a = EvalRun(ra, summarize(ra, k=5, backend="openai"))
    b = EvalRun(rb, summarize(rb, k=5, backend="openai"))
    for metric in ("citations.unsupported_claims", "answer.short_exact", "answer.short_f1", "latency_ms.mean",
                   "latency_ms.max", "n_failed"):
        assert metric in COMPARED_METRICS
    cmp = compare_runs(a, b)
    deltas = {d.metric: d for d in cmp.deltas}
    assert deltas["citations.unsupported_claims"].b == 1.0 and deltas["citations.unsupported_claims"].verdict == "worse"
    assert deltas["n_failed"].delta == 1 and deltas["n_failed"].verdict == "worse"
    assert [f.id for f in cmp.flips] == []  # the failed question has no outcome to flip
    text = render_comparison(cmp)
    assert "| citations.unsupported_claims | 0.000 | 1.000 | +1.000 | worse |" in text
    assert "1 question(s) of B failed at the LLM endpoint" in text
