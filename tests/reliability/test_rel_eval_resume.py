"""Long ``citeqa eval`` runs against real servers that fail, and runs stopped by Ctrl-C or a kill: nothing answered is
lost, the run goes on past one failed question, stops when the server is down, and ``--resume`` finishes it.

Before (issue 13's 72-minute run against a 1.5B model): the first endpoint error ended ``citeqa eval`` with an
error line and nothing written; so did Ctrl-C ("interrupted"): results.jsonl was written only at the very end.

The servers are real HTTP servers on 127.0.0.1 (``ChatServer`` below: OpenAI-style streaming answers, with chosen
questions answered by a fault: HTTP 500, garbage, an event that is not JSON, a cut connection; or every request
refused with 401; or the server shut down after some requests), and the real llama.cpp server (SmolLM2) killed
mid-run. Ctrl-C is a real SIGINT to a ``citeqa eval`` process. Runs use the hash embedder over the seed articles,
so the extractive runs are deterministic and a resumed run can be compared with an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from fault_llm import FaultServer
from llm_server import LLMServer, free_port

from evals.cli import eval_group
from evals.sets import SETS_DIR, load_eval_set
from evals.summary import summarize
from qa import get_settings, library

SEED_DEV = SETS_DIR / "seed_dev.jsonl"
CITEQA = Path(sys.executable).parent / "citeqa"
ITEMS = load_eval_set(SEED_DEV)
# Deterministic parts of a summary: everything but timings, dates and how the run was made.
_VOLATILE = {"latency_ms", "duration_s", "started_at", "resumed", "git_commit", "settings"}


def _stable(summary: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in summary.items() if k not in _VOLATILE}
    out["by_type"] = {t: {k: v for k, v in g.items() if k != "latency_ms"} for t, g in summary["by_type"].items()}
    return out


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def _summary(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "summary.json").read_text(encoding="utf-8")))


# -- a real OpenAI-compatible server whose answers can fail --------------------------------------------------


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def question_of(body: dict[str, Any]) -> str | None:
    """The seed_dev question a chat request is about: the one named last in its last message."""
    text = str(body["messages"][-1]["content"])
    found = [(text.rfind(it.question), it.question) for it in ITEMS if it.question in text]
    return max(found)[1] if found else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - context-window probes: this server says nothing
        self.send_error(404)

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        srv = self.server
        with srv.lock:
            srv.hits += 1
            hit = srv.hits
            question = question_of(body)
            srv.asked.append(question)
        fault = str(srv.refuse_all) if srv.refuse_all else srv.faults.get(question or "", "")
        if srv.die_after is not None and hit > srv.die_after:
            fault = "die"
        self.close_connection = True
        if fault in ("500", "401", "404"):
            payload = json.dumps({"error": {"message": f"test server says {fault}"}}).encode()
            self.send_response(int(fault))
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if fault == "garbage":
            payload = b"<html>not an event stream</html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if fault in ("cut", "die"):
            if fault == "die":  # the server goes away: this connection and the listening socket
                threading.Thread(target=lambda: (srv.shutdown(), srv.server_close()), daemon=True).start()
            self.connection.shutdown(2)
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        if fault == "bad_json":
            self.wfile.write(_chunk("The"))
            self.wfile.write(b"data: {this is not json\n\n")
            return
        for word in ("The", " articles", " say", " so", " [1]", "."):
            self.wfile.write(_chunk(word))
        self.wfile.write(_chunk(finish="stop") + b"data: [DONE]\n\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    lock: threading.Lock
    hits: int
    asked: list[str | None]
    faults: dict[str, str]
    refuse_all: int | None
    die_after: int | None


class ChatServer:
    """A streaming chat endpoint on 127.0.0.1 (``with ChatServer(faults={question: kind}) as srv``).

    ``faults`` answers a question with ``500``, ``garbage``, ``bad_json`` or ``cut``; ``refuse_all`` answers every
    request with that status (401, 404); ``die_after=N`` shuts the server down at request N + 1 (its connection
    cut, then the port closed). ``asked`` lists the question of every request received.
    """

    def __init__(self, *, faults: dict[str, str] | None = None, refuse_all: int | None = None,
                 die_after: int | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.lock = threading.Lock()
        self._server.hits = 0
        self._server.asked = []
        self._server.faults = faults or {}
        self._server.refuse_all = refuse_all
        self._server.die_after = die_after
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def asked(self) -> list[str | None]:
        return self._server.asked

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# -- fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evalresume")


@pytest.fixture(scope="module")
def cfg(workdir: Path) -> Path:
    """Seed articles indexed with the hash embedder; LLM calls fail fast (no retries, a known context window)."""
    path = workdir / "config.json"
    path.write_text(json.dumps({
        "embedding": {"model": "hash"}, "answer": {"refusal_threshold": 0.25},
        "index": {"dir": str(workdir / "index")},
        "generator": {"max_retries": 0, "timeout": 20, "context_window": 2048},
    }), encoding="utf-8")  # fmt: skip
    library.build(get_settings(path), progress=False)
    return path


def invoke(*args: Any, env: dict[str, str] | None = None) -> Result:
    group: click.Group = eval_group
    return CliRunner().invoke(group, [str(a) for a in args], obj={}, env=env)


def llm_run(cfg: Path, out: Path, base_url: str, *extra: Any, limit: int = 20) -> Result:
    return invoke("--config", cfg, SEED_DEV, "--limit", limit, "--out", out, "-q", "--backend", "openai",
                  "--base-url", base_url, "--model", "test", *extra)


@pytest.fixture(scope="module")
def clean_llm_run(cfg: Path, workdir: Path) -> tuple[Path, list[str]]:
    """20 seed_dev questions through the LLM path against a server that never fails, and the questions it was asked
    (those evidence alone does not refuse reach the model)."""
    out = workdir / "llm-clean"
    with ChatServer() as srv:
        r = llm_run(cfg, out, srv.base_url)
        assert r.exit_code == 0, r.output
        asked = list(dict.fromkeys(q for q in srv.asked if q))
    assert len(asked) >= 8, asked  # enough questions reach the model for the cases below
    return out, asked


# -- Ctrl-C and kill -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uninterrupted(cfg: Path, workdir: Path) -> Path:
    out = workdir / "whole"
    r = invoke("--config", cfg, SEED_DEV, "--out", out, "-q")
    assert r.exit_code == 0, r.output
    return out


def _wait_lines(path: Path, n: int, proc: subprocess.Popen[str]) -> None:
    """Until ``path`` holds ``n`` lines (the run is under way) or the process ended (then the test fails)."""
    while proc.poll() is None:
        if path.is_file() and path.read_text(encoding="utf-8").count("\n") >= n:
            return
        time.sleep(0.05)
    err = proc.stderr.read() if proc.stderr else ""
    pytest.fail(f"citeqa eval ended (code {proc.returncode}) before {n} questions were written: {err[-2000:]}")


@pytest.mark.heavy
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_a_stopped_run_keeps_every_answer_and_resumes_to_the_same_summary(
    cfg: Path, tmp_path: Path, uninterrupted: Path, sig: signal.Signals,
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen([str(CITEQA), "eval", "--config", str(cfg), str(SEED_DEV), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_lines(out / "results.jsonl", 5, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [json.loads(line) for line in lines if line.endswith("}")]  # a kill may tear the last line
    assert 5 <= len(kept) < len(ITEMS)
    assert [r["id"] for r in kept] == [it.id for it in ITEMS[: len(kept)]]
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        last = err.strip().splitlines()[-1]
        assert last == (f"interrupted: {len(kept)} of {len(ITEMS)} questions answered, saved in {out}; to continue, "
                        "run the same command with --resume")
        assert len(kept) == len(lines)  # nothing torn
        assert _summary(out)["complete"] is False and _summary(out)["n"] == len(kept)
    else:
        assert proc.returncode == -signal.SIGKILL
    before = {r["id"]: r["latency_ms"] for r in kept}

    r = invoke("--config", cfg, SEED_DEV, "--out", out, "-q", "--resume")
    assert r.exit_code == 0, r.output
    records = _records(out)
    assert [x["id"] for x in records] == [it.id for it in ITEMS]
    # the questions answered before the stop were not asked again: their records are the ones written then
    assert {x["id"]: x["latency_ms"] for x in records if x["id"] in before} == before
    resumed = _summary(out)
    assert resumed["complete"] is True and resumed["resumed"] is True
    assert _stable(resumed) == _stable(_summary(uninterrupted))
    whole = {x["id"]: x["metrics"] for x in _records(uninterrupted)}
    assert all(x["metrics"] | {"judge": None} == whole[x["id"]] | {"judge": None} for x in records)


@pytest.mark.heavy
def test_ctrl_c_while_the_model_is_answering_stops_at_once(cfg: Path, tmp_path: Path) -> None:
    settings = json.loads(cfg.read_text(encoding="utf-8"))
    settings["generator"]["timeout"] = 600  # the reply would drip for ten minutes
    slow_cfg = tmp_path / "slow.json"
    slow_cfg.write_text(json.dumps(settings), encoding="utf-8")
    out = tmp_path / "run"
    with FaultServer("drip", drip_s=0.5) as srv:  # one token every 0.5 s, never finishing
        cmd = [str(CITEQA), "eval", "--config", str(slow_cfg), str(SEED_DEV), "--limit", "20", "--out", str(out),
               "-q", "--backend", "openai", "--base-url", srv.base_url, "--model", "fault"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            while proc.poll() is None and srv.hits == 0:  # until a question is waiting on the model
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)  # not the 600 s the reply could take
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, err
    answered = _records(out)
    assert err.strip().splitlines()[-1] == (f"interrupted: {len(answered)} of 20 questions answered, saved in {out}; "
                                            "to continue, run the same command with --resume")
    assert "Traceback" not in err and not any(r.get("failed") for r in answered)


# -- endpoint failures on some questions ------------------------------------------------------------------------


@pytest.mark.heavy
def test_a_failed_question_is_recorded_left_out_and_asked_again_on_resume(
    cfg: Path, tmp_path: Path, clean_llm_run: tuple[Path, list[str]],
) -> None:
    clean, asked = clean_llm_run
    kinds = ["500", "garbage", "bad_json", "cut"]
    faults = {asked[i]: kind for i, kind in zip((1, 3, 5, 7), kinds, strict=True)}  # never two in a row
    out = tmp_path / "run"
    with ChatServer(faults=faults) as srv:
        r = llm_run(cfg, out, srv.base_url)
    assert r.exit_code == 0, r.output  # the run went on past each failure
    failed_ids = [it.id for it in ITEMS[:20] if it.question in faults]
    summary = _summary(out)
    assert summary["n_failed"] == 4 and summary["failed_ids"] == failed_ids
    assert summary["n"] == 16 and summary["complete"] is True
    errors = {x["id"]: x["error"] for x in _records(out) if x.get("failed")}
    assert list(errors) == failed_ids and all(errors.values())
    by_kind = {kind: errors[next(it.id for it in ITEMS if it.question == q)] for q, kind in faults.items()}
    assert "HTTP 500" in by_kind["500"]
    # the metrics are those of the clean run without the failed questions
    kept = [x for x in _records(clean) if x["id"] not in failed_ids]
    expected = summarize(kept, k=5, backend="openai", refusal_threshold=0.25)
    for group in ("answer", "citations", "refusal", "retrieval"):
        assert summary[group] == expected[group], group
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "**4 question(s) failed at the LLM endpoint** and are left out of every metric" in report
    assert "16 questions (" in r.output and "4 more failed at the LLM endpoint" in r.output

    with ChatServer() as srv:  # the server works again
        r = llm_run(cfg, out, srv.base_url, "--resume")
        again = {q for q in srv.asked if q}
    assert r.exit_code == 0, r.output
    assert again == set(faults)  # only the failed questions were asked again
    final = _summary(out)
    assert final["n_failed"] == 0 and final["n"] == 20
    assert _stable(final) == _stable(_summary(clean))


@pytest.mark.heavy
def test_a_server_that_goes_down_stops_the_run_and_resume_finishes_it(
    cfg: Path, tmp_path: Path, clean_llm_run: tuple[Path, list[str]],
) -> None:
    clean, asked = clean_llm_run
    out = tmp_path / "run"
    with ChatServer(die_after=3) as srv:  # answers 3 requests, then goes away
        r = llm_run(cfg, out, srv.base_url)
    assert r.exit_code == 1
    message = r.output.strip().splitlines()[-1]
    assert re.fullmatch(r"Error: stopped: the LLM endpoint failed 3 questions in a row, so the server looks down "
                        r"\(last: cannot reach the LLM endpoint at .*\); \d+ of 20 questions answered \(3 more failed "
                        rf"at the LLM endpoint\), saved in {re.escape(str(out))}; to continue, run the same command "
                        r"with --resume", message), message
    records = _records(out)
    failed = [x for x in records if x.get("failed")]
    assert len(failed) == 3 and records[-3:] == failed  # the last three, in a row
    assert sum(x["error"].startswith("cannot reach") for x in failed) >= 2  # the first may be the cut connection
    assert _summary(out)["complete"] is False
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False

    with ChatServer() as srv:  # the server is back (on another port: base_url does not change answers)
        r = llm_run(cfg, out, srv.base_url, "--resume")
        again = [q for q in srv.asked if q]
    assert r.exit_code == 0, r.output
    answered_before = {x["question"] for x in records if not x.get("failed")}
    assert not answered_before & set(again)
    final = _summary(out)
    assert final["complete"] is True and final["n_failed"] == 0 and final["n"] == 20
    assert _stable(final) == _stable(_summary(clean))


def test_an_unreachable_endpoint_stops_after_max_failures(cfg: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = llm_run(cfg, out, f"http://127.0.0.1:{free_port()}/v1", "--max-failures", 2)
    assert r.exit_code == 1
    assert "the LLM endpoint failed 2 questions in a row, so the server looks down (last: cannot reach" in r.output
    assert sum(bool(x.get("failed")) for x in _records(out)) == 2


@pytest.mark.parametrize(("status", "key"), [(401, None), (401, "sk-test-wrong-key-123"), (404, None)],
                         ids=["no-key", "wrong-key", "unknown-model"])
def test_a_rejected_api_key_or_model_stops_at_once_with_one_line(cfg: Path, tmp_path: Path, status: int,
                                                                  key: str | None) -> None:
    out = tmp_path / "run"
    env = {"OPENAI_API_KEY": key} if key else None
    with ChatServer(refuse_all=status) as srv:
        r = invoke("--config", cfg, SEED_DEV, "--limit", 20, "--out", out, "-q", "--backend", "openai",
                   "--base-url", srv.base_url, "--model", "test", env=env)
        requests = len(srv.asked)
    assert r.exit_code == 1 and requests == 1  # the first request that reached the server was the last
    last = r.output.strip().splitlines()[-1]
    if status == 401:
        assert last.startswith("Error: stopped: the endpoint rejected the API key (HTTP 401 from ")
        assert ("(no API key is set: OPENAI_API_KEY or generator.api_key)" in last) == (key is None)
    else:
        assert last.startswith("Error: stopped: the LLM endpoint at http://127.0.0.1:") and "does not serve" in last
    assert last.endswith("to continue, run the same command with --resume")
    assert not any(x.get("failed") for x in _records(out))  # not counted as a failed question: the run stopped
    if key:
        for path in out.iterdir():
            assert key not in path.read_text(encoding="utf-8", errors="replace"), path.name
        assert key not in r.output


# -- the real llama.cpp server killed mid-run --------------------------------------------------------------------


@pytest.mark.llm
@pytest.mark.heavy
def test_llama_cpp_server_killed_mid_run(cfg: Path, tmp_path: Path, llm_server_factory: Any) -> None:
    server: LLMServer = llm_server_factory()
    out = tmp_path / "run"
    # a slow shared CPU: a reply may take a while; short replies
    settings = json.loads(cfg.read_text(encoding="utf-8"))
    settings["generator"].update(timeout=300, max_tokens=48)
    llm_cfg = tmp_path / "llm.json"
    llm_cfg.write_text(json.dumps(settings), encoding="utf-8")
    env = dict(os.environ)
    cmd = [str(CITEQA), "eval", "--config", str(llm_cfg), str(SEED_DEV), "--limit", "8", "--out", str(out), "-q",
           "--backend", "openai", "--base-url", server.base_url, "--model", server.model]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_lines(out / "results.jsonl", 2, proc)
        server.kill()
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    kept = _records(out)
    if proc.returncode == 0:  # every question after the kill was refused by evidence alone: nothing to stop
        pytest.skip("no question after the kill reached the model")
    assert proc.returncode == 1, err
    assert "so the server looks down" in err and "Traceback" not in err
    assert sum(bool(x.get("failed")) for x in kept) == 3
    answered = [x["id"] for x in kept if not x.get("failed")]

    again = llm_server_factory()
    cmd[cmd.index(server.base_url)] = again.base_url
    proc2 = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=1800, env=env)
    assert proc2.returncode == 0, proc2.stderr
    final = _records(out)
    assert [x["id"] for x in final] == [it.id for it in ITEMS[:8]]
    assert not any(x.get("failed") for x in final)
    assert {x["id"]: x["latency_ms"] for x in final if x["id"] in answered} == \
        {x["id"]: x["latency_ms"] for x in kept if x["id"] in answered}
    assert _summary(out)["n_failed"] == 0 and _summary(out)["complete"] is True
