"""Issue 14's broken, phone and accessibility items, checked in the real ``citeqa ui`` with headless Chromium.

Desktop (1440×960) and phone (390×844) widths; axe-core (tests/ui/package.json, ``make setup-browser``) is
injected into the page and must find no serious or critical violation on the Chat, Articles and Settings tabs.
Screenshots of each state go to test-artifacts/ui/. Run with ``pytest -m browser tests/ui/test_browser_fixes.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.browser import ARTIFACTS, CHROMIUM, Server, ask, launch_chromium, open_app
from tests.ui.slow_llm import SlowLLM

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

MACRON = "Where did Macron receive Putin in 2017?"
DESKTOP = {"width": 1440, "height": 960}
PHONE = {"width": 390, "height": 844}
ALLOWED_URL = "http://127.0.0.1:8099/v1"  # on the allow-list; nothing listens there, no test sends to it

NEW_ARTICLE = """The Varnholt Observatory reopens

The Varnholt Observatory in Lund reopened on 2 June 2024 after its dome was rebuilt by the engineer Sana Okafor.
Its telescope dates from 1911 and is the oldest refractor still used for teaching in Sweden.
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("citeqa_ui_fixes")


@pytest.fixture(scope="module")
def slow_llm() -> Iterator[SlowLLM]:
    with SlowLLM(delay_s=0.3) as llm:
        yield llm


@pytest.fixture(scope="module")
def server(home: Path, slow_llm: SlowLLM) -> Iterator[Server]:
    env = {  # answers stay extractive unless a session picks the (slow) configured endpoint
        "CITEQA_GENERATOR__BACKEND": "extractive",
        "CITEQA_GENERATOR__BASE_URL": slow_llm.base_url,
        "CITEQA_GENERATOR__MODEL": "slow-model",
        "CITEQA_UI__ALLOWED_BASE_URLS": json.dumps([ALLOWED_URL]),
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


def _page(browser: Any, server: Server, viewport: dict[str, int], *, query: str = "") -> Iterator[Any]:
    context = browser.new_context(viewport=viewport)
    pg = context.new_page()
    pg.on("dialog", lambda d: d.accept())
    open_app(pg, server.url + query)
    yield pg
    context.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    yield from _page(browser, server, DESKTOP)


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Any]:
    yield from _page(browser, server, PHONE)


@pytest.fixture(params=["desktop", "phone"])
def any_page(request: pytest.FixtureRequest, browser: Any, server: Server) -> Iterator[Any]:
    yield from _page(browser, server, DESKTOP if request.param == "desktop" else PHONE)


def shot(page: Any, name: str, *, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(ARTIFACTS / f"fix_{width}_{name}.png"), full_page=full_page)


def tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_function(
        "n => [...document.querySelectorAll('[role=tab]')].some(t => t.innerText.trim() === n "
        "&& t.getAttribute('aria-selected') === 'true')",
        arg=name,
    )


def pick(page: Any, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def upload(page: Any, path: Path) -> None:
    tab(page, "Articles")
    page.locator("#cq-upload input[type=file]").set_input_files([str(path)])
    page.wait_for_function(
        "n => document.querySelector('#cq-upload').innerText.includes(n)", arg=path.stem, timeout=60_000
    )


# -- accessibility ---------------------------------------------------------------------------------------
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


@pytest.fixture(params=["desktop", "phone", "dark"])
def axe_page(request: pytest.FixtureRequest, browser: Any, server: Server) -> Iterator[Any]:
    viewport = PHONE if request.param == "phone" else DESKTOP
    yield from _page(browser, server, viewport, query="?__theme=dark" if request.param == "dark" else "")


def test_axe_finds_no_serious_violation_on_any_tab(axe_page: Any) -> None:
    page = axe_page
    dark = "__theme=dark" in page.url
    ask(page, MACRON)  # markers, badges and source cards on the Chat tab
    report = {}
    for name in ("Chat", "Articles", "Settings"):
        tab(page, name)
        page.wait_for_timeout(300)  # the tab's content is laid out (axe measures colours and sizes)
        report[name] = axe_violations(page)
        shot(page, f"axe_{name.lower()}{'_dark' if dark else ''}", full_page=True)
    assert report == {"Chat": [], "Articles": [], "Settings": []}


CONTRAST_JS = """
([selector, pseudo]) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const rgb = s => {
    const m = s.match(/[\\d.]+/g).map(Number);
    return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1};
  };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                     return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  let fg = rgb(getComputedStyle(el, pseudo || null).color);
  let bg = null;
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.a > 0.5) { bg = c; break; }
  }
  bg = bg || {r: 255, g: 255, b: 255, a: 1};
  const mix = (f, b) => f * fg.a + b * (1 - fg.a);
  if (fg.a < 1) fg = {r: mix(fg.r, bg.r), g: mix(fg.g, bg.g), b: mix(fg.b, bg.b)};
  const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
"""


def test_grey_text_and_the_ask_button_have_contrast_of_at_least_4_5(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(page, MACRON)
    page.locator("#cq-chat .cq-bot").last.locator("button.cq-copy-btn").click()
    page.locator("#cq-copy-status").get_by_text("copied").wait_for(timeout=10_000)
    targets = {
        "tagline": ("#cq-header p", ""),
        "citation count": ("#cq-sources .cq-sources-head", ""),
        "card author line": ("#cq-sources .cq-meta", ""),
        "copied status": ("#cq-copy-status", ""),
        "Copy button": ("#cq-chat .cq-bot button.cq-copy-btn", ""),
        "question placeholder": ("#cq-input textarea", "::placeholder"),
        "comment placeholder": ("#cq-comment textarea", "::placeholder"),
        '"Try:"': ("#cq-examples", "::before"),
        "Ask button": ("#cq-send", ""),
    }
    ratios = {name: page.evaluate(CONTRAST_JS, list(t)) for name, t in targets.items()}
    assert all(r is not None for r in ratios.values()), ratios
    low = {name: round(r, 2) for name, r in ratios.items() if r < 4.5}
    assert low == {}, f"contrast below 4.5:1: {low}"


def test_both_text_boxes_are_announced_by_name(page: Any) -> None:
    assert page.get_by_role("textbox", name="Your question", exact=True).count() == 1
    assert page.get_by_role("textbox", name="Feedback comment (optional)", exact=True).count() == 1
    assert page.get_by_role("textbox", name="Textbox", exact=True).count() == 0


def test_sources_panel_announces_updates(page: Any) -> None:
    page.wait_for_function("document.querySelector('#cq-sources').getAttribute('aria-live') === 'polite'")
    assert page.get_by_role("region", name="Sources").count() == 1
    ask(page, MACRON)
    region = page.get_by_role("region", name="Sources")
    assert region.locator(".cq-source").count() >= 1  # the cards are inside the live region


def test_arrow_keys_home_and_end_move_between_tabs(page: Any) -> None:
    def selected() -> str:
        return str(page.evaluate("document.querySelector('[role=tab][aria-selected=true]').innerText.trim()"))

    def focused() -> str:
        return str(page.evaluate("document.activeElement.innerText.trim()"))

    page.get_by_role("tab", name="Chat").focus()
    for key, expected in (("ArrowRight", "Articles"), ("ArrowRight", "Settings"), ("ArrowRight", "Chat"),
                          ("ArrowLeft", "Settings"), ("Home", "Chat"), ("End", "Settings")):  # fmt: skip
        page.keyboard.press(key)
        page.wait_for_function(
            "n => document.querySelector('[role=tab][aria-selected=true]').innerText.trim() === n", arg=expected
        )
        assert (selected(), focused()) == (expected, expected), key
    # only the selected tab is in the Tab order (roving tabindex)
    tabindex = page.evaluate("[...document.querySelectorAll('[role=tab]')].map(t => t.getAttribute('tabindex'))")
    assert tabindex == ["-1", "-1", "0"]


def test_citation_markers_are_targets_of_at_least_12_px(any_page: Any) -> None:
    ask(any_page, MACRON)
    marker = any_page.locator("#cq-chat .cq-bot").last.locator("a.cq-cite").first
    box = marker.bounding_box()
    assert box is not None and box["width"] >= 12 and box["height"] >= 12, box
    shot(any_page, "markers")


# -- broken ------------------------------------------------------------------------------------------------
def test_indexing_shows_progress_text_and_no_spinners_over_the_articles(page: Any, tmp_path: Path) -> None:
    f = tmp_path / "varnholt.txt"
    f.write_text(NEW_ARTICLE, encoding="utf-8")
    upload(page, f)
    page.evaluate(
        """() => { window.__states = [];
        const record = () => {
          const covered = ['#cq-articles', '#cq-upload', '#cq-delete-choice'].filter(sel => {
            const t = document.querySelector(sel + ' [data-testid=status-tracker]');
            return t && !t.classList.contains('hide') && t.getBoundingClientRect().height > 0;
          });
          window.__states.push({status: document.querySelector('#cq-articles-status').innerText,
                                covered, addDisabled: document.querySelector('#cq-add').disabled});
        };
        new MutationObserver(record).observe(document.body,
          {childList: true, subtree: true, characterData: true, attributes: true}); }"""
    )
    page.click("#cq-add")
    page.locator("#cq-articles-status").get_by_text("Added 1 article").wait_for(timeout=120_000)
    states = page.evaluate("window.__states")
    progress = [s for s in states if "\u23f3" in s["status"]]
    assert progress, "no progress line was shown while indexing"
    assert any(s["addDisabled"] for s in progress)  # no second click while it runs
    assert [s for s in states if s["covered"]] == []  # the table, upload box and delete list were never covered
    assert not page.locator("#cq-add").is_disabled()
    page.locator("#cq-articles").get_by_text("uploads/varnholt.txt").first.wait_for(state="attached")
    shot(page, "indexed", full_page=True)


def test_citation_of_a_deleted_article_says_it_was_deleted(page: Any, tmp_path: Path) -> None:
    f = tmp_path / "varnholt2.txt"
    f.write_text(NEW_ARTICLE.replace("Varnholt", "Brekkevik"), encoding="utf-8")
    upload(page, f)
    page.click("#cq-add")
    page.locator("#cq-articles-status").get_by_text("Added 1 article").wait_for(timeout=120_000)
    tab(page, "Chat")
    ask(page, "Who rebuilt the dome of the Brekkevik Observatory?")
    assert "uploads/varnholt2.txt" in page.locator("#cq-sources").inner_text()
    tab(page, "Articles")
    page.locator("#cq-delete-choice input").fill("uploads/varnholt2.txt")
    page.click("#cq-delete")
    page.locator("#cq-articles-status").get_by_text("Deleted").wait_for(timeout=60_000)
    tab(page, "Chat")
    page.locator("#cq-chat .cq-bot").last.locator("a.cq-cite").first.click()  # the answer's sources again
    note = page.locator("#cq-sources").get_by_text("has been deleted from the index")
    note.first.wait_for(timeout=15_000)
    assert "could not be found" not in page.locator("#cq-sources").inner_text()
    shot(page, "deleted_article")


def test_copy_line_clears_on_the_next_question(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(page, MACRON)
    assert page.locator("#cq-copy").count() == 0  # no separate "Copy answer" button: every answer has its own
    page.locator("#cq-chat .cq-bot").last.locator("button.cq-copy-btn").click()
    status = page.locator("#cq-copy-status")
    status.get_by_text("Answer 1 and its sources copied.").wait_for(timeout=10_000)
    assert "Versailles" in page.evaluate("navigator.clipboard.readText()")
    ask(page, "What did Hollande say about Daesh in Moscow?")
    page.wait_for_function("!document.querySelector('#cq-copy-status').innerText.includes('copied')")
    assert status.inner_text().strip() == "" and not status.is_visible()


def test_changing_a_vote_replaces_the_feedback_line(page: Any, home: Path) -> None:
    fb = home / "feedback.jsonl"
    before = fb.read_text(encoding="utf-8").splitlines() if fb.exists() else []
    ask(page, MACRON)
    buttons = page.locator("#cq-chat .message-buttons").last
    buttons.get_by_role("button", name="Like", exact=True).click()
    page.locator("#cq-feedback-status").get_by_text("marked helpful").wait_for(timeout=10_000)
    buttons.get_by_role("button", name="Dislike", exact=True).click()
    page.locator("#cq-feedback-status").get_by_text("marked not helpful").wait_for(timeout=10_000)
    rows = [json.loads(x) for x in fb.read_text(encoding="utf-8").splitlines()]
    new = rows[len(before) :]
    assert [r["verdict"] for r in new] == ["down"]  # one line for the answer: the latest vote


def test_settings_fields_go_back_to_the_current_settings_after_not_applied(page: Any) -> None:
    tab(page, "Settings")
    pick(page, "cq-endpoint", "other endpoint (base URL)")
    page.click("#cq-apply")  # no base URL typed
    page.locator("#cq-settings-status").get_by_text("Not applied").wait_for(timeout=10_000)
    page.wait_for_function("document.querySelector('#cq-endpoint input').value === 'extractive (offline)'")
    assert "extractive" in page.locator("#cq-current-settings").inner_text()
    shot(page, "not_applied")


def test_a_question_sent_while_an_answer_streams_shows_as_queued_then_runs(page: Any, slow_llm: SlowLLM) -> None:
    tab(page, "Settings")
    pick(page, "cq-endpoint", "configured endpoint")
    page.click("#cq-apply")
    page.locator("#cq-settings-status").get_by_text("Applied").wait_for(timeout=10_000)
    tab(page, "Chat")
    page.fill("#cq-input textarea", MACRON)
    page.click("#cq-send")
    page.locator("#cq-chat .cq-bot").last.locator(".cq-cursor").wait_for(timeout=30_000)  # streaming now
    second = "What did they talk about?"
    page.fill("#cq-input textarea", second)
    page.press("#cq-input textarea", "Enter")
    queued = page.locator("#cq-queued")
    queued.wait_for(state="visible", timeout=5_000)
    assert second in queued.inner_text() and "Queued" in queued.inner_text()
    shot(page, "queued")
    # it runs once the first answer ends, and the queued line goes away
    page.locator("#cq-chat .cq-question").filter(has_text=second).wait_for(timeout=60_000)
    queued.wait_for(state="hidden", timeout=10_000)
    page.wait_for_function(
        "document.querySelectorAll('#cq-chat .cq-bot').length === 2 && !document.querySelector('#cq-chat .cq-cursor')",
        timeout=60_000,
    )
    assert page.locator("#cq-chat .cq-question").count() == 2


def test_untitled_seed_articles_get_derived_titles(page: Any) -> None:
    tab(page, "Articles")
    table = page.locator("#cq-articles")
    table.get_by_text("The French leader’s visit to Moscow is important").first.wait_for(state="attached")
    derived = "Emmanuel Macron hosted his Russian counterpart Vladimir Putin at the Palace of Versailles"
    table.get_by_text(derived).first.wait_for(state="attached")
    assert "restore…" not in table.inner_text()


# -- phone -------------------------------------------------------------------------------------------------
def test_phone_articles_table_does_not_wrap_letter_by_letter(phone: Any) -> None:
    tab(phone, "Articles")
    phone.locator("#cq-articles").get_by_text("001_4531c746a2d8eea5.txt").first.wait_for(state="attached")
    heads = phone.evaluate(
        """() => [...document.querySelectorAll('#cq-articles thead th')].map(th => {
             // the lines the header's words take: distinct tops of the rectangles of its text
             const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
             const tops = new Set();
             for (let n = walker.nextNode(); n; n = walker.nextNode()) {
               if (!n.textContent.trim() || n.parentElement.closest('button')) continue;
               const r = document.createRange();
               r.selectNodeContents(n);
               for (const rect of r.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top));
             }
             return {text: th.innerText.replace('\u22ee', '').trim(), lines: tops.size}; })"""
    )
    assert [h["text"] for h in heads] == ["Title", "doc_id", "Outlet", "Author", "Date", "Chunks"]
    assert all(h["lines"] <= 1 for h in heads), heads  # every header on one line ("D/a/t/e" was 4)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # the page does not widen
    assert phone.evaluate(  # the table scrolls sideways inside its box
        "(() => { const v = document.querySelector('#cq-articles .virtual-table-viewport');"
        " return v.scrollWidth > v.clientWidth; })()"
    )
    shot(phone, "articles", full_page=True)


def test_phone_tapping_a_marker_shows_the_card_and_a_way_back(phone: Any) -> None:
    ask(phone, MACRON)
    marker = phone.locator("#cq-chat .cq-bot").last.locator("a.cq-cite").first
    marker.scroll_into_view_if_needed()
    marker.click()
    card_in_view = (
        "(() => { const r = document.querySelector('#cq-src-1-1').getBoundingClientRect();"
        " return r.top < innerHeight && r.bottom > 0; })()"
    )
    phone.wait_for_function(card_in_view, timeout=10_000)
    back = phone.locator("#cq-back")
    back.wait_for(state="visible", timeout=10_000)
    shot(phone, "marker_tapped")
    back.click()
    phone.wait_for_function(
        "(() => { const r = document.querySelector('#cq-chat a.cq-cite').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= innerHeight; })()",
        timeout=10_000,
    )
    back.wait_for(state="hidden", timeout=10_000)
    shot(phone, "back_to_answer")


def test_phone_input_placeholder_fits(phone: Any) -> None:
    fits = phone.evaluate(
        """() => { const t = document.querySelector('#cq-input textarea');
             const cs = getComputedStyle(t), ph = getComputedStyle(t, '::placeholder');
             const ctx = document.createElement('canvas').getContext('2d');
             ctx.font = `${ph.fontStyle} ${ph.fontWeight} ${ph.fontSize} ${ph.fontFamily}`;
             const room = t.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
             return {text: t.placeholder, width: ctx.measureText(t.placeholder).width, room}; }"""
    )
    assert fits["text"] and fits["width"] <= fits["room"], fits
    shot(phone, "chat")
