"""Write a bench result as ``report.md`` with PNG plots (matplotlib, Agg backend: no display needed).

Tables show ``median [min–max]`` of the repeated runs; every plot is referenced from the report. Missing
sections (quick mode, a failed section) are left out with a note, never an exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.bench.stats import fmt_num, fmt_summary

KIND_COLORS = {"flat": "#4c72b0", "hnsw": "#dd8452", "ivf": "#55a868", "ivfsq8": "#c44e52", "ivfpq": "#8172b2"}
WARM_MEANS = (
    "Warm = loaded, not cached: the index, the embedding model, spaCy and `QA` are in memory and each pass first "
    "answers a few warm-up questions (untimed); every timed question is new to the process (no pass or warm-up "
    "asked it before), so no per-question cache (parse, analysis, query embedding, rewrite) helps it. Caches over "
    "the index's own sentences do fill up as questions about the same articles come in, as in a running server.")
STAGES = ("embed", "dense", "bm25", "fuse", "retrieve", "generate", "cite", "total", "end_to_end")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def _med(s: dict[str, Any] | None) -> float | None:
    return None if not s else s.get("median")


def render_markdown(result: dict[str, Any], plots: dict[str, str]) -> str:
    """The report's Markdown text for ``result`` (plots: name → PNG file name beside the report)."""
    meta = result.get("meta", {})
    m = meta.get("machine", {})
    lines = [
        f"# citeqa bench{' (quick)' if meta.get('quick') else ''}",
        "",
        f"Run {meta.get('started', '?')} – {meta.get('finished', '?')} ({fmt_num(meta.get('duration_s'), 0)} s) on "
        f"{m.get('cpus', '?')} CPUs, {m.get('mem_total_gb', '?')} GB; load average at start "
        f"{', '.join(f'{x:.1f}' for x in m.get('loadavg_start') or [])}, at end "
        f"{', '.join(f'{x:.1f}' for x in meta.get('loadavg_end') or [])}. Python {m.get('python')}, torch "
        f"{m.get('torch')}, faiss {m.get('faiss')}, sentence-transformers {m.get('sentence_transformers')}, "
        f"onnxruntime {m.get('onnxruntime') or 'not installed'}.",
        "",
        "Figures are `median [min–max]` over repeated runs; ratios pair runs made back to back in one process. "
        f"FAISS builds use {meta.get('faiss_build_threads')} OpenMP threads, single-query searches "
        f"{meta.get('faiss_search_threads')}; torch uses {meta.get('torch_threads')} threads.",
        "",
    ]
    if meta.get("config"):
        lines += [f"Settings: `{meta['config']}` (`citeqa --config`), answers extractive.", ""]
    if result.get("errors"):
        lines += ["**Sections that failed:**", ""] + [f"- {k}: `{v}`" for k, v in result["errors"].items()] + [""]
    lines += _indexing_md(result.get("indexing"), plots)
    lines += _latency_md(result.get("latency"), result.get("cold_start"), plots)
    lines += _vectors_md(result.get("vectors"), plots)
    lines += _memory_md(result.get("memory"))
    lines += _onnx_md(result.get("onnx"), plots)
    from evals.bench.scale import scale_md  # no Ray or Milvus import: the section's figures only

    lines += scale_md(result.get("scale"))
    return "\n".join(lines)


def _indexing_md(ix: dict[str, Any] | None, plots: dict[str, str]) -> list[str]:
    lines = ["## 1. Indexing", ""]
    if not ix:
        return lines + ["Not measured.", ""]
    lines += [
        f"{len(ix['runs'])} runs, each on its own generated articles ({fmt_summary(ix['articles_per_run'], digits=0)} "
        f"articles, {fmt_summary(ix['chunks_per_run'], digits=0)} chunks), `build_index` and a bare "
        f"`{ix.get('bare_encoder', 'SentenceTransformer.encode')}` of the same chunk texts (same model, backend "
        "and batch size) alternating which runs first.",
        "",
    ]
    lines += _table(["", "chunks/s", "seconds"], [
        ["`build_index` (chunk, embed, BM25, FAISS, write)", fmt_summary(ix["build_chunks_per_s"]),
         fmt_summary(ix["build_s"])],
        [f"bare `{ix.get('bare_encoder', 'encode')}`", fmt_summary(ix["encode_chunks_per_s"]),
         fmt_summary(ix["encode_s"])],
        ["ratio build / encode (per run)", fmt_summary(ix["ratio"], digits=2), ""],
    ])
    lines += ["Where `build_index` time goes (each part timed separately on the same data):", ""]
    lines += _table(["part", "seconds"], [[k, fmt_summary(v, digits=2)] for k, v in ix["breakdown_s"].items()])
    if "indexing" in plots:
        lines += [f"![indexing]({plots['indexing']})", ""]
    return lines


def _latency_md(lat: dict[str, Any] | None, cold: dict[str, Any] | None, plots: dict[str, str]) -> list[str]:
    lines = ["## 2. Query latency (warm, per stage, ms)", ""]
    if not lat:
        lines += ["Not measured.", ""]
    else:
        labels = [k for k in ("seed", "generated", "large") if k in lat]
        lines += ["Queries per pass: " + ", ".join(
            f"{k} index ({fmt_num(lat[k].get('chunks'))} chunks): {lat[k]['queries']} queries × {lat[k]['passes']} "
            "passes" for k in labels) + ". A fresh `QA` per pass (same empty sentence cache). Each cell: median of "
            "the passes' percentile [min–max].", ""]
        if lat[labels[0]].get("distinct_questions"):
            lines += [WARM_MEANS, ""]
        else:  # runs made before the passes drew distinct questions
            lines += ["Every pass asked the same questions: passes after the first re-ask cached questions.", ""]
        for k in labels:
            st = lat[k]["stages_ms"]
            lines += [f"**{k} index, {fmt_num(lat[k].get('chunks'))} chunks**", ""]
            lines += _table(["stage", "p50", "p95", "max"], [
                [s, fmt_summary(st[s]["p50"], digits=2), fmt_summary(st[s]["p95"], digits=2),
                 fmt_summary(st[s]["max"], digits=2)] for s in STAGES if s in st])
            if lat[k].get("pass_p50_ms"):
                lines += ["End-to-end p50 of each pass (new questions): " + ", ".join(
                    f"{x:.1f} ms" for x in lat[k]["pass_p50_ms"]) + ".", ""]
            rep = lat[k].get("repeated_ms")
            if rep:
                lines += [f"Repeated questions (each pass's questions asked again on the same `QA`; not part of the "
                          f"warm figures): end to end p50 {fmt_summary(rep['p50'], digits=2)}, p95 "
                          f"{fmt_summary(rep['p95'], digits=2)} ms.", ""]
        if "latency" in plots:
            lines += [f"![latency]({plots['latency']})", ""]
    if cold:
        lines += ["**Cold start** (new process, spawn → answer printed → exit; the commands take turns):", ""]
        rows = [["`citeqa ask` (extractive, answer.answerability on: the default)", fmt_summary(cold.get("ask_s"),
                                                                                              digits=2)]]
        if cold.get("ask_off_s"):  # runs before this row existed measured only the default
            rows.append(["`citeqa ask` (answer.answerability off: no spaCy)", fmt_summary(cold["ask_off_s"], digits=2)])
            rows.append(["ratio on / off (median of the runs' ratios)", f"{cold['on_off_ratio']:.2f}"])
        rows.append(["`citeqa --help` (interpreter + CLI imports only)", fmt_summary(cold.get("help_s"), digits=2)])
        lines += _table(["command", "seconds"], rows)
    return lines


def _search(p: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in p.items()) or "–"


def _built(params: dict[str, Any]) -> str:
    """The build parameters a reader needs to reproduce the index (training sample, HNSW construction)."""
    parts = []
    if params.get("train_sample"):
        parts.append(f"trained on {fmt_num(params['train_sample'])}, {params['train_iterations']} iterations")
    if params.get("ef_construction"):
        parts.append(f"efConstruction {params['ef_construction']}")
    if params.get("note"):
        parts.append(params["note"])
    return "; ".join(parts)


def _vectors_md(vec: dict[str, Any] | None, plots: dict[str, str]) -> list[str]:
    lines = ["## 3. Vector search at scale (dim 384, k = 10)", ""]
    if not vec:
        return lines + ["Not measured.", ""]
    syn = vec.get("synthetic", {})
    tg = vec["targets"]
    lines += [
        "The product's indexes: `embeddings.faiss_index.DenseIndex.build` (what `citeqa index` calls) for each "
        "`index.faiss` setting, with the parameters it picks for the size, saved, loaded back with "
        "`DenseIndex.load` and searched one query at a time with `DenseIndex.search`. A setting that builds the "
        "same index as `auto` at a size is measured once (\"= auto\"). "
        f"Synthetic unit vectors: each a Dirichlet mix of {syn.get('mix_anchors')} of {syn.get('anchors')} real "
        f"embeddings of seed-article sentences and word windows, plus noise of norm {syn.get('noise')}. Queries: "
        "half perturbed real seed_dev question embeddings, half held-out synthetic vectors. Recall@10 against "
        "exact search; latency of single queries (slow settings on fewer queries, see column); RSS = growth "
        "of a fresh process loading the written index; targets: "
        f"p50 < {tg['p50_ms']} ms, recall@10 ≥ {tg['recall_at_10']}, memory < {fmt_num(tg['memory_mb'], 0)} MB. "
        "Rows in bold are the product's own search parameter; the others sweep it on the same index.",
        "",
    ]
    if vec.get("auto"):
        lines += ["**What `auto` builds at each size, and its figures:**", ""]
        rows = []
        for a in vec["auto"]:
            au = a.get("auto")
            if not au:
                continue
            rows.append([fmt_num(a["n"]), f"`{au['factory']}`", _search(au["search"]), f"{au['recall']:.3f}",
                         fmt_num(au["p50_ms"], 2), fmt_num(au["p95_ms"], 2), fmt_num(au["build_s"], 1),
                         fmt_num(au["memory_mb"], 0), fmt_num(au["disk_mb"], 0), "✓" if au["meets_targets"] else "✗",
                         fmt_num(a["flat_p50_ms"], 2),
                         f"{a['best']['config']} {_search(a['best']['params'])}: {fmt_num(a['best']['p50_ms'], 2)} ms, "
                         f"{a['best']['recall']:.3f}" if a.get("best") else "none"])
        lines += _table(["n", "auto builds", "search", "recall@10", "p50 ms", "p95 ms", "build s", "RSS MB",
                         "disk MB", "targets", "exact p50 ms", "fastest measured meeting recall + memory"], rows)
    for size in vec["sizes"]:
        nn = size.get("nn_cosine", {})
        lines += [f"**{fmt_num(size['n'])} vectors** ({size['queries']} queries; raw vectors "
                  f"{fmt_num(size['raw_vectors_mb'], 0)} MB; median cosine to the exact 1st / 10th neighbour "
                  f"{nn.get('top1_median', 0):.3f} / {nn.get('top10_median', 0):.3f}; searches on "
                  f"{size.get('search_threads', '?')} OpenMP threads)", ""]
        rows = []
        for c in size["configs"]:
            label = f"{c['setting']} `{c['factory']}`" + (f" (= {c['same_as']})" if c.get("same_as") else "")
            for r in c["results"]:
                ok = (r["recall"] >= tg["recall_at_10"] and (_med(r["latency_ms"]["p50"]) or 1e9) < tg["p50_ms"]
                      and c["memory_mb"] < tg["memory_mb"])
                search = _search(r["search"])
                rows.append([label, f"**{search}**" if r["default"] and r["search"] else search,
                             fmt_num(r.get("queries")), f"{r['recall']:.3f}",
                             fmt_summary(r["latency_ms"]["p50"], digits=2),
                             fmt_summary(r["latency_ms"]["p95"], digits=2),
                             fmt_num(c["build_s"], 1), fmt_num(c["memory_mb"], 0), fmt_num(c["disk_mb"], 0),
                             "✓" if ok else "", _built(c["params"]) if not c.get("same_as") else ""])
        lines += _table(["setting `index`", "search", "queries", "recall@10", "p50 ms", "p95 ms", "build s",
                         "RSS MB", "disk MB", "targets", "build parameters"], rows)
    if vec.get("threads"):
        lines += ["**OpenMP threads for single-query search**: raw `faiss.Index.search` of one query at each "
                  "thread count, passes alternating (`DenseIndex.search` pins one thread; this is why):", ""]
        ths = sorted({t for row in vec["threads"] for t in row["p50_ms"]}, key=int)
        lines += _table(["index", "n", *[f"p50 ms, {t} thread(s)" for t in ths]], [
            [f"{r['config']} {_search(r['params'])}", fmt_num(r["n"]),
             *[fmt_summary(r["p50_ms"].get(t), digits=2) for t in ths]] for r in vec["threads"]])
    for name in ("vectors", "vectors_scaling"):
        if name in plots:
            lines += [f"![{name}]({plots[name]})", ""]
    return lines


def _memory_md(mem: dict[str, Any] | None) -> list[str]:
    lines = ["## 4. Memory (peak RSS of a process that loads `QA` and answers 5 questions)", ""]
    if not mem:
        return lines + ["Not measured.", ""]
    rows = []
    for key, label in (("seed", "seed index"), ("large", "large index")):
        if key in mem:
            m = mem[key]
            rows.append([f"{label}, {fmt_num(m['chunks'])} chunks ({m['faiss']})",
                         fmt_summary(m["start_rss_mb"], digits=0),
                         fmt_summary(m["loaded_rss_mb"], digits=0), fmt_summary(m["peak_rss_mb"], digits=0),
                         fmt_summary(m["load_s"], digits=2)])
    lines += _table(["index", "RSS at start MB", "RSS after load MB", "peak RSS MB", "load s"], rows)
    if "large_build" in mem:
        b = mem["large_build"]
        lines += [f"The large index: {fmt_num(b['articles'])} generated articles, {fmt_num(b['chunks'])} chunks, "
                  f"built in {fmt_num(b['build_s'], 0)} s ({b['faiss']}, {fmt_num(b['disk_mb'], 0)} MB on disk) with "
                  f"real chunking, BM25 and FAISS; vectors: {b['vectors']}.", ""]
    if "ui" in mem:
        u = mem["ui"]
        lines += ["`citeqa ui` on the seed index: " + (
            f"serving after {u['ready_s']:.1f} s, RSS {fmt_num(u['rss_mb'], 0)} MB, "
            f"peak {fmt_num(u['peak_rss_mb'], 0)} MB." if "error" not in u else f"not measured ({u['error']})."), ""]
    return lines


def _onnx_md(onx: dict[str, Any] | None, plots: dict[str, str]) -> list[str]:
    lines = ["## 5. ONNX Runtime vs torch (shipped all-MiniLM-L6-v2)", ""]
    if not onx:
        return lines + ["Not measured.", ""]
    if "skipped" in onx:
        return lines + [f"Skipped: {onx['skipped']}.", ""]
    lines += [onx.get("note", ""), "",
              f"Speed on {onx['speed_texts']} generated chunk texts; agreement on the seed index's chunks and the "
              f"seed_dev questions; recall@5 over {onx['questions']} answerable seed_dev questions. Exported once in "
              f"{onx['export_s']:.1f} s, cached in `{onx['cache_dir']}`.", ""]
    rows = []
    for name, b in onx["backends"].items():
        rows.append([name, fmt_summary(b["chunks_per_s"]), fmt_summary(b["speedup_vs_torch"], digits=2),
                     f"{b['cosine_chunks']['mean']:.4f} / {b['cosine_chunks']['min']:.4f}"
                     if "cosine_chunks" in b else "–",
                     f"{b['dense_doc_recall@5']:.3f}", f"{b['hybrid_doc_recall@5']:.3f}",
                     fmt_num(b.get("dense_evidence_recall@5"), 3), fmt_num(b.get("hybrid_evidence_recall@5"), 3)])
    lines += _table(["backend", "chunks/s", "× torch", "cosine to torch mean / min", "dense doc R@5",
                     "hybrid doc R@5", "dense evidence R@5", "hybrid evidence R@5"], rows)
    if "onnx" in plots:
        lines += [f"![onnx]({plots['onnx']})", ""]
    return lines


def write_plots(result: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Write the PNG plots the result has data for; returns name → file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: dict[str, str] = {}

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out_dir / f"{name}.png", dpi=110)
        plt.close(fig)
        plots[name] = f"{name}.png"

    def bar_with_range(ax: Any, xs: Any, summaries: list[dict[str, Any]], **kw: Any) -> None:
        med = [s["median"] or 0 for s in summaries]
        lo = [max((s["median"] or 0) - (s["min"] or 0), 0) for s in summaries]
        hi = [max((s["max"] or 0) - (s["median"] or 0), 0) for s in summaries]
        ax.bar(xs, med, yerr=[lo, hi], capsize=4, **kw)

    ix = result.get("indexing")
    if ix:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
        bar_with_range(a1, ["build_index", "bare encode"], [ix["build_chunks_per_s"], ix["encode_chunks_per_s"]],
                       color=["#4c72b0", "#dd8452"])
        a1.set_ylabel("chunks/s")
        a1.set_title("Indexing throughput (median, min–max)")
        parts = list(ix["breakdown_s"])
        bar_with_range(a2, parts, [ix["breakdown_s"][p] for p in parts], color="#55a868")
        a2.set_ylabel("seconds per run")
        a2.set_title("build_index time by part")
        save(fig, "indexing")

    lat = result.get("latency")
    if lat:
        labels = [k for k in ("seed", "generated", "large") if k in lat]
        stages = [s for s in ("embed", "dense", "bm25", "fuse", "generate", "cite", "end_to_end")
                  if s in lat[labels[0]]["stages_ms"]]
        fig, ax = plt.subplots(figsize=(10, 4))
        width = 0.8 / len(labels)
        for i, k in enumerate(labels):
            xs = [j + i * width for j in range(len(stages))]
            bar_with_range(ax, xs, [lat[k]["stages_ms"][s]["p50"] for s in stages], width=width,
                           label=f"{k} ({fmt_num(lat[k].get('chunks'))} chunks) p50")
            ax.scatter(xs, [lat[k]["stages_ms"][s]["p95"]["median"] for s in stages], marker="_", s=200,
                       color="black", zorder=3, label="p95" if i == 0 else None)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(stages))], stages)
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)")
        ax.set_title("Warm query latency per stage")
        ax.legend(fontsize=8)
        save(fig, "latency")

    vec = result.get("vectors")
    if vec and vec.get("sizes"):
        sizes = vec["sizes"]
        fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
        for ax, size in zip(axes[0], sizes, strict=True):
            for c in size["configs"]:
                if c.get("same_as"):
                    continue
                xs = [r["latency_ms"]["p50"]["median"] for r in c["results"]]
                ys = [r["recall"] for r in c["results"]]
                color = KIND_COLORS.get(c.get("kind", ""), "grey")  # one colour per kind in every panel
                ax.plot(xs, ys, marker="o", color=color, label=f"{c['setting']} {c['factory']}")
                d = next(r for r in c["results"] if r["default"])
                ax.scatter([d["latency_ms"]["p50"]["median"]], [d["recall"]], s=120, facecolors="none",
                           edgecolors=color, zorder=3)
            ax.axhline(vec["targets"]["recall_at_10"], color="grey", ls="--", lw=1)
            ax.axvline(vec["targets"]["p50_ms"], color="grey", ls=":", lw=1)
            ax.set_xscale("log")
            ax.set_xlabel("p50 ms per query (log; circled: product default)")
            ax.set_ylabel("recall@10")
            ax.set_title(f"{fmt_num(size['n'])} vectors")
            ax.legend(fontsize=7)
        save(fig, "vectors")
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        settings = list(dict.fromkeys(c["setting"] for s in sizes for c in s["configs"]))
        ns = [s["n"] for s in sizes]
        for name in settings:
            p50, mem = [], []
            for s in sizes:
                c = next((c for c in s["configs"] if c["setting"] == name), None)
                d = next((r for r in c["results"] if r["default"]), None) if c else None
                p50.append(d["latency_ms"]["p50"]["median"] if d else float("nan"))
                mem.append(c["memory_mb"] if c else float("nan"))
            style = {"lw": 3, "color": "black", "alpha": 0.35} if name == "auto" else {
                "color": KIND_COLORS.get(name, "grey")}
            a1.plot(ns, p50, marker="o", label=name, **style)
            a2.plot(ns, mem, marker="o", label=name, **style)
        for ax, label in ((a1, "p50 ms, product search parameter"), (a2, "index RSS MB")):
            ax.set_xscale("log")
            ys = [y for line in ax.get_lines() for y in line.get_ydata() if y == y]
            if ys and min(ys) > 0:
                ax.set_yscale("log")
            ax.set_xlabel("vectors")
            ax.set_ylabel(label)
            ax.legend(fontsize=7)
        a1.axhline(vec["targets"]["p50_ms"], color="grey", ls=":", lw=1)
        a2.axhline(vec["targets"]["memory_mb"], color="grey", ls=":", lw=1)
        a1.set_title("Search latency vs collection size")
        a2.set_title("Index memory vs collection size")
        save(fig, "vectors_scaling")

    onx = result.get("onnx")
    if onx and "backends" in onx:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        names = list(onx["backends"])
        bar_with_range(ax, names, [onx["backends"][n]["chunks_per_s"] for n in names], color="#8172b2")
        ax.set_ylabel("chunks/s")
        ax.set_title("Embedding throughput by backend")
        save(fig, "onnx")
    return plots


def write_report(result: dict[str, Any], out_dir: Path) -> Path:
    """Write the plots and ``report.md`` into ``out_dir``; returns the report's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(result, out_dir)
    path = out_dir / "report.md"
    path.write_text(render_markdown(result, plots), encoding="utf-8")
    return path
