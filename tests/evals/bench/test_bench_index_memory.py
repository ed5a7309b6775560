"""The index-cost bench (evals/bench/index_memory.py): `citeqa index` with ``index.sentence_vectors`` on and off.

The summary is arithmetic over measured rows (tested on rows of known figures); the measurement itself runs real
`citeqa index` processes of this source tree on a tiny generated corpus (the hash embedder, no model).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from embeddings.layout import SENTENCE_VECTORS
from embeddings.sentence_vectors import StoredSentenceVectors
from evals.bench import index_memory

REPO = Path(__file__).resolve().parents[3]


def _row(setting: str, scenario: str, seconds: float, repeat: int, *, sv_mb: float) -> dict:
    return {"size": 300, "scenario": scenario, "setting": setting, "repeat": repeat, "rss_mb": 400.0,
            "seconds": seconds, "cpu_s": seconds / 2, "chunks": 2000, "sentences": 8000, "disk_mb": 10.0 + sv_mb,
            "sentence_vectors_mb": sv_mb, "output": ""}


def test_the_summary_compares_medians_and_extrapolates_only_first_builds() -> None:
    rows = [{"size": 0, "scenario": "floor", "rss_mb": 200.0, "seconds": 2.0, "output": ""}]
    for repeat, (on, off) in enumerate([(300.0, 100.0), (360.0, 150.0), (330.0, 110.0)]):
        rows += [_row("on", "build", on, repeat, sv_mb=12.4), _row("off", "build", off, repeat, sv_mb=0.0),
                 _row("on", "update", 20.0, repeat, sv_mb=12.4), _row("off", "update", 10.0, repeat, sv_mb=0.0)]
    rows.append({**_row("on", "build", 50.0, 0, sv_mb=1.0), "size": 20})  # no "off" run of this size: left out
    build, update = index_memory.compare_sentence_vectors(rows)

    assert (build["scenario"], build["runs"], build["seconds_on"], build["seconds_off"]) == ("build", 3, 330.0, 110.0)
    assert build["ratio"] == pytest.approx(3.0)
    assert build["paired_ratio"] == pytest.approx(3.0)  # median of 3.0, 2.4, 3.0
    assert build["seconds_on_range"] == (300.0, 360.0)
    assert (build["cpu_on_s"], build["cpu_off_s"], build["cpu_ratio"]) == (165.0, 55.0, pytest.approx(3.0))
    assert build["added_ms_per_sentence"] == pytest.approx(1000 * 220 / 8000)
    assert build["kb_per_sentence"] == pytest.approx(1000 * 12.4 / 8000)
    assert build["sentences_per_chunk"] == pytest.approx(4.0)
    x = build["extrapolated_100k"]  # 50 times the 2,000-chunk corpus
    assert (x["added_s"], x["sentence_vectors_mb"]) == (pytest.approx(11_000), pytest.approx(620))
    assert (x["disk_on_mb"], x["disk_off_mb"]) == (pytest.approx(1120), pytest.approx(500))

    # an update embeds a few articles only: no cost per sentence, nothing extrapolated
    assert update["ratio"] == pytest.approx(2.0)
    assert update["added_ms_per_sentence"] is None and update["extrapolated_100k"] is None
    table = index_memory.comparison_table([build, update])
    assert ("| 300 | build | 2000 | 8000 | 3 | 330.0 [300.0-360.0] | 110.0 [100.0-150.0] | 3.00 (3.00) | "
            "165.0 / 55.0, 3.00 (3.00) |") in table
    assert "Extrapolated linearly from the 300-article build" in table and "not measured" in table


@pytest.mark.slow
def test_the_bench_indexes_each_corpus_with_sentence_vectors_on_and_off(tmp_path: Path) -> None:
    out = tmp_path / "cost.json"
    done = subprocess.run(
        [sys.executable, "-m", "evals.bench.index_memory", "--src", str(REPO), "--sizes", "6", "--model", "hash",
         "--sentence-vectors", "both", "--scenarios", "build", "--work", str(tmp_path / "work"), "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=900)  # a wait on a busy machine, not a timed assertion
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    builds = {r["setting"]: r for r in result["rows"] if r["scenario"] == "build"}
    assert set(builds) == {"on", "off"}
    on, off = builds["on"], builds["off"]
    assert off["sentence_vectors_mb"] == 0.0 and on["sentence_vectors_mb"] > 0.0
    assert on["disk_mb"] > off["disk_mb"]
    assert on["chunks"] == off["chunks"] > 0
    assert on["cpu_s"] > 0 and off["cpu_s"] > 0
    # the sentences the bench counts are the rows the index stored, one per sentence
    stored = StoredSentenceVectors.open(tmp_path / "work" / "index-6-on")
    assert stored is not None and len(stored) == 6  # articles
    with open(tmp_path / "work" / "index-6-on" / SENTENCE_VECTORS, "rb") as fh:
        assert json.loads(fh.readline())["rows"] == on["sentences"]
    assert StoredSentenceVectors.open(tmp_path / "work" / "index-6-off") is None
    (summary,) = result["sentence_vectors"]
    assert summary["sentences"] == on["sentences"] and summary["sentence_vectors_mb"] == on["sentence_vectors_mb"]
    assert "index.sentence_vectors on vs off" in done.stdout
