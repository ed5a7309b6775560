"""Peak memory of `citeqa index` on generated corpora: a first build, an unchanged re-run and a small update.

Each measurement is a fresh ``citeqa index`` process; its peak resident set size is its ``ru_maxrss`` (the
figure ``/usr/bin/time -v`` prints as "Maximum resident set size"). Corpora are article files made from the
seed articles' sentences (``evals.bench.data.generate_articles``), written once per size into the work
folder; "update" appends a paragraph to 5 % of them before re-indexing.

``floor`` is a process that only imports the CLI's modules and loads the embedder: what any build costs
before it reads an article.

Usage:
    .venv/bin/python -m evals.bench.index_memory [--sizes 2000 8000] [--model hash] [--backend torch]
        [--faiss auto] [--src DIR] [--work DIR] [--json OUT]

Each build runs the installed ``citeqa`` console script. ``--src`` runs the citeqa source tree in DIR instead
(e.g. an older commit unpacked with ``git archive <commit> | tar -x -C DIR``) with this virtualenv, for
before/after figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from evals.bench.pipeline import cli_command

UPDATE_FRACTION = 0.05

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


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, last stdout line) of the child process ``cmd``.

    The child runs under a fresh wrapper process, so the wrapper's RUSAGE_CHILDREN maximum is exactly its.
    """
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t0 = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "secs = time.perf_counter() - t0\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'rc': p.returncode, 'rss_mb': rss, 'seconds': secs, 'out': p.stdout, 'err': p.stderr}))\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper, *cmd], env=env,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"child failed ({result['rc']}):\n{result['err'][-3000:]}")
    return result["rss_mb"], result["seconds"], (result["out"].strip().splitlines() or [""])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000], help="articles per corpus")
    parser.add_argument("--model", default="hash", help="embedding model (hash = the test HashEmbedder)")
    parser.add_argument("--backend", help="embedding backend (torch, onnx, ...); default: citeqa's default")
    parser.add_argument("--src", type=Path, help="citeqa source tree to run (default: the installed citeqa)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, deleted afterwards)")
    parser.add_argument("--faiss", default="auto", help="FAISS index type passed to citeqa index")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    src = str(args.src.resolve()) if args.src else None
    citeqa = [sys.executable, "-c", CHILD.format(src=src)] if src else cli_command()
    path_line = f"sys.path.insert(0, {src!r})" if src else ""
    work = args.work or Path(tempfile.mkdtemp(prefix="citeqa-mem-"))
    env = {**os.environ, "CITEQA_HOME": str(work / "home"), "CITEQA_EMBEDDING__MODEL": args.model,
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CITEQA_INDEX_DIR", None)
    if args.backend:
        env["CITEQA_EMBEDDING__BACKEND"] = args.backend
    rows = []
    try:
        rss, secs, _ = run_child([sys.executable, "-c", FLOOR.format(path_line=path_line)], env)
        rows.append({"size": 0, "scenario": "floor", "rss_mb": rss, "seconds": secs, "output": ""})
        print(f"floor: {rss:.0f} MB ({secs:.1f} s)", file=sys.stderr)
        for n in args.sizes:
            corpus = work / f"corpus-{n}"
            n_bytes = write_corpus(corpus, n)
            index_dir = work / f"index-{n}"
            shutil.rmtree(index_dir, ignore_errors=True)
            cmd = ["--index-dir", str(index_dir), "index", str(corpus), "-q", "--faiss", args.faiss]
            for scenario in ("build", "unchanged", "update"):
                if scenario == "update":
                    touch_some(corpus, UPDATE_FRACTION)
                rss, secs, out = run_child([*citeqa, *cmd], env)
                rows.append({"size": n, "corpus_mb": n_bytes / 1e6, "scenario": scenario, "rss_mb": rss,
                             "seconds": secs, "output": out})
                print(f"{n} articles ({n_bytes / 1e6:.1f} MB), {scenario}: {rss:.0f} MB in {secs:.1f} s: {out}",
                      file=sys.stderr)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"model {args.model}, backend {args.backend or 'default'}, faiss {args.faiss}, "
          f"source {src or 'installed ' + citeqa[0]}\n")
    print("| articles | corpus MB | run | peak RSS MB | seconds |")
    print("|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['size'] or '-'} | {r.get('corpus_mb', 0):.1f} | {r['scenario']} | {r['rss_mb']:.0f} | "
              f"{r['seconds']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "backend": args.backend, "faiss": args.faiss, "src": src,
                                         "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
