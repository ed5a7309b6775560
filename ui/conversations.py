"""Conversations beyond one answer: Stop and Regenerate, and the list of past conversations the browser keeps.

The page keeps its conversations in the browser's localStorage under ``STORAGE_KEY``: a JSON ``store`` with one
list per user name when logins are on ("" without logins); nothing is kept on the server. A record holds each
question and what the UI needs to show its answer again (text, citations with their offsets, the closest passages
of a refusal); the answers' quotes are checked against the index again when shown.

Every event reads the store afresh from localStorage (``READ_JS``), and a change goes back as one operation that
the page applies to the then-current store (``APPLY_JS``): two tabs of one browser never overwrite each other's
conversations. (Gradio's ``BrowserState`` reads localStorage once per page load and writes its whole value back,
so the tab saving last would drop the other tab's conversations.)

Example::

    store = save(EMPTY_STORE, "", conv)             # after an answer (what APPLY_JS does with {"save": record})
    [(label, cid)] = listing(store, "")
    again = conversation_from_record(ui, find(store, "", cid))
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from embeddings.types import Hit
from evals.feedback import Turn
from qa import Answer, Citation
from qa.types import ClaimCheck
from ui import article_view, claim_marks, render
from ui.handlers import Conversation, Preferences, _bot, panel

if TYPE_CHECKING:
    from ui.handlers import ChatUI

STORE_VERSION = 1
EMPTY_STORE: dict[str, Any] = {"v": STORE_VERSION, "users": {}}
MAX_CONVERSATIONS = 20  # per user and browser; the oldest go first
MAX_TURNS = 40  # per saved conversation: its latest questions
STORAGE_KEY = "citeqa-conversations"
TITLE_CHARS = 60
LIVE_SAVE_EVERY_S = 2.0  # while an answer is written, its partial text is saved at most this often
INTERRUPTED = "interrupted"  # the error of a turn saved while its answer was written, that never got its end

# The question box says it is loading until the page-load step (``restore``) has run and made it usable.
LOADING_PLACEHOLDER = "Loading\u2026"  # short: it fits the box at phone width
QUESTION_PLACEHOLDER = "Ask about the articles\u2026"

ChatState = tuple[list[dict[str, str]], str, Conversation, str]  # chat, sources panel, conversation, copy text

logger = logging.getLogger(__name__)


# -- Stop and Regenerate ---------------------------------------------------------------------------------
def _unfinished_html(partial: str, turn: int, *, stopped: bool, error: str | None) -> str:
    """The message of an answer that did not finish: its partial text, marked stopped or interrupted, or followed
    by the error."""
    if stopped:
        return render.render_answer(partial, None, turn=turn, stopped=True)
    if error == INTERRUPTED:  # the page was closed or reloaded while it was written
        return render.render_answer(partial, None, turn=turn) + (
            '<div class="cq-stopped-note cq-interrupted-note">Interrupted: the page was closed or reloaded before '
            "this answer ended; it is incomplete (Regenerate asks again).</div>"
        )
    shown = render.render_answer(partial, None, turn=turn) if partial else ""
    return shown + render.render_error(error or "")


def stop(ui: ChatUI, conv: Conversation | None) -> ChatState:
    """Stop the answer being written: its partial text stays, marked as stopped (the run writes nothing more).

    Without an answer in progress the conversation is returned as it is.
    """
    conv = conv if conv is not None else Conversation()
    run = conv.pending
    if run is None:
        return conv.messages, ui._sources_for_last(conv), conv, conv.copy_text
    run.stopped = True
    conv.pending = None
    partial = "".join(run.parts)
    conv.messages = [
        *conv.messages[:-1],
        # the claims already checked keep their ⚠ marks
        {"role": "assistant", "content": _bot(render.render_answer(
            partial, None, turn=run.turn, stopped=True,
            claims=claim_marks.streaming_marks(partial, run.claims) or None))},
    ]
    conv.turns = [*conv.turns, Turn(question=run.question, history=run.history, answer=partial, error="stopped")]
    conv.answers = [*conv.answers, None]
    if run.hits:
        sources = panel(article_view.render_retrieved(run.hits, turn=run.turn, writing=False, claims=run.claims))
    else:
        sources = panel(render.render_sources_placeholder("No sources: the answer was stopped."))
    return conv.messages, sources, conv, conv.copy_text


def live_saves(outputs: Iterator[tuple[Any, ...]], user: str) -> Iterator[tuple[tuple[Any, ...], str | None]]:
    """``ChatUI.respond``'s outputs, each paired with a store operation for the page (``APPLY_JS``) or None.

    While an answer is written the conversation is saved with its question as soon as the question shows, with its
    first words, then with the partial answer (marked ``INTERRUPTED``) at most every ``LIVE_SAVE_EVERY_S`` seconds:
    a reload mid-answer loses nothing. The save once the answer has ended is the event's own (``wire_events``).
    """
    last: float | None = None
    had_text = False
    for out in outputs:
        conv, op = out[2], None
        now = time.monotonic()
        if isinstance(conv, Conversation) and conv.pending is not None:
            first_text = not had_text and bool(conv.pending.parts)
            had_text = had_text or first_text
            if last is None or first_text or now - last >= LIVE_SAVE_EVERY_S:
                last = now
                op = json.dumps({"user": user, "save": to_record(conv)})
        yield out, op


def regenerate(
    ui: ChatUI, conv: Conversation | None, prefs: Preferences | None = None
) -> Iterator[tuple[list[dict[str, str]], str, Conversation, str, str]]:
    """Ask the last question again, its new answer replacing the last one (``ChatUI.respond``'s outputs).

    Nothing happens while an answer is being written or before the first question.
    """
    conv = conv if conv is not None else Conversation()
    if not conv.turns or conv.pending is not None:
        yield conv.messages, ui._sources_for_last(conv), conv, "", conv.copy_text
        return
    last = conv.turns[-1]
    conv.messages = conv.messages[:-2]
    conv.turns = conv.turns[:-1]
    conv.answers = conv.answers[:-1]
    conv.history = list(last.history)
    conv.copy_text = ""
    yield from ui.respond(last.question, conv, prefs)


# -- records -------------------------------------------------------------------------------------------
def _answer_record(a: Answer) -> dict[str, Any]:
    keep_chunks = a.refused or not a.citations  # the closest passages show only then
    return {
        "text": a.text,
        "citations": [[c.n, c.doc_id, c.title, c.start, c.end, c.quote, c.supported] for c in a.citations],
        "chunks": [[h.doc_id, h.start, h.end, h.text, h.score, h.title] for h in a.chunks[:3]] if keep_chunks else [],
        "doc_ids": [h.doc_id for h in a.chunks[:3]],
        "refused": a.refused,
        "query": a.query,
        "backend": a.backend,
        "question": a.question,
        "unsupported": a.unsupported,
        # the claims' verdicts and a refusal the evidence overruled: a reopened answer keeps its ⚠ marks and notice
        "claims": [[c.text, c.start, c.end, list(c.citations), c.supported, c.corrected] for c in a.claims],
        "disagreement": a.disagreement,
    }


def _answer_from(rec: dict[str, Any]) -> Answer:
    cites = [
        Citation(int(n), str(d), str(t), int(s), int(e), str(q), sup) for n, d, t, s, e, q, sup in rec["citations"]
    ]
    chunks = [Hit(str(d), int(s), int(e), str(t), float(sc), str(ti)) for d, s, e, t, sc, ti in rec["chunks"]]
    return Answer(
        text=str(rec["text"]),
        citations=cites,
        chunks=chunks,
        refused=bool(rec["refused"]),
        query=str(rec["query"]),
        backend=str(rec.get("backend", "")),
        question=str(rec.get("question", "")),
        unsupported=int(rec.get("unsupported", 0)),
        claims=[ClaimCheck(str(t), int(s), int(e), tuple(int(n) for n in ns), bool(ok), bool(fixed))
                for t, s, e, ns, ok, fixed in rec.get("claims") or []],
        disagreement=str(rec["disagreement"]) if rec.get("disagreement") else None,
    )


def to_record(conv: Conversation) -> dict[str, Any]:
    """A conversation as the browser stores it (JSON-able): its latest ``MAX_TURNS`` questions. A question whose
    answer is being written is saved with the text so far, marked ``INTERRUPTED`` until the answer's end is saved."""
    turns = []
    for t, a in list(zip(conv.turns, conv.answers, strict=False))[-MAX_TURNS:]:
        turns.append(
            {
                "question": t.question,
                "answer": _answer_record(a) if a is not None else None,
                "partial": t.answer if a is None else "",
                "error": t.error,
                "answer_id": t.answer_id,
            }
        )
    run = conv.pending
    if run is not None and not run.stopped:
        partial = "".join(run.parts)
        turns.append({"question": run.question, "answer": None, "partial": partial, "error": INTERRUPTED})
        turns = turns[-MAX_TURNS:]
    first = conv.turns[0].question if conv.turns else run.question if run is not None else ""
    title = " ".join(first.split())
    title = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "\u2026"
    return {"id": conv.cid, "title": title, "updated": time.time(), "turns": turns}


def conversation_from_record(ui: ChatUI, rec: dict[str, Any]) -> Conversation:
    """The conversation a stored record describes, as the chat shows it. Turns that cannot be read are skipped
    (the record comes from the browser)."""
    conv = Conversation(cid=str(rec.get("id") or Conversation().cid))
    for t in _turns(rec):
        try:
            question = str(t["question"])
            answer = _answer_from(t["answer"]) if t.get("answer") else None
            partial, error = str(t.get("partial") or ""), t.get("error")
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        n = len(conv.turns) + 1
        history = list(conv.history)
        if answer is not None:
            content = ui._answer_html(answer, n)
            turn = Turn.from_answer(question, history, answer)
            conv.history = [
                *history,
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer.text},
            ]
            conv.copy_text = render.plain_answer(answer.text, answer.citations)
        else:
            stopped = error == "stopped"
            content = _unfinished_html(partial, n, stopped=stopped, error=str(error or "No answer."))
            turn = Turn(question=question, history=history, answer=partial, error=str(error) if error else None)
        if isinstance(t.get("answer_id"), str):
            turn = dataclasses.replace(turn, answer_id=t["answer_id"])  # a vote on it replaces the earlier one
        conv.messages = [
            *conv.messages,
            {"role": "user", "content": render.render_user_message(question)},
            {"role": "assistant", "content": _bot(content)},
        ]
        conv.turns = [*conv.turns, turn]
        conv.answers = [*conv.answers, answer]
    return conv


# -- the store (one browser's localStorage) ------------------------------------------------------------
def parse_store(text: Any) -> Any:
    """The store from localStorage's text (anything unreadable is an empty store)."""
    try:
        return json.loads(text) if isinstance(text, str) and text else EMPTY_STORE
    except ValueError:
        return EMPTY_STORE


def _records(store: Any, user: str | None) -> list[dict[str, Any]]:
    users = store.get("users") if isinstance(store, dict) and store.get("v") == STORE_VERSION else None
    items = users.get(user or "") if isinstance(users, dict) else None
    return [r for r in items if isinstance(r, dict) and isinstance(r.get("id"), str)] if isinstance(items, list) else []


def _turns(rec: dict[str, Any]) -> list[Any]:
    turns = rec.get("turns")
    return turns if isinstance(turns, list) else []


def _with_records(store: Any, user: str | None, records: list[dict[str, Any]]) -> dict[str, Any]:
    users = dict(store["users"]) if isinstance(store, dict) and isinstance(store.get("users"), dict) else {}
    if store is not None and isinstance(store, dict) and store.get("v") != STORE_VERSION:
        users = {}  # an older or foreign format: start again rather than misread it
    users[user or ""] = records
    return {"v": STORE_VERSION, "users": users}


def save(store: Any, user: str | None, conv: Conversation) -> dict[str, Any]:
    """``store`` with ``conv`` saved first in ``user``'s list (an empty conversation is not saved)."""
    records = [r for r in _records(store, user) if r["id"] != conv.cid]
    if conv.turns or conv.pending is not None:
        records.insert(0, to_record(conv))
    return _with_records(store, user, records[:MAX_CONVERSATIONS])


def remove(store: Any, user: str | None, cid: str) -> dict[str, Any]:
    """``store`` without conversation ``cid`` of ``user``."""
    return _with_records(store, user, [r for r in _records(store, user) if r["id"] != cid])


def find(store: Any, user: str | None, cid: str | None) -> dict[str, Any] | None:
    """``user``'s stored conversation ``cid`` (None when there is none)."""
    return next((r for r in _records(store, user) if r["id"] == cid), None)


def listing(store: Any, user: str | None) -> list[tuple[str, str]]:
    """(label, id) of ``user``'s stored conversations, the latest first: its first question and its length."""
    out = []
    for r in _records(store, user):
        n = len(_turns(r))
        out.append((f"{r.get('title') or '(untitled)'} \u00b7 {n} question{'s' if n != 1 else ''}", r["id"]))
    return out


def latest(ui: ChatUI, store: Any, user: str | None) -> Conversation:
    """``user``'s most recent stored conversation, or a new one."""
    records = _records(store, user)
    return conversation_from_record(ui, records[0]) if records else Conversation()


def shown(ui: ChatUI, conv: Conversation) -> ChatState:
    """What the chat shows for ``conv``: its messages, the sources of its last answer, its copy text."""
    return conv.messages, ui._sources_for_last(conv), conv, conv.copy_text


# -- the page's events -------------------------------------------------------------------------------------
_GET_JS = (
    "(function () { try { return localStorage.getItem(" + json.dumps(STORAGE_KEY) + ") || ''; }"
    " catch (e) { return ''; } })()"
)


def read_js(n_inputs: int) -> str:
    """The page step of an event whose last input is the store: that input becomes localStorage's current text."""
    if n_inputs == 1:
        return f"() => {_GET_JS}"
    return f"(...args) => {{ args[args.length - 1] = {_GET_JS}; return args; }}"


# An operation {"user", "save": record} or {"user", "remove": id} applied to the store as it is now (another tab may
# have written since this one read it), as ``save``/``remove`` do; when the browser's quota is reached the user's
# oldest conversations go first.
APPLY_JS = (
    "(op) => { if (!op) return [];\n"
    "  var key = " + json.dumps(STORAGE_KEY) + ", max = " + str(MAX_CONVERSATIONS) + ", store = null;\n"
    "  try { op = JSON.parse(op); } catch (e) { return []; }\n"
    "  try { store = JSON.parse(localStorage.getItem(key) || 'null'); } catch (e) { store = null; }\n"
    "  if (!op || typeof op !== 'object') return [];\n"
    "  if (!store || store.v !== " + str(STORE_VERSION) + " || !store.users || typeof store.users !== 'object')\n"
    "    store = {v: " + str(STORE_VERSION) + ", users: {}};\n"
    "  var id = op.save ? op.save.id : op.remove;\n"
    "  var list = (Array.isArray(store.users[op.user]) ? store.users[op.user] : [])\n"
    "    .filter(function (r) { return r && r.id !== id; });\n"
    "  if (op.save) list.unshift(op.save);\n"
    "  list = list.slice(0, max);\n"
    "  for (;;) {\n"
    "    store.users[op.user] = list;\n"
    "    try { localStorage.setItem(key, JSON.stringify(store)); break; }\n"
    "    catch (e) { if (list.length <= 1) break; list = list.slice(0, -1); }\n"
    "  }\n"
    "  return [];\n"
    "}"
)


# Once the box is usable it takes the keyboard, as its autofocus would have at load (it was disabled then), unless
# the user has put the focus somewhere already.
FOCUS_JS = (
    "() => { var tries = 0; (function focus() {\n"
    "  var box = document.querySelector('#cq-input textarea'), now = document.activeElement;\n"
    "  if (now && now !== document.body) return;\n"
    "  if (box && !box.disabled) { box.focus(); return; }\n"
    "  if (++tries < 60) requestAnimationFrame(focus);\n"
    "})(); return []; }"
)


def wire_events(ui: ChatUI, c: dict[str, Any], asks: list[Any]) -> None:
    """Wire Stop, Regenerate, the saved conversations and the collection line into the Blocks being built.

    ``c`` names the components (chat, sources, conv, box, copy_box, prefs, past, stop, regenerate, forget, clear,
    collection, articles_head, demo, live: the hidden box whose store operations the page applies as they come;
    send and examples: the Ask button and the example questions); ``asks`` are the events that write an answer (Stop
    cancels them). Stop and Regenerate show only when they apply (``ui.article_view.SCRIPT`` toggles them in the
    page).

    The box, Ask and the examples start disabled and the page-load step (restore) enables them in the same reply
    that puts the stored conversation in the chat: no question can be asked before that reply has reached the page,
    so it can never replace a chat whose answer is being written (a slow server used to let a question stream and
    then wipe it with the conversation restore had read before the question).
    """
    import gradio as gr

    from ui.collection import describe_library

    store = gr.Textbox(visible=False, elem_id="cq-store")  # localStorage's text, read by each event (read_js)
    op = gr.Textbox(visible=False, elem_id="cq-store-op")  # the change for the page to apply (APPLY_JS)

    def user_of(request: Any) -> str:
        return (getattr(request, "username", None) if request is not None else None) or ""

    def choices(st: Any, user: str, value: str | None) -> Any:
        return gr.update(choices=listing(st, user), value=value)

    def save_current(conv: Conversation, text: str, request: gr.Request) -> tuple[str, Any]:
        user = user_of(request)
        if not conv.turns:
            return "", gr.skip()
        change = json.dumps({"user": user, "save": to_record(conv)})
        return change, choices(save(parse_store(text), user, conv), user, conv.cid)

    def restore(now: Conversation | None, text: str, request: gr.Request) -> tuple[Any, ...]:
        st, user = parse_store(text), user_of(request)
        # the box, Ask and the examples become usable with this reply, whatever it shows
        ready = (
            gr.update(interactive=True, placeholder=QUESTION_PLACEHOLDER),
            *(gr.update(interactive=True) for _ in c["examples"]),
            gr.update(interactive=True),
        )
        if now is not None and (now.messages or now.pending is not None):
            # a second guard: a chat this session already shows (a question asked before this step) is never replaced
            return (*(gr.skip() for _ in chat_state), choices(st, user, now.cid if now.turns else None), *ready)
        try:
            conv = latest(ui, st, user)
        except Exception:  # a stored record this version cannot show: a fresh chat, and the box still works
            logger.warning("the stored conversation could not be shown; starting a new one", exc_info=True)
            conv = Conversation()
        return (*shown(ui, conv), choices(st, user, conv.cid if conv.turns else None), *ready)

    def open_saved(cid: str | None, text: str, request: gr.Request) -> ChatState:
        rec = find(parse_store(text), user_of(request), cid)
        return shown(ui, conversation_from_record(ui, rec) if rec else Conversation())

    def forget(conv: Conversation, text: str, request: gr.Request) -> tuple[Any, ...]:
        user = user_of(request)
        change = json.dumps({"user": user, "remove": conv.cid})
        return (change, choices(remove(parse_store(text), user, conv.cid), user, None), *shown(ui, Conversation()))

    # Gradio finds gr.Request parameters through their annotations (this module's are strings).
    for fn in (save_current, restore, open_saved, forget):
        fn.__annotations__ = {**{k: Any for k in fn.__annotations__ if k != "return"}, "request": gr.Request}

    chat_state = [c["chat"], c["sources"], c["conv"], c["copy_box"]]

    def saving(dep: Any) -> None:
        dep.then(save_current, inputs=[c["conv"], store], outputs=[op, c["past"]], js=read_js(2), queue=False).then(
            None, inputs=[op], js=APPLY_JS, queue=False
        )

    def again(conv: Conversation, prefs: Preferences | None, request: gr.Request) -> Iterator[Any]:
        for out, change in live_saves(regenerate(ui, conv, prefs), user_of(request)):
            yield (*out, change if change is not None else gr.skip())  # saved while written, as answers are

    again.__annotations__ = {"conv": Any, "prefs": Any, "request": gr.Request, "return": Iterator}
    regen = c["regenerate"].click(
        again,
        inputs=[c["conv"], c["prefs"]],
        outputs=[c["chat"], c["sources"], c["conv"], c["box"], c["copy_box"], c["live"]],
        concurrency_id="answer",
        concurrency_limit=ui.settings.ui.max_concurrent_questions,
    )
    for dep in (*asks, regen):
        saving(dep)
    saving(
        c["stop"].click(
            lambda conv: stop(ui, conv), inputs=[c["conv"]], outputs=chat_state, cancels=[*asks, regen], queue=False
        )
    )
    c["past"].input(
        open_saved,
        inputs=[c["past"], store],
        outputs=chat_state,
        js=read_js(2),
        cancels=[*asks, regen],
        queue=False,
    )
    c["forget"].click(
        forget, inputs=[c["conv"], store], outputs=[op, c["past"], *chat_state], js=read_js(2), queue=False
    ).then(None, inputs=[op], js=APPLY_JS, queue=False)
    for new_chat in (c["clear"].click, c["chat"].clear):  # "New chat" and the chat's own trash icon
        new_chat(lambda: gr.update(value=None), outputs=[c["past"]], queue=False)
    c["demo"].load(
        restore,
        inputs=[c["conv"], store],
        outputs=[*chat_state, c["past"], c["box"], *c["examples"], c["send"]],
        js=read_js(2),
        queue=False,
        show_progress_on=[*chat_state, c["past"]],
    ).then(None, js=FOCUS_JS, queue=False)
    # The collection line follows the Articles heading, which every change to the index refreshes.
    c["demo"].load(lambda: describe_library(ui.qa.library), outputs=[c["collection"]], queue=False)
    c["articles_head"].change(lambda: describe_library(ui.qa.library), outputs=[c["collection"]], queue=False)
