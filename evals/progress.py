"""Progress of a long eval run on stderr: done/total, errors and the time left.

On a terminal it is a tqdm bar (``errors=N`` beside it); otherwise (a log file, CI, ``nohup``) one line per
question, e.g. ``seed_dev 12/86 q012 ok · errors 1 · ETA 3m10s``, so a log shows how far a run got. The ETA is
the mean time per question of this session times the questions left. ``enabled=False`` (``-q``) prints nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO, Any


def format_eta(seconds: float | None) -> str:
    """``"45s"``, ``"3m10s"``, ``"1h05m"``; ``"?"`` when unknown."""
    if seconds is None:
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    """Counts finished questions of a run and shows them (see the module docstring).

    Args:
        total: questions in the run.
        done: questions already answered before this session (a resumed run).
        desc: the run's name, shown first.
        enabled: show anything at all.
        stream: where to write (stderr by default); a bar only when it is a terminal.
    """

    def __init__(self, total: int, *, done: int = 0, desc: str = "eval", enabled: bool = True,
                 stream: IO[str] | None = None) -> None:
        self.total, self.done, self.errors, self.desc = total, done, 0, desc
        self.session = 0
        self._stream = stream or sys.stderr
        self._t0 = time.perf_counter()
        self._enabled = enabled
        self._bar: Any = None
        if enabled and self._stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, desc=desc, unit="q", file=self._stream, dynamic_ncols=True)
        elif enabled and done:
            self._line(f"{desc}: resuming, {done} of {total} questions already answered")

    def eta(self) -> float | None:
        """Seconds left at this session's pace (None before the first question)."""
        if not self.session:
            return None
        return (time.perf_counter() - self._t0) / self.session * (self.total - self.done)

    def update(self, record: Mapping[str, Any]) -> None:
        """One more question finished (``record`` is its result record)."""
        self.done += 1
        self.session += 1
        failed = bool(record.get("failed"))
        self.errors += failed
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
            if self.errors:
                self._bar.set_postfix(errors=self.errors, refresh=False)
            return
        status = f"FAILED ({record.get('error')})" if failed else "ok"
        errors = f" · errors {self.errors}" if self.errors else ""
        eta = format_eta(self.eta())
        self._line(f"{self.desc} {self.done}/{self.total} {record.get('id')} {status}{errors} · ETA {eta}")

    def _line(self, text: str) -> None:
        try:
            print(text, file=self._stream, flush=True)
        except OSError:  # stderr closed or a pipe whose reader left (`| head`): the run goes on, silently
            self._enabled = False

    def close(self) -> None:
        """End the bar (a no-op for lines)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


__all__ = ["Progress", "format_eta"]
