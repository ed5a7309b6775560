"""The citeqa chat UI (Gradio): the Blocks layout and its launch; streaming answers whose [n] markers link to
highlighted source quotes.

``create_app(qa, settings)`` builds the Blocks without launching them: every event calls a ``ChatUI`` handler
(``ui.handlers``), which tests drive directly. ``launch_app(settings, host=..., port=...)`` is what ``citeqa ui``
calls, the one way to start the UI.

Example::

    from qa import get_settings
    from ui.app import launch_app
    launch_app(get_settings(), host="127.0.0.1", port=7860)

Gradio is imported lazily: ``launch_app`` switches Gradio's analytics off before Gradio is first imported.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.errors import CiteqaError
from evals.cli_base import offline_env
from qa import QA, ConfigError, Settings
from ui import a11y, article_view, conversations, endpoints, render
from ui.auth import LOOPBACK_HOSTS, Access, load_access
from ui.handlers import ChatUI, Conversation, Preferences, QAOrFactory, panel
from ui.progress import steps
from ui.uploads import MAX_UPLOAD_BYTES, MAX_UPLOAD_FILES, UPLOAD_SUFFIXES

if TYPE_CHECKING:
    import gradio as gr

logger = logging.getLogger(__name__)

EXAMPLE_QUESTIONS = (
    "Where did Macron receive Putin in 2017?",
    "What did Hollande say about Daesh in Moscow?",
    "Which French ministers visited Moscow in September 2019?",
    "How did French people view Russia's influence in a 2013 BBC poll?",
    "What message should Hollande take to Putin about sanctions?",
)


# -- the Blocks ----------------------------------------------------------------------------------------------
# An example question goes through the Ask button, so it queues behind an answer being written as a typed one does.
SEND_JS = "() => { const b = document.querySelector('#cq-send'); if (b) b.click(); return []; }"


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
        live = gr.Textbox(visible=False, elem_id="cq-live-op")  # saves the conversation while an answer is written
        gr.HTML(
            "<h1>citeqa</h1><p>Ask about the articles. Every claim cites the exact words it comes from: "
            "click a [n] marker to see the quote in its article.</p>",
            elem_id="cq-header",
        )
        collection = gr.Markdown("", elem_id="cq-collection")  # what is loaded: count, names, dates
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=360):
                        with gr.Row(elem_id="cq-conversations-row", equal_height=True):
                            past = gr.Dropdown(label="Past conversations", choices=[], scale=4, elem_id="cq-past")
                            forget = gr.Button("Delete this chat", size="sm", scale=0, elem_id="cq-forget")
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
                            buttons=[],  # the built-in copy buttons would copy our HTML; each answer has its own Copy
                            feedback_options=("Like", "Dislike"),
                            placeholder="<strong>Ask a question about the articles</strong><br>"
                            "or pick an example below.",
                        )
                        with gr.Row():
                            # The box, Ask and the examples wait for the page-load step (conversations.restore):
                            # a question asked before it ran lost its streamed answer to the late restore.
                            box = gr.Textbox(
                                label="Your question",  # hidden, but what a screen reader announces
                                placeholder=conversations.LOADING_PLACEHOLDER,
                                show_label=False,
                                scale=6,
                                lines=1,
                                max_lines=6,
                                autofocus=True,
                                interactive=False,
                                elem_id="cq-input",
                            )
                            send = gr.Button(
                                "Ask", variant="primary", scale=1, min_width=80, interactive=False, elem_id="cq-send"
                            )
                        with gr.Row(elem_id="cq-actions", equal_height=True):
                            clear = gr.Button("New chat", size="sm", scale=0, min_width=100, elem_id="cq-clear")
                            stop = gr.Button("Stop", variant="stop", size="sm", scale=0, elem_id="cq-stop")
                            regen = gr.Button("Regenerate", size="sm", scale=0, min_width=110, elem_id="cq-regenerate")
                            comment = gr.Textbox(
                                label="Feedback comment (optional)",
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
                                gr.Button(
                                    q, size="sm", variant="secondary", interactive=False, elem_classes=["cq-example"]
                                )
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
                    # fixed widths: on a phone the table scrolls sideways instead of wrapping letter by letter
                    column_widths=["440px", "230px", "150px", "170px", "110px", "84px"],
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
                        gr.Markdown("## Current settings", elem_id="cq-current-title")  # h2: headings in order
                        current = gr.Markdown(elem_id="cq-current-settings")

        # -- events ------------------------------------------------------------------------------------------
        chat_outputs = [chat, sources, conv, box, copy_box]
        # Questions of different sessions run side by side (each reads one snapshot of the index); indexing and
        # deletion have their own queue of one, so they never hold a question back.
        at_box = chat_outputs.index(box)

        def answer(question: str, c: Conversation | None, p: Preferences | None, request: Any) -> Iterator[Any]:
            # The box is emptied once, when the question shows: what is typed meanwhile is the next (queued) question.
            # The conversation is saved in the browser with the question as soon as it shows (ui.conversations).
            for i, (out, op) in enumerate(conversations.live_saves(ui.respond(question, c, p), _user(request) or "")):
                out = out if i == 0 else (*out[:at_box], gr.skip(), *out[at_box + 1 :])
                yield (*out, op if op is not None else gr.skip())

        answer.__annotations__ = {"question": str, "c": Any, "p": Any, "request": gr.Request, "return": Iterator}
        ask: dict[str, Any] = dict(
            fn=answer,
            api_name="respond",  # the API name clients (gradio_client) call, whatever the handler is named
            inputs=[box, conv, prefs],
            outputs=[*chat_outputs, live],
            concurrency_id="answer",
            concurrency_limit=ui.settings.ui.max_concurrent_questions,
        )
        # Enter and Ask are one event: a question sent while an answer streams runs when it ends
        # (always_last; the page shows it as queued, ui.a11y), instead of being dropped.
        asks = [gr.on([box.submit, send.click], trigger_mode="always_last", **ask)]  # Stop cancels these
        # A new question clears the line under the chat ("Thanks: …"; the page clears its own "copied" line).
        gr.on([box.submit, send.click, *(b.click for b in examples)], lambda: "", outputs=[fb_status], queue=False)
        for b in examples:  # the example fills the box, then is sent as Ask sends it (queued behind an answer)
            b.click(lambda q: q, inputs=[b], outputs=[box], queue=False).then(None, js=SEND_JS, queue=False)
        live.change(None, inputs=[live], js=conversations.APPLY_JS, queue=False)
        clear.click(ui.clear, outputs=chat_outputs, queue=False).then(lambda: "", outputs=[fb_status], queue=False)
        chat.clear(ui.clear, outputs=chat_outputs, queue=False)  # the chat's own trash icon

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

        def do_add(paths: list[str] | None, request: gr.Request) -> Iterator[tuple[Any, ...]]:
            user, n = _user(request), len(paths or [])
            work = lambda progress: ui.add_uploads(paths, progress=progress, user=user)  # noqa: E731
            for line, done in steps(work, first=f"Checking {n} file(s)"):
                if not done:  # the table, upload box and delete list keep their content meanwhile
                    yield (line, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.update(interactive=False))
                else:
                    yield (line, *refresh(), None, gr.update(interactive=True))

        def do_delete(doc_id: str | None, request: gr.Request) -> tuple[Any, ...]:
            return (ui.remove(doc_id, user=_user(request)), *refresh())

        def on_load(request: gr.Request) -> tuple[Any, ...]:
            admin = ui.is_admin(_user(request))
            editable = gr.update(interactive=admin)
            return (*refresh(), ui.role_note(_user(request)), editable, editable, editable, editable)

        # Gradio finds gr.Request parameters through their annotations (see on_like above).
        do_add.__annotations__ = {"paths": Any, "request": gr.Request, "return": Iterator}
        do_delete.__annotations__ = {"doc_id": Any, "request": gr.Request, "return": tuple}
        on_load.__annotations__ = {"request": gr.Request, "return": tuple}

        article_outputs = [table, to_delete, articles_head]
        index_queue: dict[str, Any] = dict(concurrency_id="index", concurrency_limit=1)
        # show_progress="hidden": Gradio's spinner would cover every output; the status line says what runs.
        add.click(
            do_add,
            inputs=[files],
            outputs=[articles_status, *article_outputs, files, add],
            show_progress="hidden",
            **index_queue,
        )
        delete.click(
            do_delete,
            inputs=[to_delete],
            outputs=[articles_status, *article_outputs],
            js="(d) => (d && confirm('Delete ' + d + ' from the index?')) ? d : null",
            show_progress="hidden",
            **index_queue,
        )

        def shown_choice(p: Preferences | None) -> tuple[Any, Any, Any]:
            name = p.endpoint if p is not None and p.endpoint else start_name
            models = endpoints.models_for(ui.settings, name)
            gen = p.generator if p is not None and p.generator is not None else g
            value = gen.model if name != endpoints.EXTRACTIVE else None
            k = p.top_k if p is not None and p.top_k is not None else ui.settings.retrieval.top_k
            return gr.update(value=name), gr.update(choices=models, value=value), gr.update(value=k)

        def models_of(name: str) -> Any:  # the endpoint's first model shows as chosen: it is what Apply uses
            models = endpoints.models_for(ui.settings, name)
            return gr.update(choices=models, value=models[0] if models else None)

        endpoint.input(
            models_of,
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
            # the fields show what "Current settings" says is in effect (after "Not applied", the previous choice)
            lambda p: shown_choice(p),
            inputs=[prefs],
            outputs=[endpoint, model, top_k],
            queue=False,
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
        parts: dict[str, Any] = dict(chat=chat, sources=sources, conv=conv, box=box, copy_box=copy_box, prefs=prefs)
        parts.update(past=past, stop=stop, forget=forget, clear=clear, regenerate=regen, demo=demo)
        parts.update(collection=collection, articles_head=articles_head, live=live, send=send, examples=examples)
        conversations.wire_events(ui, parts, asks)
    return demo


def _key_placeholder(prefs: Preferences | None) -> str:
    """The key field's hint: whether this session applied a key of its own (the server's keys are never hinted)."""
    own = prefs is not None and prefs.endpoint == endpoints.CUSTOM and prefs.generator and prefs.generator.api_key
    return "your key is set for this URL (leave empty to keep it)" if own else "not set (the server's key is used)"


def launch_kwargs() -> dict[str, Any]:
    """Theme, CSS, head script and upload limit the app is launched with (Gradio 6 takes them in launch)."""
    return {
        "theme": a11y.theme(),
        "css": render.STYLESHEET + a11y.STYLESHEET + article_view.STYLESHEET,
        "head": render.HEAD_SCRIPT + a11y.HEAD_SCRIPT + article_view.SCRIPT,
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
    except CiteqaError as exc:  # a misconfigured generator shows up in the chat, with its message
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
    offline_env()  # before Gradio is first imported: its analytics would phone home
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
    print(f"citeqa: {len(qa.library.articles())} articles indexed", file=sys.stderr, flush=True)
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
