"""Answers, citations and articles rendered as HTML for the chat UI, and the stylesheet of that markup.

Pure functions, no Gradio: every string that comes from an article or a model goes through
``html.escape`` before it is placed in markup, so an article containing ``<script>`` shows as text.
The only markup in the output is the markup written here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ui import article_view, claim_marks

CONTEXT_CHARS = 300
NOT_IN_ARTICLES = "Not in the articles"

# "[1]", "[2, 3]" and "[2,3]" are markers; "[1a]" or "[see 2]" are not.
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


# Read-only protocols: the records (qa.Citation, embeddings.Hit, corpus.Article) are frozen dataclasses.
class _CitationLike(Protocol):
    @property
    def n(self) -> int: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def quote(self) -> str: ...
    @property
    def supported(self) -> bool | None: ...


class _ArticleLike(Protocol):
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class SourceMeta:
    """What the sources panel shows about an article besides its text (None: not stated)."""

    title: str = ""
    author: str | None = None
    outlet: str | None = None
    date: str | None = None


def _esc(text: str) -> str:
    # A lone surrogate (text decoded from bytes that were not UTF-8) cannot be sent to the browser: Gradio's
    # JSON encoder raises and the session's event stream dies. It shows as U+FFFD instead.
    return html.escape(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), quote=True)


def source_id(turn: int, n: int) -> str:
    """The element id of source card ``n`` of answer ``turn`` (1-based), which marker [n] of that answer links to."""
    return f"cq-src-{turn}-{n}"


def _marker_html(n: int, citation: _CitationLike | None, turn: int) -> str:
    """One superscript marker linking to its source card; unsupported ones are flagged."""
    classes = ["cq-cite"]
    title = f"Source {n}"
    label = str(n)
    if citation is not None:
        title = f"Source {n}: {citation.title}"
        if citation.supported is False:
            classes.append("cq-cite-unsupported")
            title += " (not supported by the quoted text)"
            label = f"{n}\u26a0"
    elif n > 0:
        classes.append("cq-cite-pending")
    if citation is None:
        return (
            f'<sup class="cq-sup"><a class="{" ".join(classes)}" href="#{source_id(turn, n)}" '
            f'title="{_esc(title)}">[{label}]</a></sup>'
        )
    # A cited marker previews its quote on hover and on keyboard focus (ui.article_view styles and links it).
    flag = '<span class="cq-pop-flag">Not supported by the quoted text.</span>' if citation.supported is False else ""
    pop = (
        f'<span class="cq-pop" role="tooltip"><span class="cq-pop-title">Source {n}: {_esc(citation.title)}</span>'
        f"\u201c{_esc(article_view.quote_preview(citation.quote))}\u201d{flag}</span>"
    )
    return f'<sup class="cq-sup"><a class="{" ".join(classes)}" href="#{source_id(turn, n)}">[{label}]</a>{pop}</sup>'


def link_markers(text: str, citations: Sequence[_CitationLike] | None = None, *, turn: int = 1) -> str:
    """Escape ``text`` and turn each [n] marker into a superscript link to source card ``n``.

    Markers without a matching citation are linked only while streaming (``citations is None``);
    once the final citations are known, a marker that indexes none is left as plain text.
    """
    by_n = {c.n: c for c in citations} if citations is not None else None
    out: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        out.append(_esc(text[pos : m.start()]))
        numbers = [int(x) for x in re.split(r"\s*,\s*", m.group(1))]
        if by_n is not None and not all(n in by_n for n in numbers):
            out.append(_esc(m.group(0)))
        else:
            out.append("".join(_marker_html(n, by_n.get(n) if by_n else None, turn) for n in numbers))
        pos = m.end()
    out.append(_esc(text[pos:]))
    return "".join(out)


def _paragraphs(escaped: str) -> str:
    """Blank lines separate paragraphs; single newlines become line breaks."""
    parts = [p.strip() for p in re.split(r"\n\s*\n", escaped) if p.strip()]
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in parts)


def render_user_message(question: str) -> str:
    """The user's question as escaped HTML (the chat renders HTML, so text must be escaped)."""
    return f'<div class="cq-question">{_paragraphs(_esc(question))}</div>'


def searched_for(question: str, query: str) -> str | None:
    """The standalone query to show when it differs from the question as asked, else None."""
    norm = lambda s: " ".join(s.split()).strip(" ?.!").casefold()  # noqa: E731
    if not query.strip() or norm(query) == norm(question):
        return None
    return query.strip()


def render_answer(
    text: str,
    citations: Sequence[_CitationLike] | None = None,
    *,
    question: str = "",
    query: str = "",
    refused: bool = False,
    unsupported: int = 0,
    streaming: bool = False,
    turn: int = 1,
    copy_text: str | None = None,
    stopped: bool = False,
    claims: Sequence[claim_marks._ClaimLike] | None = None,
    disagreement: str | None = None,
) -> str:
    """The assistant's chat message: escaped answer text with linked markers and notes.

    Args:
        text: the answer text (possibly partial while streaming) with [n] markers.
        citations: the final citations; None while streaming.
        question, query: the question as asked and the query searched; "Searched for" shows when they differ.
        refused: the answer is a refusal; it is labelled "Not in the articles".
        unsupported: claims that failed the support check; a warning shows when > 0.
        streaming: add a typing cursor.
        turn: which answer of the conversation this is (1-based); markers link to that answer's source cards.
        copy_text: the answer as plain text with its sources; when given, the message gets a "Copy" button that
            copies it (the text rides along hidden in the message).
        stopped: the user stopped the answer while it was written: it is marked as stopped (and incomplete).
        claims: ``Answer.claims``; a ⚠ follows each claim whose ``supported`` is False, and when claims are given
            the warning counts those marks (not ``unsupported``).
        disagreement: ``Answer.disagreement``: what the model said when it refused although a retrieved
            sentence answers; a notice says so.
    """
    parts: list[str] = ['<div class="cq-answer">']
    sf = searched_for(question, query) if query else None
    if sf:
        parts.append(f'<div class="cq-searched">Searched for: <q>{_esc(sf)}</q></div>')
    if refused:
        parts.append(f'<div class="cq-refused-badge">{NOT_IN_ARTICLES}</div>')
    segments = claim_marks.split_at_unsupported(text, claims)
    linked = "".join(link_markers(seg, citations, turn=turn) + (claim_marks.UNSUPPORTED_MARK if marked else "")
                     for seg, marked in segments)
    body = _paragraphs(linked)
    if streaming:
        cursor = '<span class="cq-cursor">\u258d</span>'
        body = body[: -len("</p>")] + cursor + "</p>" if body.endswith("</p>") else f"<p>{cursor}</p>"
    parts.append(f'<div class="cq-answer-text">{body}</div>')
    if disagreement:
        parts.append(claim_marks.disagreement_note(disagreement))
    if claims:
        unsupported = sum(marked for _, marked in segments)
    if unsupported > 0 and not streaming:
        s = "claim is" if unsupported == 1 else "claims are"
        # "(marked ⚠)" only when something is: claim marks, or flagged markers of an answer without claims
        shown = claims or any(c.supported is False for c in citations or ())
        parts.append(
            f'<div class="cq-unsupported-note">\u26a0 {unsupported} {s} not supported by the retrieved passages'
            + (" (marked \u26a0)" if shown else "") + ": check them before relying on them.</div>"
        )
    if stopped:
        parts.append('<div class="cq-stopped-note">Stopped: this answer is incomplete.</div>')
    if copy_text is not None and not streaming:
        parts.append(
            '<div class="cq-answer-actions"><button type="button" class="cq-copy-btn">Copy</button></div>'
            f'<div class="cq-plain" hidden>{_esc(copy_text)}</div>'
        )
    parts.append("</div>")
    return "".join(parts)


def render_error(message: str) -> str:
    """A readable error in the chat (never a traceback)."""
    return f'<div class="cq-error"><strong>Could not answer.</strong> {_esc(message)}</div>'


def _trim_left(text: str) -> tuple[str, bool]:
    """Context before a quote, cut at a word boundary; True when something was cut."""
    if not text:
        return text, False
    cut = re.search(r"\s", text)
    return (text[cut.end() :], True) if cut and cut.end() < len(text) else (text, True)


def _trim_right(text: str) -> tuple[str, bool]:
    cut = max(text.rfind(" "), text.rfind("\n"))
    return (text[:cut], True) if cut > 0 else (text, True)


def highlight_in_context(article_text: str, start: int, end: int, *, context: int = CONTEXT_CHARS) -> str:
    """HTML of ``article_text[start:end]`` highlighted inside about ``context`` characters either side."""
    left_from = max(0, start - context)
    right_to = min(len(article_text), end + context)
    left = article_text[left_from:start]
    right = article_text[end:right_to]
    cut_left = cut_right = False
    if left_from > 0:
        left, cut_left = _trim_left(left)
    if right_to < len(article_text):
        right, cut_right = _trim_right(right)
    return (
        '<div class="cq-context">'
        + ("\u2026" if cut_left else "")
        + _esc(left)
        + f'<mark class="cq-quote">{_esc(article_text[start:end])}</mark>'
        + _esc(right)
        + ("\u2026" if cut_right else "")
        + "</div>"
    )


def _meta_line(meta: SourceMeta | None, doc_id: str) -> str:
    bits = []
    if meta is not None:
        bits = [b for b in (meta.outlet, meta.author, meta.date) if b]
    bits.append(doc_id)
    return '<div class="cq-meta">' + " \u00b7 ".join(_esc(b) for b in bits) + "</div>"


def _support_badge(supported: bool | None) -> str:
    if supported is True:
        return '<span class="cq-badge cq-badge-ok" title="The claim passed the support check">supported</span>'
    if supported is False:
        return (
            '<span class="cq-badge cq-badge-bad" title="The claim failed the support check">\u26a0 not supported</span>'
        )
    return '<span class="cq-badge cq-badge-na" title="Not checked">unchecked</span>'


def render_citation_card(
    citation: _CitationLike,
    article_text: str | None,
    meta: SourceMeta | None = None,
    *,
    context: int = CONTEXT_CHARS,
    turn: int = 1,
) -> str:
    """One source card: [n] title, outlet/author/date, support badge and the quote in its context.

    Trust first: when the article is missing or its text at ``start:end`` is not the quote, the card says so
    and shows no quote at all.
    """
    title = (meta.title if meta and meta.title else "") or citation.title or citation.doc_id
    classes = "cq-source" + (" cq-source-unsupported" if citation.supported is False else "")
    head = (
        f'<div class="{classes}" id="{source_id(turn, citation.n)}">'
        f'<div class="cq-source-head"><span class="cq-n">[{citation.n}]</span> '
        f'<span class="cq-title">{_esc(title)}</span> {_support_badge(citation.supported)}</div>'
        + _meta_line(meta, citation.doc_id)
    )
    ok = (
        article_text is not None
        and 0 <= citation.start < citation.end <= len(article_text)
        and article_text[citation.start : citation.end] == citation.quote
    )
    if ok:
        assert article_text is not None
        body = highlight_in_context(article_text, citation.start, citation.end, context=context)
        body += article_view.render_whole_article(article_text, citation.start, citation.end)
    else:
        body = (
            '<div class="cq-error">This article has been deleted from the index since the answer was given; '
            "the quote is not shown.</div>"
            if article_text is None
            else '<div class="cq-error">The cited words could not be found in the stored article; not shown.</div>'
        )
    return head + body + "</div>"


def render_passage_card(rank: int, doc_id: str, title: str, text: str, meta: SourceMeta | None = None) -> str:
    """A retrieved chunk shown after a refusal (closest passages)."""
    t = (meta.title if meta and meta.title else "") or title or doc_id
    return (
        f'<div class="cq-source cq-passage" data-rank="{rank}"><div class="cq-source-head">'
        f'<span class="cq-n">{rank}.</span> <span class="cq-title">{_esc(t)}</span></div>'
        + _meta_line(meta, doc_id)
        + f'<div class="cq-context">{_esc(text)}</div></div>'
    )


class _HitLike(Protocol):
    @property
    def doc_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def title(self) -> str: ...


def render_sources(
    citations: Sequence[_CitationLike],
    articles: Mapping[str, _ArticleLike | None],
    metas: Mapping[str, SourceMeta] | None = None,
    *,
    refused: bool = False,
    chunks: Sequence[_HitLike] = (),
    query: str = "",
    question: str = "",
    max_passages: int = 3,
    context: int = CONTEXT_CHARS,
    turn: int = 1,
    label: str = "",
) -> str:
    """The sources panel for one answer.

    Args:
        citations: the answer's citations, one card each.
        articles: doc_id → article (its ``text`` is what citation offsets index); None when unavailable.
        metas: doc_id → title/outlet/author/date.
        refused: show "Not in the articles" and the closest ``chunks`` instead of citations.
        chunks: retrieved chunks in rank order.
        query, question: "Searched for" shows when they differ.
        turn: which answer of the conversation (card ids are per answer, so older markers never hit newer cards).
        label: a lead-in for the summary line, e.g. "Answer 2".
    """
    metas = metas or {}
    parts = [f'<div class="cq-sources" data-turn="{turn}">']
    if label:
        parts.append(f'<div class="cq-sources-label">{_esc(label)}</div>')
    sf = searched_for(question, query) if query else None
    if sf:
        parts.append(f'<div class="cq-searched">Searched for: <q>{_esc(sf)}</q></div>')
    if refused or not citations:
        headline = NOT_IN_ARTICLES if refused else "No citations"
        parts.append(f'<div class="cq-refused"><strong>{headline}.</strong> ')
        if chunks:
            parts.append("The closest passages found:</div>")
            for i, h in enumerate(chunks[:max_passages], 1):
                parts.append(render_passage_card(i, h.doc_id, h.title, h.text, metas.get(h.doc_id)))
        else:
            parts.append("No passage came close.</div>")
    else:
        n_docs = len({c.doc_id for c in citations})
        parts.append(
            f'<div class="cq-sources-head">{len(citations)} citation{"s" if len(citations) != 1 else ""} '
            f"from {n_docs} article{'s' if n_docs != 1 else ''}</div>"
        )
        for c in sorted(citations, key=lambda c: c.n):
            art = articles.get(c.doc_id)
            text = art.text if art else None
            parts.append(render_citation_card(c, text, metas.get(c.doc_id), context=context, turn=turn))
    parts.append("</div>")
    return "".join(parts)


def render_sources_placeholder(message: str = "Sources of the latest answer appear here.") -> str:
    return f'<div class="cq-sources cq-empty">{_esc(message)}</div>'


def plain_answer(text: str, citations: Sequence[_CitationLike]) -> str:
    """The answer and its sources as plain text, for the clipboard."""
    lines = [text.strip()]
    if citations:
        lines.append("")
        lines.append("Sources:")
        for c in sorted(citations, key=lambda c: c.n):
            flag = " (not supported)" if c.supported is False else ""
            quote = " ".join(c.quote.split())
            lines.append(f'[{c.n}] {c.title or c.doc_id} ({c.doc_id}){flag}: "{quote}"')
    return "\n".join(lines)


# The stylesheet of the markup above and of the app around it (Gradio theme variables, so dark mode works).
STYLESHEET = """
.gradio-container { max-width: 1400px !important; margin: 0 auto !important; }
#cq-header h1 { margin: 0.2rem 0 0 0; font-size: 1.6rem; }
#cq-header p { margin: 0.1rem 0 0.4rem 0; color: var(--body-text-color-subdued); }
#cq-chat { min-height: 420px; }
#cq-chat .cq-answer p, #cq-chat .cq-question p { margin: 0 0 0.5em 0; }
#cq-chat .cq-answer p:last-child, #cq-chat .cq-question p:last-child { margin-bottom: 0; }
.cq-sup { line-height: 0; }
a.cq-cite { text-decoration: none !important; font-weight: 600; font-size: 0.74em; padding: 0.05em 0.35em;
  margin: 0 0.1em; color: var(--color-accent) !important; background: var(--color-accent-soft); cursor: pointer;
  border-radius: 4px; }
a.cq-cite:hover { color: white !important; background: var(--color-accent); }
a.cq-cite-unsupported { color: #b42318 !important; background: #fee4e2; }
a.cq-cite-unsupported:hover { color: white !important; background: #d92d20; }
.cq-cursor { animation: cq-blink 1s steps(2, start) infinite; color: var(--body-text-color-subdued); }
@keyframes cq-blink { to { visibility: hidden; } }
.cq-searched { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 0.4em; }
.cq-searched q { font-style: italic; }
.cq-refused-badge { display: inline-block; font-size: 0.78em; font-weight: 600; letter-spacing: 0.02em;
  padding: 0.1em 0.55em; border-radius: 999px; background: #fef0c7; color: #93370d; margin-bottom: 0.4em; }
.cq-unsupported-note { margin-top: 0.5em; font-size: 0.85em; color: #b42318; }
.cq-claim-unsupported { color: #b42318; font-weight: 600; margin-left: 0.15em; cursor: help; }
.cq-disagreement-note { margin-top: 0.5em; font-size: 0.85em; color: #93370d; background: #fef0c7;
  border-radius: 6px; padding: 0.3em 0.6em; }
.cq-error { color: #b42318; background: #fef3f2; border: 1px solid #fecdca; border-radius: 8px;
  padding: 0.5em 0.75em; margin-top: 0.4em; }
#cq-sources-col { position: sticky; top: 0.5rem; }
#cq-sources { max-height: 78vh; overflow-y: auto; padding-right: 0.25rem; }
.cq-sources-title { font-weight: 600; font-size: 1rem; margin: 0.1rem 0 0.5rem 0; }
.cq-sources.cq-empty { color: var(--body-text-color-subdued); padding: 1.5rem 0.5rem; text-align: center;
  border: 1px dashed var(--border-color-primary); border-radius: 10px; }
.cq-sources-head { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 0.5rem; }
.cq-source { border: 1px solid var(--border-color-primary); border-left: 4px solid var(--color-accent);
  border-radius: 10px; padding: 0.65rem 0.8rem; margin-bottom: 0.7rem; background: var(--background-fill-primary);
  transition: box-shadow 0.3s; }
.cq-source.cq-passage { border-left-color: var(--border-color-primary); }
.cq-source-unsupported { border-left-color: #d92d20; }
.cq-source.cq-flash { box-shadow: 0 0 0 3px var(--color-accent-soft), 0 0 0 5px var(--color-accent); }
.cq-source-head { font-weight: 600; line-height: 1.35; }
.cq-n { color: var(--color-accent); margin-right: 0.15em; }
.cq-meta { font-size: 0.8em; color: var(--body-text-color-subdued); margin: 0.15rem 0 0.45rem 0;
  word-break: break-word; }
.cq-context { font-size: 0.9em; line-height: 1.55; white-space: pre-wrap; word-break: break-word;
  color: var(--body-text-color); }
mark.cq-quote { background: #fff1a8; color: #1d1d1d; padding: 0.05em 0.15em; border-radius: 3px;
  box-decoration-break: clone; -webkit-box-decoration-break: clone; }
.cq-source-unsupported mark.cq-quote { background: #fde2e1; }
.cq-badge { font-size: 0.72em; font-weight: 600; padding: 0.08em 0.5em; border-radius: 999px; margin-left: 0.3em;
  vertical-align: 0.1em; white-space: nowrap; }
.cq-badge-ok { background: #dcfae6; color: #067647; }
.cq-badge-bad { background: #fee4e2; color: #b42318; }
.cq-badge-na { background: var(--background-fill-secondary); color: var(--body-text-color-subdued); }
.cq-refused { background: #fffaeb; border: 1px solid #fedf89; color: #93370d; border-radius: 10px;
  padding: 0.55rem 0.8rem; margin-bottom: 0.7rem; }
#cq-examples { gap: 0.4rem !important; flex-wrap: wrap; align-items: center; }
#cq-examples::before { content: "Try:"; font-size: 0.85rem; color: var(--body-text-color-subdued); }
#cq-examples button { flex: 0 1 auto !important; min-width: 0 !important; font-weight: 400; font-size: 0.82rem;
  padding: 0.25rem 0.7rem; border-radius: 999px; }
#cq-actions { align-items: center; }
#cq-articles table, #cq-articles td, #cq-articles th, #cq-articles span { font-family: var(--font) !important; }
#cq-feedback-status { font-size: 0.85em; color: var(--body-text-color-subdued); min-height: 1.2em; }
"""

# Clicking a [n] marker scrolls the sources panel to that card and flashes it. The default jump to the "#id"
# anchor is cancelled: it would move the whole page, and an older answer's card is not in the panel until the
# server has sent that answer's sources.
HEAD_SCRIPT = """
<script>
(function () {
  var pending = null;
  function flash(id) {
    var card = document.getElementById(id);
    if (!card) return false;
    card.scrollIntoView({behavior: "smooth", block: "nearest"});
    card.classList.add("cq-flash");
    setTimeout(function () { card.classList.remove("cq-flash"); }, 1600);
    return true;
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a.cq-cite") : null;
    if (!a) return;
    ev.preventDefault();  // no navigation; the click still reaches the chat, which selects the message
    var href = a.getAttribute("href") || "";  // "#cq-src-<answer>-<n>" (the sanitizer drops data-* attributes)
    if (href.charAt(0) !== "#") return;
    var id = href.slice(1);
    // An older answer's card appears once the server has put that answer's sources in the panel.
    pending = flash(id) ? null : id;
  }, true);
  new MutationObserver(function () {
    if (pending && flash(pending)) pending = null;
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>
"""
