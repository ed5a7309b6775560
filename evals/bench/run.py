"""``citeqa bench``: speed, memory and scale of citeqa, measured side by side, with a report.

``run_bench(quick=..., out_dir=..., progress=...)`` runs the sections below and writes ``bench.json`` (every
number, for machines), ``report.md`` (tables and plots, for people) and PNG plots into ``out_dir``:

1. indexing: ``build_index`` chunks/s on generated articles vs a bare encode of the same chunk texts with
   the same embedder in the same process (``SentenceTransformer.encode`` for torch, the ONNX session's
   ``embed`` for the default onnx backend; ratio = the pipeline's overhead), with a time breakdown;
2. query latency per stage, warm = loaded, new questions every pass (p50/p95/max), on the seed index, a
   generated index and a 100k-chunk index; cold start of ``citeqa ask`` in a new process;
3. vector search at 10k / 100k / 1M vectors with the product's own indexes (``DenseIndex.build`` for
   ``auto`` and each explicit kind, with the parameters ``citeqa index`` uses): build time, memory, bytes on
   disk, p50/p95, recall@10 against exact; the OpenMP thread count; what "auto" chose at each size;
4. memory: peak RSS of a process that loads ``QA`` and answers questions, seed and 100k-chunk indexes,
   and of ``citeqa ui``;
5. ONNX Runtime vs torch for the shipped model: chunks/s, vector agreement, recall@5 on seed_dev.

Every figure is the median of repeated runs with [min–max]; ratios pair runs made back to back. The quick
mode (``quick=True``, plan ``QUICK``) skips 1M vectors, the 100k-chunk index, the UI, HNSW/IVF-Flat/IVF-PQ
and the nprobe sweeps, and uses small inputs (run times: ``citeqa bench --help``; each run records its own in
``meta.duration_s`` and ``meta.section_s``). ``sections`` runs a subset
(setup always runs: the model and the real embeddings every section uses). A section that fails is recorded
under ``errors`` and the others still run.

Example:
    >>> from evals.bench.run import run_bench
    >>> result = run_bench(quick=True, out_dir=Path("runs/bench"), progress=True)
    >>> result["vectors"]["auto"]
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench import OPT_IN, SECTIONS

logger = logging.getLogger(__name__)

BENCH_VERSION = 1


@dataclass(frozen=True)
class BenchPlan:
    """Sizes and repeat counts of one bench run."""

    anchor_texts: int = 0  # real texts embedded as anchors of the synthetic vectors (0: every base text)
    index_batches: int = 3  # indexing repeats, each on its own generated articles
    articles_per_batch: int = 300
    latency_items: int = 0  # eval items timed per pass, new in every pass (0: as many as the pool allows)
    latency_variants: int = 3  # question forms per seed_dev item
    latency_passes: int = 3
    cold_runs: int = 3
    vector_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    vector_settings: tuple[str, ...] = ("auto", "flat", "hnsw", "ivf", "ivfsq8", "ivfpq")
    vector_sweep: bool = True  # also other nprobe / efSearch values than the product's
    vector_queries: int = 200
    vector_passes: int = 3
    thread_size: int = 100_000
    large_chunks: int = 100_000  # 0: no large-corpus index
    memory_runs: int = 3
    ui_memory: bool = True
    onnx_texts: int = 800
    onnx_repeats: int = 3


FULL = BenchPlan()
# The quick run measures every section on small inputs. It leaves out what dominated its time before it was
# cut: IVF-PQ training and HNSW builds, embedding every anchor text, hundreds of chunks per indexing batch,
# every seed_dev question in three forms on two indexes, a third cold start, hundreds of texts per ONNX
# backend. Where the time goes now: meta.section_s of `citeqa bench --quick`'s bench.json.
QUICK = BenchPlan(anchor_texts=256, index_batches=3, articles_per_batch=6, latency_items=20, latency_variants=1,
                  latency_passes=3, cold_runs=2, vector_sizes=(10_000, 100_000),
                  vector_settings=("auto", "flat", "ivfsq8"), vector_sweep=False, vector_queries=50,
                  vector_passes=3, thread_size=10_000, large_chunks=0, memory_runs=1, ui_memory=False,
                  onnx_texts=48, onnx_repeats=1)


class _Progress:
    """Progress bar over sections plus timestamped lines on stderr (silent when disabled)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="bench", unit="section", file=sys.stderr, leave=True)

    def __call__(self, message: str) -> None:
        logger.info("%s", message)
        if self.bar is not None:
            self.bar.write(f"[{time.perf_counter() - self.t0:7.1f} s] {message}", file=sys.stderr)

    def section(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description(f"bench: {name}")

    @contextmanager
    def steps(self, total: int, desc: str) -> Iterator[Callable[[], None]]:
        """A second bar for the steps of a long section; yields the function that advances it."""
        if self.bar is None:
            yield lambda: None
            return
        from tqdm import tqdm

        inner = tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False, position=1)
        try:
            yield lambda: inner.update(1)
        finally:
            inner.close()

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_bench(*, quick: bool, out_dir: Path, progress: bool,
              sections: Sequence[str] | None = None, config: Path | None = None) -> dict[str, Any]:
    """Run the bench and write ``bench.json``, ``report.md`` and PNG plots into ``out_dir``.

    Args:
        quick: small inputs, no 1M vectors, no 100k-chunk corpus, no UI, the default FAISS kinds only;
            False for the full run (run times: ``citeqa bench --help``).
        out_dir: created if needed; existing bench files in it are overwritten.
        progress: show progress bars and one line per measurement on stderr.
        sections: run only these of ``SECTIONS`` (None: all).
        config: a JSON settings file (``citeqa --config``) every measured process uses (see ``run_plan``);
            None: the default settings.

    Returns:
        The result written to ``bench.json`` (sections ``indexing``, ``latency``, ``cold_start``,
        ``vectors``, ``memory``, ``onnx``; ``errors`` maps a failed section to its error).

    Raises:
        ValueError: an unknown section name.
        ConfigError: ``config`` cannot be read or holds an invalid setting.

    Example:
        >>> run_bench(quick=True, out_dir=Path("runs/bench-quick"), progress=False)["meta"]["quick"]
        True
    """
    return run_plan(QUICK if quick else FULL, quick=quick, out_dir=out_dir, progress=progress, sections=sections,
                    config=config)


def run_plan(plan: BenchPlan, *, quick: bool, out_dir: Path, progress: bool, embedder: Any = None,
             sections: Sequence[str] | None = None, config: Path | None = None) -> dict[str, Any]:
    """``run_bench`` with an explicit plan (and optionally an already loaded embedder).

    ``config``: the settings file is the config-file layer (``CITEQA_CONFIG``) of this process and of every
    process the bench starts, so environment variables still override it (the cold start's off runs set
    ``CITEQA_ANSWER__ANSWERABILITY``). The seed index is built with its embedding model, chunking and index
    settings; the latency, cold-start and memory sections answer with its answer and retrieval settings
    (always with the extractive backend). Without it, the seed index and the latency section use the defaults.
    """
    selected = [s for s in SECTIONS if s not in OPT_IN] if sections is None else list(dict.fromkeys(sections))
    unknown = [name for name in selected if name not in SECTIONS]
    if unknown or not selected:
        raise ValueError(f"unknown bench section(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(SECTIONS)}")
    import faiss

    from corpus.load import load_articles
    from embeddings.config import ChunkSettings, EmbeddingSettings, IndexSettings, RetrievalSettings
    from embeddings.embedder import load_embedder
    from embeddings.faiss_index import AUTO_APPROX_THRESHOLD, SEARCH_THREADS
    from evals.bench import data as bench_data
    from evals.bench import pipeline as bench_pipeline
    from evals.bench import vectors as bench_vectors
    from evals.bench.onnx import bench_onnx
    from evals.bench.report import write_report
    from evals.bench.stats import machine_info
    from evals.sets import SETS_DIR, load_eval_set
    from qa.config import get_settings

    if config is not None:
        config = Path(config).resolve()
        get_settings(config)  # a missing, unreadable or invalid file stops here, with one line
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    bar = _Progress(progress, 1 + len(selected))
    # FAISS's own default (one thread per core unless OMP_NUM_THREADS says otherwise): what citeqa builds
    # with; single-query searches run on faiss_index.SEARCH_THREADS (section 3 compares the two).
    faiss_threads = int(faiss.omp_get_max_threads())
    result: dict[str, Any] = {
        "meta": {"version": BENCH_VERSION, "quick": quick, "plan": plan.__dict__, "sections": selected,
                 "started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine_info(),
                 "faiss_build_threads": faiss_threads, "faiss_search_threads": SEARCH_THREADS,
                 "torch_threads": None, "auto_approx_threshold_now": AUTO_APPROX_THRESHOLD,
                 "config": None if config is None else str(config)},
        "errors": {},
    }
    work = Path(tempfile.mkdtemp(prefix="citeqa-bench-"))
    home = work / "home"
    home.mkdir()
    # The product's ONNX export cache (<data dir>/cache): made once by setup below, reused by every section and
    # by the subprocesses (cold start, memory, UI), whose data dir is the throwaway `home`. Without this the
    # first cold start would time the one-time export.
    previous_config_env = os.environ.get("CITEQA_CONFIG")
    if config is not None:
        os.environ["CITEQA_CONFIG"] = str(config)
    base = get_settings() if config is not None else None  # the config's settings (None: the defaults)
    model_cache = get_settings().embedding.cache_dir
    previous_cache_env = os.environ.get("CITEQA_EMBEDDING__CACHE_DIR")
    os.environ["CITEQA_EMBEDDING__CACHE_DIR"] = str(model_cache)

    def section(name: str, fn: Callable[[], Any]) -> Any:
        if name != "setup" and name not in selected:
            return None
        bar.section(name)
        t0 = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - one failed section must not lose the others
            logger.debug("bench section %s failed", name, exc_info=True)
            result["errors"][name] = f"{type(exc).__name__}: {exc}"
            bar(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                traceback.print_exc()
            value = None
        result["meta"].setdefault("section_s", {})[name] = time.perf_counter() - t0
        if name != "setup":
            result[name] = value
        # Partial results survive a run killed later on (the report is written at the end).
        (out_dir / "bench.json").write_text(json.dumps(_jsonable(result), indent=2), encoding="utf-8")
        bar.advance()
        gc.collect()
        return value

    embedding_settings = (EmbeddingSettings(cache_dir=model_cache) if base is None
                          else base.embedding.model_copy(update={"cache_dir": model_cache}))
    seed_chunking = ChunkSettings() if base is None else base.chunking
    seed_index = IndexSettings() if base is None else base.index
    try:
        # -- setup: model, seed articles, seed index, eval items, real anchor embeddings ----------------------
        state: dict[str, Any] = {}

        def setup() -> None:
            t0 = time.perf_counter()
            state["emb"] = embedder or load_embedder(embedding_settings)
            load_s = time.perf_counter() - t0
            seeds = load_articles(None).articles
            state["seeds"] = seeds
            state["sentences"] = bench_data.seed_sentences(seeds)
            state["items"] = load_eval_set(SETS_DIR / "seed_dev.jsonl")
            state["seed_dir"] = work / "index-seed"
            from embeddings import build_index
            from qa.evidence import SpacyEntities

            # with the sentence entities and sentence vectors `citeqa index` stores (answer.answerability is on)
            t0 = time.perf_counter()
            build_index(seeds, index_dir=state["seed_dir"], embedder=state["emb"], chunking=seed_chunking,
                        index_settings=seed_index, progress=False, entities=SpacyEntities(),
                        sentence_vectors=seed_index.sentence_vectors)
            state["seed_build_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            texts = bench_data.base_texts(seeds)
            if plan.anchor_texts and len(texts) > plan.anchor_texts:  # an even spread over all the articles
                texts = [texts[i] for i in np.linspace(0, len(texts) - 1, plan.anchor_texts).astype(int)]
            state["anchors"] = state["emb"].embed(texts)
            state["questions"] = state["emb"].embed([it.question for it in state["items"]])
            bar(f"setup: model loaded in {load_s:.1f} s, seed index in {state['seed_build_s']:.1f} s; "
                f"{len(texts)} anchor texts embedded in {time.perf_counter() - t0:.1f} s")
            result["meta"]["anchor_texts"] = len(texts)
            result["meta"]["embedding_model"] = getattr(state["emb"], "model_id", None)
            result["meta"]["torch_threads"] = _torch_threads()  # once the embedder has loaded torch

        section("setup", setup)
        if "emb" not in state:
            return _finish(result, out_dir, started, bar, write_report)
        emb = state["emb"]

        # -- 1. indexing --------------------------------------------------------------------------------------
        def indexing() -> dict[str, Any]:
            batches = [bench_data.generate_articles(state["sentences"], plan.articles_per_batch, seed=100 + r,
                                                    prefix=f"gen{r}") for r in range(plan.index_batches)]
            with bar.steps(len(batches), "indexing runs") as tick:
                return bench_pipeline.bench_indexing(batches, emb, workdir=work, progress=_ticking(bar, tick))

        section("indexing", indexing)

        # -- 2. latency, warm, on every index we have; cold start --------------------------------------------
        from embeddings import Index
        from evals.bench.latency_queries import latency_passes, latency_pool
        from qa import QA, get_settings

        pool = latency_pool()  # seed_dev + seed_dev2: each pass asks questions no other pass asked

        def lat_passes(variants: int) -> list[Any]:
            return latency_passes(pool, per_pass=plan.latency_items, passes=plan.latency_passes, warmup=5,
                                  variants=variants)

        def qa_factory(index_dir: Path) -> Callable[[], Any]:
            chosen: dict[str, Any] = {"index": {"dir": str(index_dir)}, "generator": {"backend": "extractive"}}
            if base is None:
                chosen["retrieval"] = RetrievalSettings().model_dump()
            settings = get_settings(chosen)
            index = Index.load(index_dir, embedder=emb, chunking=settings.chunking)
            return lambda: QA(settings, index, emb)

        def latency() -> dict[str, Any]:
            gen_dir = work / "index-gen-0"
            with bar.steps(plan.latency_passes * (1 + gen_dir.is_dir()), "latency passes") as tick:
                progress_fn = _ticking(bar, tick)
                out = {"seed": bench_pipeline.bench_latency(qa_factory(state["seed_dir"]),
                                                            lat_passes(plan.latency_variants),
                                                            progress=progress_fn, label="seed")}
                out["seed"]["chunks"] = _chunk_count(state["seed_dir"], emb)
                if gen_dir.is_dir():
                    out["generated"] = bench_pipeline.bench_latency(qa_factory(gen_dir), lat_passes(1),
                                                                    progress=progress_fn, label="generated")
                    out["generated"]["chunks"] = _chunk_count(gen_dir, emb)
            return out

        section("latency", latency)

        def cold_start() -> dict[str, Any]:
            with bar.steps(1, "cold start commands") as tick:
                return bench_pipeline.bench_cold_start(state["seed_dir"], state["items"][0].question,
                                                       runs=plan.cold_runs, home=home, progress=_ticking(bar, tick),
                                                       config=config)

        section("cold_start", cold_start)

        # -- 3. vector search at scale, with the product's indexes ---------------------------------------------
        def vectors() -> dict[str, Any]:
            sizes = []
            threads: list[dict[str, Any]] = []
            steps = len(plan.vector_sizes) * len(plan.vector_settings)
            with bar.steps(steps, "FAISS indexes") as tick:
                for n in plan.vector_sizes:
                    size = bench_vectors.bench_size(
                        n, state["anchors"], state["questions"], settings=plan.vector_settings,
                        n_queries=plan.vector_queries, passes=plan.vector_passes, sweep=plan.vector_sweep,
                        progress=bar, workdir=work, tick=tick,
                        thread_counts=sorted({1, faiss_threads}) if n == plan.thread_size else ())
                    threads.extend(size.pop("threads"))
                    sizes.append(size)
                    gc.collect()
            return {"sizes": sizes, "threads": threads, "auto": bench_vectors.auto_choice(sizes),
                    "settings": list(plan.vector_settings), "product_path": True,
                    "targets": {"recall_at_10": bench_vectors.RECALL_TARGET,
                                "p50_ms": bench_vectors.LATENCY_TARGET_MS,
                                "memory_mb": bench_vectors.MEMORY_TARGET_MB},
                    "synthetic": {"mix_anchors": bench_data.MIX_ANCHORS,
                                  "noise": [bench_data.NOISE_LOW, bench_data.NOISE_HIGH],
                                  "anchors": int(len(state["anchors"]))}}

        section("vectors", vectors)

        # -- 4. memory (and latency on the 100k-chunk index) --------------------------------------------------
        def memory() -> dict[str, Any]:
            questions = [it.question for it in state["items"][:5]]
            out: dict[str, Any] = {"seed": bench_pipeline.bench_memory(state["seed_dir"], questions,
                                                                        runs=plan.memory_runs, home=home)}
            bar(f"memory: seed index, peak RSS {out['seed']['peak_rss_mb']['median']:.0f} MB")
            if plan.large_chunks:
                from evals.bench.large import build_large

                large_dir, info = build_large(plan.large_chunks, state, work, bar)
                out["large_build"] = info
                out["large"] = bench_pipeline.bench_memory(large_dir, questions, runs=plan.memory_runs, home=home)
                bar(f"memory: {out['large']['chunks']:,}-chunk index, peak RSS "
                    f"{out['large']['peak_rss_mb']['median']:.0f} MB")
                lat = bench_pipeline.bench_latency(qa_factory(large_dir), lat_passes(1), progress=bar,
                                                   label="large")
                lat["chunks"] = out["large"]["chunks"]
                if not result.get("latency"):
                    result["latency"] = {}
                result["latency"]["large"] = lat
                gc.collect()
            if plan.ui_memory:
                out["ui"] = bench_pipeline.bench_ui_memory(state["seed_dir"], home=home)
                bar(f"memory: citeqa ui {out['ui']}")
            return out

        section("memory", memory)

        # -- 5. ONNX ----------------------------------------------------------------------------------------------
        def onnx() -> dict[str, Any]:
            texts = (_gen_chunk_texts(work / "index-gen-0", plan.onnx_texts, emb)
                     or state["sentences"][: plan.onnx_texts])
            return bench_onnx(emb, speed_texts=texts, index_dir=state["seed_dir"], items=state["items"],
                              cache_dir=Path(str(model_cache)), repeats=plan.onnx_repeats, progress=bar)

        section("onnx", onnx)

        def scale() -> dict[str, Any]:  # 6. Ray ingestion, Milvus vs FAISS (evals/bench/scale.py)
            from evals.bench.scale import bench_scale

            return bench_scale(emb, embedding_settings, state["sentences"], state["anchors"],
                               work=work, quick=quick, progress=bar)

        section("scale", scale)
        return _finish(result, out_dir, started, bar, write_report)
    finally:
        bar.close()
        shutil.rmtree(work, ignore_errors=True)
        for name, previous in (("CITEQA_EMBEDDING__CACHE_DIR", previous_cache_env),
                               ("CITEQA_CONFIG", previous_config_env)):
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous


def _ticking(bar: Callable[[str], None], tick: Callable[[], None]) -> Callable[[str], None]:
    """A progress callback that also advances a step bar (the sections report once per step)."""

    def progress(message: str) -> None:
        bar(message)
        tick()

    return progress


def _torch_threads() -> int | None:
    """torch's intra-op threads, if the embedder loaded torch (None otherwise: nothing here uses it)."""
    torch = sys.modules.get("torch")
    try:
        return None if torch is None else int(torch.get_num_threads())
    except Exception:  # noqa: BLE001
        return None


def _load_index(index_dir: Path, embedder: Any) -> Any:
    from evals.bench.large import load_index

    return load_index(index_dir, embedder)


def _chunk_count(index_dir: Path, embedder: Any) -> int:
    return len(_load_index(index_dir, embedder).chunks)


def _gen_chunk_texts(index_dir: Path, limit: int, embedder: Any) -> list[str]:
    """The first ``limit`` chunk texts of a generated index ([] when there is none, e.g. indexing was skipped)."""
    from embeddings.errors import RetrievalError

    if not index_dir.is_dir():
        return []
    try:
        return [c.text for c in _load_index(index_dir, embedder).chunks[:limit]]
    except RetrievalError:
        return []


def _finish(result: dict[str, Any], out_dir: Path, started: float, bar: Any, write_report: Any) -> dict[str, Any]:
    result["meta"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["meta"]["duration_s"] = time.perf_counter() - started
    result["meta"]["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    (out_dir / "bench.json").write_text(json.dumps(_jsonable(result), indent=2), encoding="utf-8")
    try:
        write_report(result, out_dir)
    except Exception as exc:  # noqa: BLE001 - the JSON is already safe on disk
        result["errors"]["report"] = f"{type(exc).__name__}: {exc}"
        (out_dir / "bench.json").write_text(json.dumps(_jsonable(result), indent=2), encoding="utf-8")
    bar(f"wrote {out_dir / 'bench.json'} and {out_dir / 'report.md'}")
    return result


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, float) and x != x:  # NaN is not JSON
        return None
    return x
