"""The bench's cold-start section: ``citeqa ask`` with answer.answerability on and off, taking turns, and their ratio.

No assertion depends on how fast anything ran.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.load import load_articles
from embeddings import ChunkSettings, HashEmbedder, IndexSettings, build_index
from evals.bench.pipeline import bench_cold_start
from evals.bench.report import render_markdown
from evals.bench.stats import summarize


def test_the_report_gives_both_cold_starts_and_their_ratio() -> None:
    cold = {"ask_s": summarize([1.5, 1.6]), "ask_off_s": summarize([1.0, 1.1]), "help_s": summarize([0.3, 0.3]),
            "on_off_ratio": 1.48}
    text = render_markdown({"meta": {}, "errors": {}, "cold_start": cold}, {})
    assert "answer.answerability on: the default" in text and "answer.answerability off" in text
    assert "| ratio on / off (median of the runs' ratios) | 1.48 |" in text
    older = render_markdown({"meta": {}, "errors": {}, "cold_start": {"ask_s": cold["ask_s"],
                                                                      "help_s": cold["help_s"]}}, {})
    assert "answer.answerability on" in older and "ratio on / off" not in older  # a bench.json from before it


@pytest.mark.slow
def test_cold_start_runs_ask_with_and_without_answerability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir = tmp_path / "index"
    build_index(load_articles(None).articles[:2], index_dir=index_dir, embedder=HashEmbedder(),
                chunking=ChunkSettings(), index_settings=IndexSettings(), progress=False)
    config = tmp_path / "hash.json"  # the commands read it (citeqa --config of the bench): a hash-model index
    config.write_text('{"embedding": {"model": "hash"}}', encoding="utf-8")
    monkeypatch.setenv("CITEQA_ANSWER__ANSWERABILITY", "false")  # the section sets it itself, for each run
    lines: list[str] = []
    out = bench_cold_start(index_dir, "Where did Macron host Putin?", runs=1, home=tmp_path / "home",
                           progress=lines.append, config=config)
    assert {"ask_s", "ask_off_s", "help_s"} <= set(out) and out["on_off_ratio"] > 0
    assert len(lines) == 1 and "without" in lines[0]
