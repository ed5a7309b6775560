"""Issue 14's follow-ups in the real ``citeqa ui`` with headless Chromium: example questions queue behind an answer
being written, a reload mid-answer keeps the question and its partial answer, the per-answer Copy replaces the
separate button, and the new controls (Stop/Regenerate, Copy, past conversations, the quote preview, the whole
article) at phone width (390×844), with axe-core finding no serious or critical violation there.

Answers are extractive unless a session picks the operator's endpoint, played by tests/ui/slow_endpoint.py (it
holds its reply half-way). Run with ``pytest -m browser tests/ui/test_browser_followups.py``; screenshots go to
test-artifacts/ui/followups/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.browser import ARTIFACTS, CHROMIUM, Server, ask, launch_chromium, open_app
from tests.ui.slow_endpoint import SlowEndpoint

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
MACRON = "Where did Macron receive Putin in 2017?"
HOLLANDE = "What did Hollande say about Daesh in Moscow?"
REPLY = ["Macron received ", "Putin at the ", "Palace of Versailles ", "on May 29, 2017 [1]."]
SHOTS = ARTIFACTS / "followups"
DESKTOP = {"width": 1440, "height": 960}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 60_000  # only stops a test that hangs: every wait is for a state, never a duration


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("citeqa_ui_followups")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[SlowEndpoint]:
    ep = SlowEndpoint(REPLY)
    yield ep
    ep.close()


@pytest.fixture(scope="module")
def server(home: Path, endpoint: SlowEndpoint) -> Iterator[Server]:
    env = {
        "CITEQA_GENERATOR__BACKEND": "extractive",  # sessions answer extractively unless they pick the endpoint
        "CITEQA_GENERATOR__BASE_URL": endpoint.url,
        "CITEQA_GENERATOR__MODEL": endpoint.model,
        "CITEQA_GENERATOR__MAX_RETRIES": "0",
    }
    srv = Server(home, env=env)
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


def _page(browser: Any, server: Server, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport)
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))  # type: ignore[attr-defined]
    open_app(pg, server.url)
    pg.locator("#cq-collection").get_by_text("article").first.wait_for(timeout=WAIT_MS)  # the page's loads have run
    yield pg
    assert not pg.errors, pg.errors  # type: ignore[attr-defined]
    context.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    yield from _page(browser, server, DESKTOP)


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Any]:
    yield from _page(browser, server, PHONE)


def shot(page: Any, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{page.viewport_size['width']}_{name}.png"), full_page=full_page)


def bots(page: Any) -> Any:
    return page.locator("#cq-chat .cq-bot")


def use_slow_endpoint(page: Any) -> None:
    """This session answers through the operator's endpoint (the slow stand-in)."""
    page.get_by_role("tab", name="Settings").click()
    page.locator("#cq-endpoint input").click()
    page.get_by_role("option", name="configured endpoint", exact=True).click()
    page.click("#cq-apply")
    page.locator("#cq-settings-status").get_by_text("Applied").wait_for(timeout=WAIT_MS)
    page.get_by_role("tab", name="Chat").click()


def send(page: Any, question: str) -> None:
    page.fill("#cq-input textarea", question)
    page.click("#cq-send")


def held_answer(page: Any, endpoint: SlowEndpoint, question: str) -> None:
    """Send ``question`` to the slow endpoint and wait until its answer is held half-way."""
    endpoint.release.clear()
    endpoint.hold.set()
    send(page, question)
    bots(page).last.get_by_text("Macron received").wait_for(timeout=WAIT_MS)
    assert bots(page).last.locator(".cq-cursor").count() == 1  # still being written


def release(endpoint: SlowEndpoint) -> None:
    endpoint.hold.clear()
    endpoint.release.set()


def wait_saved(page: Any, text: str) -> None:
    page.wait_for_function(
        "q => (localStorage.getItem('citeqa-conversations') || '').includes(q)", arg=text, timeout=WAIT_MS
    )


def in_viewport(page: Any, selector: str) -> dict[str, Any]:
    """The element's box and whether it lies wholly inside the viewport."""
    return dict(
        page.evaluate(
            """s => { const e = document.querySelector(s); if (!e) return {found: false};
                 const r = e.getBoundingClientRect();
                 return {found: true, left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
                         inside: r.width > 0 && r.left >= 0 && r.right <= innerWidth && r.top >= 0
                                 && r.bottom <= innerHeight}; }""",
            selector,
        )
    )


# -- 1. example questions queue like Enter/Ask ---------------------------------------------------------------
def test_an_example_clicked_while_an_answer_streams_is_queued_then_runs_after_it(
    page: Any, endpoint: SlowEndpoint
) -> None:
    use_slow_endpoint(page)
    # when the second question shows in the chat, is the first answer still being written?
    page.evaluate(
        """() => { window.__overlap = null; new MutationObserver(() => {
             const q = document.querySelectorAll('#cq-chat .cq-question');
             if (q.length >= 2 && window.__overlap === null)
               window.__overlap = !!document.querySelectorAll('#cq-chat .cq-bot')[0].querySelector('.cq-cursor');
           }).observe(document.body, {childList: true, subtree: true}); }"""
    )
    try:
        held_answer(page, endpoint, MACRON)
        example = page.locator("#cq-examples button").filter(has_text=HOLLANDE)
        example.click()
        queued = page.locator("#cq-queued")
        queued.wait_for(state="visible", timeout=WAIT_MS)
        assert HOLLANDE in queued.inner_text() and "Queued" in queued.inner_text()
        assert page.locator("#cq-chat .cq-question").count() == 1
        shot(page, "example_queued")
    finally:
        release(endpoint)
    page.locator("#cq-chat .cq-question").filter(has_text=HOLLANDE).wait_for(timeout=WAIT_MS)
    page.wait_for_function(
        "document.querySelectorAll('#cq-chat .cq-bot').length === 2 && !document.querySelector('#cq-chat .cq-cursor')",
        timeout=WAIT_MS,
    )
    queued.wait_for(state="hidden", timeout=WAIT_MS)
    assert page.evaluate("window.__overlap") is False  # it ran after the first answer, not beside it
    assert "Versailles" in bots(page).first.inner_text() and "Stopped" not in bots(page).first.inner_text()
    assert page.locator("#cq-chat .cq-question").count() == 2


def test_an_example_clicked_when_idle_is_asked_at_once(page: Any) -> None:
    page.locator("#cq-examples button").filter(has_text=HOLLANDE).click()
    bots(page).first.locator("a.cq-cite").first.wait_for(timeout=WAIT_MS)
    assert HOLLANDE in page.locator("#cq-chat .cq-question").first.inner_text()
    assert page.locator("#cq-input textarea").input_value() == ""


# -- 3. a reload mid-answer loses nothing -------------------------------------------------------------------
def test_a_reload_mid_answer_keeps_the_question_and_its_partial_answer(
    page: Any, endpoint: SlowEndpoint, server: Server
) -> None:
    use_slow_endpoint(page)  # a first question: a follow-up would have the endpoint (held) rewrite it first
    try:
        held_answer(page, endpoint, MACRON)
        wait_saved(page, MACRON)  # saved as soon as it shows, its first words too, before the answer ends
        wait_saved(page, "Macron received")
        page.reload()
        open_app(page, server.url)
    finally:
        release(endpoint)
    bots(page).first.wait_for(timeout=WAIT_MS)
    questions = page.locator("#cq-chat .cq-question").all_inner_texts()
    assert [q.strip() for q in questions] == [MACRON]
    last = bots(page).last
    assert "Macron received" in last.inner_text() and "Interrupted" in last.inner_text()
    assert last.locator(".cq-cursor").count() == 0
    shot(page, "reloaded_mid_answer")
    page.locator("#cq-regenerate").wait_for(state="visible", timeout=WAIT_MS)  # asks the interrupted one again
    page.click("#cq-regenerate")
    page.wait_for_function(
        "() => { const b = document.querySelectorAll('#cq-chat .cq-bot'); return b.length === 1"
        " && b[0].querySelector('a.cq-cite') && !b[0].querySelector('.cq-cursor'); }",
        timeout=WAIT_MS,
    )
    assert "Interrupted" not in bots(page).last.inner_text()
    page.wait_for_function(  # and the finished answer replaces the interrupted one in the store
        "() => { const s = localStorage.getItem('citeqa-conversations') || '';"
        " return s.includes('Versailles') && !s.includes('interrupted'); }",
        timeout=WAIT_MS,
    )


# -- 4. the new controls on a phone -------------------------------------------------------------------------
def test_phone_stop_then_regenerate_fit_and_work(phone: Any, endpoint: SlowEndpoint) -> None:
    use_slow_endpoint(phone)
    try:
        held_answer(phone, endpoint, MACRON)
        stop = phone.locator("#cq-stop")
        stop.wait_for(state="visible", timeout=WAIT_MS)
        stop.scroll_into_view_if_needed()
        box = in_viewport(phone, "#cq-stop")
        assert box["inside"] and box["width"] >= 44, box  # a finger-sized target, on the screen
        shot(phone, "stop")
        stop.click()
        bots(phone).last.locator(".cq-stopped-note").wait_for(timeout=WAIT_MS)
    finally:
        release(endpoint)
    regen = phone.locator("#cq-regenerate")
    regen.wait_for(state="visible", timeout=WAIT_MS)
    regen.scroll_into_view_if_needed()
    box = in_viewport(phone, "#cq-regenerate")
    assert box["inside"] and box["width"] >= 44, box
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "regenerate")
    regen.click()
    phone.wait_for_function(
        "() => { const b = document.querySelectorAll('#cq-chat .cq-bot');"
        " return b.length === 1 && b[0].innerText.includes('Versailles') && !b[0].querySelector('.cq-cursor'); }",
        timeout=WAIT_MS,
    )


def test_phone_copy_past_conversations_preview_and_whole_article(phone: Any) -> None:
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(phone, MACRON)
    targets = ["#cq-chat .cq-bot button.cq-copy-btn", "#cq-src-1-1 details.cq-article > summary", "#cq-regenerate"]
    sizes = {s: in_viewport(phone, s) for s in [*targets, "#cq-forget", "#cq-clear"]}
    small = {s: (round(b["width"]), round(b["bottom"] - b["top"])) for s, b in sizes.items()
             if b["width"] < 24 or b["bottom"] - b["top"] < 24}  # fmt: skip
    assert small == {}, f"targets under 24 x 24 px (WCAG 2.2 target size): {small}"
    copy = bots(phone).last.locator("button.cq-copy-btn")
    copy.scroll_into_view_if_needed()
    assert in_viewport(phone, "#cq-chat .cq-bot button.cq-copy-btn")["inside"]
    copy.click()
    phone.locator("#cq-copy-status").get_by_text("copied").wait_for(timeout=WAIT_MS)
    assert "Versailles" in phone.evaluate("navigator.clipboard.readText()")
    shot(phone, "copied")

    # the past-conversations row: the list and "Delete this chat" side by side within the screen
    phone.locator("#cq-past").scroll_into_view_if_needed()
    for sel in ("#cq-past", "#cq-forget"):
        box = in_viewport(phone, sel)
        assert box["found"] and box["left"] >= 0 and box["right"] <= PHONE["width"], (sel, box)
    phone.locator("#cq-past input").click()
    option = phone.get_by_role("option").first
    option.wait_for(timeout=WAIT_MS)
    ob = option.bounding_box()
    assert ob and ob["x"] >= 0 and ob["x"] + ob["width"] <= PHONE["width"], ob
    shot(phone, "past_conversations")
    phone.keyboard.press("Escape")

    # the quote preview of every marker stays inside the screen, wherever its marker is on the line
    markers = bots(phone).last.locator("a.cq-cite")
    assert markers.count() >= 2
    for i in range(markers.count()):
        markers.nth(i).scroll_into_view_if_needed()
        markers.nth(i).focus()
        phone.wait_for_function(
            "i => document.querySelectorAll('#cq-chat .cq-bot .cq-pop')[i].getBoundingClientRect().width > 100",
            arg=i,
            timeout=WAIT_MS,
        )
        pop = phone.evaluate(
            "i => { const r = document.querySelectorAll('#cq-chat .cq-bot .cq-pop')[i].getBoundingClientRect();"
            " return {left: r.left, right: r.right}; }",
            i,
        )
        assert pop["left"] >= 0 and pop["right"] <= PHONE["width"], (i, pop)
        shot(phone, f"preview_{i + 1}")
        phone.keyboard.press("Escape")

    # the whole article: inside the screen's width, the quote scrolled into its box
    card = phone.locator("#cq-src-1-1")
    summary = card.get_by_text("Show the whole article")
    summary.scroll_into_view_if_needed()
    summary.click()
    text = card.locator(".cq-article-text")
    text.wait_for(state="visible", timeout=WAIT_MS)
    box = in_viewport(phone, "#cq-src-1-1 .cq-article-text")
    assert box["left"] >= 0 and box["right"] <= PHONE["width"], box
    phone.wait_for_function(
        """() => { const b = document.querySelector('#cq-src-1-1 .cq-article-text');
          const r = b.querySelector('mark.cq-article-quote').getBoundingClientRect(), s = b.getBoundingClientRect();
          return r.top >= s.top && r.top < s.bottom; }""",
        timeout=WAIT_MS,
    )
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "whole_article")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now."""
    assert AXE.exists(), f"axe-core is missing: run `make setup-browser` (npm ci --prefix tests/ui); {AXE}"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))"""
    )
    return list(found)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_axe_with_an_answer_a_preview_and_the_whole_article_open(browser: Any, server: Server, viewport: str) -> None:
    for pg in _page(browser, server, PHONE if viewport == "phone" else DESKTOP):
        ask(pg, MACRON)
        card = pg.locator("#cq-src-1-1")
        summary = card.get_by_text("Show the whole article")
        try:
            summary.wait_for(state="attached", timeout=WAIT_MS)
        finally:
            shot(pg, "axe_answered", full_page=True)  # what the page showed, should the card be missing
        summary.scroll_into_view_if_needed()
        summary.click()
        card.locator(".cq-article-text").wait_for(state="visible", timeout=WAIT_MS)
        marker = bots(pg).last.locator("a.cq-cite").first
        marker.scroll_into_view_if_needed()
        marker.focus()
        pg.wait_for_function(
            "() => document.querySelector('#cq-chat .cq-bot .cq-pop').getBoundingClientRect().width > 100",
            timeout=WAIT_MS,
        )
        found = axe_violations(pg)
        shot(pg, "axe_answer_preview_article", full_page=True)
        assert found == []
