"""The ``bench`` click command; ``ui/cli.py`` registers it with ``cli.add_command(bench)``."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.option("--quick", is_flag=True, help="Small inputs, no 1M vectors, no 100k-chunk corpus (a couple of minutes).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/bench"),
              show_default=True, help="Folder for bench.json, report.md and the PNG plots.")
@click.option("--json", "as_json", is_flag=True, help="Print bench.json to stdout instead of a summary.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or progress lines.")
def bench(quick: bool, out_dir: Path, as_json: bool, quiet: bool) -> None:
    """Measure indexing speed, query latency per stage, FAISS index choices up to 1M vectors, memory and the
    ONNX embedding backend; write bench.json, report.md and plots.

    The full run takes about half an hour on 2 cores; --quick a couple of minutes.

    Example: citeqa bench --quick --out runs/bench-quick
    """
    from evals.bench import run_bench

    result = run_bench(quick=quick, out_dir=out_dir, progress=not quiet)
    if as_json:
        click.echo(json.dumps(json.loads((out_dir / "bench.json").read_text(encoding="utf-8")), indent=2))
        return
    click.echo(summary_lines(result, out_dir))
    if result.get("errors"):
        raise click.ClickException("sections failed: " + "; ".join(f"{k}: {v}" for k, v in result["errors"].items()))


def summary_lines(result: dict, out_dir: Path) -> str:
    """A few lines a person reads after the run: the headline numbers and where the report is."""
    lines = [f"report: {out_dir / 'report.md'}  (numbers: {out_dir / 'bench.json'})"]
    ix = result.get("indexing")
    if ix:
        lines.append(f"indexing: {ix['build_chunks_per_s']['median']:.0f} chunks/s "
                     f"(bare encode {ix['encode_chunks_per_s']['median']:.0f}; ratio {ix['ratio']['median']:.2f})")
    lat = (result.get("latency") or {}).get("seed")
    if lat:
        e2e = lat["stages_ms"]["end_to_end"]
        lines.append(f"query (seed index): p50 {e2e['p50']['median']:.1f} ms, p95 {e2e['p95']['median']:.1f} ms")
    for a in (result.get("vectors") or {}).get("auto", []):
        best = a["best"]
        lines.append(f"{a['n']:>9,} vectors: exact p50 {a['flat_p50_ms']:.2f} ms; " + (
            f"best {best['config']} {best['params']} p50 {best['p50_ms']:.2f} ms recall {best['recall']:.3f}"
            if best else "no index meets the recall target"))
    mem = result.get("memory") or {}
    for key in ("seed", "large"):
        if key in mem:
            lines.append(f"peak RSS, {mem[key]['chunks']:,} chunks: {mem[key]['peak_rss_mb']['median']:.0f} MB")
    return "\n".join(lines)
