"""Several users at once: one user's indexing or slow endpoint never holds back another user's question.

Issue 10, item 10: every event shared one queue of one (``concurrency_id="qa"``, ``default_concurrency_limit=1``),
so user B's question waited 27 s while user A indexed an upload, 8 s while A's LLM answer streamed, and 90 s+
while A's session waited on a slow endpoint.

The fast cases launch the real Gradio app (``create_app``, the queue ``launch_app`` configures) on 127.0.0.1
and drive two sessions with ``gradio_client``. Session A's work is held open by an event the test controls,
so nothing here depends on timing: B's question must finish while A's job is still running (before the fix it
could not start until A's finished, and the test fails on its guard timeout). The browser case drives the real
``citeqa ui`` with two Chromium sessions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from qa import Answer
from qa.library import AddReport
from tests.ui.browser import free_port
from tests.ui.conftest import FakeQA

GUARD_S = 60  # only a failure guard: a correct run never waits for it


class HeldQA(FakeQA):
    """FakeQA whose indexing, and whose answers to questions containing "slow", wait until the test releases them."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.holding = threading.Event()  # set once a held job is running

    def add_files(
        self, paths: Sequence[Path], progress: Any = None, *, names: Sequence[str] | None = None
    ) -> AddReport:
        self.holding.set()
        assert self.release.wait(GUARD_S), "never released"
        return super().add_files(paths, progress, names=names)

    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Iterator[str | Answer]:
        if "slow" in question:
            self.holding.set()
            yield "Waiting for the endpoint"
            assert self.release.wait(GUARD_S), "never released"
        yield from super().stream(question, history)

    def with_settings(self, **sections: Any) -> FakeQA:
        return self


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[str, HeldQA]]:
    from ui.app import create_app

    qa = HeldQA()
    demo = create_app(qa, qa.settings, feedback_file=tmp_path / "feedback.jsonl")  # type: ignore[arg-type]
    demo.queue(default_concurrency_limit=qa.settings.ui.max_concurrent_questions)  # as launch_app does
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, ssr_mode=False)
    try:
        yield f"http://127.0.0.1:{demo.server_port}/", qa
    finally:
        qa.release.set()
        demo.close()


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False)


def _answered(job: Any) -> str:
    messages = job.result(timeout=GUARD_S)[0]
    return str(messages[-1]["content"])


@pytest.mark.heavy
def test_question_runs_while_another_session_indexes(app: tuple[str, HeldQA], tmp_path: Path) -> None:
    from gradio_client import handle_file

    url, qa = app
    upload = tmp_path / "big.txt"
    upload.write_text("A big upload\nThe Zanzibar council met on 3 March 2024.\n", encoding="utf-8")
    a, b = _client(url), _client(url)
    indexing = a.submit([handle_file(str(upload))], api_name="/do_add")
    assert qa.holding.wait(GUARD_S), "A's indexing never started"
    answer = _answered(b.submit("Where did Macron receive Putin in 2017?", api_name="/respond"))
    assert "cq-cite" in answer
    assert not indexing.done()  # B was answered while A's indexing was still running
    qa.release.set()
    assert "Added 1" in indexing.result(timeout=GUARD_S)[0]


@pytest.mark.heavy
def test_question_runs_while_another_session_waits_on_a_slow_endpoint(app: tuple[str, HeldQA]) -> None:
    url, qa = app
    a, b = _client(url), _client(url)
    slow = a.submit("a slow question about Macron", api_name="/respond")
    assert qa.holding.wait(GUARD_S), "A's question never started"
    answer = _answered(b.submit("Where did Macron receive Putin in 2017?", api_name="/respond"))
    assert "cq-cite" in answer and not slow.done()
    qa.release.set()
    assert "cq-cite" in _answered(slow)


@pytest.mark.heavy
def test_two_uploads_still_index_one_at_a_time(app: tuple[str, HeldQA], tmp_path: Path) -> None:
    """Indexing keeps its queue of one: a second upload waits for the first (the index is written by one at a time)."""
    from gradio_client import handle_file

    url, qa = app
    files = []
    for name in ("one.txt", "two.txt"):
        f = tmp_path / name
        f.write_text(f"{name}\nSome text about {name}.\n", encoding="utf-8")
        files.append(f)
    a, b = _client(url), _client(url)
    first = a.submit([handle_file(str(files[0]))], api_name="/do_add")
    assert qa.holding.wait(GUARD_S)
    second = b.submit([handle_file(str(files[1]))], api_name="/do_add")
    # the second is queued behind the first: its status says so while the first is held
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline and second.status().code.name not in ("IN_QUEUE", "QUEUE_FULL"):
        time.sleep(0.05)
    assert second.status().code.name == "IN_QUEUE" and not second.done()
    qa.release.set()
    assert "Added 1" in first.result(timeout=GUARD_S)[0] and "Added 1" in second.result(timeout=GUARD_S)[0]


# -- the real `citeqa ui` with two browser sessions ------------------------------------------------------------
class HeldEndpoint:
    """An OpenAI-compatible stand-in on 127.0.0.1 that holds every request until released (then answers 503)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.arrived = threading.Event()
        self.release = threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                held.arrived.set()
                held.release.wait(GUARD_S)
                self.send_response(503)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _wait_for_staging(index_dir: Path) -> Path:
    """The staging folder of the build now running on ``index_dir`` (polled; the guard only stops a hung test)."""
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        found = sorted(index_dir.parent.glob(f".{index_dir.name}.building-*"))
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no build of {index_dir} started within {GUARD_S} s")


@pytest.mark.browser
@pytest.mark.heavy
def test_two_browser_sessions_do_not_wait_for_each_other(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A waits on a slow endpoint, then indexes a large upload; B's questions are answered meanwhile."""
    from tests.ui.browser import CHROMIUM, Server, ask, launch_chromium, open_app

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    home = tmp_path_factory.mktemp("two_sessions")
    endpoint = HeldEndpoint()
    srv = Server(home, env={"CITEQA_UI__ALLOWED_BASE_URLS": endpoint.url, "CITEQA_GENERATOR__MAX_RETRIES": "0"})
    try:
        srv.wait_ready()
        with playwright_api.sync_playwright() as p:
            browser = launch_chromium(p)
            a, b = browser.new_context().new_page(), browser.new_context().new_page()
            for page in (a, b):
                open_app(page, srv.url)

            # A: a typed (allowed) endpoint that holds the request open
            a.get_by_role("tab", name="Settings").click()
            a.locator("#cq-endpoint input").click()
            a.get_by_role("option", name="other endpoint (base URL)", exact=True).click()
            a.fill("#cq-base-url textarea, #cq-base-url input", endpoint.url)
            a.locator("#cq-model input").fill("slow-model")
            a.locator("#cq-model input").press("Enter")
            a.click("#cq-apply")
            a.locator("#cq-settings-status").get_by_text("Applied").wait_for(timeout=10_000)
            a.get_by_role("tab", name="Chat").click()
            a.fill("#cq-input textarea", "Where did Macron receive Putin in 2017?")
            a.click("#cq-send")
            assert endpoint.arrived.wait(GUARD_S), "A's question never reached its endpoint"
            ask(b, "Where did Macron receive Putin in 2017?")  # answered while A's request is held
            assert b.locator("#cq-chat .cq-bot").last.locator("a.cq-cite").count() >= 1
            assert not endpoint.release.is_set()  # A still waits: B did not queue behind it
            endpoint.release.set()
            a.locator("#cq-chat .cq-bot").last.get_by_text("Could not answer").wait_for(timeout=GUARD_S * 1000)

            # A: a 1 MB upload (inside the 5 MB limit: a minute or more of indexing); B asks while it runs
            big = home / "large upload.txt"
            words = "harbour council archive museum river treaty minister delegation".split()
            paras = [
                " ".join(f"{words[(i * 7 + j) % len(words)]}{i * 131 + j}" for j in range(60)) for i in range(1500)
            ]
            big.write_text("A large upload\n\n" + ".\n\n".join(paras), encoding="utf-8")
            a.get_by_role("tab", name="Articles").click()
            a.locator("#cq-upload input[type=file]").set_input_files([str(big)])
            a.wait_for_function(
                "n => document.querySelector('#cq-upload').innerText.includes(n)", arg=big.stem, timeout=60_000
            )
            a.click("#cq-add")
            # Indexing has started when the build's staging folder appears beside the index (the page shows no
            # progress line a test can rely on while Gradio's spinner covers the status).
            staging = _wait_for_staging(home / "index")
            ask(b, "What did Hollande say about Daesh in Moscow?")
            # B's answer is complete while A's upload still indexes: A's status has no result line yet.
            # (Ordering, not timing: before the fix B's question could not start until A's indexing ended.)
            assert "Added" not in a.locator("#cq-articles-status").inner_text()
            assert staging.exists(), "A's indexing had ended before B's answer was complete"
            a.locator("#cq-articles-status").get_by_text("Added").wait_for(timeout=1_800_000)
            browser.close()
    finally:
        srv.stop()
        endpoint.close()
