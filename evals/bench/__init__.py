"""The bench: speed, memory and scale of citeqa (``citeqa bench``), apart from answer quality (``citeqa eval``).

It drives the product from outside: through its Python API (``build_index``, ``Index``, ``QA``,
``DenseIndex``) and, for anything measured in a new process, through the installed ``citeqa`` console
script (never ``python -m ui.cli``; nothing here imports ``ui``).

    evals/bench/
      cli.py           the ``citeqa bench`` click command (``ui/cli.py`` registers it)
      run.py           run_bench: the plan, the sections in order, bench.json, progress
      data.py          generated articles, anchor texts, synthetic vectors (deterministic, no timing)
      pipeline.py      sections 1, 2, 4: indexing, query latency per stage, cold start, memory
      latency_queries.py  section 2's questions: disjoint per pass (warm = loaded, not cached), plus warm-ups
      vectors.py       section 3: the product's FAISS indexes at 10k-1M vectors
      onnx.py          section 5: torch vs the ONNX Runtime backends
      stats.py         summaries of repeated runs, timers, process memory
      report.py        report.md and the PNG plots from bench.json
      retrieval.py     python -m evals.bench.retrieval: indexing vs bare encode, search latency per mode
      index_memory.py  python -m evals.bench.index_memory: peak RSS of ``citeqa index`` on large corpora
      ui_latency.py    python -m evals.bench.ui_latency: submit → first token / full answer in the browser
      scale.py         section scale (opt-in): Ray ingestion with 1 and 2 workers, Milvus vs FAISS at 100k

This module stays free of heavy imports: ``citeqa bench --help`` reads ``SECTIONS`` from here.
"""

from __future__ import annotations

# The sections of a bench run, in the order they run (``--sections`` picks a subset).
SECTIONS = ("indexing", "latency", "cold_start", "vectors", "memory", "onnx", "scale")
# Run only when asked for (``--sections scale``): it needs the [scale] extra (Ray, Milvus Lite).
OPT_IN = ("scale",)

__all__ = ["OPT_IN", "SECTIONS"]
