"""evals.bench.stats: summaries of repeated measurements, formatting, timers, process memory.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

import math

import pytest

from evals.bench import stats as bench_stats


def test_summarize_reports_median_percentiles_and_range():
    s = bench_stats.summarize([5, 1, 3, 2, 4])
    assert s == {"n": 5, "median": 3.0, "p50": 3.0, "p95": pytest.approx(4.8), "min": 1.0, "max": 5.0,
                 "mean": 3.0}


def test_summarize_empty_and_nan():
    assert bench_stats.summarize([])["median"] is None
    with pytest.raises(ValueError):
        bench_stats.summarize([1.0, math.nan])


def test_ratio_summary_pairs_runs():
    s = bench_stats.ratio_summary([10, 30], [5, 10])
    assert (s["min"], s["max"]) == (2.0, 3.0)
    with pytest.raises(ValueError):
        bench_stats.ratio_summary([1], [1, 2])


def test_formatting():
    assert bench_stats.fmt_summary({"median": 2.0, "min": 1.0, "max": 3.5}, unit=" ms") == "2.0 ms [1.0–3.5]"
    assert bench_stats.fmt_summary(None) == "–"
    assert bench_stats.fmt_num(1_234_567) == "1,234,567"
    assert bench_stats.fmt_num(None) == "–"


def test_process_memory_is_readable():
    rss, peak = bench_stats.rss_mb(), bench_stats.peak_rss_mb()
    assert rss is not None and peak is not None and 0 < rss <= peak


def test_stopwatch_accumulates():
    out: dict[str, float] = {}
    for _ in range(2):
        with bench_stats.stopwatch(out, "x"):
            pass
    assert out["x"] >= 0
