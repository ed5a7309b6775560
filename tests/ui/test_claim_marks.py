"""The chat marks every claim nothing supports with ⚠ (issue 13), and its warning counts exactly those marks.

Answers are real ``qa.types.Answer`` records whose claims come from ``qa.align.claim_checks`` on the answer text,
rendered by the chat UI's own ``ChatUI._answer_html``. While an answer streams, the ⚠ follows an unsupported claim
as soon as its ``CitedClaim`` arrives: checked on the rendering, and in the real ``citeqa ui`` in headless Chromium
(``pytest -m browser tests/ui/test_claim_marks.py``) with tests/ui/slow_endpoint.py as the model, held mid-answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.align import claim_checks
from qa.types import Answer, Citation, CitedClaim
from ui import conversations as convs
from ui.claim_marks import NOT_SUPPORTED_LABEL, split_at_unsupported, streaming_marks
from ui.handlers import ChatUI, Conversation, Pending
from ui.render import render_answer

ARTICLE = "Macron received Putin at Versailles in May 2017. The two leaders discussed Syria."
MARK = re.compile(r'<span class="cq-claim-unsupported"[^>]*>\u26a0</span>')


def _cite(n: int, start: int, end: int, supported: bool | None = True) -> Citation:
    return Citation(n=n, doc_id="a.txt", title="Versailles", start=start, end=end, quote=ARTICLE[start:end],
                    supported=supported)


def _answer(text: str, citations: list[Citation], *, disagreement: str | None = None) -> Answer:
    claims = claim_checks(text, citations)
    return Answer(text=text, citations=citations, chunks=[], refused=False, query="q", backend="openai",
                  question="q", unsupported=sum(not c.supported for c in claims), claims=claims,
                  disagreement=disagreement)


def _count_in_note(html: str) -> int | None:
    m = re.search(r'cq-unsupported-note">\u26a0 (\d+) claims? (?:is|are) not supported', html)
    return int(m.group(1)) if m else None


def test_claims_without_markers_are_marked_and_counted() -> None:
    # the case: a small model wrote no markers, so nothing cites anything and the panel has no citations
    a = _answer("Macron met Putin at Versailles. They talked about Syria.", [])
    out = ChatUI._answer_html(a, 1)
    marks = MARK.findall(out)
    assert len(marks) == 2
    assert _count_in_note(out) == 2 == a.unsupported
    assert "(marked \u26a0)" in out


def test_mark_follows_the_unsupported_claim_only_with_an_accessible_label() -> None:
    good = _cite(1, 0, 47)
    text = "Macron received Putin at Versailles in May 2017 [1]. The leaders signed a treaty."
    a = _answer(text, [good])
    out = ChatUI._answer_html(a, 1)
    assert len(MARK.findall(out)) == 1
    mark = MARK.search(out)
    assert mark is not None
    assert f'aria-label="{NOT_SUPPORTED_LABEL}"' in mark.group(0) and f'title="{NOT_SUPPORTED_LABEL}"' in mark.group(0)
    # after the second claim, not the first (whose marker links to its source)
    assert out.index("signed a treaty.") < mark.start()
    assert out.index('href="#cq-src-1-1"') < out.index("The leaders")
    assert _count_in_note(out) == 1


def test_supported_answer_has_no_mark_and_no_note() -> None:
    a = _answer("Macron received Putin at Versailles in May 2017 [1].", [_cite(1, 0, 47)])
    out = ChatUI._answer_html(a, 1)
    assert not MARK.findall(out) and _count_in_note(out) is None


def test_count_follows_the_marks_not_a_stale_number() -> None:
    text = "Macron met Putin. They talked."
    claims = claim_checks(text, [])
    out = render_answer(text, [], unsupported=5, claims=claims)
    assert len(MARK.findall(out)) == _count_in_note(out) == 2


def test_note_without_claims_does_not_promise_marks() -> None:
    out = render_answer("Macron met Putin.", [], unsupported=2)
    assert _count_in_note(out) == 2 and "(marked" not in out and not MARK.findall(out)


def test_disagreement_is_shown_and_escaped() -> None:
    said = "The articles don't say <when>."
    a = _answer("Macron received Putin at Versailles in May 2017 [1].", [_cite(1, 0, 47)], disagreement=said)
    out = ChatUI._answer_html(a, 1)
    assert 'class="cq-disagreement-note"' in out
    assert "The articles don&#x27;t say &lt;when&gt;." in out and "<when>" not in out
    assert "Versailles" in out  # the evidence itself is still the answer


def test_no_disagreement_notice_without_one() -> None:
    out = ChatUI._answer_html(_answer("Macron met Putin.", []), 1)
    assert "cq-disagreement-note" not in out


def test_split_segments_rejoin_and_ignore_foreign_offsets() -> None:
    text = "One. Two. Three."
    claims = claim_checks(text, [])
    parts = split_at_unsupported(text, claims)
    assert "".join(p for p, _ in parts) == text and sum(m for _, m in parts) == 3
    assert split_at_unsupported("short", claims[1:]) == [("short", False)]


def test_a_reopened_conversation_keeps_the_marks_and_the_notice() -> None:
    text = "Macron received Putin at Versailles in May 2017 [1]. The leaders signed a treaty."
    a = _answer(text, [_cite(1, 0, 47)], disagreement="The articles don't say.")
    again = convs._answer_from(json.loads(json.dumps(convs._answer_record(a))))  # what localStorage holds
    assert again.claims == a.claims and again.disagreement == a.disagreement
    assert ChatUI._answer_html(again, 1) == ChatUI._answer_html(a, 1)


# -- while the answer streams: a ⚠ as soon as the claim's verdict arrives ------------------------------------
def _checked(index: int, supported: bool) -> CitedClaim:
    return CitedClaim(index, "", [], supported)


def test_streaming_marks_follow_the_checked_claims_of_the_raw_text() -> None:
    text = "Paris is home to purple dragons [2]. Macron received Putin [1]. The meeting was"
    marks = streaming_marks(text, [_checked(0, False), _checked(1, True)])
    assert [(text[: m.end], m.supported) for m in marks] == [
        ("Paris is home to purple dragons [2].", False),
        ("Paris is home to purple dragons [2]. Macron received Putin [1].", True),
    ]
    assert streaming_marks(text, [_checked(5, False)]) == []  # a verdict for a claim not in the text marks nothing


def test_the_streaming_answer_shows_the_mark_of_a_checked_claim_only() -> None:
    text = "Paris is home to purple dragons. Macron received Putin at Versailles. The meeting was"
    out = ChatUI._streaming_html(text, [_checked(0, False)], 1)
    mark = MARK.search(out)
    assert mark is not None and len(MARK.findall(out)) == 1
    assert out.index("purple dragons.") < mark.start() < out.index("Macron received")
    assert "cq-cursor" in out and "cq-unsupported-note" not in out  # the count waits for the finished answer
    assert not MARK.findall(ChatUI._streaming_html(text, [_checked(0, True)], 1))
    assert not MARK.findall(ChatUI._streaming_html(text, [], 1))  # not checked yet: no verdict, no mark


def test_a_stopped_answer_keeps_the_marks_of_its_checked_claims() -> None:
    ui = ChatUI.__new__(ChatUI)  # stop() reads only the conversation
    conv = Conversation()
    conv.messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]
    conv.pending = Pending("q", [], 1, parts=["Paris is home to purple dragons. ", "Macron received"],
                           claims=[_checked(0, False)])
    messages, *_ = convs.stop(ui, conv)
    out = messages[-1]["content"]
    assert len(MARK.findall(out)) == 1 and "Stopped" in out


# -- the same in the real chat, in Chromium ------------------------------------------------------------------
MACRON = "Where did Macron receive Putin in 2017?"
# The model's reply: an invented first sentence, then (held by the endpoint) a supported one.
INVENTED_FIRST = ["Paris is home to nine million purple dragons. ", "Macron received ",
                  "Putin at the Palace of Versailles on May 29, 2017 [1]."]
WAIT_MS = 60_000  # only stops a test that hangs: every wait is for a state, never a duration


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Any]:
    from tests.ui.slow_endpoint import SlowEndpoint

    ep = SlowEndpoint(INVENTED_FIRST)
    yield ep
    ep.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, endpoint: Any) -> Iterator[Any]:
    from tests.ui.browser import Server

    env = {"CITEQA_GENERATOR__BACKEND": "openai", "CITEQA_GENERATOR__BASE_URL": endpoint.url,
           "CITEQA_GENERATOR__MODEL": endpoint.model, "CITEQA_GENERATOR__MAX_RETRIES": "0"}
    srv = Server(tmp_path_factory.mktemp("citeqa_ui_marks"), env=env)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.mark.browser
def test_the_mark_shows_while_the_answer_is_still_written(server: Any, endpoint: Any) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.ui.browser import ARTIFACTS, CHROMIUM, launch_chromium, open_app

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    endpoint.release.clear()
    endpoint.hold.set()  # the endpoint sends the invented sentence and the next one's start, then holds
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 960})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            open_app(page, server.url)
            try:
                page.fill("#cq-input textarea", MACRON)
                page.click("#cq-send")
                bot = page.locator("#cq-chat .cq-bot").last
                mark = bot.locator(".cq-claim-unsupported")
                try:
                    mark.wait_for(timeout=WAIT_MS)
                except playwright_api.TimeoutError:  # say what the page and the endpoint saw, not just "timeout"
                    seen = (f"no mark: {endpoint.requests} requests to the endpoint ({endpoint.completed} finished, "
                            f"held: {endpoint.held.is_set()}); the chat ends with: "
                            f"{page.locator('#cq-chat').inner_html()[-1500:]!r}\nserver log:\n{server.output()}")
                    (ARTIFACTS / "claim_marks").mkdir(parents=True, exist_ok=True)  # kept for CI's artifacts
                    (ARTIFACTS / "claim_marks" / "no_mark.txt").write_text(seen, encoding="utf-8")
                    pytest.fail(seen)
                assert endpoint.held.is_set() and bot.locator(".cq-cursor").count() == 1  # still being written
                assert mark.count() == 1 and mark.get_attribute("aria-label") == NOT_SUPPORTED_LABEL
                text = bot.locator(".cq-answer-text").inner_text()
                assert text.index("purple dragons.") < text.index("\u26a0") < text.index("Macron received")
                (ARTIFACTS / "claim_marks").mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "claim_marks" / "mark_while_streaming.png"))
            finally:
                endpoint.release.set()
                endpoint.hold.clear()
            page.wait_for_function("!document.querySelector('#cq-chat .cq-cursor')", timeout=WAIT_MS)
            final = page.locator("#cq-chat .cq-bot").last
            assert final.locator(".cq-claim-unsupported").count() == 1  # the finished answer keeps that one mark
            assert "1 claim is not supported" in final.inner_text()
            assert not errors, errors
        finally:
            browser.close()


def test_the_page_script_restores_the_label_the_sanitizer_drops() -> None:
    from ui import article_view

    assert f'var UNSUPPORTED_LABEL = "{NOT_SUPPORTED_LABEL}";' in article_view.SCRIPT
    assert 'querySelectorAll("#cq-chat .cq-claim-unsupported")' in article_view.SCRIPT
