"""A run folder written as the run goes, so a crash, a dead server or Ctrl-C loses nothing answered.

``RunJournal.open(out, manifest, resume=...)`` prepares the folder of ``citeqa eval --out DIR``:

- ``run.json`` (the manifest, ``MANIFEST_FILE``): the set (name, path, sha256 of the file), the settings that change
  answers (``answer_settings``), the index's articles (``index_fingerprint``), how many questions the run has,
  whether it finished, and the seconds spent so far. Written atomically (a temporary file, then ``os.replace``).
- ``results.jsonl``: one record per question, appended, flushed and fsynced as each question finishes (SIGINT is
  held back while a line is written, so Ctrl-C never leaves half a line). A question answered again on resume (one
  the endpoint failed on) gets a new line; the last line of an id wins. At the end (finished, stopped or
  interrupted) the file is rewritten atomically in set order, one line per question.
- ``summary.json``: written atomically by ``finish`` (``complete`` false for a run that did not finish).

Resuming (``resume=True``) keeps the records of every question answered (``done``), not those the endpoint failed
on, and refuses, with one line, a folder that holds another set, a set file that changed, or a run made with other
settings or over another index. Without ``resume`` a folder holding an unfinished run is refused (add ``--resume``)
and a finished one is replaced.

Example::

    journal = RunJournal.open(Path("runs/x"), manifest, resume=True)
    for item in items:
        if item.id not in journal.done:
            journal.append(answer_and_score(item))
    journal.finish(run, complete=True)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.errors import EvalError
from evals.report import REPORT_FILE
from evals.runfiles import RESULTS_FILE, SUMMARY_FILE, EvalRun, atomic_write, write_run

if TYPE_CHECKING:
    from qa import QA

logger = logging.getLogger(__name__)

MANIFEST_FILE = "run.json"
MANIFEST_VERSION = 1
# Settings that do not change what the run answers: where things are, how long to wait, secrets. Everything
# else in the settings must be equal to resume (dotted paths; a section name covers the whole section).
IGNORED_SETTINGS = frozenset({
    "embedding.cache_dir", "embedding.batch_size", "index.dir", "index.milvus_token", "index.milvus_timeout",
    "generator.base_url", "generator.api_key", "generator.timeout", "generator.max_retries", "corpus", "ui",
})  # fmt: skip


class ResumeError(EvalError, ValueError):
    """A run folder that cannot be resumed (or started) as asked: another set, other settings, an unfinished run."""


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def answer_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings (a ``Settings.model_dump(mode="json")``) flattened to dotted paths, without ``IGNORED_SETTINGS``:
    what must be equal for a resumed run to answer as the first part did."""
    out: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if path in IGNORED_SETTINGS:
                continue
            if isinstance(value, Mapping):
                walk(value, path + ".")
            else:
                out[path] = value

    walk(settings, "")
    return out


def index_fingerprint(qa: QA) -> str:
    """A short hash of the index's articles (doc ids and content hashes) and its chunk count."""
    h = hashlib.sha256()
    for doc_id in sorted(qa.index.articles):
        h.update(f"{doc_id}\0{qa.index.articles[doc_id].content_hash}\n".encode())
    h.update(str(len(qa.index.chunks)).encode())
    return h.hexdigest()[:16]


def run_manifest(*, set_name: str, set_path: str | Path, qa: QA, k: int, retrieval_only: bool,
                 judge_model: str | None, total: int) -> dict[str, Any]:
    """The manifest of a new run (see the module docstring); ``qa`` already carries the run's ``top_k``."""
    settings = answer_settings(qa.settings.model_dump(mode="json"))
    settings["generator.backend"] = None if retrieval_only else qa.generator.name  # "auto" resolved
    return {
        "version": MANIFEST_VERSION,
        "set": set_name,
        "set_path": str(set_path),
        "set_sha256": file_sha256(set_path),
        "index": index_fingerprint(qa),
        "k": k,
        "retrieval_only": retrieval_only,
        "judge": judge_model,
        "settings": settings,
        "total": total,
        "complete": False,
        "elapsed_s": 0.0,
    }


def mismatch(old: Mapping[str, Any], new: Mapping[str, Any], folder: Path) -> str | None:
    """Why the run in ``folder`` (manifest ``old``) cannot be resumed as ``new``; None when it can."""
    how = "use the same set and options, or choose another --out"
    if old.get("set_sha256") != new["set_sha256"]:
        if old.get("set") != new["set"]:
            return (f"cannot resume {folder}: it holds a run of another set ({old.get('set_path')}); "
                    "choose another --out")
        return (f"cannot resume {folder}: the set {new['set_path']} changed since the run began (its sha256 "
                f"differs); choose another --out")
    if old.get("index") != new["index"]:
        return f"cannot resume {folder}: the index holds other articles than when the run began; {how}"
    diffs = [f"{key} {old.get(key)!r} → {new[key]!r}" for key in ("k", "retrieval_only", "judge")
             if old.get(key) != new[key]]
    so, sn = old.get("settings") or {}, new["settings"]
    diffs += [f"{key} {so.get(key)!r} → {sn.get(key)!r}" for key in sorted(so.keys() | sn.keys())
              if so.get(key) != sn.get(key)]
    if diffs:
        more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
        return f"cannot resume {folder}: its run used other settings ({'; '.join(diffs[:3])}{more}); {how}"
    return None


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """The records of a ``results.jsonl`` by id, the last line of an id winning. A line that is not JSON (the
    last one of a crash mid-write) is skipped with a warning."""
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            out[str(record["id"])] = record
        except (json.JSONDecodeError, KeyError, TypeError):
            logger.warning("%s:%s: not a result record, skipped", path, n)
    return out


def _drop_torn_line(path: Path) -> None:
    """Cut a last line a crash left half-written, so the next record appended starts on a line of its own."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        logger.warning("%s: dropping a half-written last line (%d bytes)", path, len(data) - keep)
        os.truncate(path, keep)


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Hold SIGINT back (main thread only) while the body runs; a Ctrl-C pressed meanwhile arrives right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class RunJournal:
    """The run folder of one ``citeqa eval`` run; see the module docstring.

    Attributes:
        out: the folder.
        manifest: its ``run.json`` as written.
        done: the records of the questions already answered (resume), by id.
        resumed: records were kept from an earlier session.
    """

    def __init__(self, out: Path, manifest: dict[str, Any], done: dict[str, dict[str, Any]]) -> None:
        self.out = out
        self.manifest = manifest
        self.done = done
        self.resumed = bool(done)
        self._records: dict[str, dict[str, Any]] = dict(done)
        self._file = (out / RESULTS_FILE).open("a", encoding="utf-8")

    @classmethod
    def open(cls, out: str | Path, manifest: dict[str, Any], *, resume: bool) -> RunJournal:
        """Prepare ``out`` for the run ``manifest`` describes.

        Raises:
            ResumeError: resuming a folder that holds another set or a run with other settings; starting over
                a folder that holds an unfinished run without ``resume``; a folder with results but no manifest.
        """
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        mpath, rpath = folder / MANIFEST_FILE, folder / RESULTS_FILE
        old: dict[str, Any] | None = None
        if mpath.is_file():
            try:
                old = json.loads(mpath.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ResumeError(f"{mpath} is damaged (not JSON): choose another --out") from None
        done: dict[str, dict[str, Any]] = {}
        if resume and old is not None:
            why = mismatch(old, manifest, folder)
            if why:
                raise ResumeError(why)
            _drop_torn_line(rpath)
            done = {i: r for i, r in read_records(rpath).items() if not r.get("failed")}
            manifest = {**manifest, "elapsed_s": float(old.get("elapsed_s") or 0.0)}
        elif resume and rpath.is_file():
            raise ResumeError(f"cannot resume {folder}: it holds results but no {MANIFEST_FILE} (a run made before "
                              "--resume existed, or not a run); choose another --out")
        elif old is not None and not old.get("complete"):
            got = len([r for r in read_records(rpath).values() if not r.get("failed")])
            raise ResumeError(f"{folder} holds an unfinished run of {old.get('set')} ({got} of {old.get('total')} "
                              "questions answered): add --resume to continue it, or choose another --out")
        if not done:
            rpath.unlink(missing_ok=True)  # a finished run (or nothing resumable) is replaced
            (folder / SUMMARY_FILE).unlink(missing_ok=True)
            (folder / REPORT_FILE).unlink(missing_ok=True)
        journal = cls(folder, manifest, done)
        journal.save_manifest()
        return journal

    def append(self, record: dict[str, Any]) -> None:
        """Add one question's record to ``results.jsonl`` now: written whole, flushed and fsynced."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with sigint_held():
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        self._records[str(record["id"])] = record

    def save_manifest(self, **updates: Any) -> None:
        """Write ``run.json`` (atomically), with ``updates`` applied."""
        self.manifest.update(updates)
        atomic_write(self.out / MANIFEST_FILE, json.dumps(self.manifest, ensure_ascii=False, indent=2) + "\n")

    def finish(self, run: EvalRun, *, complete: bool, elapsed_s: float) -> None:
        """Rewrite ``results.jsonl`` with ``run.records`` (set order, one line each) and write ``summary.json``,
        both atomically; record in the manifest whether the run finished and the seconds spent on it."""
        with sigint_held():
            self._file.close()
            write_run(run, self.out)
            self.save_manifest(complete=complete, elapsed_s=round(elapsed_s, 3))

    def close(self) -> None:
        """Close ``results.jsonl`` (what was appended stays)."""
        self._file.close()


__all__ = ["MANIFEST_FILE", "ResumeError", "RunJournal", "answer_settings", "file_sha256", "index_fingerprint",
           "mismatch", "read_records", "run_manifest"]
