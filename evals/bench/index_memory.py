"""Peak memory, time and disk of `citeqa index` on generated corpora: a first build, an unchanged re-run, an update.

Each measurement is a fresh ``citeqa index`` process; its peak resident set size is its ``ru_maxrss`` (the
figure ``/usr/bin/time -v`` prints as "Maximum resident set size"). Corpora are article files made from the
seed articles' sentences (``evals.bench.data.generate_articles``), written once per size into the work
folder; "update" appends a paragraph to 5 % of them before re-indexing.

``floor`` is a process that only imports the CLI's modules and loads the embedder: what any build costs
before it reads an article.

``--sentence-vectors both`` measures what storing every sentence's embedding (``index.sentence_vectors``) costs:
each corpus is indexed with the setting on and off, the two taking turns (``--repeats`` times each, so that a busy
machine slows both alike), and the summary gives the medians of both, their ratio, the disk of the index folder and
of ``sentence_vectors.bin``, the cost per sentence and per chunk, and a linear extrapolation to 100,000 chunks.

Usage:
    .venv/bin/python -m evals.bench.index_memory [--sizes 2000 8000] [--model hash] [--backend torch]
        [--faiss auto] [--src DIR] [--work DIR] [--json OUT]
        [--sentence-vectors default|on|off|both] [--repeats N] [--scenarios build unchanged update]

Each build runs the installed ``citeqa`` console script. ``--src`` runs the citeqa source tree in DIR instead
(e.g. an older commit unpacked with ``git archive <commit> | tar -x -C DIR``) with this virtualenv, for
before/after figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from evals.bench.pipeline import cli_command

UPDATE_FRACTION = 0.05
SCENARIOS = ("build", "unchanged", "update")
SENTENCE_VECTORS = {"default": None, "on": "true", "off": "false"}  # --sentence-vectors -> index.sentence_vectors
EXTRAPOLATE_CHUNKS = 100_000

# --src only: runs the CLI of that source tree (PYTHONPATH alone may lose to the editable install's finder).
CHILD = """
import sys
sys.path.insert(0, {src!r})
import embeddings
assert embeddings.__file__.startswith({src!r}), embeddings.__file__
from ui.cli import cli
sys.argv[0] = "citeqa"
sys.exit(cli())
"""
# What every `citeqa index` process holds before it reads an article (the path line only with --src).
FLOOR = """
import sys
{path_line}
import ui.cli, qa.pipeline
from embeddings import load_embedder
from qa.config import get_settings
load_embedder(get_settings().embedding).embed(["warm up"])  # model and backend from the environment
"""


def write_corpus(folder: Path, n: int) -> int:
    """Write ``n`` generated articles as .txt files under ``folder``; returns the bytes written."""
    from corpus.load import load_articles
    from evals.bench.data import generate_articles, seed_sentences

    shutil.rmtree(folder, ignore_errors=True)
    sentences = seed_sentences(load_articles(None).articles)
    total = 0
    for article in generate_articles(sentences, n, seed=n):
        path = folder / article.doc_id
        path.parent.mkdir(parents=True, exist_ok=True)
        total += path.write_text(article.text, encoding="utf-8")
    return total


def touch_some(folder: Path, fraction: float) -> int:
    """Append a sentence to every ``1/fraction``-th article file: an incremental update's input."""
    files = sorted(folder.rglob("*.txt"))
    step = max(1, round(1 / fraction))
    for path in files[::step]:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("\nThis paragraph was added later to change the article.\n")
    return len(files[::step])


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, float]:
    """(peak RSS in MB, seconds, last stdout line, CPU seconds: user + system) of the child process ``cmd``.

    The child runs under a fresh wrapper process, so the wrapper's RUSAGE_CHILDREN figures are exactly its. On a
    busy shared machine its CPU time varies much less than its wall time.
    """
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t0 = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "secs = time.perf_counter() - t0\n"
        "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'rc': p.returncode, 'rss_mb': use.ru_maxrss / 1024, 'seconds': secs,\n"
        "                  'cpu_s': use.ru_utime + use.ru_stime, 'out': p.stdout, 'err': p.stderr}))\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper, *cmd], env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"child failed ({result['rc']}):\n{result['err'][-3000:]}")
    return result["rss_mb"], result["seconds"], (result["out"].strip().splitlines() or [""])[-1], result["cpu_s"]


def count_sentences(folder: Path) -> int:
    """How many sentences the article files under ``folder`` hold, split as the index splits them: the rows
    ``sentence_vectors.bin`` gets for them."""
    from corpus.sentences import split_sentences

    return sum(len(split_sentences(p.read_text(encoding="utf-8"))) for p in sorted(folder.rglob("*.txt")))


def index_disk(index_dir: Path) -> tuple[float, float]:
    """(MB of every file in the index folder, MB of its ``sentence_vectors.bin``; 0 when there is none)."""
    from embeddings.layout import SENTENCE_VECTORS as SENTENCE_VECTORS_FILE

    total = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) / 1e6
    sv = index_dir / SENTENCE_VECTORS_FILE
    return total, (sv.stat().st_size / 1e6 if sv.is_file() else 0.0)


def chunks_of(output: str) -> int | None:
    """The chunk count ``citeqa index`` prints ("indexed 400 articles, 2150 chunks in 97.0 s ...")."""
    found = re.search(r"articles, (\d+) chunks in", output)
    return int(found.group(1)) if found else None


def compare_sentence_vectors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per corpus size and scenario, ``index.sentence_vectors`` on against off: the medians of the runs' seconds,
    the ratio of those medians and the median of the paired runs' ratios (repeat i on / repeat i off), the same of
    their CPU seconds (rows without ``cpu_s``: None), disk, and,
    for a first build (every sentence embedded), the cost per sentence and per chunk with its linear extrapolation
    to ``EXTRAPOLATE_CHUNKS`` chunks.

    ``rows`` are ``main``'s measurement rows (those of the setting ``default`` and the floor are ignored); a size
    and scenario without both settings is left out."""
    out = []
    keys = sorted({(r["size"], r["scenario"]) for r in rows if r.get("setting") in ("on", "off")},
                  key=lambda k: (k[0], SCENARIOS.index(k[1])))
    for size, scenario in keys:
        on = [r for r in rows if (r["size"], r["scenario"], r.get("setting")) == (size, scenario, "on")]
        off = [r for r in rows if (r["size"], r["scenario"], r.get("setting")) == (size, scenario, "off")]
        if not on or not off:
            continue
        t_on, t_off = statistics.median(r["seconds"] for r in on), statistics.median(r["seconds"] for r in off)
        paired = [a["seconds"] / b["seconds"] for a, b in zip(on, off, strict=False) if b["seconds"] > 0]
        chunks = on[0].get("chunks") or off[0].get("chunks") or 0
        sentences = on[0]["sentences"]
        disk_on = statistics.median(r["disk_mb"] for r in on)
        disk_off = statistics.median(r["disk_mb"] for r in off)
        sv_mb = statistics.median(r["sentence_vectors_mb"] for r in on)
        added_s = t_on - t_off
        cpu_on = statistics.median(r["cpu_s"] for r in on) if all("cpu_s" in r for r in on + off) else None
        cpu_off = statistics.median(r["cpu_s"] for r in off) if cpu_on is not None else None
        cpu_paired = [a["cpu_s"] / b["cpu_s"] for a, b in zip(on, off, strict=False)
                      if cpu_on is not None and b["cpu_s"] > 0]
        first = scenario == "build" and chunks > 0 and sentences > 0  # a re-run or update embeds few or none
        scale = EXTRAPOLATE_CHUNKS / chunks if first else 0.0
        out.append({
            "size": size, "scenario": scenario, "runs": min(len(on), len(off)), "chunks": chunks,
            "sentences": sentences, "seconds_on": t_on, "seconds_off": t_off,
            "ratio": t_on / t_off if t_off > 0 else None,
            "paired_ratio": statistics.median(paired) if paired else None,
            "seconds_on_range": (min(r["seconds"] for r in on), max(r["seconds"] for r in on)),
            "seconds_off_range": (min(r["seconds"] for r in off), max(r["seconds"] for r in off)),
            "cpu_on_s": cpu_on, "cpu_off_s": cpu_off,
            "cpu_ratio": cpu_on / cpu_off if cpu_on is not None and cpu_off else None,
            "cpu_paired_ratio": statistics.median(cpu_paired) if cpu_paired else None,
            "rss_on_mb": statistics.median(r["rss_mb"] for r in on),
            "rss_off_mb": statistics.median(r["rss_mb"] for r in off),
            "disk_on_mb": disk_on, "disk_off_mb": disk_off, "sentence_vectors_mb": sv_mb,
            "added_ms_per_sentence": 1000 * added_s / sentences if first else None,
            "kb_per_sentence": 1000 * sv_mb / sentences if first else None,
            "sentences_per_chunk": sentences / chunks if first else None,
            "extrapolated_100k": None if not first else {
                "added_s": added_s * scale, "sentence_vectors_mb": sv_mb * scale, "seconds_on": t_on * scale,
                "seconds_off": t_off * scale, "disk_on_mb": disk_on * scale, "disk_off_mb": disk_off * scale},
        })
    return out


def comparison_table(comparison: list[dict[str, Any]]) -> str:
    """The on/off comparison as a Markdown table, with its extrapolation to 100,000 chunks said to be one."""
    lines = ["| articles | run | chunks | sentences | runs | s on [min-max] | s off [min-max] | ratio (paired) | "
             "CPU s on / off, ratio (paired) | disk MB on / off | sentence_vectors.bin MB | added ms/sentence | "
             "KB/sentence |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in comparison:
        ratio = "-" if c["ratio"] is None else f"{c['ratio']:.2f} ({c['paired_ratio']:.2f})"
        added = "-" if c["added_ms_per_sentence"] is None else f"{c['added_ms_per_sentence']:.2f}"
        kb = "-" if c["kb_per_sentence"] is None else f"{c['kb_per_sentence']:.2f}"
        cpu = "-" if c["cpu_ratio"] is None else (f"{c['cpu_on_s']:.1f} / {c['cpu_off_s']:.1f}, "
                                                  f"{c['cpu_ratio']:.2f} ({c['cpu_paired_ratio']:.2f})")
        lines.append(
            f"| {c['size']} | {c['scenario']} | {c['chunks']} | {c['sentences']} | {c['runs']} | "
            f"{c['seconds_on']:.1f} [{c['seconds_on_range'][0]:.1f}-{c['seconds_on_range'][1]:.1f}] | "
            f"{c['seconds_off']:.1f} [{c['seconds_off_range'][0]:.1f}-{c['seconds_off_range'][1]:.1f}] | {ratio} | "
            f"{cpu} | "
            f"{c['disk_on_mb']:.1f} / {c['disk_off_mb']:.1f} | {c['sentence_vectors_mb']:.1f} | {added} | {kb} |")
    for c in comparison:
        x = c["extrapolated_100k"]
        if x is not None:
            lines.append(
                f"\nExtrapolated linearly from the {c['size']}-article build ({c['chunks']} chunks, "
                f"{c['sentences_per_chunk']:.1f} sentences a chunk) to {EXTRAPOLATE_CHUNKS:,} chunks, not measured: "
                f"index time {x['seconds_off']:.0f} s off, {x['seconds_on']:.0f} s on (+{x['added_s']:.0f} s); "
                f"disk {x['disk_off_mb']:.0f} MB off, {x['disk_on_mb']:.0f} MB on "
                f"(sentence_vectors.bin {x['sentence_vectors_mb']:.0f} MB).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000], help="articles per corpus")
    parser.add_argument("--model", default="hash", help="embedding model (hash = the test HashEmbedder)")
    parser.add_argument("--backend", help="embedding backend (torch, onnx, ...); default: citeqa's default")
    parser.add_argument("--src", type=Path, help="citeqa source tree to run (default: the installed citeqa)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, deleted afterwards)")
    parser.add_argument("--faiss", default="auto", help="FAISS index type passed to citeqa index")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--sentence-vectors", choices=[*SENTENCE_VECTORS, "both"], default="default",
                        help="index.sentence_vectors of the builds (default: the settings'); both: each corpus is "
                             "indexed with it on and off in turn, compared in a summary")
    parser.add_argument("--repeats", type=int, default=1, help="times each corpus is indexed afresh per setting")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS),
                        help="runs per corpus, in this order (update: after 5%% of the articles change)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    src = str(args.src.resolve()) if args.src else None
    citeqa = [sys.executable, "-c", CHILD.format(src=src)] if src else cli_command()
    path_line = f"sys.path.insert(0, {src!r})" if src else ""
    work = args.work or Path(tempfile.mkdtemp(prefix="citeqa-mem-"))
    env = {**os.environ, "CITEQA_HOME": str(work / "home"), "CITEQA_EMBEDDING__MODEL": args.model,
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CITEQA_INDEX_DIR", None)
    if args.backend:
        env["CITEQA_EMBEDDING__BACKEND"] = args.backend
    settings = ["on", "off"] if args.sentence_vectors == "both" else [args.sentence_vectors]
    rows: list[dict[str, Any]] = []
    try:
        rss, secs, _, _ = run_child([sys.executable, "-c", FLOOR.format(path_line=path_line)], env)
        rows.append({"size": 0, "scenario": "floor", "rss_mb": rss, "seconds": secs, "output": ""})
        print(f"floor: {rss:.0f} MB ({secs:.1f} s)", file=sys.stderr)
        for n in args.sizes:
            corpus = work / f"corpus-{n}"
            n_bytes = write_corpus(corpus, n)
            n_sentences = count_sentences(corpus)
            for repeat in range(args.repeats):
                # the settings take turns, and each repeat starts with the other one
                for setting in settings if repeat % 2 == 0 else settings[::-1]:
                    if "update" in args.scenarios and (repeat or setting != settings[0]):
                        write_corpus(corpus, n)  # the same articles again, before the update changes them
                    index_dir = work / f"index-{n}-{setting}"
                    shutil.rmtree(index_dir, ignore_errors=True)
                    # and an interrupted build's checkpoint, which the next build would reuse instead of embedding
                    shutil.rmtree(index_dir.with_name(f".{index_dir.name}.resume"), ignore_errors=True)
                    run_env = dict(env)
                    value = SENTENCE_VECTORS[setting]
                    if value is not None:
                        run_env["CITEQA_INDEX__SENTENCE_VECTORS"] = value
                    cmd = ["--index-dir", str(index_dir), "index", str(corpus), "-q", "--faiss", args.faiss]
                    for scenario in args.scenarios:
                        if scenario == "update":
                            touch_some(corpus, UPDATE_FRACTION)
                        rss, secs, out, cpu = run_child([*citeqa, *cmd], run_env)
                        disk, sv_mb = index_disk(index_dir)
                        rows.append({"size": n, "corpus_mb": n_bytes / 1e6, "scenario": scenario, "setting": setting,
                                     "repeat": repeat, "rss_mb": rss, "seconds": secs, "cpu_s": cpu, "output": out,
                                     "chunks": chunks_of(out), "sentences": n_sentences, "disk_mb": disk,
                                     "sentence_vectors_mb": sv_mb})
                        print(f"{n} articles ({n_bytes / 1e6:.1f} MB), sentence vectors {setting}, {scenario} "
                              f"#{repeat + 1}: {rss:.0f} MB in {secs:.1f} s (CPU {cpu:.1f} s), index {disk:.1f} MB: "
                              f"{out}",
                              file=sys.stderr)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"model {args.model}, backend {args.backend or 'default'}, faiss {args.faiss}, "
          f"source {src or 'installed ' + citeqa[0]}\n")
    print("| articles | corpus MB | sentence vectors | run | peak RSS MB | seconds | index MB |")
    print("|---:|---:|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['size'] or '-'} | {r.get('corpus_mb', 0):.1f} | {r.get('setting', '-')} | {r['scenario']} | "
              f"{r['rss_mb']:.0f} | {r['seconds']:.1f} | {r.get('disk_mb', 0):.1f} |")
    comparison = compare_sentence_vectors(rows)
    if comparison:
        print("\nindex.sentence_vectors on vs off (medians):\n")
        print(comparison_table(comparison))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "backend": args.backend, "faiss": args.faiss, "src": src,
                                         "rows": rows, "sentence_vectors": comparison}, indent=2))


if __name__ == "__main__":
    main()
