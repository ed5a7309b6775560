"""The page-load step that restores the saved conversation must not wipe a question asked before it ran (a slow
server: the answer streams, then the late restore replaced the chat with the stored one), and the answer event
keeps its API name ``/respond`` for gradio_client users whatever its handler is called."""

from __future__ import annotations

from typing import Any

import gradio as gr

from tests.ui.conftest import FakeQA
from ui.app import create_app
from ui.handlers import ChatUI, Conversation

MACRON = "Where did Macron receive Putin in 2017?"


class _Request:
    """The one thing the restore step reads of a request: who is logged in (no one)."""

    username = None
    headers: dict[str, str] = {}


def _restore(demo: gr.Blocks) -> Any:
    (fn,) = [f for f in demo.fns.values() if f.name == "restore"]
    return fn.fn


def test_a_question_asked_before_the_restore_ran_is_not_wiped(fake_qa: FakeQA, tmp_path: Any) -> None:
    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    restore = _restore(demo)
    ui = ChatUI(fake_qa, fake_qa.settings, feedback_file=tmp_path / "feedback.jsonl")  # type: ignore[arg-type]
    asked = Conversation()
    run = ui.respond(MACRON, asked)
    next(run)  # the question shows and its answer is being written
    out = restore(asked, "", _Request())
    assert all(o == gr.skip() for o in out[:-1]), out[:-1]  # nothing of the chat is replaced
    list(run)  # the answer ends: still nothing to replace
    out = restore(asked, "", _Request())
    assert all(o == gr.skip() for o in out[:-1])


def test_a_fresh_page_is_restored(fake_qa: FakeQA) -> None:
    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    out = _restore(demo)(Conversation(), "", _Request())
    messages, _sources, conv, _copy, _past = out
    assert messages == [] and isinstance(conv, Conversation)  # an empty store gives an empty chat, not a skip


def test_the_answer_event_is_called_respond(fake_qa: FakeQA) -> None:
    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    answers = [fn for fn in demo.fns.values() if fn.concurrency_id == "answer"]
    assert "respond" in {fn.api_name for fn in answers}
