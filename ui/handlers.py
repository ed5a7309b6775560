"""The chat UI's session handlers: what every Gradio event does, as plain methods (no Gradio import).

``ChatUI`` holds the app's QA and settings; ``Conversation`` and ``Preferences`` are one browser session's state.
``ui.app`` wires these methods to the Blocks; tests call them directly, without a browser.

Example::

    chat = ChatUI(QA.ensure(settings), settings)
    *_, (messages, sources, conv, _, _) = chat.respond("Where did Macron receive Putin in 2017?", None)
"""

from __future__ import annotations

import html
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import CiteqaError
from evals.feedback import Turn, Verdict, feedback_path, record_feedback
from qa import (
    QA,
    Answer,
    AuthError,
    CitedClaim,
    ConfigError,
    GeneratorError,
    InvalidQuestionError,
    ModelNotFoundError,
    Retrieved,
    Settings,
)
from qa.config import GeneratorSettings, data_dir
from ui import article_view, claim_marks, endpoints, render
from ui.auth import Access
from ui.uploads import add_uploads

logger = logging.getLogger(__name__)

STREAM_MIN_INTERVAL_S = 0.05  # coalesce token deltas: ~20 browser updates a second is smooth and cheap

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
    cid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # names it in the browser's saved list
    pending: Pending | None = None  # the answer being written, if any


@dataclass
class Pending:
    """The answer being written: what Stop keeps of it (``ui.conversations.stop``)."""

    question: str
    history: list[dict[str, str]]
    turn: int
    parts: list[str] = field(default_factory=list)
    hits: list[Any] | None = None
    claims: list[CitedClaim] = field(default_factory=list)  # the claims checked so far, with their quotes
    stopped: bool = False


@dataclass
class Preferences:
    """The session's Settings-tab choices; None means the app's settings.

    ``endpoint`` is the name of the chosen endpoint (see ``ui.endpoints``); ``generator`` its resolved settings.
    """

    generator: GeneratorSettings | None = None
    top_k: int | None = None
    endpoint: str | None = None


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
        run = conv.pending = Pending(question, history, turn)
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
            for item in self.qa_for(prefs).events(question, history):
                if run.stopped:  # Stop has kept the partial answer; this run no longer writes to the conversation
                    return
                if isinstance(item, Answer):
                    final = item
                    break
                if isinstance(item, (Retrieved, CitedClaim)):  # the sources show while the answer is written
                    if isinstance(item, Retrieved):
                        run.hits = list(item.hits)
                    else:  # a sentence is complete: show all of its text too (deltas are shown at most 20 a second)
                        run.claims = [*run.claims, item]
                        self._set_last(conv, self._streaming_html("".join(parts), run.claims, turn))
                    searching = panel(article_view.render_retrieved(run.hits or [], turn=turn, claims=run.claims))
                    yield conv.messages, searching, conv, "", conv.copy_text
                    continue
                if not isinstance(item, str):  # an event this UI does not know
                    continue
                parts.append(item)
                run.parts = parts
                now = time.perf_counter()
                if now - last_yield >= STREAM_MIN_INTERVAL_S:
                    last_yield = now
                    self._set_last(conv, self._streaming_html("".join(parts), run.claims, turn))
                    yield conv.messages, searching, conv, "", conv.copy_text
        except InvalidQuestionError as exc:
            error = f"Please rephrase the question: {exc}."
        except GeneratorError as exc:
            error = _generator_error(exc)
            logger.warning("answering failed: %s", exc)  # the full message, server body included: the log only
        except CiteqaError as exc:  # qa's errors and the layers' below (e.g. a damaged index)
            error = str(exc) or type(exc).__name__
            logger.warning("answering failed: %s", error)
        except Exception as exc:  # the app must keep serving; the details go to the server log
            logger.exception("unexpected error while answering")
            error = f"An unexpected error occurred ({type(exc).__name__}). The details are in the server log."
        if run.stopped:
            return
        conv.pending = None
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
    def _streaming_html(text: str, checked: list[CitedClaim], turn: int) -> str:
        """The answer being written, with a ⚠ after each claim already checked and found unsupported."""
        marks = claim_marks.streaming_marks(text, checked)
        return render.render_answer(text, None, streaming=True, turn=turn, claims=marks or None)

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
            claims=getattr(a, "claims", None),  # answers saved before claims existed have none
            disagreement=getattr(a, "disagreement", None),
            turn=turn,
            copy_text=render.plain_answer(a.text, a.citations),
        )

    def sources_html(self, a: Answer, *, turn: int = 1, latest: bool = True) -> str:
        """The sources panel for answer ``turn``: its citations in context, or the closest passages of a refusal."""
        qa = self.qa
        doc_ids = {c.doc_id for c in a.citations} | {h.doc_id for h in a.chunks[:3]}
        articles: dict[str, Any] = {}
        metas: dict[str, render.SourceMeta] = {}
        for doc_id in doc_ids:
            try:
                art = qa.library.article(doc_id)
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
            [a.title, a.doc_id, a.outlet or "", a.author or "", a.date or "", a.n_chunks]
            for a in self.qa.library.articles()
        ]

    def articles_heading(self) -> str:
        infos = self.qa.library.articles()
        chunks = sum(a.n_chunks for a in infos)
        return f"**{len(infos)} article{'s' if len(infos) != 1 else ''} indexed** ({chunks} chunks)"

    def doc_ids(self) -> list[str]:
        return [a.doc_id for a in self.qa.library.articles()]

    def is_admin(self, user: str | None) -> bool:
        """Whether ``user`` (``gr.Request.username``; None without logins) may add and delete articles."""
        return self.access.is_admin(user)

    def _hide_paths(self, text: str, *extra: Path) -> str:
        """``text`` without the server's folders (index, data dir, uploads): users see names, not paths."""
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

        Only an admin may add articles (``user`` is the logged-in user). The upload policy (``ui.uploads``) checks
        the files; the library of the shared index copies each once into its uploads folder, under its safe name,
        and indexes them incrementally: the cached session variants see them too.
        """
        if not self.is_admin(user):
            return NOT_ADMIN.format(action="add articles")
        paths = [p for p in (paths or []) if p]
        if not paths:
            return "Choose one or more .txt, .md, .html or .pdf files first."
        return add_uploads(self.qa.library, paths, progress=progress, hide_paths=self._hide_paths)

    def remove(self, doc_id: str | None, *, user: str | None = None) -> str:
        """Delete an article from the index (admins only); a Markdown status message."""
        if not self.is_admin(user):
            return NOT_ADMIN.format(action="delete articles")
        if not doc_id:
            return "Choose an article to delete."
        try:
            report = self.qa.library.remove_article(doc_id)
        except KeyError:
            return f"`{html.escape(doc_id)}` is not in the index."
        except CiteqaError as exc:
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
