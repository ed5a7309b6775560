"""Distributed ingestion on Ray Data: read, clean and chunk articles in Ray tasks, embed them in an actor pool.

``embed_on_ray`` is the first of a build's two phases (``citeqa index --ray [ADDRESS]``, ``qa.library.build``)::

    files (path, doc_id)  --from_items-->  read + clean + chunk (tasks, map_batches)
                          -->  embed (an actor pool: each actor loads the ONNX embedder once, offline)
                          -->  the driver commits the vectors, batch by batch, to the build's checkpoint

The checkpoint is the one a local build keeps (``.<index>.resume/``, ``embeddings/checkpoint.py``): batches of
vectors per article, each committed durably. The second phase is the ordinary ``build_index`` on the driver: it
finds every new or changed article in the checkpoint (nothing is embedded twice) and merges those vector shards
into one index folder (records, vectors.npy, one FAISS index, BM25, manifest), atomically, in the very format
a local build writes. So a Ray build resumes like a local one: a killed driver leaves committed batches that
the next run skips (their files are read and hashed again, not chunked or embedded); a killed actor is
restarted by Ray Data and its batch retried, and an article that reaches the driver twice is committed once.

Only this module imports Ray, and only when a build asks for it: without ``--ray`` nothing imports Ray.
On a real cluster every node needs citeqa (with the ``[scale]`` extra and the model package) installed, and the
article files readable at the same paths (a shared filesystem); the driver's machine writes the index.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corpus.errors import ArticleError
from corpus.load import DEFAULT_MAX_FILE_BYTES, load_article
from embeddings.atomic import build_lock, check_index_folder, read_jsonl, sibling
from embeddings.checkpoint import Checkpoint, chunk_articles
from embeddings.config import ChunkSettings, EmbeddingSettings
from embeddings.embedder import Embedder, HashEmbedder, load_embedder, model_fingerprint
from embeddings.errors import EmbedderError, IndexCorruptError, IndexMismatchError, IndexNotFoundError, RetrievalError
from embeddings.layout import (
    ARTICLES,
    INDEX_NAMES,
    MANIFEST_KEYS,
    check_compatible,
    checkpoint_key,
    content_hash,
    read_manifest,
)

logger = logging.getLogger(__name__)

FILES_PER_TASK = 16  # files read, cleaned and chunked per Ray task
ARTICLES_PER_CALL = 8  # articles per embedding call of an actor (~80-100 chunks of the seed-like articles)
COMMIT_CHUNKS = 512  # chunks per checkpoint batch: the most a killed driver loses (as a local build)
LOCAL = "local"  # the address meaning "start a Ray instance on this machine"


def check_address(address: str) -> None:
    """Raise ValueError unless ``address`` looks like a Ray address (or ``local``): the CLI's ``--ray`` takes an
    optional value, so a path written right after it would otherwise be taken for one."""
    if address in (LOCAL, "auto") or re.fullmatch(r"(ray://)?[\w.\-]+:\d{1,5}", address) or (
            re.fullmatch(r"(ray://)?\[[0-9a-fA-F:]+\]:\d{1,5}", address)):
        return
    raise ValueError(f"--ray {address}: not a Ray address (host:port, ray://host:port, auto or local); "
                     "put PATHS before --ray")


class RayError(RetrievalError):
    """Ray is not installed, the cluster cannot be reached, or the pipeline failed."""


@dataclass(frozen=True)
class RayReport:
    """What the Ray phase did.

    ``embedded_chunks`` went through the actors now and were committed; ``known_articles`` were found in the
    current index or the checkpoint (not chunked or embedded again); ``duplicates`` reached the driver twice
    (a retried batch) and were committed once.
    """

    files: int
    embedded_articles: int
    embedded_chunks: int
    known_articles: int
    unreadable: int
    duplicates: int
    workers: int
    seconds: float
    address: str
    embed_cpu_s: float = 0.0  # CPU seconds the actors' processes spent in their embedding calls

    @property
    def chunks_per_s(self) -> float:
        """Chunks embedded per second of the whole phase (reading, chunking, embedding, committing)."""
        return self.embedded_chunks / self.seconds if self.seconds > 0 else 0.0

    @property
    def chunks_per_cpu_s(self) -> float:
        """Chunks embedded per CPU second of an actor: a worker's speed on a core of its own, whatever else runs."""
        return self.embedded_chunks / self.embed_cpu_s if self.embed_cpu_s > 0 else 0.0


def embed_on_ray(
    files: Sequence[tuple[Path, str]], *, index_dir: Path, embedder: Embedder, settings: EmbeddingSettings,
    chunking: ChunkSettings, address: str | None = None, workers: int | None = None, rebuild: bool = False,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, progress: bool = True, commit_chunks: int = COMMIT_CHUNKS,
    articles_per_call: int = ARTICLES_PER_CALL,
) -> RayReport:
    """Embed on Ray every file not already in the index or the checkpoint; commit the vectors to the checkpoint.

    Then ``build_index`` over the same files writes the index without embedding anything again.

    Args:
        files: ``(path, doc_id)`` per article file (``corpus.load.ArticleStream.files``); later repeats of a
            doc_id are left to the local phase, which reports them.
        embedder: the driver's embedder: the checkpoint's key (model fingerprint) and the actors' check.
        settings: what each actor loads (``load_embedder``); its model must have the driver's fingerprint.
        address: a Ray address to connect to (``host:port``, ``ray://host:port``, ``auto``); None or ``local``:
            start a Ray instance on this machine (stopped at the end). An already connected process is reused.
        workers: actors in the embedding pool (default: the cluster's CPUs minus one, at least one).
        rebuild: ignore the current index (embed every article again, except the checkpoint's).
        commit_chunks: chunks per checkpoint batch.

    Raises:
        RayError: Ray missing, unreachable, or the pipeline failed (the committed batches are kept).
        NotAnIndexError: ``index_dir`` holds something else than a citeqa index.
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    check_index_folder(index_dir, names=INDEX_NAMES, keys=MANIFEST_KEYS)
    seen: set[str] = set()
    todo = [(str(p), d) for p, d in files if not (d in seen or seen.add(d))]  # type: ignore[func-returns-value]
    with build_lock(index_dir), _connected(address) as (ray, where):
        cpus = int(ray.cluster_resources().get("CPU", 0))
        n_workers = workers or max(1, cpus - 1)
        if n_workers + 0.5 > cpus:  # each actor holds a CPU for the whole run; the read tasks need half of one
            raise RayError(f"{n_workers} embedding workers need at least {n_workers + 1} CPUs, the Ray cluster "
                           f"at {where} has {cpus}: fewer --ray-workers, or more nodes")
        checkpoint = Checkpoint.open(sibling(index_dir, "resume"), key=checkpoint_key(embedder, chunking),
                                     dim=embedder.dim)
        known = checkpoint.known()
        if not rebuild:
            known = {**_indexed_hashes(index_dir, embedder, chunking), **known}
        logger.info("ray: %d files, %d already embedded, %d embedding workers on %s", len(todo),
                    sum(d in known for _, d in todo), n_workers, where)
        counts = _run(ray, todo, known, checkpoint, settings=settings, chunking=chunking, workers=n_workers,
                      fingerprint=model_fingerprint(embedder), dim=embedder.dim, max_file_bytes=max_file_bytes,
                      progress=progress, commit_chunks=commit_chunks, articles_per_call=articles_per_call)
    report = RayReport(files=len(todo), workers=n_workers, seconds=time.perf_counter() - t0, address=where, **counts)
    line = (f"ray: embedded {report.embedded_chunks} chunks of {report.embedded_articles} articles in "
            f"{report.seconds:.1f} s ({report.chunks_per_s:.0f} chunks/s, {n_workers} workers, "
            f"{report.chunks_per_cpu_s:.0f} per actor CPU-second); "
            f"{report.known_articles} already embedded, {report.unreadable} unreadable, "
            f"{report.duplicates} duplicates dropped")
    logger.info("%s", line)
    if progress:
        print(line, file=sys.stderr)
    return report


@contextmanager
def _connected(address: str | None) -> Iterator[tuple[Any, str]]:
    """Ray, connected to ``address`` (or a new local instance, shut down at the end); and where it runs."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports: nothing leaves the machine
    local = address in (None, "", LOCAL)
    host = re.sub(r"^ray://", "", address or "").rpartition(":")[0].strip("[]")
    if (local or host in ("127.0.0.1", "localhost", "::1")) and "ray" not in sys.modules:
        # Ray on this machine alone: this node's address is the loopback one, and the servers of a Ray instance
        # started here bind 127.0.0.1 (Ray reads the switch once, on import: a single-machine "cluster").
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
        import ray.data  # noqa: F401 - fails early when the [data] extra is missing
    except ImportError as exc:
        raise RayError("`--ray` needs Ray Data: pip install 'citeqa[scale]'") from exc
    if not logger.isEnabledFor(logging.INFO):  # Ray Data's execution plan and timings: with -v only
        logging.getLogger("ray.data").setLevel(logging.ERROR)
    if ray.is_initialized():
        yield ray, "the connected Ray cluster"
        return
    try:
        if local:
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError...: all "cannot connect"
        where = "a local Ray instance" if local else f"the Ray cluster at {address}"
        raise RayError(f"cannot start or reach {where}: {exc}") from exc
    try:
        yield ray, "a local Ray instance" if local else str(address)
    finally:
        ray.shutdown()


def _indexed_hashes(index_dir: Path, embedder: Embedder, chunking: ChunkSettings) -> dict[str, str]:
    """doc_id -> content hash of the current index's articles when its settings match ({} otherwise: the local
    phase then decides, as a local build does, whether to reuse or rebuild)."""
    try:
        check_compatible(read_manifest(index_dir), index_dir=index_dir, embedder=embedder, chunking=chunking)
        return {str(r["doc_id"]): str(r["content_hash"]) for r in read_jsonl(index_dir / ARTICLES)}
    except (IndexNotFoundError, IndexMismatchError, IndexCorruptError, OSError, ValueError, KeyError) as exc:
        logger.info("ray: not reusing %s: %s", index_dir, exc)
        return {}


def _run(
    ray: Any, todo: list[tuple[str, str]], known: dict[str, str], checkpoint: Checkpoint, *,
    settings: EmbeddingSettings, chunking: ChunkSettings, workers: int, fingerprint: str, dim: int,
    max_file_bytes: int, progress: bool, commit_chunks: int, articles_per_call: int,
) -> dict[str, Any]:
    from ray.data import ActorPoolStrategy, DataContext

    DataContext.get_current().enable_progress_bars = False  # ours counts files; Ray's would interleave with it
    counts: dict[str, Any] = dict(embedded_articles=0, embedded_chunks=0, known_articles=0, unreadable=0,
                                  duplicates=0, embed_cpu_s=0.0)
    if not todo:
        return counts
    config = settings.model_dump_json()
    # Blocks are what the actor pool hands out: at least a few per actor, so that every actor gets work.
    blocks = min(len(todo), max(-(-len(todo) // FILES_PER_TASK), 4 * workers))
    per_task = -(-len(todo) // blocks)
    ds = ray.data.from_items([{"path": p, "doc_id": d} for p, d in todo], override_num_blocks=blocks)
    # Half a CPU per read task: a separate stage of tasks (equal resources would fuse it into the actors).
    ds = ds.map_batches(_read_and_chunk, batch_size=per_task, batch_format="numpy", num_cpus=0.5,
                        fn_kwargs={"known_ref": ray.put(known), "config": config, "size": chunking.size,
                                   "overlap": chunking.overlap, "max_file_bytes": max_file_bytes})
    ds = ds.map_batches(EmbedActor, batch_size=articles_per_call, batch_format="numpy", num_cpus=1,
                        compute=ActorPoolStrategy(size=workers),
                        fn_constructor_kwargs={"config": config, "fingerprint": fingerprint})
    bar = _bar(len(todo)) if progress else None
    done: set[str] = set()
    pending: list[tuple[str, str, list[tuple[int, int]]]] = []
    parts: list[np.ndarray] = []
    n_pending = 0
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            counts["embed_cpu_s"] += float(np.sum(batch["cpu_s"]))
            for doc_id, h, status, spans, vectors in zip(batch["doc_id"], batch["content_hash"], batch["status"],
                                                         batch["spans"], batch["vectors"], strict=True):
                if bar is not None:
                    bar.update(1)
                if status != "embed":
                    counts["known_articles" if status == "known" else "unreadable"] += 1
                    continue
                if doc_id in done:  # a retried batch's article that reached us already
                    counts["duplicates"] += 1
                    continue
                done.add(str(doc_id))
                span_list = [(int(s), int(e)) for s, e in json.loads(str(spans))]
                rows = np.frombuffer(bytes(vectors), dtype=np.float32).reshape(len(span_list), dim)
                pending.append((str(doc_id), str(h), span_list))
                parts.append(rows)
                n_pending += len(span_list)
                counts["embedded_articles"] += 1
                counts["embedded_chunks"] += len(span_list)
            if n_pending >= commit_chunks:
                checkpoint.add(pending, np.concatenate(parts))
                pending, parts, n_pending = [], [], 0
        if pending:
            checkpoint.add(pending, np.concatenate(parts))
    except RayError:
        raise
    except Exception as exc:  # noqa: BLE001 - Ray wraps worker errors in its own types
        raise RayError(f"the Ray ingestion failed ({counts['embedded_chunks'] - n_pending} chunks committed "
                       f"to {checkpoint.folder}; run again to resume): {_first_line(exc)}") from exc
    finally:
        if bar is not None:
            bar.close()
    return counts


def _first_line(exc: BaseException) -> str:
    """The error behind Ray's wrappers (RayTaskError.cause, __cause__), on one line."""
    seen = {id(exc)}
    while (inner := getattr(exc, "cause", None) or exc.__cause__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    text = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {text[-1].strip() if text else ''}"


def _bar(total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - comes with sentence-transformers
        return None
    return tqdm(total=total, unit="article", desc="ray: embedding", file=sys.stderr)


# -- what runs on the workers ---------------------------------------------------------------------------------------
_COUNTERS: dict[str, Any] = {}  # per worker process: the token counter of each model setting
_KNOWN: dict[str, dict[str, str]] = {}  # per worker process: the known hashes of a build, by object ref


def _known(ref: Any) -> dict[str, str]:
    """The build's doc_id -> content hash map, fetched from the object store once per worker process."""
    key = ref.hex()
    if key not in _KNOWN:
        import ray

        _KNOWN.clear()
        _KNOWN[key] = ray.get(ref)
    return _KNOWN[key]


def _counter(config: str) -> Any:
    """What chunking needs of the embedder (count_tokens, count_tokens_batch, max_tokens), once per process.

    For a model the ONNX backend runs: its tokenizer.json without truncation or padding, which is how
    ``OnnxEmbedder`` counts (no model weights loaded); otherwise the embedder itself.
    """
    counter = _COUNTERS.get(config)
    if counter is None:
        settings = EmbeddingSettings.model_validate_json(config)
        counter = _TokenCounter.load(settings) or load_embedder(settings)
        _COUNTERS[config] = counter
    return counter


class _TokenCounter:
    """The model's tokenizer, counting the way the embedders do (special tokens included, never truncated)."""

    def __init__(self, tokenizer: Any, max_tokens: int) -> None:
        self._tokenizer = tokenizer
        self.max_tokens = max_tokens

    @classmethod
    def load(cls, settings: EmbeddingSettings) -> _TokenCounter | HashEmbedder | None:
        if settings.model == "hash":
            return HashEmbedder()
        from tokenizers import Tokenizer

        from embeddings.models import resolve_model_path
        from embeddings.onnx_backend import ModelLayout

        try:
            layout = ModelLayout(resolve_model_path(settings.model))
        except EmbedderError:
            return None
        tokenizer = Tokenizer.from_file(str(layout.tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return cls(tokenizer, layout.max_tokens)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=True)]


def _read_and_chunk(batch: dict[str, np.ndarray], *, known_ref: Any, config: str, size: int, overlap: int,
                    max_file_bytes: int) -> dict[str, np.ndarray]:
    """A Ray task: read, clean and chunk a batch of files; articles already embedded are only hashed."""
    known = _known(known_ref)
    out: dict[str, list[Any]] = {k: [] for k in ("doc_id", "content_hash", "status", "spans", "texts")}
    articles = []
    for path, doc_id in zip(batch["path"], batch["doc_id"], strict=True):
        try:
            article = load_article(Path(str(path)), doc_id=str(doc_id), max_bytes=max_file_bytes)
        except ArticleError:
            status, h = "unreadable", ""  # the local phase reads it again and reports why
        else:
            h = content_hash(article)
            status = "known" if known.get(article.doc_id) == h else "embed"
            if status == "embed":
                articles.append(article)
        out["doc_id"].append(str(doc_id))
        out["content_hash"].append(h)
        out["status"].append(status)
    chunks = chunk_articles(articles, embedder=_counter(config), chunking=ChunkSettings(size=size, overlap=overlap))
    for doc_id, status in zip(out["doc_id"], out["status"], strict=True):
        mine = chunks.get(doc_id, []) if status == "embed" else []
        out["spans"].append(json.dumps([[c.start, c.end] for c in mine]))
        out["texts"].append(json.dumps([c.text for c in mine], ensure_ascii=False))
    return {k: np.array(v, dtype=object) for k, v in out.items()}


class EmbedActor:
    """A Ray actor of the embedding pool: loads the embedder once, then embeds the chunks of batches of articles.

    Each actor runs the model on one thread (it holds one CPU of the cluster); its model must have the
    driver's fingerprint (the same weights), or it refuses to start.
    """

    def __init__(self, config: str, fingerprint: str) -> None:
        settings = EmbeddingSettings.model_validate_json(config)
        self.embedder = _actor_embedder(settings)
        if model_fingerprint(self.embedder) != fingerprint:
            raise EmbedderError(f"the model on this Ray node ({self.embedder!r}) is not the driver's "
                                f"(fingerprint {model_fingerprint(self.embedder)[:12]} vs {fingerprint[:12]})")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Add a ``vectors`` column (float32 bytes, one row per chunk) and ``cpu_s`` (the call's CPU seconds, on
        its first row), and drop the chunk texts."""
        texts = [json.loads(str(t)) for t in batch["texts"]]
        flat = [t for row in texts for t in row]
        cpu = time.process_time()
        vectors = self.embedder.embed(flat) if flat else np.zeros((0, self.embedder.dim), np.float32)
        cpu_s = np.zeros(len(texts), dtype=np.float64)
        if len(texts):
            cpu_s[0] = time.process_time() - cpu
        out, first = [], 0
        for row in texts:
            out.append(np.ascontiguousarray(vectors[first : first + len(row)], dtype=np.float32).tobytes())
            first += len(row)
        result = {k: v for k, v in batch.items() if k != "texts"}
        result["vectors"] = np.array(out, dtype=object)
        result["cpu_s"] = cpu_s
        return result


def _actor_embedder(settings: EmbeddingSettings) -> Embedder:
    """``load_embedder`` with the ONNX session on one thread (an actor holds one CPU)."""
    if settings.backend in ("onnx", "onnx-int8") and settings.model != "hash":
        from embeddings.models import resolve_model_path
        from embeddings.onnx_backend import ModelLayout, OnnxEmbedder

        path = resolve_model_path(settings.model)
        try:
            ModelLayout(path)
        except EmbedderError:
            return load_embedder(settings)
        cache_dir = settings.cache_dir
        if cache_dir is None:  # as load_embedder
            import platformdirs

            cache_dir = Path(platformdirs.user_cache_dir("citeqa", appauthor=False))
        return OnnxEmbedder(path, model_id=settings.model, backend=settings.backend, cache_dir=cache_dir,
                            batch_size=settings.batch_size, threads=1)
    return load_embedder(settings)
