"""The feedback file: one line per answer, the latest vote wins, written atomically; read back one record each."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evals.feedback import Turn, read_feedback, record_feedback


def _turn(question: str = "Where did Macron receive Putin?") -> Turn:
    return Turn(question=question, history=[], answer="At Versailles. [1]", query=question, backend="extractive")


def test_a_new_vote_on_the_same_answer_replaces_its_line(tmp_path: Path) -> None:
    path = tmp_path / "fb" / "feedback.jsonl"
    first, second = _turn(), _turn("Who hosted whom?")
    assert first.answer_id != second.answer_id
    record_feedback(path, first, "up", "good")
    record_feedback(path, second, "down")
    record_feedback(path, first, "down", "on second thought, wrong quote")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    rows = [json.loads(x) for x in lines]
    by_id = {r["answer_id"]: r for r in rows}
    assert by_id[first.answer_id]["verdict"] == "down"
    assert by_id[first.answer_id]["comment"] == "on second thought, wrong quote"
    assert by_id[second.answer_id]["verdict"] == "down"
    records, bad = read_feedback(path)
    assert bad == 0 and len(records) == 2
    assert list(tmp_path.joinpath("fb").iterdir()) == [path]  # no temporary file left behind


def test_lines_it_cannot_read_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_text('{"verdict": "up", "question": "old line without id"}\n{"cut by a cra\n', encoding="utf-8")
    t = _turn()
    record_feedback(path, t, "up")
    record_feedback(path, t, "down")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ['{"verdict": "up", "question": "old line without id"}', '{"cut by a cra']
    assert len(lines) == 3 and json.loads(lines[2])["verdict"] == "down"
    records, bad = read_feedback(path)
    assert bad == 1 and [r["verdict"] for r in records] == ["up", "down"]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "feedback.jsonl"
    t = _turn()
    record_feedback(path, t, "up")
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        record_feedback(path, _turn("another"), "down")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["feedback.jsonl"]


def test_reading_an_appended_file_keeps_the_latest_vote_per_answer(tmp_path: Path) -> None:
    """Files written before votes were replaced hold contradicting lines: the latest one counts."""
    path = tmp_path / "feedback.jsonl"
    rows = [
        {"answer_id": "a1", "verdict": "up", "question": "q1"},
        {"answer_id": "b2", "verdict": "down", "question": "q2"},
        {"answer_id": "a1", "verdict": "down", "question": "q1", "comment": "changed my mind"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    records, bad = read_feedback(path)
    assert bad == 0
    assert [(r["answer_id"], r["verdict"]) for r in records] == [("a1", "down"), ("b2", "down")]
