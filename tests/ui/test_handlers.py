"""The chat UI's handlers, driven without launching Gradio (a FakeQA stands in for the index and models)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from evals.feedback import feedback_path, read_feedback
from qa import ConfigError, get_settings
from qa.config import data_dir
from tests.ui.conftest import CRITIC, QUOTE, FakeQA
from ui.app import create_app, launch_kwargs
from ui.auth import parse_auth
from ui.handlers import ChatUI, Conversation, Preferences
from ui.render import NOT_IN_ARTICLES
from ui.uploads import MAX_UPLOAD_BYTES, check_uploads, sanitize_filename

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'


@pytest.fixture
def ui(fake_qa: FakeQA, tmp_path: Path) -> ChatUI:
    return ChatUI(fake_qa, fake_qa.settings, feedback_file=tmp_path / "feedback.jsonl")  # type: ignore[arg-type]


def _ask(ui: ChatUI, question: str, conv: Conversation | None = None, prefs: Preferences | None = None):  # noqa: ANN202
    steps = list(ui.respond(question, conv, prefs))
    return steps, steps[-1]


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


# -- chat ------------------------------------------------------------------------------------------------
def test_answer_streams_then_cites(ui: ChatUI) -> None:
    steps, (messages, sources, conv, box, copy_text) = _ask(ui, "Where did Macron receive Putin in 2017?")
    first_messages = steps[0][0]
    assert [m["role"] for m in first_messages] == ["user", "assistant"]
    assert "cq-cursor" in first_messages[1]["content"]  # the question shows at once, with a typing cursor
    assert "Searching" in steps[0][1]
    assert len(steps) >= 3  # question, at least one delta, final
    answer_html = messages[-1]["content"]
    assert 'href="#cq-src-1-1"' in answer_html and "cq-cursor" not in answer_html
    assert "cq-cite-unsupported" in answer_html  # citation 2 failed the support check
    assert re.search(r'<mark class="cq-quote">[^<]*' + re.escape(QUOTE[:30]), sources)
    assert "Tatiana Stanovaya" in sources and "Carnegie" in sources and "2017-05-30" in sources
    assert box == ""
    assert conv.history == [
        {"role": "user", "content": "Where did Macron receive Putin in 2017?"},
        {"role": "assistant", "content": "Macron received Putin at Versailles. [1] Unchecked claim. [2]"},
    ]
    assert copy_text.startswith("Macron received Putin") and "[1] Macron hosts Putin at Versailles" in copy_text


def test_follow_up_passes_plain_history_and_shows_searched_for(ui: ChatUI, fake_qa: FakeQA) -> None:
    _, (_, _, conv, _, _) = _ask(ui, "Where did Macron receive Putin in 2017?")
    _, (messages, sources, conv, _, _) = _ask(ui, "What did he criticise there?", conv)
    question, history = fake_qa.streamed[-1]
    assert question == "What did he criticise there?"
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert all("<" not in m["content"] for m in history)  # QA sees plain text, never our HTML
    assert "Searched for" in messages[-1]["content"]
    assert CRITIC in _visible(sources)
    assert len(messages) == 4 and len(conv.turns) == 2


def test_each_answer_links_to_its_own_source_cards(ui: ChatUI) -> None:
    _, (_, _, conv, _, _) = _ask(ui, "Where did Macron receive Putin in 2017?")
    _, (messages, sources, conv, _, _) = _ask(ui, "What did he criticise there?", conv)
    assert 'href="#cq-src-1-1"' in messages[1]["content"] and 'href="#cq-src-2-1"' in messages[3]["content"]
    assert 'id="cq-src-2-1"' in sources and 'id="cq-src-1-1"' not in sources
    older = ui.sources_for_message(conv, 1)  # a click on the first answer
    assert 'id="cq-src-1-1"' in older and "earlier answer" in older and QUOTE[:30] in older
    assert "earlier answer" not in ui.sources_for_message(conv, 3)
    assert "appear here" in ui.sources_for_message(Conversation(), 0)


def test_refusal_says_not_in_the_articles_and_shows_closest_passages(ui: ChatUI) -> None:
    _, (messages, sources, conv, _, _) = _ask(ui, "What is the capital of Australia?")
    assert NOT_IN_ARTICLES in messages[-1]["content"]
    assert NOT_IN_ARTICLES in sources and "closest passages" in sources and "cq-passage" in sources
    assert conv.turns[-1].refused


def test_generator_failure_is_a_readable_message_and_the_chat_goes_on(ui: ChatUI) -> None:
    _, (messages, sources, conv, _, _) = _ask(ui, "please fail now")
    last = messages[-1]["content"]
    assert "Could not answer" in last and "could not be reached" in last and "Traceback" not in last
    assert "127.0.0.1:9" not in last  # the endpoint's own message stays in the server log
    assert "Partial" in last  # what streamed before the failure stays visible
    assert conv.history == []  # a failed turn is not fed back to the model
    assert conv.turns[-1].error and "could not be reached" in conv.turns[-1].error
    _, (messages, _, conv, _, _) = _ask(ui, "Where did Macron receive Putin in 2017?", conv)
    assert 'href="#cq-src-2-1"' in messages[-1]["content"] and len(conv.history) == 2


def test_unexpected_error_hides_details_and_logs_them(ui: ChatUI, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="ui.handlers"):
        _, (messages, _, _, _, _) = _ask(ui, "boom")
    assert "unexpected error" in messages[-1]["content"]
    assert "internal detail" not in messages[-1]["content"]
    assert "internal detail" in caplog.text


def test_invalid_question_asks_to_rephrase(ui: ChatUI) -> None:
    _, (messages, _, _, _, _) = _ask(ui, "bad question")
    assert "rephrase" in messages[-1]["content"]


def test_empty_question_changes_nothing(ui: ChatUI, fake_qa: FakeQA) -> None:
    steps, (messages, _, conv, _, _) = _ask(ui, "   ")
    assert len(steps) == 1 and messages == [] and conv.turns == [] and fake_qa.streamed == []


def test_question_and_article_html_are_escaped(ui: ChatUI, fake_qa: FakeQA) -> None:
    from corpus.types import Article

    fake_qa.articles_by_id = {"x.txt": Article("x.txt", "Title " + XSS, "Zanzibar fact. " + XSS + " more text")}
    _, (messages, sources, _, _, _) = _ask(ui, "Zanzibar " + XSS)
    for html in (messages[0]["content"], messages[1]["content"], sources):
        assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in messages[0]["content"] and "&lt;img src=x onerror=" in sources


def test_clear_starts_a_new_conversation(ui: ChatUI) -> None:
    _ask(ui, "Where did Macron receive Putin in 2017?")
    messages, sources, conv, box, copy_text = ui.clear()
    assert messages == [] and conv.history == [] and copy_text == "" and "appear here" in sources


def test_session_preferences_reach_the_qa(ui: ChatUI, fake_qa: FakeQA) -> None:
    prefs = Preferences(top_k=9)
    assert ui.qa_for(prefs).settings.retrieval.top_k == 9
    assert ui.qa_for(prefs) is ui.qa_for(Preferences(top_k=9))  # cached per distinct choice
    assert ui.qa_for(Preferences()) is fake_qa


def test_factory_is_called_once_on_first_use(fake_qa: FakeQA) -> None:
    calls = []

    def factory() -> FakeQA:
        calls.append(1)
        return fake_qa

    ui = ChatUI(factory, fake_qa.settings)  # type: ignore[arg-type]
    assert calls == []
    ui.qa, ui.qa  # noqa: B018
    assert calls == [1]


# -- feedback ----------------------------------------------------------------------------------------------
def test_feedback_appends_jsonl(ui: ChatUI) -> None:
    _, (_, _, conv, _, _) = _ask(ui, "Where did Macron receive Putin in 2017?")
    _, (_, _, conv, _, _) = _ask(ui, "What did he criticise there?", conv)
    assert "marked helpful" in ui.feedback(conv, "up")
    assert "with your comment" in ui.feedback(conv, "down", "wrong article", message_index=1)
    rows, bad = read_feedback(ui.feedback_file)
    assert bad == 0
    assert [r["verdict"] for r in rows] == ["up", "down"]
    latest, first = rows
    assert latest["question"] == "What did he criticise there?" and len(latest["history"]) == 2
    assert first["question"] == "Where did Macron receive Putin in 2017?" and first["history"] == []
    assert first["comment"] == "wrong article"
    for key in ("time", "answer", "citations", "refused", "query", "backend"):
        assert key in first
    assert first["citations"][0]["quote"] == QUOTE and first["citations"][0]["doc_id"] == "001_versailles.txt"
    for line in ui.feedback_file.read_text().splitlines():
        json.loads(line)


def test_feedback_without_an_answer(ui: ChatUI) -> None:
    assert "Ask a question first" in ui.feedback(Conversation(), "up")
    assert not ui.feedback_file.exists()


def test_feedback_path_follows_settings(tmp_path: Path) -> None:
    assert feedback_path(get_settings()) == data_dir() / "feedback.jsonl"
    custom = get_settings({"index": {"dir": str(tmp_path / "idx")}})
    assert feedback_path(custom) == tmp_path / "feedback.jsonl"


# -- uploads and articles ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\win.ini.md", "win.ini.md"),
        (".hidden.txt", "hidden.txt"),
        ("Le Monde — été 2019.HTML", "Le_Monde_ete_2019.html"),
        ("<script>.txt", "script.txt"),
        ("....txt", "upload.txt"),
        ("noext", "noext"),
        ("a" * 300 + ".pdf", "a" * 96 + ".pdf"),
    ],
)
def test_sanitize_filename(name: str, safe: str) -> None:
    assert sanitize_filename(name) == safe


def test_check_uploads_limits(tmp_path: Path) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_text("text")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (MAX_UPLOAD_BYTES + 1))
    exe = tmp_path / "tool.exe"
    exe.write_text("MZ")
    empty = tmp_path / "empty.md"
    empty.write_text("")
    dup_dir = tmp_path / "d"
    dup_dir.mkdir()
    dup = dup_dir / "ok.txt"
    dup.write_text("other")
    check = check_uploads([ok, big, exe, empty, dup])
    assert [name for _, name in check.accepted] == ["ok.txt", "ok-2.txt"]
    joined = " ".join(check.refused)
    assert "big.txt" in joined and "MB limit" in joined
    assert "tool.exe" in joined and "unsupported file type" in joined
    assert "empty.md" in joined and "empty" in joined
    too_many = check_uploads([ok] * 21)
    assert not too_many.accepted and "too many" in too_many.refused[0]


def test_add_uploads_sanitises_names_and_reports(ui: ChatUI, fake_qa: FakeQA, tmp_path: Path) -> None:
    folder = tmp_path / "up"
    folder.mkdir()
    good = folder / "Zanzibar report (2024).txt"
    good.write_text("Zanzibar report\nThe Zanzibar council met on 3 March 2024.")
    bad = folder / "broken.txt"
    bad.write_text("UNREADABLE")
    exe = folder / "x.exe"
    exe.write_text("MZ")
    progress: list[str] = []
    status = ui.add_uploads([str(good), str(bad), str(exe)], progress=progress.append)
    assert "Added 1 article(s)" in status and "uploads/Zanzibar_report_2024.txt" in status
    assert "broken.txt" in status and "x.exe" in status and "Skipped" in status
    assert fake_qa.added_names == ["Zanzibar_report_2024.txt", "broken.txt"]
    assert fake_qa.added_paths == [good, bad]  # read where they were uploaded: no staging copy
    assert sorted(p.name for p in folder.iterdir()) == sorted([good.name, bad.name, exe.name])
    assert progress and "uploads/Zanzibar_report_2024.txt" in ui.doc_ids()
    rows = ui.article_rows()
    assert rows[0][1] == "001_versailles.txt" and rows[0][-1] == 3
    assert "2 articles indexed" in ui.articles_heading()
    _, (messages, _, _, _, _) = _ask(ui, "When did the Zanzibar council meet?")
    assert "cq-cite" in messages[-1]["content"]


def test_add_uploads_nothing_chosen_or_all_refused(ui: ChatUI, tmp_path: Path) -> None:
    assert "Choose" in ui.add_uploads(None)
    exe = tmp_path / "x.exe"
    exe.write_text("MZ")
    assert "Nothing was added" in ui.add_uploads([str(exe)])


def test_remove_article(ui: ChatUI) -> None:
    assert "Deleted" in ui.remove("001_versailles.txt") and ui.doc_ids() == []
    assert "not in the index" in ui.remove("001_versailles.txt")
    assert "Choose" in ui.remove(None)


def test_sources_of_an_answer_whose_article_was_deleted(ui: ChatUI) -> None:
    _, (_, _, conv, _, _) = _ask(ui, "Where did Macron receive Putin in 2017?")
    ui.remove("001_versailles.txt")
    html = ui.sources_html(conv.answers[-1])  # type: ignore[arg-type]
    assert "has been deleted from the index" in html and "could not be found" not in html and "<mark" not in html


def test_session_variants_see_uploads_and_deletions(tmp_path: Path) -> None:
    """A session with its own settings answers from the index as it is now, not as it was when it chose them."""
    from corpus.load import bundled_corpus_dir, load_articles
    from embeddings import HashEmbedder, Index, build_index
    from qa import QA

    settings = get_settings({"index": {"dir": str(tmp_path / "index")}, "answer": {"refusal_threshold": 0.3}})
    embedder = HashEmbedder()
    build_index(load_articles([bundled_corpus_dir()]).articles, index_dir=settings.index_dir(), embedder=embedder,
                chunking=settings.chunking, index_settings=settings.index, progress=False)
    qa = QA(settings, Index.load(settings.index_dir(), embedder=embedder, chunking=settings.chunking), embedder)
    ui = ChatUI(qa, settings, feedback_file=tmp_path / "feedback.jsonl")
    prefs = Preferences(top_k=3)
    question = "Who painted the Zorbian lighthouse green?"
    _ask(ui, "Where did Macron receive Putin in 2017?", prefs=prefs)  # the session's variant exists now
    upload = tmp_path / "lighthouse.txt"
    upload.write_text("The Zorbian lighthouse was painted green in 1911 by the keeper Albertine Moreau.\n")
    assert "Added 1 article(s)" in ui.add_uploads([str(upload)])
    _, (_, _, conv, _, _) = _ask(ui, question, prefs=prefs)
    assert "uploads/lighthouse.txt" in {c.doc_id for c in conv.answers[-1].citations}  # type: ignore[union-attr]
    assert "Deleted" in ui.remove("uploads/lighthouse.txt")
    _, (_, _, conv, _, _) = _ask(ui, question, prefs=prefs)
    assert "uploads/lighthouse.txt" not in {c.doc_id for c in conv.answers[-1].citations}  # type: ignore[union-attr]


# -- settings ------------------------------------------------------------------------------------------
def test_apply_settings_validates_and_masks_the_key(fake_qa: FakeQA, tmp_path: Path) -> None:
    settings = get_settings(
        {
            "generator": {"backend": "extractive", "base_url": "http://127.0.0.1:9/v1", "model": "smol",
                          "api_key": "sk-secret-123"},
            "ui": {"models": ["smol2"], "allowed_base_urls": ["http://127.0.0.1:10/"]},
        }
    )
    fake_qa.settings = settings
    ui = ChatUI(fake_qa, settings, feedback_file=tmp_path / "feedback.jsonl")  # type: ignore[arg-type]
    prefs, status, current = ui.apply_settings("openai", "", "", "", 5, None)
    assert "Not applied" in status and "unknown endpoint" in status and prefs.generator is None
    prefs, status, current = ui.apply_settings("configured endpoint", "", "gpt-9", "", 5, None)
    assert "Not applied" in status and "smol, smol2" in status
    prefs, status, current = ui.apply_settings("configured endpoint", "", "smol2", "", 7, prefs)
    assert status.startswith("Applied")
    assert prefs.generator is not None and prefs.generator.api_key is not None
    assert prefs.generator.api_key.get_secret_value() == "sk-secret-123"  # the server's key, for its own URL
    assert "sk-secret" not in current and "set (hidden)" in current and "smol2" in current
    assert "127.0.0.1:9" not in current and "configured endpoint" in current
    assert "| 7 |" in current.replace("`", "")
    # a typed URL on the allowed list gets the typed key, or none: never the server's
    other, url = "other endpoint (base URL)", "http://127.0.0.1:10/v1"
    prefs2, status, current = ui.apply_settings(other, url, "m", "", 7, prefs)
    assert status.startswith("Applied") and prefs2.generator is not None and prefs2.generator.api_key is None
    prefs3, status, _ = ui.apply_settings(other, url, "m", "sk-mine", 7, prefs2)
    prefs4, status, _ = ui.apply_settings(other, url, "m2", "", 7, prefs3)
    assert prefs4.generator is not None and prefs4.generator.api_key is not None  # kept for the same URL
    assert prefs4.generator.api_key.get_secret_value() == "sk-mine"
    prefs5, status, current = ui.apply_settings("extractive (offline)", "", "", "", 5, prefs4)
    assert status.startswith("Applied") and "extractive" in current


def test_describe_settings_defaults(ui: ChatUI) -> None:
    text = ui.describe_settings(None)
    assert "extractive" in text and "Top-k" in text
    assert "feedback.jsonl" not in text and str(ui.settings.index_dir()) not in text  # no server paths


def test_parse_auth() -> None:
    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("alice", ":pw", "alice:"):
        with pytest.raises(ConfigError):
            parse_auth(bad)


# -- the Blocks ----------------------------------------------------------------------------------------------
def test_create_app_builds_without_launching(fake_qa: FakeQA) -> None:
    import gradio as gr

    calls = []

    def factory() -> FakeQA:
        calls.append(1)
        return fake_qa

    demo = create_app(factory, fake_qa.settings)  # type: ignore[arg-type]
    assert isinstance(demo, gr.Blocks) and calls == []
    assert demo.analytics_enabled is False
    chatbots = [b for b in demo.blocks.values() if isinstance(b, gr.Chatbot)]
    assert len(chatbots) == 1
    bot = chatbots[0]
    assert bot.sanitize_html is True and bot.allow_tags is False and bot.latex_delimiters == []
    labels = {getattr(b, "value", None) for b in demo.blocks.values() if isinstance(b, gr.Button)}
    assert {"Ask", "New chat", "Stop", "Regenerate", "Add to index", "Delete", "Apply"} <= labels
    assert "Where did Macron receive Putin in 2017?" in labels
    passwords = [b for b in demo.blocks.values() if isinstance(b, gr.Textbox) and b.type == "password"]
    assert len(passwords) == 1


def test_launch_kwargs_use_no_remote_fonts() -> None:
    import gradio as gr

    kw = launch_kwargs()
    theme = kw["theme"]
    fonts = list(theme._font) + list(theme._font_mono)
    assert not any(isinstance(f, gr.themes.GoogleFont) for f in fonts)
    assert kw["max_file_size"] == MAX_UPLOAD_BYTES


# -- launching ---------------------------------------------------------------------------------------------------
def test_launch_app_serves_on_localhost_without_analytics(
    fake_qa: FakeQA, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket
    import urllib.request

    from qa import QA
    from ui.app import launch_app

    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    monkeypatch.setattr(QA, "ensure", classmethod(lambda cls, settings, progress=True: fake_qa))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = launch_app(fake_qa.settings, port=port, auth="alice:pw", block=False)
    try:
        import os

        assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
        assert demo.server_name == "127.0.0.1"
        out = capsys.readouterr()
        assert f"http://127.0.0.1:{port}" in out.out and "login required" in out.out
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200  # the login page
        assert fake_qa.streamed and fake_qa.streamed[0][0].startswith("Where did Macron")  # warmed up
        with pytest.raises(ConfigError, match="cannot serve"):
            launch_app(fake_qa.settings, port=port, block=False)
    finally:
        demo.close()
