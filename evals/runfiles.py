"""The files of an eval run: ``results.jsonl`` (a record per question) and ``summary.json``, and where runs go.

``write_run`` saves an ``EvalRun``, ``load_run`` reads one back; ``set_name`` and ``default_out_dir`` name a
run's folder after its set.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"


@dataclass
class EvalRun:
    """The outcome of one run: a record per question (file order) and the summary."""

    records: list[dict[str, Any]]
    summary: dict[str, Any]



def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, fsynced, then ``os.replace``: a
    reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_run(run: EvalRun, out_dir: str | Path) -> Path:
    """Write ``results.jsonl`` and ``summary.json`` into ``out_dir`` (created if missing), each atomically; returns
    the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / RESULTS_FILE, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in run.records))
    atomic_write(out / SUMMARY_FILE, json.dumps(run.summary, ensure_ascii=False, indent=2) + "\n")
    return out


def load_run(path: str | Path) -> EvalRun:
    """Read a run folder written by ``write_run`` (or its ``summary.json``).

    Raises:
        FileNotFoundError / ValueError: the folder is not a run, or a file is not valid JSON.
    """
    p = Path(path)
    folder = p.parent if p.is_file() else p
    summary_path, results_path = folder / SUMMARY_FILE, folder / RESULTS_FILE
    if not summary_path.is_file():
        raise FileNotFoundError(f"{folder} is not an eval run: no {SUMMARY_FILE} in it")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        records = [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines()
                   if line.strip()] if results_path.is_file() else []
    except json.JSONDecodeError as exc:
        raise ValueError(f"{folder}: invalid JSON ({exc})") from None
    return EvalRun(records=records, summary=summary)


def set_name(set_path: str | Path) -> str:
    """A set's name: its file name without suffix, or its folder's name for a generic ``eval.jsonl``.

    ``import-squad`` writes ``DIR/eval.jsonl``, so ``data/xquad/eval.jsonl`` is named ``xquad``.
    """
    p = Path(set_path)
    return p.parent.name if p.stem == "eval" and p.parent.name else p.stem


def default_out_dir(set_path: str | Path, *, root: str | Path = "runs", now: datetime | None = None) -> Path:
    """``runs/<YYYYmmdd-HHMMSS>-<set name>/``, with ``-2``, ``-3``… if that folder exists already."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{set_name(set_path)}"
    out, i = base, 2
    while out.exists():
        out, i = base.with_name(f"{base.name}-{i}"), i + 1
    return out



__all__ = ["RESULTS_FILE", "SUMMARY_FILE", "EvalRun", "atomic_write", "default_out_dir", "load_run", "set_name",
           "write_run"]
