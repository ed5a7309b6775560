"""The ``bench`` click command; ``ui/cli.py`` registers it with ``cli.add_command(bench)``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from evals.bench import OPT_IN, SECTIONS


@click.command()
@click.option("--quick", is_flag=True, help="Small inputs, no 1M vectors, no 100k-chunk corpus, FAISS auto/flat/ivfsq8 "
              "only (2-3 minutes on 2 cores).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/bench"),
              show_default=True, help="Folder for bench.json, report.md and the PNG plots.")
@click.option("--json", "as_json", is_flag=True, help="Print bench.json to stdout instead of a summary.")
@click.option("--sections", default=None, metavar="NAME[,NAME...]",
              help="Run only these sections: " + ", ".join(SECTIONS) + " (default: all but "
              + ", ".join(OPT_IN) + ", which needs the [scale] extra).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or progress lines.")
@click.pass_context
def bench(ctx: click.Context, quick: bool, out_dir: Path, as_json: bool, sections: str | None, quiet: bool) -> None:
    """Measure indexing speed, query latency per stage, the product's FAISS indexes up to 1M vectors, memory
    and the ONNX embedding backend; write bench.json, report.md and plots.

    The full run takes ~18 minutes on 2 quiet cores, more when they are busy (progress bars show where it
    is); --quick 1-3 minutes. With citeqa's --config FILE, the seed index and every process measured use that
    file's settings (answers always extractive), so a setting is compared on and off in one tree.

    Examples: citeqa bench --quick --out runs/bench-quick;
    citeqa bench --sections vectors --out runs/bench-vectors (the FAISS indexes at 10k, 100k and 1M only)
    """
    from evals.bench.run import run_bench

    names = None
    if sections is not None:
        names = [s.strip() for s in sections.split(",") if s.strip()]
        unknown = [s for s in names if s not in SECTIONS]
        if unknown or not names:
            raise click.BadParameter(f"unknown section(s) {', '.join(unknown) or '(none)'}; choose from "
                                     + ", ".join(SECTIONS), param_hint="--sections")
    config = (ctx.obj or {}).get("config")
    result = run_bench(quick=quick, out_dir=out_dir, progress=not quiet, sections=names, config=config)
    if as_json:
        click.echo(json.dumps(json.loads((out_dir / "bench.json").read_text(encoding="utf-8")), indent=2))
        return
    click.echo(summary_lines(result, out_dir))
    if result.get("errors"):
        raise click.ClickException("sections failed: " + "; ".join(f"{k}: {v}" for k, v in result["errors"].items()))


def summary_lines(result: dict, out_dir: Path) -> str:
    """A few lines a person reads after the run: the headline numbers and where the report is."""
    lines = [f"report: {out_dir / 'report.md'}  (numbers: {out_dir / 'bench.json'})"]
    if (result.get("meta") or {}).get("config"):
        lines.append(f"settings: {result['meta']['config']}")
    ix = result.get("indexing")
    if ix:
        lines.append(f"indexing: {ix['build_chunks_per_s']['median']:.0f} chunks/s "
                     f"(bare encode {ix['encode_chunks_per_s']['median']:.0f}; ratio {ix['ratio']['median']:.2f})")
    lat = (result.get("latency") or {}).get("seed")
    if lat:
        e2e = lat["stages_ms"]["end_to_end"]
        lines.append(f"query (seed index, warm, new questions): p50 {e2e['p50']['median']:.1f} ms, p95 "
                     f"{e2e['p95']['median']:.1f} ms" + ("" if "repeated_ms" not in lat else
                                                         f"; repeated questions p50 "
                                                         f"{lat['repeated_ms']['p50']['median']:.1f} ms"))
    for a in (result.get("vectors") or {}).get("auto", []):
        au = a.get("auto")
        if au:
            lines.append(f"{a['n']:>9,} vectors: auto = {au['factory']}, p50 {au['p50_ms']:.2f} ms, recall@10 "
                         f"{au['recall']:.3f}, {au['memory_mb']:.0f} MB"
                         + ("" if a["flat_p50_ms"] is None else f" (exact p50 {a['flat_p50_ms']:.2f} ms)"))
    ing = (result.get("scale") or {}).get("ingestion")
    if ing:
        rates = ", ".join(f"{r['workers']} worker(s) {r['chunks_per_s']:.1f}" for r in ing["runs"])
        lines.append(f"Ray ingestion chunks/s: {rates}" + (f" (ratio {ing['ratio']:.2f})" if ing["ratio"] else ""))
    srch = (result.get("scale") or {}).get("search")
    if srch:
        lines.append(f"{srch['n']:,} vectors: FAISS {srch['faiss']['kind']} p50 "
                     f"{srch['faiss']['latency_ms']['p50']:.2f} ms recall@10 {srch['faiss']['recall_at_10']:.3f}; "
                     f"Milvus {srch['milvus']['index_type']} p50 {srch['milvus']['latency_ms']['p50']:.2f} ms "
                     f"recall@10 {srch['milvus']['recall_at_10']:.3f}"
                     + "".join(f"; at {lvl} consistency p50 {c['latency_ms']['p50']:.2f} ms"
                               for lvl, c in (srch["milvus"].get("consistency") or {}).items()))
    mem = result.get("memory") or {}
    for key in ("seed", "large"):
        if key in mem:
            lines.append(f"peak RSS, {mem[key]['chunks']:,} chunks: {mem[key]['peak_rss_mb']['median']:.0f} MB")
    return "\n".join(lines)
