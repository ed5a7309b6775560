"""The citeqa chat UI (Gradio): streaming answers whose [n] markers link to highlighted source quotes.

``create_app(qa, settings)`` builds the Blocks without launching them (tests drive ``ChatUI``'s handlers
directly); ``launch_app(settings, host=..., port=...)`` is what ``citeqa ui`` calls.

Example::

    from qa import get_settings
    from ui.app import launch_app
    launch_app(get_settings(), host="127.0.0.1", port=7860)

Gradio is imported lazily: ``launch_app`` switches Gradio's analytics off before Gradio is first imported.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus import SUPPORTED_SUFFIXES
from qa import (
    QA,
    Answer,
    AuthError,
    ConfigError,
    GeneratorError,
    InvalidQuestionError,
    ModelNotFoundError,
    QAError,
    Settings,
)
from qa.config import GeneratorSettings, data_dir
from ui import endpoints, render
from ui.auth import LOOPBACK_HOSTS, Access, load_access, parse_auth  # noqa: F401  (parse_auth: re-exported)
from ui.feedback import Turn, Verdict, feedback_path, record_feedback

if TYPE_CHECKING:
    import gradio as gr

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_FILES = 20
UPLOAD_SUFFIXES: tuple[str, ...] = SUPPORTED_SUFFIXES
STREAM_MIN_INTERVAL_S = 0.05  # coalesce token deltas: ~20 browser updates a second is smooth and cheap

EXAMPLE_QUESTIONS = (
    "Where did Macron receive Putin in 2017?",
    "What did Hollande say about Daesh in Moscow?",
    "Which French ministers visited Moscow in September 2019?",
    "How did French people view Russia's influence in a 2013 BBC poll?",
    "What message should Hollande take to Putin about sanctions?",
)

QAOrFactory = QA | Callable[[], QA]
NOT_ADMIN = "**Not allowed:** only an admin can {action} on this server."


# -- per-session state ---------------------------------------------------------------------------------
@dataclass
class Conversation:
    """One browser session's chat: what the Chatbot shows, the plain history QA sees, one Turn per question.

    ``messages`` holds a user and an assistant message per question, so message ``i`` belongs to
    ``turns[i // 2]``.
    """

    messages: list[dict[str, str]] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    answers: list[Answer | None] = field(default_factory=list)
    copy_text: str = ""


@dataclass
class Preferences:
    """The session's Settings-tab choices; None means the app's settings.

    ``endpoint`` is the name of the chosen endpoint (see ``ui.endpoints``); ``generator`` its resolved settings.
    """

    generator: GeneratorSettings | None = None
    top_k: int | None = None
    endpoint: str | None = None


# -- uploads -----------------------------------------------------------------------------------------------
def sanitize_filename(name: str, *, max_len: int = 100) -> str:
    """A safe base name for an uploaded file: no folders, no hidden files, only [A-Za-z0-9._-].

    >>> sanitize_filename("../../etc/passwd.txt")
    'passwd.txt'
    """
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-") or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    stem = stem[: max_len - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


@dataclass(frozen=True)
class UploadCheck:
    """Files accepted for indexing (original path, safe name) and the messages for the refused ones."""

    accepted: list[tuple[Path, str]]
    refused: list[str]


def check_uploads(
    paths: Sequence[str | Path], *, max_bytes: int = MAX_UPLOAD_BYTES, max_files: int = MAX_UPLOAD_FILES
) -> UploadCheck:
    """Apply the upload limits (count, size, type) and give every accepted file a unique safe name."""
    accepted: list[tuple[Path, str]] = []
    refused: list[str] = []
    if len(paths) > max_files:
        refused.append(f"{len(paths)} files at once is too many; the limit is {max_files}. Nothing was added.")
        return UploadCheck([], refused)
    taken: set[str] = set()
    for raw in paths:
        p = Path(raw)
        safe = sanitize_filename(p.name)
        shown = html.escape(p.name)
        if not safe.lower().endswith(UPLOAD_SUFFIXES):
            refused.append(f"{shown}: unsupported file type; use {', '.join(UPLOAD_SUFFIXES)}.")
            continue
        try:
            size = p.stat().st_size
        except OSError:
            refused.append(f"{shown}: the upload could not be read.")
            continue
        if size > max_bytes:
            refused.append(f"{shown}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit.")
            continue
        if size == 0:
            refused.append(f"{shown}: the file is empty.")
            continue
        stem, _, suffix = safe.rpartition(".")
        unique, i = safe, 2
        while unique.lower() in taken:
            unique, i = f"{stem}-{i}.{suffix}", i + 1
        taken.add(unique.lower())
        accepted.append((p, unique))
    return UploadCheck(accepted, refused)


def _generator_error(exc: GeneratorError) -> str:
    """What the chat says when the generator fails: the kind of failure and its HTTP status, never the server's
    reply (an endpoint's error body can hold anything; the full message goes to the server log)."""
    status = re.search(r"HTTP (\d{3})", str(exc))
    code = f" (HTTP {status.group(1)})" if status else ""
    if isinstance(exc, AuthError):
        what = f"The LLM endpoint rejected the API key{code}."
    elif isinstance(exc, ModelNotFoundError):
        what = f"The LLM endpoint does not serve the chosen model{code}."
    elif "timed out" in str(exc):
        what = "The LLM endpoint timed out."
    elif "reach" in str(exc):
        what = "The LLM endpoint could not be reached."
    else:
        what = f"The LLM endpoint failed{code}."
    return what + " Check the generator in the Settings tab; the details are in the server log"


def _bot(content: str) -> str:
    """Every assistant message in one wrapper, so the page (and its tests) can find the latest one."""
    return f'<div class="cq-bot">{content}</div>'


def panel(body: str) -> str:
    """The sources panel: its title above ``body``."""
    return '<div class="cq-sources-title">Sources</div>' + body


# -- the handlers ------------------------------------------------------------------------------------------
class ChatUI:
    """Everything the app does, as plain methods Gradio events call (and tests call without a browser).

    Args:
        qa: a loaded ``QA``, or a function returning one (called once, on first use).
        settings: the app's settings (feedback location, the operator's endpoints, defaults shown in the
            Settings tab).
        feedback_file: where feedback goes; default ``feedback_path(settings)``.
        access: logins and roles; default: no logins, the local user is the admin.

    Handlers that change the index take the logged-in ``user`` (``gr.Request.username``) and refuse
    non-admins themselves: Gradio events can be called through its API, whatever the page shows.
    """

    def __init__(
        self,
        qa: QAOrFactory,
        settings: Settings,
        *,
        feedback_file: Path | None = None,
        access: Access | None = None,
    ) -> None:
        is_factory = callable(qa) and not hasattr(qa, "stream")
        self._qa: QA | None = None if is_factory else qa  # type: ignore[assignment]
        self._factory: Callable[[], QA] | None = qa if is_factory else None  # type: ignore[assignment]
        self.settings = settings
        self.feedback_file = feedback_file or feedback_path(settings)
        self.access = access or Access()
        self._lock = threading.RLock()
        self._variants: dict[str, QA] = {}

    # -- QA instances ---------------------------------------------------------------------------------------
    @property
    def qa(self) -> QA:
        with self._lock:
            if self._qa is None:
                assert self._factory is not None
                self._qa = self._factory()
            return self._qa

    def qa_for(self, prefs: Preferences | None) -> QA:
        """The QA answering with the session's preferences, cached per distinct choice.

        Every variant shares the base QA's loaded index, so articles added or deleted later are seen by all.

        Raises:
            ConfigError: the generator is not one this server allows a session to use (``ui.endpoints``).
        """
        base = self.qa
        if prefs is None or (prefs.generator is None and prefs.top_k is None):
            return base
        if prefs.generator is not None:  # the last guard before a request can leave: the operator's endpoints only
            endpoints.check_generator(self.settings, prefs.generator)
        key = (prefs.generator.model_dump_json() if prefs.generator else "") + f"|{prefs.top_k}"
        with self._lock:
            variant = self._variants.get(key)
            if variant is None:
                sections: dict[str, Any] = {}
                if prefs.top_k is not None:
                    sections["retrieval"] = {"top_k": prefs.top_k}
                if prefs.generator is not None:
                    sections["generator"] = prefs.generator.model_dump()
                variant = self._variants[key] = base.with_settings(**sections)
            return variant

    # -- chat ---------------------------------------------------------------------------------------------
    def respond(
        self, question: str, conv: Conversation | None, prefs: Preferences | None = None
    ) -> Iterator[tuple[list[dict[str, str]], str, Conversation, str, str]]:
        """Answer ``question`` in the conversation, streaming.

        Yields (chat messages, sources panel HTML, conversation, input box value, copyable answer) after the
        question shows, after each text delta, and once more with the cited final answer.
        """
        conv = conv if conv is not None else Conversation()
        question = (question or "").strip()
        if not question:
            yield conv.messages, self._sources_for_last(conv), conv, "", conv.copy_text
            return
        history = list(conv.history)
        turn = len(conv.turns) + 1  # 1-based number of this answer: its markers link to its own source cards
        conv.messages = [
            *conv.messages,
            {"role": "user", "content": render.render_user_message(question)},
            {"role": "assistant", "content": _bot(render.render_answer("", None, streaming=True))},
        ]
        searching = panel(render.render_sources_placeholder("Searching the articles\u2026"))
        yield conv.messages, searching, conv, "", conv.copy_text

        parts: list[str] = []
        final: Answer | None = None
        error: str | None = None
        last_yield = 0.0
        try:
            for item in self.qa_for(prefs).stream(question, history):
                if isinstance(item, Answer):
                    final = item
                    break
                parts.append(item)
                now = time.perf_counter()
                if now - last_yield >= STREAM_MIN_INTERVAL_S:
                    last_yield = now
                    self._set_last(conv, render.render_answer("".join(parts), None, streaming=True, turn=turn))
                    yield conv.messages, searching, conv, "", conv.copy_text
        except InvalidQuestionError as exc:
            error = f"Please rephrase the question: {exc}."
        except GeneratorError as exc:
            error = _generator_error(exc)
            logger.warning("answering failed: %s", exc)  # the full message, server body included: the log only
        except QAError as exc:
            error = str(exc) or type(exc).__name__
            logger.warning("answering failed: %s", error)
        except Exception as exc:  # the app must keep serving; the details go to the server log
            logger.exception("unexpected error while answering")
            error = f"An unexpected error occurred ({type(exc).__name__}). The details are in the server log."
        if final is None and error is None:
            error = "The generator stopped without an answer."

        if final is not None:
            self._set_last(conv, self._answer_html(final, turn))
            conv.history = [
                *history,
                {"role": "user", "content": question},
                {"role": "assistant", "content": final.text},
            ]
            conv.turns = [*conv.turns, Turn.from_answer(question, history, final)]
            conv.answers = [*conv.answers, final]
            conv.copy_text = render.plain_answer(final.text, final.citations)
            sources = self.sources_html(final, turn=turn)
        else:
            partial = "".join(parts)
            shown = render.render_answer(partial, None) if partial else ""
            self._set_last(conv, shown + render.render_error(error or ""))
            conv.turns = [*conv.turns, Turn(question=question, history=history, answer=partial, error=error)]
            conv.answers = [*conv.answers, None]
            sources = panel(render.render_sources_placeholder("No sources: the question could not be answered."))
        yield conv.messages, sources, conv, "", conv.copy_text

    @staticmethod
    def _set_last(conv: Conversation, content: str) -> None:
        conv.messages = [*conv.messages[:-1], {"role": "assistant", "content": _bot(content)}]

    @staticmethod
    def _answer_html(a: Answer, turn: int) -> str:
        return render.render_answer(
            a.text,
            a.citations,
            question=a.question,
            query=a.query,
            refused=a.refused,
            unsupported=a.unsupported,
            turn=turn,
        )

    def sources_html(self, a: Answer, *, turn: int = 1, latest: bool = True) -> str:
        """The sources panel for answer ``turn``: its citations in context, or the closest passages of a refusal."""
        qa = self.qa
        doc_ids = {c.doc_id for c in a.citations} | {h.doc_id for h in a.chunks[:3]}
        articles: dict[str, Any] = {}
        metas: dict[str, render.SourceMeta] = {}
        for doc_id in doc_ids:
            try:
                art = qa.article(doc_id)
            except KeyError:  # removed since the answer was given
                articles[doc_id] = None
                continue
            articles[doc_id] = art
            metas[doc_id] = render.SourceMeta(art.title, art.meta.author, art.meta.outlet, art.meta.date)
        # "Searched for" shows in the chat message, above the answer it explains.
        label = "" if latest else f"Showing the sources of answer {turn} (an earlier answer)"
        return panel(
            render.render_sources(
                a.citations, articles, metas, refused=a.refused, chunks=a.chunks, turn=turn, label=label
            )
        )

    def sources_for_message(self, conv: Conversation | None, message_index: int) -> str:
        """The sources panel for the answer at chat message ``message_index`` (a click on an older answer)."""
        if conv is None or not conv.answers:
            return panel(render.render_sources_placeholder())
        turn_index = min(max(message_index // 2, 0), len(conv.answers) - 1)
        a = conv.answers[turn_index]
        if a is None:
            return panel(render.render_sources_placeholder("No sources: that question could not be answered."))
        return self.sources_html(a, turn=turn_index + 1, latest=turn_index == len(conv.answers) - 1)

    def _sources_for_last(self, conv: Conversation) -> str:
        if not conv.answers:
            return panel(render.render_sources_placeholder())
        return self.sources_for_message(conv, 2 * (len(conv.answers) - 1))

    def clear(self) -> tuple[list[dict[str, str]], str, Conversation, str, str]:
        """A fresh conversation."""
        conv = Conversation()
        return conv.messages, panel(render.render_sources_placeholder()), conv, "", ""

    # -- feedback -----------------------------------------------------------------------------------------
    def feedback(
        self, conv: Conversation | None, verdict: Verdict, comment: str = "", *, message_index: int | None = None
    ) -> str:
        """Record a verdict on an answer (the latest one, or the one at chat ``message_index``); a status line."""
        if conv is None or not conv.turns:
            return "Ask a question first, then rate its answer."
        turn_index = len(conv.turns) - 1 if message_index is None else message_index // 2
        if not 0 <= turn_index < len(conv.turns):
            return "That message has no answer to rate."
        try:
            record_feedback(self.feedback_file, conv.turns[turn_index], verdict, comment or "")
        except OSError as exc:
            logger.warning("cannot write feedback to %s: %s", self.feedback_file, exc)
            return "Feedback could not be saved (see the server log)."
        word = "helpful" if verdict == "up" else "not helpful"
        return f"Thanks: answer {turn_index + 1} marked {word}" + (" with your comment." if comment.strip() else ".")

    # -- articles -----------------------------------------------------------------------------------------
    def article_rows(self) -> list[list[Any]]:
        """The Articles table: title, doc_id, outlet, author, date, chunks."""
        return [
            [a.title, a.doc_id, a.outlet or "", a.author or "", a.date or "", a.n_chunks] for a in self.qa.articles()
        ]

    def articles_heading(self) -> str:
        infos = self.qa.articles()
        chunks = sum(a.n_chunks for a in infos)
        return f"**{len(infos)} article{'s' if len(infos) != 1 else ''} indexed** ({chunks} chunks)"

    def doc_ids(self) -> list[str]:
        return [a.doc_id for a in self.qa.articles()]

    def is_admin(self, user: str | None) -> bool:
        """Whether ``user`` (``gr.Request.username``; None without logins) may add and delete articles."""
        return self.access.is_admin(user)

    def _hide_paths(self, text: str, *extra: Path) -> str:
        """``text`` without the server's folders (index, data dir, staging): users see names, not paths."""
        places = [*extra, self.settings.index_dir(), data_dir(), Path(tempfile.gettempdir())]
        for place in sorted({str(p) for p in places}, key=len, reverse=True):
            text = text.replace(place + os.sep, "").replace(place, "(server folder)")
        return text

    def add_uploads(
        self,
        paths: Sequence[str | Path] | None,
        progress: Callable[[str], None] | None = None,
        *,
        user: str | None = None,
    ) -> str:
        """Index uploaded files (limits checked, names sanitised); a Markdown status message.

        Only an admin may add articles (``user`` is the logged-in user). The files are copied under their safe
        names into a private staging folder; QA copies them on into the index's uploads folder and indexes them
        incrementally.
        """
        if not self.is_admin(user):
            return NOT_ADMIN.format(action="add articles")
        paths = [p for p in (paths or []) if p]
        if not paths:
            return "Choose one or more .txt, .md, .html or .pdf files first."
        check = check_uploads(paths)
        added: list[str] = []
        skipped: list[str] = list(check.refused)
        if check.accepted:
            staging = Path(tempfile.mkdtemp(prefix="citeqa-upload-"))
            try:
                staged = []
                for src, safe in check.accepted:
                    shutil.copyfile(src, staging / safe)
                    staged.append(staging / safe)
                if progress:
                    progress(f"Reading {len(staged)} file(s)\u2026")
                # QA copies share one index: the cached session variants see the new one too
                report = self.qa.add_files(staged, progress=progress)
            except QAError as exc:
                return f"**Nothing was added.** {html.escape(self._hide_paths(str(exc), staging))}"
            except OSError as exc:
                logger.warning("upload failed: %s", exc)
                return "**Nothing was added.** The uploaded files could not be stored (see the server log)."
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            added = list(report.added_doc_ids)
            skipped = [html.escape(self._hide_paths(str(err), staging)) for err in report.skipped] + skipped
        lines = [f"**Added {len(added)} article(s):** " + ", ".join(f"`{d}`" for d in added)] if added else []
        if skipped:
            lines.append("**Nothing was added.** Skipped:" if not added else "**Skipped:**")
            lines += [f"- {s}" for s in skipped]
        return "\n".join(lines) or "Nothing was added."

    def remove(self, doc_id: str | None, *, user: str | None = None) -> str:
        """Delete an article from the index (admins only); a Markdown status message."""
        if not self.is_admin(user):
            return NOT_ADMIN.format(action="delete articles")
        if not doc_id:
            return "Choose an article to delete."
        try:
            report = self.qa.remove_article(doc_id)
        except KeyError:
            return f"`{html.escape(doc_id)}` is not in the index."
        except QAError as exc:
            return f"**Could not delete** `{html.escape(doc_id)}`: {html.escape(self._hide_paths(str(exc)))}"
        return f"Deleted `{html.escape(doc_id)}`; {report.articles} article(s) remain."

    # -- settings ---------------------------------------------------------------------------------------
    def apply_settings(
        self,
        endpoint: str,
        base_url: str,
        model: str,
        api_key: str,
        top_k: float | int,
        prefs: Preferences | None,
    ) -> tuple[Preferences, str, str]:
        """Validate the Settings tab's values into the session's preferences.

        ``endpoint`` is one of ``ui.endpoints.endpoint_names``: the operator's endpoints (their keys stay on the
        server), the extractive generator, or a typed ``base_url`` when the operator allows it. A typed key goes
        only to the endpoint it was applied with. Returns (preferences, status Markdown, current-settings
        Markdown); the settings apply to this session only.
        """
        prefs = prefs or Preferences()
        previous = endpoints.Choice(prefs.endpoint, prefs.generator) if prefs.endpoint and prefs.generator else None
        try:
            choice = endpoints.resolve_choice(
                self.settings,
                endpoint=endpoint,
                model=model,
                custom_url=base_url,
                api_key=api_key,
                previous=previous,
            )
            new = Preferences(generator=choice.generator, top_k=int(top_k), endpoint=choice.name)
            self.qa_for(new)  # surfaces settings that cannot work together now, not at the next question
        except (ConfigError, ValueError) as exc:
            msg = str(exc).splitlines()[0]
            return prefs, f"**Not applied:** {html.escape(msg)}", self.describe_settings(prefs)
        return new, "Applied. Your next question uses these settings.", self.describe_settings(new)

    def describe_settings(self, prefs: Preferences | None) -> str:
        """The settings in effect, as Markdown: names only (no key, no server URL of the operator, no path)."""
        qa = self.qa_for(prefs)
        g = qa.settings.generator
        backend = g.resolved_backend()
        rows = [("Generator", "extractive (offline)" if backend == "extractive" else "OpenAI-compatible endpoint")]
        if backend == "openai":
            rows += [
                ("Endpoint", endpoints.endpoint_label(self.settings, g)),
                ("Model", g.model or "(none)"),
                ("API key", "set (hidden)" if g.api_key else "not set"),
            ]
        rows += [
            ("Top-k chunks", str(qa.settings.retrieval.top_k)),
            ("Retrieval", qa.settings.retrieval.mode),
            ("Embedding model", Path(qa.settings.embedding.model).name or qa.settings.embedding.model),
        ]
        body = "\n".join(f"| {k} | `{html.escape(v)}` |" for k, v in rows)
        return "| Setting | Value |\n|---|---|\n" + body

    def role_note(self, user: str | None) -> str:
        """The Articles tab's line on who may change the index."""
        if self.is_admin(user):
            return ""
        if self.access.login_required:
            who = html.escape(user or "?")
            return f"Signed in as **{who}**: you can ask; only an admin can add or delete articles."
        return "This server is shared: articles are added and deleted by its operator (`citeqa index`)."


# -- the Blocks ----------------------------------------------------------------------------------------------
COPY_JS = """
(text) => {
  if (text && navigator.clipboard) { navigator.clipboard.writeText(text); }
  return [];
}
"""


def create_app(
    qa: QAOrFactory, settings: Settings, *, feedback_file: Path | None = None, access: Access | None = None
) -> gr.Blocks:
    """Build the Gradio Blocks of the chat UI (not launched).

    Args:
        qa: a loaded ``QA`` or a function returning one (called on first use).
        settings: the app's settings.
        feedback_file: where feedback is appended (default ``feedback_path(settings)``).
        access: logins and roles (default: none; the local user is the admin).
    """
    return _build(ChatUI(qa, settings, feedback_file=feedback_file, access=access))


def _user(request: Any) -> str | None:
    """The logged-in user of a Gradio request (None without logins or outside a request)."""
    return getattr(request, "username", None) if request is not None else None


def _build(ui: ChatUI) -> gr.Blocks:
    import gradio as gr

    # delete_cache: uploads land in Gradio's temp folder; drop them hourly once an hour old.
    with gr.Blocks(title="citeqa", analytics_enabled=False, fill_width=True, delete_cache=(3600, 3600)) as demo:
        conv = gr.State(Conversation())
        prefs = gr.State(Preferences())
        copy_box = gr.Textbox(visible=False, elem_id="cq-copy-text")
        gr.HTML(
            "<h1>citeqa</h1><p>Ask about the articles. Every claim cites the exact words it comes from: "
            "click a [n] marker to see the quote in its article.</p>",
            elem_id="cq-header",
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=360):
                        chat = gr.Chatbot(
                            elem_id="cq-chat",
                            show_label=False,
                            height="54vh",
                            min_height=360,
                            # Messages are HTML we build from escaped text; Gradio's sanitizer stays on as a
                            # second line of defence, custom tags off, LaTeX off ("$$" in articles is text).
                            sanitize_html=True,
                            render_markdown=True,
                            allow_tags=False,
                            latex_delimiters=[],
                            buttons=[],  # the built-in copy buttons would copy our HTML; "Copy answer" copies text
                            feedback_options=("Like", "Dislike"),
                            placeholder="<strong>Ask a question about the articles</strong><br>"
                            "or pick an example below.",
                        )
                        with gr.Row():
                            box = gr.Textbox(
                                placeholder="Ask a question about the articles\u2026",
                                show_label=False,
                                scale=6,
                                lines=1,
                                max_lines=6,
                                autofocus=True,
                                elem_id="cq-input",
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="cq-send")
                        with gr.Row(elem_id="cq-actions", equal_height=True):
                            clear = gr.Button("Clear chat", size="sm", scale=0, min_width=100, elem_id="cq-clear")
                            copy = gr.Button("Copy answer", size="sm", scale=0, min_width=110, elem_id="cq-copy")
                            comment = gr.Textbox(
                                placeholder="Optional feedback comment, then rate the answer with a thumb below it",
                                show_label=False,
                                lines=1,
                                scale=1,
                                container=False,
                                elem_id="cq-comment",
                            )
                        fb_status = gr.Markdown("", elem_id="cq-feedback-status")
                        with gr.Row(elem_id="cq-examples"):
                            examples = [
                                gr.Button(q, size="sm", variant="secondary", elem_classes=["cq-example"])
                                for q in EXAMPLE_QUESTIONS
                            ]
                    with gr.Column(scale=2, min_width=320, elem_id="cq-sources-col"):
                        sources = gr.HTML(panel(render.render_sources_placeholder()), elem_id="cq-sources")

            with gr.Tab("Articles", id="articles"):
                articles_head = gr.Markdown("", elem_id="cq-articles-head")
                role_note = gr.Markdown("", elem_id="cq-role-note")
                # "str" columns render as text, never as Markdown/HTML: titles come from uploaded files.
                table = gr.Dataframe(
                    headers=["Title", "doc_id", "Outlet", "Author", "Date", "Chunks"],
                    datatype=["str", "str", "str", "str", "str", "number"],
                    column_widths=["38%", "22%", "12%", "13%", "9%", "6%"],
                    interactive=False,
                    wrap=True,
                    max_height=420,
                    elem_id="cq-articles",
                )
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        files = gr.File(
                            label=f"Add articles (.txt, .md, .html, .pdf; up to {MAX_UPLOAD_FILES} files, "
                            f"{MAX_UPLOAD_BYTES // 2**20} MB each)",
                            file_count="multiple",
                            file_types=list(UPLOAD_SUFFIXES),
                            type="filepath",
                            elem_id="cq-upload",
                        )
                        add = gr.Button("Add to index", variant="primary", elem_id="cq-add")
                        articles_status = gr.Markdown("", elem_id="cq-articles-status")
                    with gr.Column(scale=2):
                        # choices are filled per session; the handler checks the doc_id itself
                        to_delete = gr.Dropdown(
                            label="Delete an article", choices=[], allow_custom_value=True, elem_id="cq-delete-choice"
                        )
                        delete = gr.Button("Delete", variant="stop", elem_id="cq-delete")

            with gr.Tab("Settings", id="settings"):
                g = ui.settings.generator
                names = endpoints.endpoint_names(ui.settings)
                first = endpoints.DEFAULT_NAME if endpoints.DEFAULT_NAME in names else endpoints.EXTRACTIVE
                start_name = first if g.resolved_backend() == "openai" else endpoints.EXTRACTIVE
                allowed = bool(ui.settings.ui.allowed_base_urls)
                gr.Markdown(
                    "Choose how answers are written. These settings apply to this browser session only; the "
                    "index and other users' sessions stay as they are.",
                    elem_id="cq-settings-intro",
                )
                with gr.Row(equal_height=False):
                    with gr.Column():
                        endpoint = gr.Dropdown(
                            names,
                            value=start_name,
                            label="Generator",
                            info="extractive: offline, quotes the best sentences. The others are the "
                            "OpenAI-compatible endpoints this server offers.",
                            elem_id="cq-endpoint",
                        )
                        model = gr.Dropdown(
                            endpoints.models_for(ui.settings, start_name),
                            value=g.model if start_name != endpoints.EXTRACTIVE else None,
                            label="Model",
                            allow_custom_value=allowed,  # a free model name only for a typed (allowed) URL
                            elem_id="cq-model",
                        )
                        base_url = gr.Textbox(
                            value="",
                            label="Base URL (for 'other endpoint'; must be on the server's allowed list)",
                            placeholder="http://127.0.0.1:8080/v1",
                            visible=allowed,
                            elem_id="cq-base-url",
                        )
                        api_key = gr.Textbox(
                            value="",
                            label="Your API key (optional; sent only to the endpoint chosen above)",
                            type="password",
                            placeholder=_key_placeholder(None),
                            elem_id="cq-api-key",
                        )
                        top_k = gr.Slider(
                            1, 20, value=ui.settings.retrieval.top_k, step=1, label="Top-k chunks", elem_id="cq-top-k"
                        )
                        apply = gr.Button("Apply", variant="primary", elem_id="cq-apply")
                        settings_status = gr.Markdown("", elem_id="cq-settings-status")
                    with gr.Column():
                        gr.Markdown("#### Current settings")
                        current = gr.Markdown(elem_id="cq-current-settings")

        # -- events ------------------------------------------------------------------------------------------
        chat_outputs = [chat, sources, conv, box, copy_box]
        # Questions of different sessions run side by side (each reads one snapshot of the index); indexing and
        # deletion have their own queue of one, so they never hold a question back.
        ask: dict[str, Any] = dict(
            fn=ui.respond,
            inputs=[box, conv, prefs],
            outputs=chat_outputs,
            concurrency_id="answer",
            concurrency_limit=ui.settings.ui.max_concurrent_questions,
        )
        box.submit(**ask)
        send.click(**ask)
        for b in examples:
            b.click(lambda q: q, inputs=[b], outputs=[box], queue=False).then(**ask)
        clear.click(ui.clear, outputs=chat_outputs, queue=False).then(lambda: "", outputs=[fb_status], queue=False)
        chat.clear(ui.clear, outputs=chat_outputs, queue=False)  # the chat's own trash icon
        copy.click(None, inputs=[copy_box], js=COPY_JS).then(
            lambda t: "Answer and sources copied." if t else "Nothing to copy yet.",
            inputs=[copy_box],
            outputs=[fb_status],
            queue=False,
        )

        def on_like(c: Conversation, text: str, data: gr.LikeData) -> tuple[str, str]:
            idx = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            return ui.feedback(c, "up" if data.liked else "down", text, message_index=int(idx)), ""

        # Gradio finds the LikeData parameter through typing.get_type_hints, which cannot see the lazily
        # imported ``gr`` behind this module's string annotations: give it the real class.
        on_like.__annotations__ = {"c": Conversation, "text": str, "data": gr.LikeData, "return": tuple}

        def on_select(c: Conversation, data: gr.SelectData) -> str:
            idx = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            return ui.sources_for_message(c, int(idx))

        on_select.__annotations__ = {"c": Conversation, "data": gr.SelectData, "return": str}
        # Clicking an answer (or one of its markers) shows that answer's sources.
        chat.select(on_select, inputs=[conv], outputs=[sources], queue=False)
        chat.like(on_like, inputs=[conv, comment], outputs=[fb_status, comment], queue=False)

        def refresh() -> tuple[Any, Any, str]:
            return ui.article_rows(), gr.update(choices=ui.doc_ids(), value=None), ui.articles_heading()

        def do_add(
            paths: list[str] | None,
            request: gr.Request,
            progress: gr.Progress = gr.Progress(),  # noqa: B008
        ) -> tuple[Any, ...]:
            status = ui.add_uploads(paths, progress=lambda msg: progress((0, None), desc=msg), user=_user(request))
            return (status, *refresh(), None)

        def do_delete(doc_id: str | None, request: gr.Request) -> tuple[Any, ...]:
            return (ui.remove(doc_id, user=_user(request)), *refresh())

        def on_load(request: gr.Request) -> tuple[Any, ...]:
            admin = ui.is_admin(_user(request))
            editable = gr.update(interactive=admin)
            return (*refresh(), ui.role_note(_user(request)), editable, editable, editable, editable)

        # Gradio finds gr.Request parameters through their annotations (see on_like above).
        do_add.__annotations__ = {"paths": Any, "request": gr.Request, "progress": gr.Progress, "return": tuple}
        do_delete.__annotations__ = {"doc_id": Any, "request": gr.Request, "return": tuple}
        on_load.__annotations__ = {"request": gr.Request, "return": tuple}

        article_outputs = [table, to_delete, articles_head]
        index_queue: dict[str, Any] = dict(concurrency_id="index", concurrency_limit=1)
        add.click(do_add, inputs=[files], outputs=[articles_status, *article_outputs, files], **index_queue)
        delete.click(
            do_delete,
            inputs=[to_delete],
            outputs=[articles_status, *article_outputs],
            js="(d) => (d && confirm('Delete ' + d + ' from the index?')) ? d : null",
            **index_queue,
        )

        endpoint.change(
            lambda name: gr.update(choices=endpoints.models_for(ui.settings, name), value=None),
            inputs=[endpoint],
            outputs=[model],
            queue=False,
        )
        apply.click(
            ui.apply_settings,
            inputs=[endpoint, base_url, model, api_key, top_k, prefs],
            outputs=[prefs, settings_status, current],
            concurrency_limit=None,
        ).then(
            # the key never travels back to the page: clear the field, say whether one is set
            lambda p: gr.update(value="", placeholder=_key_placeholder(p)),
            inputs=[prefs],
            outputs=[api_key],
            queue=False,
        )

        demo.load(
            on_load,
            outputs=[*article_outputs, role_note, files, add, to_delete, delete],
            concurrency_limit=None,
        ).then(ui.describe_settings, inputs=[prefs], outputs=[current], concurrency_limit=None)
    return demo


def _key_placeholder(prefs: Preferences | None) -> str:
    """The key field's hint: whether this session applied a key of its own (the server's keys are never hinted)."""
    own = prefs is not None and prefs.endpoint == endpoints.CUSTOM and prefs.generator and prefs.generator.api_key
    return "your key is set for this URL (leave empty to keep it)" if own else "not set (the server's key is used)"


def _theme() -> Any:
    import gradio as gr

    # System fonts: the default theme loads Google Fonts from the browser, a network call we don't make.
    fonts = (
        "ui-sans-serif",
        "system-ui",
        "-apple-system",
        "Segoe UI",
        "Roboto",
        "Helvetica Neue",
        "Arial",
        "sans-serif",
    )
    mono = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=fonts, font_mono=mono)


def launch_kwargs() -> dict[str, Any]:
    """Theme, CSS, head script and upload limit the app is launched with (Gradio 6 takes them in launch)."""
    return {
        "theme": _theme(),
        "css": render.STYLESHEET,
        "head": render.HEAD_SCRIPT,
        "max_file_size": MAX_UPLOAD_BYTES,
        "footer_links": [],
        # Gradio's run history keeps questions and answers in the browser; citeqa keeps nothing it wasn't asked to.
        "run_history": False,
    }


def _warm_up(qa: QA) -> None:
    """Answer one question before serving: the first query pays one-time costs (~1.5 s) a user should not wait for."""
    t = time.perf_counter()
    try:
        qa.answer(EXAMPLE_QUESTIONS[0])
    except QAError as exc:  # a misconfigured generator shows up in the chat, with its message
        logger.warning("warm-up question failed: %s", exc)
    logger.info("warm-up answered in %.0f ms", (time.perf_counter() - t) * 1000)


def launch_app(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | tuple[str, str] | None = None,
    auth_file: Path | None = None,
    share: bool = False,
    block: bool = True,
) -> Any:
    """Build the index if there is none (progress printed), load it, print the URL and serve the app.

    Args:
        settings: resolved settings.
        host: interface to bind; 127.0.0.1 unless told otherwise.
        port: TCP port.
        auth: "user:password" or (user, password) to require a login (that user is the admin); None for none.
        auth_file: a password file (``ui.auth``'s format; default: the ``ui.auth_file`` setting).
        share: Gradio share links (off: citeqa talks to no service the user did not configure).
        block: keep serving until interrupted (False returns the launched Blocks, for embedding).
    """
    # Before Gradio is first imported: its analytics would phone home.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    access = load_access(settings, auth=auth, auth_file=auth_file, host=host)
    index_dir = settings.index_dir()
    if index_dir.exists():
        print(f"citeqa: loading the index at {index_dir}", file=sys.stderr, flush=True)
    else:
        print(
            f"citeqa: no index yet: building one at {index_dir} from the bundled articles (about a minute)",
            file=sys.stderr,
            flush=True,
        )
    qa = QA.ensure(settings, progress=True)  # builds the bundled corpus's index first when there is none
    print(f"citeqa: {len(qa.articles())} articles indexed", file=sys.stderr, flush=True)
    _warm_up(qa)
    demo = create_app(qa, settings, access=access)
    # Every event names its own queue (answers side by side, indexing one at a time); anything else is light.
    demo.queue(default_concurrency_limit=settings.ui.max_concurrent_questions)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            auth=access.gradio_auth(),
            share=share,
            inbrowser=False,
            show_error=False,
            quiet=True,
            prevent_thread_lock=True,
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            enable_monitoring=False,
            **launch_kwargs(),
        )
    except OSError as exc:  # Gradio raises OSError when the port is taken
        raise ConfigError(f"cannot serve on {host}:{port}: {exc}") from None
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    login = f" (login required; {len(access.passwords)} user(s), {len(access.admins)} admin(s))"
    print(f"citeqa: serving on http://{shown_host}:{port}" + (login if access.login_required else ""), flush=True)
    if host not in LOOPBACK_HOSTS:
        print(f"citeqa: listening on {host}: other machines on the network can reach this app", flush=True)
        if not access.login_required:
            print(
                "citeqa: no logins: anyone who reaches it may ask, nobody may add or delete articles "
                "(use --auth-file to name admins)",
                flush=True,
            )
    if block:
        demo.block_thread()
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ui.app [--host H] [--port P] [--auth user:password]``: the same as ``citeqa ui``."""
    from qa import get_settings

    parser = argparse.ArgumentParser(prog="python -m ui.app", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--auth", default=None, help="user:password to require a login")
    parser.add_argument("--auth-file", type=Path, default=None, help="password file (user:password[:admin] lines)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("ui", "qa", "embeddings", "corpus"):  # our progress lines; libraries only when they warn
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        launch_app(get_settings(), host=args.host, port=args.port, auth=args.auth, auth_file=args.auth_file)
    except QAError as exc:
        print(f"citeqa: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
