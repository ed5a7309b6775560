"""Sections 1, 2 and 4 of the bench: indexing throughput, query latency per stage, cold start, memory.

- Indexing: ``build_index`` on generated articles against a bare ``SentenceTransformer.encode`` of the very
  same chunk texts, alternating which goes first, in one process; plus separately timed chunking, BM25 and
  FAISS builds on the same data (what the rest of ``build_index`` spends its time on).
- Latency: ``QA.answer`` over eval questions (and variants of them), per stage from ``Answer.timings_ms``
  plus an outer end-to-end timer; a fresh ``QA`` per pass so every pass starts with the same (empty) per-``QA``
  caches, and every pass asks questions no other pass asked (``evals.bench.latency_queries``), plus the
  same questions once more (the "repeated question" figure).
- Cold start: ``citeqa ask`` in a new process, wall time from spawn to exit, with answer.answerability on (the
  default: the spaCy pipeline loads) and off, run alternately so that both see the same machine load; their ratio.
- Memory: peak RSS of a child process that loads ``QA`` and answers questions (and of ``citeqa ui``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corpus.sentences import split_sentences
from corpus.types import Article
from embeddings import ChunkSettings, Embedder, IndexSettings, build_index
from evals.bench.data import text_seed
from evals.bench.latency_queries import LatencyPass, repeated_questions
from evals.bench.stats import peak_rss_mb, rss_mb, summarize

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
STAGE_KEYS = {  # bench name -> Answer.timings_ms key
    "rewrite": "rewrite", "embed": "retrieve.embed", "dense": "retrieve.dense", "bm25": "retrieve.bm25",
    "fuse": "retrieve.fuse", "mmr": "retrieve.mmr", "retrieve": "retrieve", "generate": "generate",
    "cite": "cite", "total": "total",
}



# ------------------------------------------------------------------------------------------- indexing


def bare_encoder_name(embedder: Embedder) -> str:
    """What ``encode_bare`` calls for this embedder, for the report."""
    model = getattr(embedder, "model", None)
    if model is not None and hasattr(model, "encode"):
        return "SentenceTransformer.encode"
    return f"{type(embedder).__name__}.embed"


def encode_bare(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """``SentenceTransformer.encode`` as a user would call it, on the embedder's own model and batch size;
    the embedder's own ``embed`` for backends without a sentence-transformers model (ONNX Runtime)."""
    model = getattr(embedder, "model", None)
    if model is None or not hasattr(model, "encode"):
        return embedder.embed(texts)
    return model.encode(list(texts), batch_size=getattr(embedder, "batch_size", 64), convert_to_numpy=True,
                        normalize_embeddings=True, show_progress_bar=False)


def chunk_all(articles: Sequence[Article], embedder: Embedder, chunking: ChunkSettings) -> list[str]:
    """Chunk texts of the articles exactly as ``build_index`` cuts them."""
    from corpus.chunk import chunk_article

    return [c.text for a in articles for c in chunk_article(
        a, count_tokens=embedder.count_tokens, size=chunking.size, overlap=chunking.overlap,
        max_tokens=embedder.max_tokens)]


def bench_indexing(
    batches: Sequence[Sequence[Article]], embedder: Embedder, *, workdir: Path, progress: Progress,
    chunking: ChunkSettings | None = None,
) -> dict[str, Any]:
    """Per batch of articles (one repeat each): build_index vs bare encode of the same chunks, side by side."""
    from embeddings.bm25 import BM25Index
    from embeddings.faiss_index import DenseIndex

    chunking = chunking or ChunkSettings()
    runs: list[dict[str, Any]] = []
    for r, articles in enumerate(batches):
        t0 = time.perf_counter()
        texts = chunk_all(articles, embedder, chunking)
        chunk_s = time.perf_counter() - t0
        index_dir = workdir / f"index-gen-{r}"
        timing: dict[str, float] = {}
        # Alternate the order so neither side always runs on a warmer (or more contended) machine.
        for step in (("build", "encode") if r % 2 == 0 else ("encode", "build")):
            t0 = time.perf_counter()
            if step == "build":
                report = build_index(articles, index_dir=index_dir, embedder=embedder, chunking=chunking,
                                     index_settings=IndexSettings(faiss="auto"), progress=False, replace=True)
            else:
                vectors = encode_bare(embedder, texts)
            timing[step] = time.perf_counter() - t0
        t0 = time.perf_counter()
        bm25 = BM25Index.build(texts)
        bm25_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        dense = DenseIndex.build(np.asarray(vectors, dtype=np.float32), setting="auto")
        faiss_s = time.perf_counter() - t0
        del bm25, dense
        n = report.chunks
        if n != len(texts):
            logger.warning("build_index made %d chunks, the chunker alone %d", n, len(texts))
        run = {
            "articles": len(articles), "chunks": n, "build_s": timing["build"], "encode_s": timing["encode"],
            "build_chunks_per_s": n / timing["build"], "encode_chunks_per_s": len(texts) / timing["encode"],
            "ratio": (n / timing["build"]) / (len(texts) / timing["encode"]),
            "breakdown_s": {"chunk": chunk_s, "encode": timing["encode"], "bm25": bm25_s, "faiss": faiss_s,
                            "other": max(timing["build"] - chunk_s - timing["encode"] - bm25_s - faiss_s, 0.0)},
            "first": "build" if r % 2 == 0 else "encode",
        }
        runs.append(run)
        progress(f"indexing run {r + 1}/{len(batches)}: {n} chunks, build_index {run['build_chunks_per_s']:.0f} "
                 f"chunks/s, bare encode {run['encode_chunks_per_s']:.0f} chunks/s (ratio {run['ratio']:.2f})")
    keys = ("build_chunks_per_s", "encode_chunks_per_s", "ratio", "build_s", "encode_s")
    out: dict[str, Any] = {k: summarize(r[k] for r in runs) for k in keys}
    out["breakdown_s"] = {k: summarize(r["breakdown_s"][k] for r in runs) for k in runs[0]["breakdown_s"]}
    out["chunks_per_run"] = summarize(r["chunks"] for r in runs)
    out["articles_per_run"] = summarize(r["articles"] for r in runs)
    out["runs"] = runs
    out["index_dir"] = str(workdir / "index-gen-0")
    out["bare_encoder"] = bare_encoder_name(embedder)
    return out


# -------------------------------------------------------------------------------------------- latency


def bench_latency(
    make_qa: Callable[[], Any], passes: Sequence[LatencyPass], *, progress: Progress, label: str,
    repeat: bool = True,
) -> dict[str, Any]:
    """Per-stage p50/p95/max per pass; each figure the median of the passes [min–max].

    Each pass gets a fresh ``QA`` on the loaded index and models (the same empty per-``QA`` caches), answers its
    warm-up questions untimed, then times its own questions: pass them from ``latency_passes``, which never
    gives a question to two passes (see ``evals.bench.latency_queries``). ``repeat``: right after each pass, its
    questions are asked again on the same ``QA`` and timed apart (``repeated_ms``: a question answered before).
    """
    reused = repeated_questions(passes)
    if reused:
        raise ValueError(f"latency passes reuse {len(reused)} question(s), e.g. {reused[0]!r}")
    per_pass: list[dict[str, dict[str, Any]]] = []
    again: list[dict[str, Any]] = []
    refused = 0
    for p, lp in enumerate(passes):
        qa = make_qa()  # fresh per-QA caches: every pass sees the same kind of work
        for q, hist in lp.warmup:
            qa.answer(q, hist)
        stages, refused = _timed(qa, lp.queries)
        per_pass.append({k: summarize(v) for k, v in stages.items()})
        note = ""
        if repeat:
            again.append(summarize(_timed(qa, lp.queries)[0]["end_to_end"]))
            note = f"; the same questions again: p50 {again[-1]['p50']:.1f} ms"
        progress(f"latency {label} pass {p + 1}/{len(passes)}: end to end p50 {per_pass[-1]['end_to_end']['p50']:.1f} "
                 f"ms, p95 {per_pass[-1]['end_to_end']['p95']:.1f} ms over {len(lp.queries)} new queries{note}")
    stages_out = {
        stage: {stat: summarize(pp[stage][stat] for pp in per_pass) for stat in ("p50", "p95", "max")}
        for stage in per_pass[0]
    }
    out = {"label": label, "queries": len(passes[0].queries), "passes": len(passes), "refused_last_pass": refused,
           "warmup": len(passes[0].warmup), "distinct_questions": True, "stages_ms": stages_out,
           "pass_p50_ms": [pp["end_to_end"]["p50"] for pp in per_pass]}
    if again:
        out["repeated_ms"] = {stat: summarize(a[stat] for a in again) for stat in ("p50", "p95", "max")}
    return out


def _timed(qa: Any, queries: Sequence[tuple[str, list[dict[str, str]]]]) -> tuple[dict[str, list[float]], int]:
    """Each stage's milliseconds per query (``end_to_end``: an outer timer) and how many answers refused."""
    stages: dict[str, list[float]] = {k: [] for k in [*STAGE_KEYS, "end_to_end"]}
    refused = 0
    for q, hist in queries:
        t0 = time.perf_counter()
        a = qa.answer(q, hist)
        stages["end_to_end"].append((time.perf_counter() - t0) * 1e3)
        for name, key in STAGE_KEYS.items():
            stages[name].append(float(a.timings_ms.get(key, 0.0)))
        refused += a.refused
    return stages, refused


def cli_command() -> list[str]:
    """The installed ``citeqa`` console script: the one beside this interpreter (its virtualenv), else on PATH.

    Raises:
        RuntimeError: citeqa is not installed (``pip install -e .`` makes the script).
    """
    beside = Path(sys.executable).with_name("citeqa")
    exe = str(beside) if beside.is_file() else shutil.which("citeqa")
    if exe is None:
        raise RuntimeError(f"no citeqa command beside {sys.executable} or on PATH: install citeqa (pip install -e .)")
    return [exe]


def bench_cold_start(index_dir: Path, question: str, *, runs: int, home: Path, progress: Progress,
                     config: Path | None = None) -> dict[str, Any]:
    """Wall time of ``citeqa ask QUESTION`` in a fresh process (spawn → answer printed → exit) with
    answer.answerability on (``ask_s``, the default) and off (``ask_off_s``), and of ``citeqa --help`` (the
    interpreter and CLI imports alone). The commands take turns within each run, so a busy machine slows them
    alike; ``on_off_ratio`` is the median of the runs' on/off ratios. ``config``: the settings file the
    commands read (as ``CITEQA_CONFIG``; answerability is still set on and off by the environment)."""
    env = {**os.environ, "CITEQA_HOME": str(home), "CITEQA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "CITEQA_CONFIG", "CITEQA_ANSWER__ANSWERABILITY"):
        env.pop(var, None)
    if config is not None:
        env["CITEQA_CONFIG"] = str(config)
    cmd = cli_command()
    out: dict[str, Any] = {"command": " ".join([Path(cmd[0]).name, *cmd[1:], "ask", "…"])}
    ask = ["ask", "--backend", "extractive", question]
    commands = {"help": (["--help"], {}), "ask": (ask, {"CITEQA_ANSWER__ANSWERABILITY": "true"}),
                "ask_off": (ask, {"CITEQA_ANSWER__ANSWERABILITY": "false"})}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (args, extra) in commands.items():
            t0 = time.perf_counter()
            proc = subprocess.run([*cmd, *args], env={**env, **extra}, capture_output=True, text=True, timeout=600)
            times[name].append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd + args[:1])} failed ({proc.returncode}): {proc.stderr[-500:]}")
    for name in commands:
        out[f"{name}_s"] = summarize(times[name])
    out["on_off_ratio"] = float(np.median(np.array(times["ask"]) / np.array(times["ask_off"])))
    progress(f"cold start over {runs} runs: `citeqa ask` median {out['ask_s']['median']:.2f} s with answerability, "
             f"{out['ask_off_s']['median']:.2f} s without (ratio {out['on_off_ratio']:.2f}); "
             f"`citeqa --help` {out['help_s']['median']:.2f} s")
    return out


# --------------------------------------------------------------------------------------------- memory


def memory_child() -> None:
    """Child process entry: load QA from argv[1] (index dir), answer argv[2:], print RSS figures as JSON."""
    index_dir, questions = sys.argv[1], sys.argv[2:]
    from qa import QA

    base = rss_mb()
    t0 = time.perf_counter()
    qa = QA.from_settings({"index": {"dir": index_dir}, "generator": {"backend": "extractive"}})
    load_s = time.perf_counter() - t0
    loaded = rss_mb()
    for q in questions:
        qa.answer(q)
    print(json.dumps({"start_rss_mb": base, "loaded_rss_mb": loaded, "rss_mb": rss_mb(),
                      "peak_rss_mb": peak_rss_mb(), "load_s": load_s, "chunks": len(qa.index.chunks),
                      "faiss": qa.index.manifest.get("faiss_type")}))


def bench_memory(index_dir: Path, questions: Sequence[str], *, runs: int, home: Path) -> dict[str, Any]:
    """Peak RSS (MiB) of a process that loads QA on ``index_dir`` and answers ``questions``, over ``runs``."""
    env = {**os.environ, "CITEQA_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    env.pop("CITEQA_INDEX_DIR", None)
    code = "from evals.bench.pipeline import memory_child; memory_child()"
    rows = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", code, str(index_dir), *questions], env=env,
                              capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"memory child failed ({proc.returncode}): {proc.stderr[-800:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    keys = ("peak_rss_mb", "loaded_rss_mb", "start_rss_mb", "load_s")
    return {**{k: summarize(r[k] for r in rows) for k in keys}, "chunks": rows[0]["chunks"],
            "faiss": rows[0]["faiss"], "questions": len(questions)}


def bench_ui_memory(index_dir: Path, *, home: Path, timeout_s: float = 240.0) -> dict[str, Any]:
    """RSS of ``citeqa ui`` once it serves (index loaded, Gradio imported); killed right after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CITEQA_HOME": str(home), "CITEQA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [*cli_command(), "ui", "--host", "127.0.0.1", "--port", str(port)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < timeout_s:
            if proc.poll() is not None:
                return {"error": f"citeqa ui exited with {proc.returncode}"}
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            return {"error": f"citeqa ui did not serve within {timeout_s:.0f} s"}
        ready_s = time.perf_counter() - t0
        time.sleep(1.0)
        return {"ready_s": ready_s, "rss_mb": rss_mb(proc.pid), "peak_rss_mb": peak_rss_mb(proc.pid)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SentenceMeanEmbedder:
    """Stands in for the real model when building a large index quickly: same identity, tokenizer and token
    counts (so chunks are cut exactly as the real model would and the index loads with the real model), but
    each chunk's vector is the mean of the real embeddings of its sentences plus a little noise.

    Args:
        real: the real embedder (its ``model_id``, ``dim``, ``max_tokens``, ``count_tokens``, fingerprint).
        sentence_vectors: sentence text → its real unit vector (e.g. of every seed sentence).
        noise: norm of the Gaussian noise added per chunk (seeded by the chunk text).
    """

    def __init__(self, real: Embedder, sentence_vectors: dict[str, np.ndarray], *, noise: float = 0.3) -> None:
        self.real = real
        self.model_id = real.model_id
        self.dim = real.dim
        self.max_tokens = real.max_tokens
        self._vectors = sentence_vectors
        self._noise = noise

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def fingerprint(self) -> str:
        from embeddings.embedder import model_fingerprint

        return model_fingerprint(self.real)

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            parts = [self._vectors[s] for s in (text[a:b] for a, b in split_sentences(text)) if s in self._vectors]
            rng = np.random.default_rng(text_seed(text))
            v = np.mean(parts, axis=0) if parts else np.zeros(self.dim, dtype=np.float32)
            v = v / (np.linalg.norm(v) or 1.0) + rng.standard_normal(self.dim).astype(np.float32) * (
                self._noise / np.sqrt(self.dim))
            out[i] = v / (np.linalg.norm(v) or 1.0)
        return out
