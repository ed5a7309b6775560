"""A changed vote on an answer in the chat replaces its feedback line (ChatUI.feedback over the real file)."""

from __future__ import annotations

from pathlib import Path

from evals.feedback import read_feedback
from tests.ui.conftest import FakeQA
from ui.handlers import ChatUI


def test_changing_a_vote_keeps_one_line_per_answer(fake_qa: FakeQA, tmp_path: Path) -> None:
    ui = ChatUI(fake_qa, fake_qa.settings, feedback_file=tmp_path / "feedback.jsonl")  # type: ignore[arg-type]
    *_, (_, _, conv, _, _) = ui.respond("Where did Macron receive Putin in 2017?", None)
    *_, (_, _, conv, _, _) = ui.respond("What did he criticise there?", conv)
    assert "marked helpful" in ui.feedback(conv, "up", message_index=1)
    assert "marked helpful" in ui.feedback(conv, "up", message_index=3)
    assert "marked not helpful" in ui.feedback(conv, "down", "wrong quote", message_index=1)
    lines = (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    rows, bad = read_feedback(tmp_path / "feedback.jsonl")
    assert bad == 0
    by_question = {r["question"]: (r["verdict"], r["comment"]) for r in rows}
    assert by_question == {
        "Where did Macron receive Putin in 2017?": ("down", "wrong quote"),
        "What did he criticise there?": ("up", ""),
    }
