"""The HTML helpers of the chat UI: escaping, linked markers, highlighted quotes."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from ui.render import (
    NOT_IN_ARTICLES,
    SourceMeta,
    highlight_in_context,
    link_markers,
    plain_answer,
    render_answer,
    render_citation_card,
    render_sources,
    render_user_message,
    searched_for,
)

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'


@dataclass(frozen=True)
class Cite:
    n: int
    doc_id: str
    title: str
    start: int
    end: int
    quote: str
    supported: bool | None = None


@dataclass(frozen=True)
class Art:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class HitStub:
    doc_id: str
    text: str
    title: str = ""


TEXT = ("Filler words come first. " * 20) + "Macron hosted Putin at Versailles on May 29, 2017." + (" More text." * 40)
Q_START = TEXT.index("Macron hosted")
Q_END = Q_START + len("Macron hosted Putin at Versailles on May 29, 2017.")


def _cite(n: int = 1, supported: bool | None = True, **kw: object) -> Cite:
    base = dict(n=n, doc_id="a.txt", title="Versailles", start=Q_START, end=Q_END, quote=TEXT[Q_START:Q_END])
    base.update(kw)
    return Cite(supported=supported, **base)  # type: ignore[arg-type]


def _no_live_tags(html: str) -> None:
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()  # without a live tag, an escaped onerror= is just text


def test_markers_become_superscript_links() -> None:
    out = link_markers("Versailles [1]. Also [2, 3].", [_cite(1), _cite(2), _cite(3)])
    assert out.count('class="cq-sup"') == 3
    assert 'href="#cq-src-1-1"' in out and 'href="#cq-src-1-3"' in out
    assert "[1]" in out  # the marker text stays visible


def test_marker_without_citation_stays_plain_once_final() -> None:
    out = link_markers("Claim [7].", [_cite(1)])
    assert "cq-sup" not in out and "[7]" in out


def test_markers_linked_while_streaming() -> None:
    assert 'href="#cq-src-1-2"' in link_markers("Partial [2]", None)


def test_unsupported_marker_is_flagged() -> None:
    out = link_markers("Claim [1].", [_cite(1, supported=False)])
    assert "cq-cite-unsupported" in out and "\u26a0" in out


@pytest.mark.parametrize("payload", [XSS, "<b>bold</b> & 'quotes' \"dq\""])
def test_answer_text_is_escaped(payload: str) -> None:
    out = render_answer(payload + " [1]", [_cite(1)], question="q")
    _no_live_tags(out)
    assert "&lt;script&gt;" in out or "&lt;b&gt;" in out
    assert "<b>bold" not in out


def test_user_message_is_escaped() -> None:
    out = render_user_message(XSS)
    assert "&lt;script&gt;" in out and "<script" not in out


def test_searched_for_only_when_rewritten() -> None:
    assert searched_for("Where did Macron receive Putin?", "where did macron receive putin") is None
    assert searched_for("What did he criticise there?", "What did Macron criticise at Versailles?") == (
        "What did Macron criticise at Versailles?"
    )
    out = render_answer("x", [], question="What did he say?", query="What did Macron say at <Versailles>?")
    assert "Searched for" in out and "&lt;Versailles&gt;" in out


def test_refusal_is_labelled() -> None:
    out = render_answer("The articles do not say.", [], refused=True)
    assert NOT_IN_ARTICLES in out


def test_unsupported_note() -> None:
    assert "not supported" in render_answer("a [1]", [_cite(1, supported=False)], unsupported=1)
    assert "not supported" not in render_answer("a [1]", [_cite(1)], unsupported=0)


def test_streaming_cursor() -> None:
    assert "cq-cursor" in render_answer("partial", None, streaming=True)
    assert "cq-cursor" in render_answer("", None, streaming=True)


def test_paragraphs_and_line_breaks() -> None:
    out = render_answer("one\ntwo\n\nthree", [])
    assert out.count("<p>") == 2 and "one<br>two" in out


def test_highlight_in_context_marks_exact_quote_with_context() -> None:
    out = highlight_in_context(TEXT, Q_START, Q_END, context=300)
    mark = re.search(r'<mark class="cq-quote">(.*?)</mark>', out)
    assert mark and mark.group(1) == TEXT[Q_START:Q_END]
    assert "Filler words" in out and "More text" in out
    assert out.count("\u2026") == 2  # cut on both sides
    visible = re.sub(r"<[^>]+>", "", out).strip("\u2026")
    assert len(visible) <= (Q_END - Q_START) + 2 * 300
    assert visible in TEXT  # context is the article's own words, contiguous


def test_highlight_at_article_edges_has_no_ellipsis() -> None:
    text = "Short article. The quote."
    out = highlight_in_context(text, text.index("The"), len(text))
    assert "\u2026" not in out


def test_highlight_escapes_article_text() -> None:
    text = "Before " + XSS + " The quote here. After " + XSS
    s = text.index("The quote")
    out = highlight_in_context(text, s, s + len("The quote here."))
    assert "<script" not in out and "<img" not in out and "&lt;img src=x onerror=" in out


def test_citation_card_has_title_meta_badge_and_anchor() -> None:
    meta = SourceMeta(title="Macron and Putin", author="Jane Doe", outlet="Russia Direct", date="2017-05-30")
    out = render_citation_card(_cite(2), TEXT, meta)
    assert 'id="cq-src-1-2"' in out
    for s in ("Macron and Putin", "Jane Doe", "Russia Direct", "2017-05-30", "a.txt", "supported"):
        assert s in out


def test_citation_card_unsupported_is_marked() -> None:
    out = render_citation_card(_cite(1, supported=False), TEXT)
    assert "cq-source-unsupported" in out and "not supported" in out


def test_citation_card_never_shows_a_quote_missing_from_the_article() -> None:
    bad = _cite(1, quote="Putin never went to Versailles.")
    out = render_citation_card(bad, TEXT)
    assert "Putin never went" not in out and "<mark" not in out
    assert "could not be found" in out  # the article is there, the words are not
    gone = render_citation_card(_cite(1), None)  # the article was deleted since the answer
    assert "has been deleted from the index" in gone and "could not be found" not in gone and "<mark" not in gone


def test_sources_panel_lists_citations_in_order() -> None:
    art = Art("a.txt", "Versailles", TEXT)
    out = render_sources([_cite(2), _cite(1)], {"a.txt": art}, question="q", query="q")
    assert out.index('id="cq-src-1-1"') < out.index('id="cq-src-1-2"')
    assert "2 citations from 1 article" in out


def test_sources_panel_refusal_shows_closest_passages_escaped() -> None:
    chunks = [
        HitStub("a.txt", "closest <b>one</b>", "A"),
        HitStub("b.txt", "second", "B"),
        HitStub("c", "x"),
        HitStub("d", "y"),
    ]
    out = render_sources([], {}, refused=True, chunks=chunks, max_passages=3)
    assert NOT_IN_ARTICLES in out and "closest passages" in out
    assert out.count("cq-passage") == 3 and "&lt;b&gt;one" in out


def test_sources_panel_escapes_titles() -> None:
    art = Art("a.txt", XSS, TEXT)
    out = render_sources([_cite(1, title=XSS)], {"a.txt": art}, {"a.txt": SourceMeta(title=XSS, author=XSS)})
    assert "<script" not in out and "<img" not in out


def test_plain_answer_for_clipboard() -> None:
    out = plain_answer("Versailles [1].", [_cite(1)])
    assert out.startswith("Versailles [1].") and "[1] Versailles (a.txt)" in out and "May 29, 2017" in out
