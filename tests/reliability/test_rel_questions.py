"""Bad questions and bad history, through every door: ``answer()``, ``QA``, the ``citeqa`` CLI and the chat UI.

What a user must see for each: ``InvalidQuestionError`` from Python, one ``Error: ...`` line from the CLI
(never "unexpected error" or a traceback), and a "Please rephrase" message in the chat whose every byte the
browser can receive. A lone surrogate (U+D800..U+DFFF alone) is what Python makes of bytes that are not UTF-8
(``os.fsdecode`` of an argument, ``surrogateescape``) or of half a UTF-16 pair; before it was refused, the
tokenizer of the embedding model raised ``TypeError`` on it, the CLI printed "unexpected error: TypeError",
and the UI's event stream died in Gradio's JSON encoder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from corpus.load import load_articles
from embeddings import HashEmbedder, Index, build_index
from qa import QA, InvalidQuestionError, answer, get_settings
from qa.pipeline import validate_question
from ui.cli import cli
from ui.handlers import ChatUI

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = "Macron received Putin at Versailles in May 2017.\n\nThe meeting at the palace was tense.\n"

# (label, question): each must be refused with InvalidQuestionError
BAD_QUESTIONS = [
    ("lone high surrogate", "Where \ud800 did Macron receive Putin?"),
    ("lone low surrogate", "Where did Macron receive Putin?\udfff"),
    ("undecodable byte 0xff (surrogateescape)", "Where did Macron " + os.fsdecode(b"\xff") + " go?"),
    ("surrogate pair as two code points", "Smile \ud83d\ude00 please"),
    ("only a surrogate", "\udc80"),
    ("empty", ""),
    ("blank", " \n\t "),
    ("too long", "why " * 1000),
    ("NUL byte", "Where\x00 is Paris?"),
    ("escape sequence", "\x1b[31mred\x1b[0m?"),
    ("not text", 42),
    ("None", None),
]
SURROGATE_CASES = [q for label, q in BAD_QUESTIONS if "surrogate" in label or "0xff" in label]
BAD_HISTORIES = [
    ("surrogate in a user turn", [
        {"role": "user", "content": "Who met \ud800?"},
        {"role": "assistant", "content": "x"},
    ]),
    ("surrogate in an assistant turn", [
        {"role": "user", "content": "Who?"},
        {"role": "assistant", "content": "\udcff"},
    ]),
    ("unknown role", [{"role": "tool", "content": "x"}]),
    ("content not text", [{"role": "user", "content": ["a"]}]),
    ("turn not a dict", ["Who met Putin?"]),
]


def _utf8_clean(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.fixture(scope="module")
def hash_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A one-article index with the hash embedder: the settings dict that answers from it."""
    folder = tmp_path_factory.mktemp("questions")
    (folder / "arts").mkdir()
    (folder / "arts" / "versailles.txt").write_text(ARTICLE, encoding="utf-8")
    settings = {"embedding": {"model": "hash"}, "index": {"dir": str(folder / "index")}}
    s = get_settings(settings)
    build_index(load_articles([folder / "arts"]).articles, index_dir=s.index_dir(), embedder=HashEmbedder(),
                chunking=s.chunking, index_settings=s.index, progress=False)
    return settings


@pytest.fixture
def qa(hash_index: dict[str, Any]) -> QA:
    s = get_settings(hash_index)
    embedder = HashEmbedder()
    return QA(s, Index.load(s.index_dir(), embedder=embedder, chunking=s.chunking), embedder)


# -- validate_question / answer() / QA ---------------------------------------------------------------
@pytest.mark.parametrize(("label", "question"), BAD_QUESTIONS, ids=[c[0] for c in BAD_QUESTIONS])
def test_bad_question_is_refused_with_a_printable_message(label: str, question: Any) -> None:
    with pytest.raises(InvalidQuestionError) as info:
        validate_question(question, max_chars=2000)
    message = str(info.value)
    assert message and "\n" not in message and _utf8_clean(message), label


@pytest.mark.parametrize("question", SURROGATE_CASES)
def test_surrogate_message_says_where_without_echoing_it(question: str) -> None:
    with pytest.raises(InvalidQuestionError, match=r"not valid Unicode text .* at character \d+$") as info:
        validate_question(question, max_chars=2000)
    at = int(str(info.value).rsplit(" ", 1)[1])
    assert "\ud800" <= question.strip()[at - 1] <= "\udfff"  # the position is 1-based and points at it


def test_good_unicode_still_passes() -> None:
    question = "Où Macron a-t-il reçu Poutine? 😀 Путин 普京"
    assert validate_question(question, max_chars=2000) == question


@pytest.mark.parametrize("question", SURROGATE_CASES)
def test_answer_refuses_a_surrogate_in_the_question(hash_index: dict[str, Any], question: str) -> None:
    with pytest.raises(InvalidQuestionError, match="not valid Unicode text"):
        answer(question, settings=hash_index)


@pytest.mark.parametrize(("label", "history"), BAD_HISTORIES, ids=[c[0] for c in BAD_HISTORIES])
def test_answer_refuses_bad_history(hash_index: dict[str, Any], label: str, history: list[Any]) -> None:
    with pytest.raises(InvalidQuestionError, match=r"^history turn \d") as info:
        answer("Where did Macron receive Putin?", settings=hash_index, history=history)
    assert _utf8_clean(str(info.value)), label


def test_qa_stream_refuses_before_searching(qa: QA) -> None:
    stream = qa.stream("Where \udcff?", [])
    with pytest.raises(InvalidQuestionError):
        next(stream)
    with pytest.raises(InvalidQuestionError, match="history turn 1 contains a character that is not valid"):
        qa.answer("Where?", [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "Putin\ud800"}])
    assert qa.answer("Where did Macron receive Putin?").chunks  # and the QA still answers


# -- the CLI -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["ask", "search"])
@pytest.mark.parametrize("question", SURROGATE_CASES[:3])
def test_cli_prints_one_clear_line(command: str, question: str) -> None:
    result = CliRunner().invoke(cli, [command, question])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the question contains a character that is not valid")
    assert "unexpected" not in result.output and "Traceback" not in result.output


def _citeqa(args: list[bytes], env_home: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CITEQA_"))}
    env.update({"CITEQA_HOME": str(env_home), "CITEQA_EMBEDDING__MODEL": "hash", "PYTHONPATH": str(ROOT),
                "LC_ALL": "C.UTF-8"})
    code = "import sys; sys.argv[0] = 'citeqa'; from ui.cli import cli; cli()"
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, env=env,
                          cwd=env_home, timeout=120, check=False)


@pytest.mark.heavy
def test_cli_subprocess_with_invalid_utf8_bytes_in_argv_and_stdin(tmp_path: Path) -> None:
    """Real argv bytes that are not UTF-8 (os.fsdecode makes them surrogates), and the same on chat's stdin."""
    (tmp_path / "arts").mkdir()
    (tmp_path / "arts" / "versailles.txt").write_text(ARTICLE, encoding="utf-8")
    assert _citeqa([b"index", str(tmp_path / "arts").encode()], tmp_path).returncode == 0
    bad = b"Where did Macron \xff\xfe receive Putin?"
    for command in (b"ask", b"search"):
        run = _citeqa([command, bad], tmp_path)
        lines = run.stderr.decode("utf-8").strip().splitlines()
        assert run.returncode == 1, run.stderr
        assert lines == ["Error: the question contains a character that is not valid Unicode text (a lone surrogate, "
                         "e.g. from undecodable bytes) at character 18"]
    run = _citeqa([b"chat"], tmp_path, stdin=bad + b"\nWhere did Macron receive Putin?\nexit\n")
    err = run.stderr.decode("utf-8")
    assert run.returncode == 0, err
    assert err.count("error: the question contains a character that is not valid Unicode text") == 1
    assert "unexpected" not in err and "Traceback" not in err
    assert "Versailles" in run.stdout.decode("utf-8")  # the next question is still answered


# -- the chat UI -------------------------------------------------------------------------------------
@pytest.mark.parametrize("question", SURROGATE_CASES)
def test_ui_respond_shows_rephrase_and_every_update_reaches_the_browser(
    qa: QA, tmp_path: Path, question: str
) -> None:
    ui = ChatUI(qa, qa.settings, feedback_file=tmp_path / "feedback.jsonl")
    steps = list(ui.respond(question, None))
    for messages, sources, _conv, box, copy_text in steps:
        orjson.dumps([messages, sources, box, copy_text])  # what Gradio sends: raises on a surrogate
    messages, _sources, conv, _box, _copy = steps[-1]
    assert "Please rephrase the question: the question contains a character that is not valid" in messages[-1][
        "content"
    ]
    assert conv.history == []  # nothing half-answered enters the conversation
    # the session goes on
    messages = list(ui.respond("Where did Macron receive Putin?", conv))[-1][0]
    assert "Versailles" in messages[-1]["content"]
