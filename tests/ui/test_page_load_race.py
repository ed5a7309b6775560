"""The page-load step that restores the saved conversation must not wipe a question asked before it ran (a slow
server: the answer streams, then the late restore replaced the chat with the stored one), and the answer event
keeps its API name ``/respond`` for gradio_client users whatever its handler is called.

In the real page (``pytest -m browser tests/ui/test_page_load_race.py``, headless Chromium, tests/ui/slow_endpoint.py
as the model) the question box and Ask stay disabled until that step's reply has reached the page.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.ui.conftest import FakeQA
from ui.app import create_app
from ui.conversations import LOADING_PLACEHOLDER, QUESTION_PLACEHOLDER, STORE_VERSION
from ui.handlers import ChatUI, Conversation

MACRON = "Where did Macron receive Putin in 2017?"
CHAT_STATE = 4  # restore's first outputs: chat, sources, conversation, copy text; then the past list, then the box…


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
    assert all(o == gr.skip() for o in out[:CHAT_STATE]), out[:CHAT_STATE]  # nothing of the chat is replaced
    list(run)  # the answer ends: still nothing to replace
    out = restore(asked, "", _Request())
    assert all(o == gr.skip() for o in out[:CHAT_STATE])
    assert _enabled(out)


def _enabled(out: tuple[Any, ...]) -> bool:
    """Whether restore's reply makes the box, the examples and Ask usable (its outputs after the chat's and the
    list of past conversations)."""
    ready = out[CHAT_STATE + 1 :]
    return len(ready) == 7 and all(u.get("interactive") is True for u in ready)


def test_a_fresh_page_is_restored(fake_qa: FakeQA) -> None:
    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    out = _restore(demo)(Conversation(), "", _Request())
    messages, _sources, conv, _copy, _past = out[: CHAT_STATE + 1]
    assert messages == [] and isinstance(conv, Conversation)  # an empty store gives an empty chat, not a skip
    assert _enabled(out) and out[CHAT_STATE + 1]["placeholder"] == QUESTION_PLACEHOLDER


def test_the_box_ask_and_examples_start_disabled_and_only_restore_enables_them(fake_qa: FakeQA) -> None:
    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    cfg = demo.get_config_file()
    props = {c["id"]: c["props"] for c in cfg["components"]}
    box = next(i for i, p in props.items() if p.get("elem_id") == "cq-input")
    send = next(i for i, p in props.items() if p.get("elem_id") == "cq-send")
    examples = [i for i, p in props.items() if "cq-example" in (p.get("elem_classes") or [])]
    assert len(examples) == 5
    for i in (box, send, *examples):
        assert props[i]["interactive"] is False, props[i]
    assert props[box]["placeholder"] == LOADING_PLACEHOLDER
    (restore,) = [d for d in cfg["dependencies"] if d["api_name"] == "restore"]
    assert [t[1] for t in restore["targets"]] == ["load"]
    assert {box, send, *examples} <= set(restore["outputs"])


def test_a_damaged_store_still_enables_the_box(fake_qa: FakeQA) -> None:
    # the store is the browser's: whatever it holds, the page-load step answers and the box becomes usable
    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    for record in ({"id": "x", "turns": 5}, {"id": "y", "turns": [{"question": "q", "answer": {"text": 1}}, 7]}):
        store = json.dumps({"v": STORE_VERSION, "users": {"": [record]}})
        out = _restore(demo)(Conversation(), store, _Request())
        assert out[0] == [] and _enabled(out), out


def test_the_answer_event_is_called_respond(fake_qa: FakeQA) -> None:
    demo = create_app(fake_qa, fake_qa.settings)  # type: ignore[arg-type]
    answers = [fn for fn in demo.fns.values() if fn.concurrency_id == "answer"]
    assert "respond" in {fn.api_name for fn in answers}


# -- in the real page, in Chromium: the box waits for the page-load step ------------------------------------
# The model's reply (tests/ui/slow_endpoint.py): its first two deltas, then held until the test releases it.
REPLY = ["Macron received Putin ", "at the Palace of Versailles ", "on May 29, 2017 [1]."]
WAIT_MS = 60_000  # only stops a test that hangs: every wait is for a state, never a duration


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Any]:
    from tests.ui.slow_endpoint import SlowEndpoint

    ep = SlowEndpoint(REPLY)
    yield ep
    ep.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, endpoint: Any) -> Iterator[Any]:
    from tests.ui.browser import Server

    env = {"CITEQA_GENERATOR__BACKEND": "openai", "CITEQA_GENERATOR__BASE_URL": endpoint.url,
           "CITEQA_GENERATOR__MODEL": endpoint.model, "CITEQA_GENERATOR__MAX_RETRIES": "0"}
    srv = Server(tmp_path_factory.mktemp("citeqa_ui_load_race"), env=env)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def _restore_id(url: str) -> int:
    """The id the page posts the page-load restore step under (``/gradio_api/run/predict``'s ``fn_index``)."""
    with urllib.request.urlopen(url + "config", timeout=30) as r:
        deps = json.load(r)["dependencies"]
    (fn_index,) = [d["id"] for d in deps if d.get("api_name") == "restore"]
    return int(fn_index)


@pytest.mark.browser
def test_the_box_waits_for_the_page_load_step_and_the_answer_asked_then_stays(server: Any, endpoint: Any) -> None:
    # A slow server, made deterministic: the page's restore request reaches the real server, which runs restore
    # there and then (before any question), but its reply reaches the page only when the test lets it through.
    # Before the fix the box was usable meanwhile: a question asked then streamed, and the late reply of restore
    # replaced the chat with the empty conversation it had read.
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.ui.browser import CHROMIUM, launch_chromium

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    restore_id = _restore_id(server.url)
    held: list[tuple[Any, Any]] = []

    def hold_restore(route: Any) -> None:
        body = route.request.post_data_json
        if isinstance(body, dict) and body.get("fn_index") == restore_id and not held:
            held.append((route, route.fetch()))  # the server has run restore; its reply waits
        else:
            route.continue_()

    asked = endpoint.requests  # the server's warm-up questions
    endpoint.release.clear()
    endpoint.hold.set()
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 960})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/gradio_api/run/predict", hold_restore)
            page.goto(server.url)
            box, send = page.locator("#cq-input textarea"), page.locator("#cq-send")
            box.wait_for(timeout=WAIT_MS)
            while not held:  # until the page has sent restore and the server has answered it
                page.wait_for_timeout(50)
            assert box.is_disabled() and send.is_disabled(), "the question box is usable before the page-load step ran"
            assert page.locator("#cq-examples button").first.is_disabled()
            assert box.get_attribute("placeholder") == LOADING_PLACEHOLDER
            assert not box.is_editable() and endpoint.requests == asked
            route, reply = held[0]
            route.fulfill(response=reply)  # the page-load step's reply arrives: the box becomes usable
            page.unroute("**/gradio_api/run/predict")
            try:
                # once usable the box takes the keyboard (its autofocus could not while it was disabled)
                page.wait_for_function(
                    "() => document.activeElement === document.querySelector('#cq-input textarea')", timeout=WAIT_MS
                )
                assert box.is_editable() and send.is_enabled()
                assert box.get_attribute("placeholder") == QUESTION_PLACEHOLDER
                page.keyboard.type(MACRON)
                page.keyboard.press("Enter")  # Enter asks, as the Ask button does
                bot = page.locator("#cq-chat .cq-bot").last
                bot.locator(".cq-cursor").wait_for(timeout=WAIT_MS)
                while not endpoint.held.is_set():
                    page.wait_for_timeout(50)
                page.wait_for_function(
                    "() => document.querySelector('#cq-chat').innerText.includes('Macron received')",
                    timeout=WAIT_MS,
                )  # the streamed words show while the rest is held
                assert page.locator("#cq-chat .cq-question").count() == 1
            finally:
                endpoint.release.set()
                endpoint.hold.clear()
            page.wait_for_function("!document.querySelector('#cq-chat .cq-cursor')", timeout=WAIT_MS)
            chat = page.locator("#cq-chat").inner_text()
            assert MACRON in chat and "Palace of Versailles" in chat, chat  # the question and its whole answer stay
            assert page.locator("#cq-chat .cq-question").count() == 1 and endpoint.requests == asked + 1
            assert not errors, errors
        finally:
            browser.close()
