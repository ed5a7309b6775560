"""A question whose answer is still being written is saved in the browser's store as soon as it shows (its partial
answer marked interrupted) and saved again, whole, when the answer ends: a reload mid-answer loses nothing. The
separate "Copy answer" button is gone (every answer has its own Copy), and example questions go through Ask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.conftest import FakeQA
from ui import conversations as convs
from ui.app import SEND_JS, create_app
from ui.handlers import ChatUI, Conversation

MACRON = "Where did Macron receive Putin in 2017?"


@pytest.fixture
def ui(fake_qa: FakeQA, tmp_path: Path) -> ChatUI:
    return ChatUI(fake_qa, fake_qa.settings, feedback_file=tmp_path / "feedback.jsonl")  # type: ignore[arg-type]


def _apply(store: object, op: str) -> object:
    """What the page's APPLY_JS does with a save operation (the page code mirrors ``convs.save``)."""
    change = json.loads(op)
    records = [r for r in convs._records(store, change["user"]) if r["id"] != change["save"]["id"]]
    return convs._with_records(store, change["user"], [change["save"], *records])


def test_the_question_is_saved_as_soon_as_it_shows_then_with_its_partial_answer(ui: ChatUI) -> None:
    steps = list(convs.live_saves(ui.respond(MACRON, Conversation()), "alice"))
    ops = [op for _, op in steps]
    assert ops[0] is not None  # the first output (the question shown) carries a save
    first = json.loads(ops[0])
    assert first["user"] == "alice"
    assert first["save"]["title"] == MACRON
    assert first["save"]["turns"] == [{"question": MACRON, "answer": None, "partial": "", "error": convs.INTERRUPTED}]
    partials = [json.loads(op)["save"]["turns"][0]["partial"] for op in ops[1:] if op is not None]
    assert partials[:1] == ["Macron received Putin at Versailles. [1]"]  # saved again with its first words
    assert ops[-1] is None  # the answer has ended: its save is the event's own (wire_events' ``saving``)
    assert steps[-1][0][2].pending is None


def test_a_reload_mid_answer_brings_back_the_question_and_its_partial_answer_marked_interrupted(ui: ChatUI) -> None:
    *_, (_, _, conv, _, _) = list(ui.respond(MACRON, None))  # one finished answer first
    store: object = convs.save(convs.EMPTY_STORE, "", conv)
    run = ui.respond("What did he criticise there?", conv)
    for out in run:
        if "Macron received" in out[0][-1]["content"]:
            break
    conv.pending.parts = ["Macron slammed ", "RT"]  # type: ignore[union-attr]
    op = json.dumps({"user": "", "save": convs.to_record(conv)})  # what live_saves sends at that moment
    store = json.loads(json.dumps(_apply(store, op)))  # the page is reloaded here: the run never ends
    again = convs.latest(ui, store, "")
    assert again.cid == conv.cid and len(again.turns) == 2
    assert again.turns[-1].question == "What did he criticise there?" and again.turns[-1].error == convs.INTERRUPTED
    last = again.messages[-1]["content"]
    assert "Macron slammed RT" in last and "Interrupted" in last and "incomplete" in last and "cq-cursor" not in last
    assert again.answers[0] is not None and again.answers[1] is None  # the finished answer is whole, cited
    assert convs.listing(store, "") == [(f"{MACRON} \u00b7 2 questions", conv.cid)]
    # Regenerate asks the interrupted question again, in its place
    *_, (messages, _, again, _, _) = list(convs.regenerate(ui, again))
    assert len(messages) == 4 and again.answers[1] is not None and "Interrupted" not in messages[-1]["content"]


def test_a_stopped_answer_is_saved_as_stopped_not_interrupted(ui: ChatUI) -> None:
    conv = Conversation()
    run = ui.respond(MACRON, conv)
    next(run)
    convs.stop(ui, conv)
    rec = convs.to_record(conv)
    assert [t["error"] for t in rec["turns"]] == ["stopped"]


def test_the_separate_copy_answer_button_is_gone_and_examples_go_through_ask(fake_qa: FakeQA) -> None:
    import gradio as gr

    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    labels = {getattr(b, "value", None) for b in demo.blocks.values() if isinstance(b, gr.Button)}
    assert "Copy answer" not in labels and {"Ask", "Stop", "Regenerate"} <= labels
    assert "#cq-send" in SEND_JS and ".click()" in SEND_JS
    # the example buttons' events write no answer themselves: the only answer events are Enter/Ask and Regenerate
    answers = [fn for fn in demo.fns.values() if fn.concurrency_id == "answer"]
    assert len(answers) == 2, [fn.name for fn in answers]
    config = {d["id"]: d for d in demo.get_config_file()["dependencies"]}
    ask = config[answers[0]._id]
    assert ask["trigger_mode"] == "always_last" and len(ask["targets"]) == 2  # Enter and Ask: queued, never parallel
