"""The whole article around a quote, the passages retrieved while an answer is written, and the page code of the
chat's extra controls (quote previews on markers, per-answer copy buttons, the article view scrolled to its quote).

Pure functions, no Gradio. Every string from an article or a model is escaped before it is placed in markup.

Example::

    html = render_whole_article(article.text, citation.start, citation.end)
    # '<details class="cq-article"><summary>Show the whole article</summary>…<mark class="cq-article-quote">…'
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Protocol

# Beyond this many characters an article shows as a window of this size around the quote (a huge upload would
# otherwise travel to the browser with every answer that cites it).
MAX_ARTICLE_CHARS = 60_000
PREVIEW_CHARS = 320  # the longest quote a marker's preview shows in full


def esc(text: str) -> str:
    """``text`` escaped for HTML (attribute-safe); lone surrogates become U+FFFD (the browser cannot receive them)."""
    return html.escape(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), quote=True)


def _window(n: int, start: int, end: int, size: int) -> tuple[int, int]:
    """The ``size``-character window of a text of length ``n`` centred on ``start:end``."""
    if n <= size:
        return 0, n
    half = max(0, (size - (end - start)) // 2)
    lo = max(0, start - half)
    hi = min(n, max(end, lo + size))
    return max(0, min(lo, hi - size)), hi


def render_whole_article(text: str, start: int, end: int, *, max_chars: int = MAX_ARTICLE_CHARS) -> str:
    """A collapsed "Show the whole article" block: the article's text, escaped, with ``text[start:end]``
    highlighted. Opening it scrolls the highlight into view (``ARTICLE_SCRIPT``).

    An article longer than ``max_chars`` shows that many characters around the quote, and says what is left out.
    """
    lo, hi = _window(len(text), start, end, max_chars)
    if lo > 0:  # cut at a whitespace, never inside a word
        cut = text.find(" ", lo, start)
        lo = cut + 1 if cut != -1 else lo
    if hi < len(text):
        cut = text.rfind(" ", end, hi)
        hi = cut if cut != -1 else hi
    before = f'<p class="cq-article-cut">\u2026 {lo:,} characters before this are not shown.</p>' if lo else ""
    after = (
        f'<p class="cq-article-cut">\u2026 {len(text) - hi:,} characters after this are not shown.</p>'
        if hi < len(text)
        else ""
    )
    body = esc(text[lo:start]) + f'<mark class="cq-article-quote">{esc(text[start:end])}</mark>' + esc(text[end:hi])
    return (
        '<details class="cq-article"><summary>Show the whole article</summary>'
        f'{before}<div class="cq-article-text" tabindex="0" role="region" aria-label="The whole article">'
        f"{body}</div>{after}</details>"
    )


def quote_preview(quote: str, limit: int = PREVIEW_CHARS) -> str:
    """The quote as a marker's preview shows it: whitespace collapsed, cut at a word past ``limit`` characters."""
    q = " ".join(quote.split())
    if len(q) <= limit:
        return q
    cut = q.rfind(" ", 0, limit)
    return q[: cut if cut > limit // 2 else limit] + "\u2026"


class _HitLike(Protocol):
    @property
    def doc_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def title(self) -> str: ...


class _QuoteLike(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def quote(self) -> str: ...


class _ClaimLike(Protocol):
    @property
    def claim(self) -> str: ...
    @property
    def citations(self) -> Sequence[_QuoteLike]: ...
    @property
    def supported(self) -> bool: ...


def render_claims(claims: Sequence[_ClaimLike]) -> str:
    """The claims of the answer checked so far (``qa.CitedClaim`` events), each with its verdict and quotes."""
    if not claims:
        return ""
    items = []
    for c in claims:
        badge = (
            '<span class="cq-badge cq-badge-ok">supported</span>'
            if c.supported
            else '<span class="cq-badge cq-badge-bad">\u26a0 not supported</span>'
        )
        quotes = (
            "".join(
                f'<div class="cq-claim-quote">\u201c{esc(quote_preview(q.quote))}\u201d '
                f'<span class="cq-claim-source">\u2014 {esc(q.title or q.doc_id)}</span></div>'
                for q in c.citations
            )
            or '<div class="cq-claim-quote">No quote supports it.</div>'
        )
        items.append(f'<li class="cq-claim">{badge} <span class="cq-claim-text">{esc(c.claim)}</span>{quotes}</li>')
    return f'<div class="cq-claims"><div class="cq-sources-head">Checked so far</div><ol>{"".join(items)}</ol></div>'


def render_retrieved(
    hits: Sequence[_HitLike],
    titles: Mapping[str, str] | None = None,
    *,
    turn: int = 1,
    writing: bool = True,
    claims: Sequence[_ClaimLike] = (),
) -> str:
    """The sources panel while an answer is written (``writing``) or after it was stopped: the claims checked so
    far (an LLM's answer is checked sentence by sentence), then the retrieved passages in rank order.

    Passage ``i`` carries the id of source card ``i`` of answer ``turn``: a marker ``[i]`` clicked before the answer
    ends jumps to the passage it will cite (``[n]`` means ``hits[n - 1]``).
    """
    titles = titles or {}
    if not hits:
        return render_claims(claims) + '<div class="cq-sources cq-empty">No passage was found.</div>'
    n_docs = len({h.doc_id for h in hits})
    parts = [
        f'<div class="cq-sources cq-retrieved" data-turn="{turn}">'
        f'<div class="cq-sources-head">{len(hits)} passage{"s" if len(hits) != 1 else ""} found in {n_docs} '
        f"article{'s' if n_docs != 1 else ''}"
        + ("; the answer is being written\u2026" if writing else " (the answer was stopped)")
        + "</div>"
        + render_claims(claims)
    ]
    for i, h in enumerate(hits, 1):
        title = titles.get(h.doc_id) or h.title or h.doc_id
        parts.append(
            f'<div class="cq-source cq-passage" id="cq-src-{turn}-{i}"><div class="cq-source-head">'
            f'<span class="cq-n">[{i}]</span> <span class="cq-title">{esc(title)}</span></div>'
            f'<div class="cq-meta">{esc(h.doc_id)}</div><div class="cq-context">{esc(h.text)}</div></div>'
        )
    parts.append("</div>")
    return "".join(parts)


STYLESHEET = """
.cq-sup { position: relative; }
.cq-pop { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.cq-sup:hover .cq-pop, .cq-sup:focus-within .cq-pop, .cq-pop.cq-pop-open {
  clip: auto; width: max-content; max-width: min(26rem, 80vw); height: auto; overflow: visible; white-space: normal;
  left: -0.5rem; top: 1.2rem; z-index: 50; line-height: 1.45; font-size: 0.85rem; font-weight: 400;
  text-align: left; padding: 0.5rem 0.65rem; border-radius: 8px; color: var(--body-text-color);
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary);
  box-shadow: 0 6px 20px rgba(0, 0, 0, 0.18); }
.cq-sup.cq-pop-off .cq-pop { clip: rect(0 0 0 0); width: 1px; height: 1px; overflow: hidden; padding: 0; border: 0;
  box-shadow: none; }
.cq-pop-title { display: block; font-weight: 600; margin-bottom: 0.2rem; }
.cq-pop-flag { display: block; color: #b42318; margin-top: 0.2rem; }
.cq-answer-actions { margin-top: 0.45em; }
button.cq-copy-btn { font-size: 0.8rem; padding: 0.1rem 0.6rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
  color: var(--body-text-color); }
button.cq-copy-btn:hover, button.cq-copy-btn:focus-visible { border-color: var(--color-accent); }
.cq-stopped-note { margin-top: 0.4em; font-size: 0.85em; font-weight: 600; color: #93370d; }
#cq-copy-status { font-size: 0.85em; color: var(--body-text-color); }
/* targets of at least 24 x 24 px (WCAG 2.2 target size), larger under a finger */
button.cq-copy-btn { min-height: 24px; min-width: 24px; }
details.cq-article > summary { padding: 0.3rem 0; min-height: 24px; box-sizing: border-box; }
@media (max-width: 640px) {
  button.cq-copy-btn { min-height: 36px; padding: 0.3rem 1rem; }
  details.cq-article > summary { padding: 0.55rem 0; }
}
#cq-copy-status:empty { display: none; }
details.cq-article { margin-top: 0.5rem; }
details.cq-article > summary { cursor: pointer; font-size: 0.85em; font-weight: 600; color: var(--color-accent); }
.cq-article-text { position: relative; max-height: 60vh; overflow-y: auto; margin-top: 0.4rem; padding: 0.5rem 0.6rem;
  font-size: 0.9em; line-height: 1.55; white-space: pre-wrap; word-break: break-word;
  border: 1px solid var(--border-color-primary); border-radius: 8px; background: var(--background-fill-secondary); }
mark.cq-article-quote { background: #fff1a8; color: #1d1d1d; padding: 0.05em 0.15em; border-radius: 3px;
  outline: 2px solid #e0b400; }
.cq-claims { margin-bottom: 0.7rem; }
.cq-claims ol { margin: 0; padding-left: 1.2rem; }
.cq-claim { margin-bottom: 0.45rem; font-size: 0.9em; }
.cq-claim-quote { font-size: 0.92em; margin-top: 0.15rem; }
.cq-claim-source { color: var(--body-text-color-subdued); }
.cq-article-cut { font-size: 0.8em; color: var(--body-text-color-subdued); margin: 0.3rem 0; }
#cq-collection { font-size: 0.9rem; margin: 0 0 0.3rem 0; }
body:not(.cq-streaming) #cq-stop, body.cq-streaming #cq-regenerate, body:not(.cq-has-answer) #cq-regenerate {
  display: none !important; }
#cq-conversations-row { flex-wrap: nowrap !important; align-items: flex-end !important; gap: 0.5rem; }
#cq-conversations-row > * { min-width: 0 !important; }
#cq-forget { flex: 0 0 auto !important; white-space: nowrap; margin-bottom: 0.35rem; }
"""

# Page code for the markup above (runs once per page; the chat re-renders its messages, so everything is delegated
# from the document or re-applied by an observer):
# - a marker's preview is tied to its marker for screen readers (the chat's sanitizer drops aria-* attributes from
#   messages, so the link is made here) and Escape hides it;
# - a "Copy" button under an answer copies that answer's plain text and sources (kept hidden in the message);
# - opening "Show the whole article" scrolls the article box to its highlighted quote.
SCRIPT = """
<script>
(function () {
  var seq = 0;
  var UNSUPPORTED_LABEL = "not supported by the retrieved passages";
  function linkPreviews() {
    // Stop shows while the latest answer is written (it has the typing cursor); Regenerate once one is done.
    var bots = document.querySelectorAll("#cq-chat .cq-bot"), last = bots.length ? bots[bots.length - 1] : null;
    document.body.classList.toggle("cq-streaming", !!(last && last.querySelector(".cq-cursor")));
    document.body.classList.toggle("cq-has-answer", bots.length > 0);
    document.querySelectorAll(".cq-sup > .cq-pop").forEach(function (pop) {
      var a = pop.parentNode.querySelector("a.cq-cite");
      if (!a) return;
      if (!pop.id) pop.id = "cq-pop-" + (++seq);
      if (a.getAttribute("aria-describedby") !== pop.id) a.setAttribute("aria-describedby", pop.id);
    });
    // a claim's ⚠ (ui/claim_marks.py) is read as its meaning, not "warning sign": the sanitizer dropped its label
    document.querySelectorAll("#cq-chat .cq-claim-unsupported").forEach(function (m) {
      if (m.getAttribute("aria-label") === UNSUPPORTED_LABEL) return;
      m.setAttribute("role", "img");
      m.setAttribute("aria-label", UNSUPPORTED_LABEL);
      m.setAttribute("title", UNSUPPORTED_LABEL);
    });
  }
  new MutationObserver(linkPreviews).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    document.querySelectorAll(".cq-sup:hover, .cq-sup:focus-within").forEach(function (s) {
      s.classList.add("cq-pop-off");
    });
  }, true);
  function place(sup) {  // keep the preview inside the chat: shift it left, or above its marker near the bottom
    var pop = sup.querySelector(".cq-pop"), chat = sup.closest("#cq-chat");
    if (!pop || !chat) return;
    pop.style.left = ""; pop.style.top = ""; pop.style.bottom = "";
    var r = pop.getBoundingClientRect(), c = chat.getBoundingClientRect();
    if (r.right > c.right - 8) pop.style.left = (pop.offsetLeft - (r.right - c.right + 8)) + "px";
    if (r.bottom > c.bottom - 8 && r.height < sup.getBoundingClientRect().top - c.top) {
      pop.style.top = "auto"; pop.style.bottom = "1.2rem";
    }
  }
  function unhide(ev) {
    var s = ev.target.closest ? ev.target.closest(".cq-sup") : null;
    if (!s) return;
    s.classList.remove("cq-pop-off");
    place(s);
  }
  document.addEventListener("mouseover", unhide, true);
  document.addEventListener("focusin", unhide, true);
  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      return;
    }
    var t = document.createElement("textarea");  // plain-http hosts have no clipboard API
    t.value = text; t.style.position = "fixed"; t.style.opacity = "0";
    document.body.appendChild(t); t.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(t);
    done(ok);
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button.cq-copy-btn") : null;
    if (!b) return;
    ev.stopPropagation();
    var bot = b.closest(".cq-bot");
    var plain = bot ? bot.querySelector(".cq-plain") : null;
    if (!plain) return;
    var n = Array.prototype.indexOf.call(document.querySelectorAll("#cq-chat .cq-bot"), bot) + 1;
    copyText(plain.textContent, function (ok) {
      b.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(function () { b.textContent = "Copy"; }, 2000);
      copiedLine(ok ? "Answer " + n + " and its sources copied." : "Could not copy: select the text instead.");
    });
  }, true);
  // The line under the chat saying what was copied: it goes away with the next question (or a new chat).
  var copiedAt = -1;
  function questionCount() { return document.querySelectorAll("#cq-chat .cq-question").length; }
  function copiedLine(text) {
    var line = document.getElementById("cq-copy-status"), anchor = document.getElementById("cq-feedback-status");
    if (!line && anchor) {
      line = document.createElement("div");
      line.id = "cq-copy-status";
      line.setAttribute("role", "status");
      anchor.parentNode.insertBefore(line, anchor.nextSibling);
    }
    if (!line) return;
    line.textContent = text;
    copiedAt = text ? questionCount() : -1;
  }
  new MutationObserver(function () {
    if (copiedAt >= 0 && questionCount() !== copiedAt) copiedLine("");
  }).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("click", function (ev) {
    if (copiedAt >= 0 && ev.target.closest && ev.target.closest("#cq-send, .cq-example, #cq-clear")) copiedLine("");
  }, true);
  document.addEventListener("keydown", function (ev) {
    if (copiedAt >= 0 && ev.key === "Enter" && ev.target.closest && ev.target.closest("#cq-input")) copiedLine("");
  }, true);
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d.matches || !d.matches("details.cq-article") || !d.open) return;
    var box = d.querySelector(".cq-article-text"), mark = d.querySelector("mark.cq-article-quote");
    if (!box || !mark) return;
    box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
    d.scrollIntoView({block: "nearest"});
  }, true);
})();
</script>
"""
