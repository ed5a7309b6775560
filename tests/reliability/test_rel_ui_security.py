"""The chat UI against a hostile user: the operator's key, the server's network, other users' articles.

A real HTTP server on 127.0.0.1 stands in for "the attacker" (and, in the positive controls, for the
operator's endpoint): it records the Authorization header of every request it receives. The UI's handlers
are called as Gradio calls them, with a real ``QA`` over a small index (deterministic hash embedder) and the
real OpenAI-compatible generator, so a request that leaves the process really arrives at the recorder.

Cases (issue 10, items 1 and 11; and the XSS / path-traversal cases of tests/ui, re-run here):
- the Settings tab cannot point the server's key, or the server, at a URL the operator did not configure;
- an endpoint's error body never reaches the chat; no server path shows in the Settings tab;
- with logins, only admins add or delete articles, even when the event is called directly;
- uploaded names cannot escape the uploads folder; HTML in questions and articles shows as text.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from qa import QA, ConfigError, Settings, get_settings
from qa.config import GeneratorSettings
from tests.ui import test_handlers as ui_cases
from tests.ui.browser import free_port
from tests.ui.conftest import FakeQA
from ui.auth import Access, check_password, hash_password, load_access, read_password_file
from ui.endpoints import CUSTOM, DEFAULT_NAME, EXTRACTIVE, url_allowed
from ui.handlers import ChatUI, Conversation, Preferences
from ui.uploads import check_uploads, sanitize_filename

SECRET = "sk-test-SECRET123"
LEAKED_BODY = "INTERNAL-METADATA iam/security-credentials/role AKIAEXAMPLE"
QUESTION = "Who painted the Zorbian lighthouse green?"
ARTICLE = "The Zorbian lighthouse was painted green in 1911 by the keeper Albertine Moreau.\n"


class Recorder:
    """An HTTP server on 127.0.0.1 that records (path, Authorization) of each request and answers ``status``.

    500 with an OpenAI-style error body by default (the body stands for whatever an internal service returns);
    200 answers a one-line chat completion.
    """

    def __init__(self, status: int = 500) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.status = status
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                self.rfile.read(int(self.headers.get("content-length") or 0))
                recorder.requests.append((self.path, self.headers.get("Authorization")))
                if recorder.status == 200:
                    body = {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "Albertine Moreau painted it. [1]"},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                else:
                    body = {"error": {"message": LEAKED_BODY + " " + "x" * 2000}}
                data = json.dumps(body).encode()
                self.send_response(recorder.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.base + "/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def keys(self) -> list[str | None]:
        return [auth for _, auth in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


@pytest.fixture
def operator_endpoint() -> Iterator[Recorder]:
    r = Recorder(status=200)
    yield r
    r.close()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rel_ui_security")
    (folder / "lighthouse.txt").write_text(ARTICLE, encoding="utf-8")
    settings = get_settings({"index": {"dir": str(folder / "index")}})
    build_index(
        load_articles([folder / "lighthouse.txt"]).articles,
        index_dir=settings.index_dir(),
        embedder=HashEmbedder(),
        chunking=settings.chunking,
        index_settings=settings.index,
        progress=False,
    )
    return settings.index_dir()


def _ui(
    index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, access: Access | None = None, **sections: Any
) -> ChatUI:
    """The operator's setup of the issue: ``OPENAI_API_KEY=sk-test-SECRET123 CITEQA_GENERATOR__BACKEND=extractive``."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("CITEQA_GENERATOR__BACKEND", "extractive")
    settings = get_settings({"index": {"dir": str(index_dir)}, "generator": {"max_retries": 0}, **sections})
    assert settings.generator.api_key is not None and settings.generator.api_key.get_secret_value() == SECRET
    embedder = HashEmbedder()
    qa = QA(settings, Index.load(index_dir, embedder=embedder, chunking=settings.chunking), embedder)
    return ChatUI(qa, settings, feedback_file=tmp_path / "feedback.jsonl", access=access)


def _answer(ui: ChatUI, prefs: Preferences | None, question: str = QUESTION) -> str:
    *_, (messages, _, _, _, _) = ui.respond(question, Conversation(), prefs)
    return str(messages[-1]["content"])


# -- item 1: the operator's key and network ---------------------------------------------------------------
@pytest.mark.parametrize(
    "endpoint",
    ["openai", CUSTOM, DEFAULT_NAME],  # the old tab's value, the typed-URL choice, the operator's name
)
def test_typed_attacker_url_is_refused_and_receives_nothing(
    endpoint: str, attacker: Recorder, index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the tab applied ``http://ATTACKER/v1``, empty key; the attacker got ``Bearer sk-test-SECRET123``."""
    ui = _ui(index_dir, tmp_path, monkeypatch)
    prefs, status, current = ui.apply_settings(endpoint, attacker.url, "gpt-x", "", 5, None)
    assert status.startswith("**Not applied:**")
    assert prefs.generator is None
    text = _answer(ui, prefs)
    assert "cq-cite" in text  # still answered, by the operator's (extractive) generator
    assert attacker.requests == []
    assert SECRET not in current + status + text


def test_forged_session_generator_cannot_carry_the_server_key(
    attacker: Recorder, index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever builds a session's settings, the server's key never leaves for a URL the operator did not name."""
    ui = _ui(index_dir, tmp_path, monkeypatch)
    forged = GeneratorSettings(backend="openai", base_url=attacker.url, model="m", api_key=SECRET)  # type: ignore[arg-type]
    text = _answer(ui, Preferences(generator=forged, endpoint=CUSTOM))
    assert "Could not answer" in text and attacker.requests == []
    with pytest.raises(ConfigError):
        ui.qa_for(Preferences(generator=forged))


def test_allowed_url_gets_only_the_key_typed_with_it(
    attacker: Recorder, index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui = _ui(index_dir, tmp_path, monkeypatch, ui={"allowed_base_urls": [attacker.base + "/"]})
    prefs, status, _ = ui.apply_settings(CUSTOM, attacker.url, "m", "", 5, None)
    assert status.startswith("Applied")
    _answer(ui, prefs)
    prefs, status, _ = ui.apply_settings(CUSTOM, attacker.url, "m", "sk-user-own", 5, prefs)
    _answer(ui, prefs)
    chats = [key for path, key in attacker.requests if path.endswith("/chat/completions")]
    assert chats == ["Bearer not-needed", "Bearer sk-user-own"]  # never the server's key
    # the context-window probes (qa.context_window) carry the same key as the chat requests, never another
    assert set(attacker.keys) == {"Bearer not-needed", "Bearer sk-user-own"}
    # a key typed for one URL does not follow the session to another
    other = Recorder()
    try:
        ui2 = _ui(index_dir, tmp_path, monkeypatch, ui={"allowed_base_urls": [attacker.base + "/", other.base + "/"]})
        p1, _, _ = ui2.apply_settings(CUSTOM, attacker.url, "m", "sk-user-own", 5, None)
        p2, status, _ = ui2.apply_settings(CUSTOM, other.url, "m", "", 5, p1)
        assert status.startswith("Applied")
        _answer(ui2, p2)
        assert set(other.keys) == {"Bearer not-needed"} and other.keys
    finally:
        other.close()


def test_operator_endpoint_gets_the_operator_key(
    operator_endpoint: Recorder, index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Positive control: the recorder does see the key when it is the operator's own endpoint."""
    ui = _ui(
        index_dir,
        tmp_path,
        monkeypatch,
        ui={
            "endpoints": [{"name": "team llama", "base_url": operator_endpoint.url, "models": ["m"], "api_key": SECRET}]
        },
    )
    prefs, status, current = ui.apply_settings("team llama", "", "", "", 5, None)
    assert status.startswith("Applied") and operator_endpoint.url not in current and "team llama" in current
    _answer(ui, prefs)
    assert operator_endpoint.keys and set(operator_endpoint.keys) == {f"Bearer {SECRET}"}


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/",  # cloud metadata
        "http://127.0.0.1:{port}@169.254.169.254/v1",  # userinfo trick: the host is 169.254.169.254
        "http://127.0.0.1:{port}.evil.example/v1",
        "https://127.0.0.1:{port}/v1",  # other scheme
        "http://127.0.0.1:{other}/v1",  # other port
        "http://127.0.0.1:{port}/v10",  # a path beside, not under, the allowed prefix
        "file:///etc/passwd",
        "http://127.0.0.1:{port}/v1?x=1",
    ],
)
def test_urls_outside_the_allow_list_are_refused(url: str, attacker: Recorder) -> None:
    port = attacker.server.server_address[1]
    allowed = [f"http://127.0.0.1:{port}/v1"]
    assert url_allowed(f"http://127.0.0.1:{port}/v1/", allowed)
    assert not url_allowed(url.format(port=port, other=port + 1), allowed)
    assert not url_allowed(url.format(port=port, other=port + 1), [])


def test_endpoint_error_body_stays_out_of_the_chat(
    attacker: Recorder,
    index_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: the server's 500 body came back in the chat (300 characters of it)."""
    ui = _ui(index_dir, tmp_path, monkeypatch, ui={"allowed_base_urls": [attacker.url]})
    prefs, status, _ = ui.apply_settings(CUSTOM, attacker.url, "m", "", 5, None)
    assert status.startswith("Applied")
    with caplog.at_level(logging.WARNING):
        text = _answer(ui, prefs)
    assert attacker.requests and "Could not answer" in text and "HTTP 500" in text
    assert LEAKED_BODY not in text and attacker.url not in text
    assert LEAKED_BODY in caplog.text  # the operator still has it, in the server log


def test_settings_tab_shows_no_server_path_or_operator_url(
    operator_endpoint: Recorder, index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the tab listed the index folder and the feedback file."""
    ui = _ui(index_dir, tmp_path, monkeypatch, generator={"base_url": operator_endpoint.url, "model": "m"})
    for prefs in (None, ui.apply_settings(DEFAULT_NAME, "", "", "", 5, None)[0]):
        shown = ui.describe_settings(prefs)
        assert str(index_dir) not in shown and str(ui.feedback_file) not in shown and str(tmp_path) not in shown
        assert operator_endpoint.url not in shown and SECRET not in shown


def test_upload_errors_show_no_server_path(tmp_path: Path) -> None:
    fake = FakeQA()
    chat = ChatUI(fake, fake.settings, feedback_file=tmp_path / "f.jsonl")  # type: ignore[arg-type]
    bad = tmp_path / "broken.txt"
    bad.write_text("UNREADABLE", encoding="utf-8")
    status = chat.add_uploads([str(bad)])
    assert "broken.txt" in status and "/tmp" not in status and str(tmp_path) not in status


# -- item 11: roles ------------------------------------------------------------------------------------------
def _team_access(tmp_path: Path) -> Access:
    users = tmp_path / "users.txt"
    users.write_text(
        f"# team\nalice:{hash_password('wonder-land', iterations=1000)}:admin\nbob:builder\n", encoding="utf-8"
    )
    return load_access(get_settings(), auth_file=users, host="0.0.0.0")


@pytest.mark.parametrize("user", ["bob", None, "mallory"])
def test_non_admins_cannot_add_or_delete(user: str | None, tmp_path: Path) -> None:
    """Before: with --auth, every user could delete or overwrite every article."""
    fake = FakeQA()
    ui = ChatUI(fake, fake.settings, feedback_file=tmp_path / "f.jsonl", access=_team_access(tmp_path))  # type: ignore[arg-type]
    new = tmp_path / "note.txt"
    new.write_text("Overwritten\nby someone who may not.", encoding="utf-8")
    assert "Not allowed" in ui.add_uploads([str(new)], user=user)
    assert "Not allowed" in ui.remove("001_versailles.txt", user=user)
    assert ui.doc_ids() == ["001_versailles.txt"] and fake.added_paths == []
    assert "cq-cite" in _answer(ui, None, "Where did Macron receive Putin in 2017?")  # asking is for everyone
    assert "only an admin" in ui.role_note(user)


def test_admin_can_add_and_delete(tmp_path: Path) -> None:
    fake = FakeQA()
    ui = ChatUI(fake, fake.settings, feedback_file=tmp_path / "f.jsonl", access=_team_access(tmp_path))  # type: ignore[arg-type]
    new = tmp_path / "note.txt"
    new.write_text("A note\nThe Zanzibar council met.", encoding="utf-8")
    assert "Added 1" in ui.add_uploads([str(new)], user="alice")
    assert "Deleted" in ui.remove("uploads/note.txt", user="alice")
    assert ui.role_note("alice") == ""


def test_password_file_logins_and_roles(tmp_path: Path) -> None:
    access = _team_access(tmp_path)
    assert access.login_required and access.admins == {"alice"}
    assert access.check("alice", "wonder-land") and not access.check("alice", "wonder-lan")
    assert access.check("bob", "builder") and not access.check("carol", "builder")
    assert access.is_admin("alice") and not access.is_admin("bob") and not access.is_admin(None)
    assert check_password(hash_password("pw", iterations=1000), "pw")
    assert not check_password("pbkdf2_sha256$broken", "pw")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice\n", "line 1: expected user:password"),
        (":pw\n", "line 1: expected user:password"),
        ("alice:a\nalice:b\n", "appears twice"),
        ("# nobody\n", "names no user"),
    ],
)
def test_bad_password_file_is_one_clear_error(text: str, message: str, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        read_password_file(users)
    assert "\n" not in str(info.value)


def test_admin_list_must_name_users_who_can_log_in(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("bob:builder\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="carol"):
        load_access(get_settings({"ui": {"admins": ["carol"]}}), auth_file=users)
    assert load_access(get_settings({"ui": {"admins": "bob"}}), auth_file=users).is_admin("bob")


def test_who_is_admin_without_logins() -> None:
    """Chosen: the local user of a loopback app is the admin; an exposed app without logins has no admin."""
    settings: Settings = get_settings()
    assert load_access(settings, host="127.0.0.1").is_admin(None)
    assert not load_access(settings, host="0.0.0.0").is_admin(None)
    one = load_access(settings, auth="solo:pw", host="0.0.0.0")  # --auth user:pw: a one-user setup
    assert one.login_required and one.is_admin("solo")


def test_cli_auth_warns_that_ps_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.app

    seen: dict[str, Any] = {}
    monkeypatch.setattr(ui.app, "launch_app", lambda settings, **kw: seen.update(kw))
    from ui.cli import cli

    result = CliRunner().invoke(cli, ["ui", "--auth", "alice:pw"], obj={})
    assert result.exit_code == 0, result.output
    assert "visible to every local user" in result.output and seen["auth"] == "alice:pw"
    result = CliRunner().invoke(cli, ["ui", "--hash-password"], input="pw\npw\n", obj={})
    assert result.exit_code == 0 and check_password(result.output.strip().splitlines()[-1], "pw")


@pytest.mark.heavy
def test_non_admin_calling_the_delete_event_through_the_api_is_refused(tmp_path: Path) -> None:
    """The buttons are disabled for non-admins; the check is in the handler, so a direct API call fails too."""
    from gradio_client import Client

    from ui.app import create_app

    fake = FakeQA()
    access = _team_access(tmp_path)
    demo = create_app(fake, fake.settings, feedback_file=tmp_path / "f.jsonl", access=access)  # type: ignore[arg-type]
    demo.queue()
    demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        auth=access.gradio_auth(),
        prevent_thread_lock=True,
        quiet=True,
        ssr_mode=False,
    )
    try:
        url = f"http://127.0.0.1:{demo.server_port}/"
        bob = Client(url, auth=("bob", "builder"), verbose=False, analytics_enabled=False)
        status = bob.predict("001_versailles.txt", api_name="/do_delete")[0]
        assert "Not allowed" in status and "001_versailles.txt" in fake.articles_by_id
        alice = Client(url, auth=("alice", "wonder-land"), verbose=False, analytics_enabled=False)
        status = alice.predict("001_versailles.txt", api_name="/do_delete")[0]
        assert "Deleted" in status and "001_versailles.txt" not in fake.articles_by_id
    finally:
        demo.close()


# -- XSS and path traversal (the cases of tests/ui, re-run here) ------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "..\\..\\windows\\win.ini.md",
        "/etc/cron.d/job.txt",
        "uploads/../../index/manifest.json.txt",
        ".bashrc.txt",
        "..",
        "a/b/../c.html",
        "\u2025\u2025/evil.txt",  # two-dot leader: NFKD turns it into ".."
        "x\x00y.txt",
    ],
)
def test_uploaded_names_cannot_leave_the_uploads_folder(name: str, tmp_path: Path) -> None:
    safe = sanitize_filename(name)
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".") and ".." not in safe
    assert (tmp_path / safe).resolve().parent == tmp_path.resolve()


def test_check_uploads_gives_unique_safe_names(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "..note.txt").write_text("one", encoding="utf-8")
    (b / "note.txt").write_text("two", encoding="utf-8")
    check = check_uploads([a / "..note.txt", b / "note.txt"])
    assert [n for _, n in check.accepted] == ["note.txt", "note-2.txt"]


def test_tests_ui_upload_limits_rerun(tmp_path: Path) -> None:
    ui_cases.test_check_uploads_limits(tmp_path)


def test_tests_ui_html_escaping_rerun(tmp_path: Path) -> None:
    fake = FakeQA()
    chat = ChatUI(fake, fake.settings, feedback_file=tmp_path / "f.jsonl")  # type: ignore[arg-type]
    ui_cases.test_question_and_article_html_are_escaped(chat, fake)


def test_extractive_choice_sends_nothing(
    attacker: Recorder, index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui = _ui(index_dir, tmp_path, monkeypatch, ui={"allowed_base_urls": [attacker.url]})
    prefs, status, _ = ui.apply_settings(EXTRACTIVE, attacker.url, "m", SECRET, 5, None)
    assert status.startswith("Applied") and prefs.generator is not None and prefs.generator.api_key is None
    assert "cq-cite" in _answer(ui, prefs) and attacker.requests == []
