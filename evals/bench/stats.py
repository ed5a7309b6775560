"""Small measuring helpers for the bench: summaries of repeated measurements, timers, process memory.

A summary is a plain dict so it goes straight into bench.json: ``{"n", "median", "min", "max", "p50",
"p95", "mean"}`` (p50 equals the median; both are kept because tables of latencies read p50/p95 and
tables of repeated runs read median [min–max]).
"""

from __future__ import annotations

import math
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

from evals.metrics import percentile

Summary = dict[str, float | int | None]


def summarize(values: Iterable[float]) -> Summary:
    """n, median (= p50), p95, min, max and mean of ``values``; None statistics when there are none.

    Example:
        >>> summarize([3, 1, 2])["median"]
        2.0
    """
    xs = [float(v) for v in values]
    if any(math.isnan(x) for x in xs):
        raise ValueError("cannot summarise NaN values")
    if not xs:
        return {"n": 0, "median": None, "p50": None, "p95": None, "min": None, "max": None, "mean": None}
    median = percentile(xs, 50)
    return {
        "n": len(xs),
        "median": median,
        "p50": median,
        "p95": percentile(xs, 95),
        "min": min(xs),
        "max": max(xs),
        "mean": math.fsum(xs) / len(xs),
    }


def fmt_summary(s: Summary | None, *, digits: int = 1, unit: str = "") -> str:
    """``median [min–max]`` with the unit, or ``–`` for a missing summary."""
    if not s or s.get("median") is None:
        return "–"
    return f"{fmt_num(s['median'], digits)}{unit} [{fmt_num(s['min'], digits)}–{fmt_num(s['max'], digits)}]"


def fmt_num(x: Any, digits: int = 1) -> str:
    """A number for a table: thousands separators for large values, ``–`` for None."""
    if x is None:
        return "–"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, int) or (abs(x) >= 1000 and float(x).is_integer()):
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def ratio_summary(numerators: list[float], denominators: list[float]) -> Summary:
    """Summary of per-run ratios ``numerators[i] / denominators[i]`` (side-by-side pairs of one run each)."""
    if len(numerators) != len(denominators):
        raise ValueError("ratios need pairs of equal length")
    return summarize(n / d for n, d in zip(numerators, denominators, strict=True) if d)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)`` measured with ``perf_counter``."""
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


@contextmanager
def stopwatch(out: dict[str, float], key: str, *, scale: float = 1.0) -> Any:
    """Add the block's wall time (seconds × ``scale``) to ``out[key]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        out[key] = out.get(key, 0.0) + (time.perf_counter() - t0) * scale


def _status_kb(field: str, pid: int | str = "self") -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mb(pid: int | str = "self") -> float | None:
    """Current resident set size in MiB (Linux ``/proc``); None where unavailable."""
    kb = _status_kb("VmRSS", pid)
    return kb / 1024 if kb is not None else None


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Peak resident set size (high-water mark) in MiB, from ``/proc`` or ``getrusage`` for this process."""
    kb = _status_kb("VmHWM", pid)
    if kb is not None:
        return kb / 1024
    if pid != "self":
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux >= 4.0: write 5 to clear_refs); False if not possible."""
    try:
        with open(f"/proc/{os.getpid()}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def machine_info() -> dict[str, Any]:
    """CPU count, load average, Python and library versions: the context every figure needs."""
    import platform

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    from importlib.metadata import PackageNotFoundError, version

    # Installed versions from package metadata: importing torch & co. just to read them costs seconds.
    for key, dist in (("numpy", "numpy"), ("torch", "torch"), ("faiss", "faiss-cpu"),
                      ("sentence_transformers", "sentence-transformers"), ("transformers", "transformers"),
                      ("bm25s", "bm25s"), ("onnxruntime", "onnxruntime")):
        try:
            info[key] = version(dist)
        except PackageNotFoundError:
            info[key] = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        info["mem_total_gb"] = None
    return info
