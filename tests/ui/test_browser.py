"""End to end: the real ``citeqa ui`` on the bundled articles, driven by headless Chromium through Playwright.

Run with ``pytest -m browser tests/ui``. The first start builds the index (about a minute). Screenshots go to
test-artifacts/ui/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.ui.browser import ARTIFACTS, CHROMIUM, Server, ask, launch_chromium, open_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

MACRON = "Where did Macron receive Putin in 2017?"
SEEDS = Path(__file__).resolve().parents[2] / "corpus" / "articles"

FACT_ARTICLE = """The Zorblax Institute opens its archive

By Mira Tallqvist

The Zorblax Institute in Tartu was founded in 1987 by the marine biologist Ilse Varga. Its archive of
deep-sea recordings opened to the public on 12 March 2024, after a decade of digitisation work.
"""

XSS_ARTICLE = """Quorvania treaty <img src=x onerror="window.__xss=1"> anniversary

The Quorvania treaty was signed in Vilnius on 4 April 1999. <script>window.__xss=2</script>
Delegates described the <img src=x onerror="window.__xss=3"> signing as historic and long overdue.
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("citeqa_ui_home")


# The operator's endpoint for the failing-endpoint case: nothing listens on port 9. Answers stay extractive
# unless a session picks it in the Settings tab.
OPERATOR_ENV = {
    "CITEQA_GENERATOR__BACKEND": "extractive",
    "CITEQA_GENERATOR__BASE_URL": "http://127.0.0.1:9/v1",
    "CITEQA_GENERATOR__MODEL": "no-such-model",
}


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[Server]:
    srv = Server(home, env=OPERATOR_ENV)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    pg = context.new_page()
    pg.requests_seen = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: pg.requests_seen.append(r.url))  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: d.accept())
    open_app(pg, server.url)
    yield pg
    context.close()


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def last_bot(page: Any) -> Any:
    return page.locator("#cq-chat .cq-bot").last


def upload(page: Any, files: list[Path], *, expect: str = "Added") -> str:
    page.get_by_role("tab", name="Articles").click()
    page.locator("#cq-upload input[type=file]").set_input_files([str(f) for f in files])
    try:
        page.wait_for_function(  # innerText: only what is rendered; the widget shows stem and suffix apart
            "n => document.querySelector('#cq-upload').innerText.includes(n)", arg=files[-1].stem, timeout=60_000
        )
    except Exception:
        shot(page, f"failed_upload_{files[-1].stem}.png", full_page=True)
        raise
    page.click("#cq-add")
    status = page.locator("#cq-articles-status")
    status.get_by_text(expect).first.wait_for(timeout=120_000)
    return str(status.inner_text())


def test_cited_answer_streams_with_highlighted_quote(page: Any) -> None:
    page.evaluate(
        """() => { window.__states = [];
        new MutationObserver(() => { const b = document.querySelectorAll('#cq-chat .cq-bot');
          if (b.length) window.__states.push(b[b.length - 1].innerHTML); })
        .observe(document.querySelector('#cq-chat'), {childList: true, subtree: true, characterData: true}); }"""
    )
    ask(page, MACRON)
    # Intermediate streamed states are recorded but not required here: a warm extractive answer can arrive
    # within one browser frame, and Gradio then renders only the last state. That the handler streams is
    # asserted in test_handlers.py; here the final, cited state is what the user must see.
    states = page.evaluate("window.__states")
    assert states, "the chat never updated"
    answer = last_bot(page)
    assert "cq-cursor" not in answer.inner_html()
    assert "Versailles" in answer.inner_text()
    markers = answer.locator("a.cq-cite")
    assert markers.count() >= 1 and re.fullmatch(r"\[1\]\u26a0?", markers.first.inner_text())

    quote = page.locator("#cq-sources #cq-src-1-1 mark.cq-quote")
    quote.wait_for()
    quoted = " ".join(quote.inner_text().split())
    seeds = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in SEEDS.glob("*.txt"))
    assert quoted and quoted in seeds  # the highlighted words are the article's own words
    card = page.locator("#cq-src-1-1")
    assert "001_4531c746a2d8eea5.txt" in card.inner_text()

    markers.first.click()  # jumps to, and flashes, the source card
    page.wait_for_function("document.querySelector('#cq-src-1-1').classList.contains('cq-flash')", timeout=5000)
    assert page.url.rstrip("/").endswith(str(urlparse(page.url).port))  # no navigation happened
    shot(page, "1_cited_answer.png")
    # No bound on the answer's time here: speed is the machine's business (ask() only has a generous timeout);
    # scripts/bench_ui.py measures it.

    outside = {urlparse(u).hostname for u in page.requests_seen if u.startswith("http")} - {"127.0.0.1"}
    assert not outside, f"the page contacted {outside}"


def test_follow_up_shows_searched_for(page: Any) -> None:
    ask(page, MACRON)
    ask(page, "What did he criticise there?")
    answer = last_bot(page)
    searched = answer.locator(".cq-searched")
    assert searched.count() == 1 and "Searched for" in searched.inner_text()
    assert page.locator("#cq-chat .cq-bot").count() == 2
    assert page.locator("#cq-sources #cq-src-2-1").count() == 1
    shot(page, "2_follow_up.png")
    # a marker of the earlier answer brings that answer's sources back, and flashes the card
    page.locator("#cq-chat .cq-bot").first.locator("a.cq-cite").first.click()
    page.locator("#cq-sources").get_by_text("earlier answer").wait_for(timeout=15_000)
    page.wait_for_function("document.querySelector('#cq-src-1-1') !== null", timeout=15_000)


def test_refusal_shows_not_in_the_articles_and_closest_passages(page: Any) -> None:
    ask(page, "What is the capital of Australia?")
    assert "Not in the articles" in last_bot(page).inner_text()
    sources = page.locator("#cq-sources")
    assert "Not in the articles" in sources.inner_text()
    assert sources.locator(".cq-passage").count() >= 1
    shot(page, "3_refusal.png")


def test_upload_then_ask_cites_the_new_article(page: Any, tmp_path: Path) -> None:
    f = tmp_path / "zorblax institute (2024).txt"
    f.write_text(FACT_ARTICLE, encoding="utf-8")
    status = upload(page, [f])
    doc_id = "uploads/zorblax_institute_2024.txt"
    assert doc_id in status
    table = page.locator("#cq-articles")
    table.get_by_text(doc_id).first.wait_for(state="attached", timeout=10_000)
    shot(page, "4_articles_after_upload.png", full_page=True)

    page.get_by_role("tab", name="Chat").click()
    ask(page, "Who founded the Zorblax Institute?")
    assert "Ilse Varga" in last_bot(page).inner_text()
    assert doc_id in page.locator("#cq-sources").inner_text()
    shot(page, "5_answer_from_upload.png")


def test_uploaded_html_payloads_never_execute(page: Any, tmp_path: Path) -> None:
    f = tmp_path / "quorvania.txt"
    f.write_text(XSS_ARTICLE, encoding="utf-8")
    upload(page, [f])
    page.locator("#cq-articles").get_by_text("uploads/quorvania.txt").first.wait_for(state="attached", timeout=10_000)
    page.get_by_role("tab", name="Chat").click()
    ask(page, 'Where was the Quorvania treaty signed? <img src=x onerror="window.__xss=4">')
    sources = page.locator("#cq-sources")
    assert "Vilnius" in sources.inner_text()
    page.wait_for_timeout(500)  # give any injected handler time to run
    assert page.evaluate("window.__xss") is None
    shown = sources.inner_text() + page.locator("#cq-chat").inner_text()
    assert "<img src=x onerror=" in shown  # the payload shows as text
    assert page.locator("#cq-sources img, #cq-chat .cq-bot img, #cq-chat .cq-question img").count() == 0
    shot(page, "6_xss_as_text.png")
    page.get_by_role("tab", name="Articles").click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None


def test_rejected_upload_explains_why(page: Any, tmp_path: Path) -> None:
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x00\x01")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    status = upload(page, [empty], expect="Nothing was added")
    assert "empty" in status


def test_feedback_thumbs_and_comment_go_to_jsonl(page: Any, home: Path) -> None:
    ask(page, MACRON)
    page.fill("#cq-comment textarea", "right place, good quote")
    last_bot_msg = page.locator("#cq-chat .message-buttons").last
    last_bot_msg.get_by_role("button", name="Like", exact=True).click()
    page.locator("#cq-feedback-status").get_by_text("marked helpful").wait_for(timeout=10_000)
    rows = [json.loads(line) for line in (home / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    row = rows[-1]
    assert row["verdict"] == "up" and row["comment"] == "right place, good quote"
    assert row["question"] == MACRON and row["citations"] and row["answer"]


def test_copy_answer_puts_text_with_sources_on_the_clipboard(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(page, MACRON)
    last_bot(page).locator("button.cq-copy-btn").click()  # the answer's own Copy button
    page.locator("#cq-copy-status").get_by_text("copied").wait_for(timeout=10_000)
    text = page.evaluate("navigator.clipboard.readText()")
    assert "Versailles" in text and "Sources:" in text and "<" not in text.split("Sources:")[0]


def pick(page: Any, elem_id: str, option: str) -> None:
    """Choose ``option`` in the Gradio dropdown ``elem_id``."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_failing_endpoint_is_a_readable_error_and_the_app_keeps_serving(page: Any) -> None:
    page.get_by_role("tab", name="Settings").click()
    assert page.locator("#cq-base-url").count() == 0 or not page.locator("#cq-base-url").is_visible()  # no URL field
    pick(page, "cq-endpoint", "configured endpoint")
    # the endpoint's model shows as chosen (what Apply will use), not an empty box
    page.wait_for_function("document.querySelector('#cq-model input').value === 'no-such-model'", timeout=10_000)
    page.fill("#cq-api-key input", "sk-test-secret")
    page.click("#cq-apply")
    page.locator("#cq-settings-status").get_by_text("Applied").wait_for(timeout=10_000)
    current = page.locator("#cq-current-settings").inner_text()
    assert "configured endpoint" in current and "no-such-model" in current
    assert "127.0.0.1:9" not in page.content() and "sk-test-secret" not in page.content()
    shot(page, "7_settings.png")

    page.get_by_role("tab", name="Chat").click()
    ask(page, MACRON)
    err = last_bot(page).inner_text()
    assert "Could not answer" in err and "could not be reached" in err and "Traceback" not in err
    assert "127.0.0.1:9" not in err
    shot(page, "8_endpoint_error.png")

    page.get_by_role("tab", name="Settings").click()
    pick(page, "cq-endpoint", "extractive (offline)")
    page.click("#cq-apply")
    page.locator("#cq-settings-status").get_by_text("Applied").wait_for(timeout=10_000)
    page.get_by_role("tab", name="Chat").click()
    ask(page, MACRON)
    assert last_bot(page).locator("a.cq-cite").count() >= 1


def test_login_required_with_auth(browser: Any, home: Path, server: Server) -> None:
    srv = Server(home, "--auth", "alice:wonder-land")  # the index exists already: loads, no rebuild
    try:
        srv.wait_ready()
        context = browser.new_context()
        pg = context.new_page()
        pg.goto(srv.url)
        pg.wait_for_selector("input[type=password]", timeout=30_000)
        assert pg.locator("#cq-input").count() == 0
        pg.locator("input[type=text], input:not([type])").first.fill("alice")
        pg.locator("input[type=password]").fill("wonder-land")
        pg.keyboard.press("Enter")
        pg.wait_for_selector("#cq-input textarea", timeout=30_000)
        context.close()
    finally:
        srv.stop()


def test_only_admins_get_the_article_controls(browser: Any, home: Path, server: Server, tmp_path: Path) -> None:
    from ui.auth import hash_password

    users = tmp_path / "users.txt"
    users.write_text(f"alice:{hash_password('wonder-land', iterations=1000)}:admin\nbob:builder\n", encoding="utf-8")
    srv = Server(home, "--auth-file", str(users))
    try:
        srv.wait_ready()
        for user, password, admin in (("bob", "builder", False), ("alice", "wonder-land", True)):
            context = browser.new_context()
            pg = context.new_page()
            pg.goto(srv.url)
            pg.wait_for_selector("input[type=password]", timeout=30_000)
            pg.locator("input[type=text], input:not([type])").first.fill(user)
            pg.locator("input[type=password]").fill(password)
            pg.keyboard.press("Enter")
            pg.wait_for_selector("#cq-input textarea", timeout=30_000)
            pg.get_by_role("tab", name="Articles").click()
            pg.locator("#cq-articles").get_by_text("001_4531c746a2d8eea5.txt").first.wait_for(
                state="attached", timeout=30_000
            )  # the page's load event has run, and with it the role check
            assert pg.locator("#cq-add").is_enabled() is admin
            assert pg.locator("#cq-delete").is_enabled() is admin
            assert ("only an admin" in pg.locator("#cq-role-note").inner_text()) is not admin
            context.close()
    finally:
        srv.stop()
