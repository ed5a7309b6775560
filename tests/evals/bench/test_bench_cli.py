"""evals.bench.cli: the summary lines and the ``citeqa bench`` command's options.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evals.bench.cli import bench as bench_command
from evals.bench.cli import summary_lines


def test_summary_lines_and_cli(tiny_result, tmp_path, monkeypatch):
    result = tiny_result
    text = summary_lines(result, tmp_path)
    assert "report:" in text and "2,000 vectors" in text and "peak RSS, 114 chunks: 420 MB" in text

    def fake_run_bench(*, quick: bool, out_dir: Path, progress: bool, sections: list[str] | None,
                       config: Path | None) -> dict:
        out_dir.mkdir(parents=True, exist_ok=True)
        clean = {**result, "errors": {}}
        (out_dir / "bench.json").write_text(json.dumps({"quick": quick, "sections": sections,
                                                        "config": config and str(config)}), encoding="utf-8")
        return clean

    monkeypatch.setattr("evals.bench.run.run_bench", fake_run_bench)
    out = tmp_path / "cli"
    res = CliRunner().invoke(bench_command, ["--quick", "--out", str(out), "--json", "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {"quick": True, "sections": None, "config": None}
    res = CliRunner().invoke(bench_command, ["--quick", "--out", str(out), "-q"])
    assert res.exit_code == 0 and "indexing: 95 chunks/s" in res.output
    res = CliRunner().invoke(bench_command, ["--sections", "vectors, memory", "--out", str(out), "--json", "-q"])
    assert res.exit_code == 0 and json.loads(res.output)["sections"] == ["vectors", "memory"]
    res = CliRunner().invoke(bench_command, ["--sections", "vectors,speed", "--out", str(out), "-q"])
    assert res.exit_code == 2 and "speed" in res.output


def test_bench_takes_the_global_config(tmp_path, monkeypatch):
    """``citeqa --config FILE bench`` hands FILE to the bench (it was dropped: on/off comparisons took two trees)."""
    from ui.cli import cli

    seen: dict = {}

    def fake_run_bench(*, quick: bool, out_dir: Path, progress: bool, sections: list[str] | None,
                       config: Path | None) -> dict:
        seen["config"] = config
        return {"meta": {"config": str(config)}, "errors": {}}

    monkeypatch.setattr("evals.bench.run.run_bench", fake_run_bench)
    cfg = tmp_path / "off.json"
    cfg.write_text('{"answer": {"answerability": false}}', encoding="utf-8")
    res = CliRunner().invoke(cli, ["--config", str(cfg), "bench", "--quick", "--out", str(tmp_path / "b"), "-q"],
                             obj={})
    assert res.exit_code == 0, res.output
    assert seen["config"] == cfg and f"settings: {cfg}" in res.output
