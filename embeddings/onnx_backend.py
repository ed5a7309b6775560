"""ONNX Runtime backend for the embedding model: exported offline from the local weights, cached, no torch later.

Why not sentence-transformers' ``backend="onnx"``: it loads through ``optimum-onnx``, whose only release
(0.1.0) pins ``transformers<4.58`` while sentence-transformers 6 needs ``transformers>=5``; pip would
downgrade transformers under sentence-transformers. ``onnxruntime`` and ``onnx`` install cleanly on their own
(core dependencies of citeqa), so citeqa exports the model's transformer itself with ``torch.onnx.export``
(the TorchScript exporter: no onnxscript needed) and runs the same three modules the sentence-transformers
model declares: tokenizer → transformer → mean pooling → L2 normalisation.

Backends (``EmbeddingSettings.backend``):

- ``onnx`` (the default): fp32 graph. The torch model's vectors up to float rounding (cosine > 0.9999,
  checked at export), so it shares torch's index fingerprint: an index built with one loads with the other,
  and retrieval and answers are unchanged (`citeqa eval` on seed_dev gives identical metrics). A process
  using it never imports torch once the export is cached: faster start, faster single queries, less memory.
- ``onnx-int8``: weights of every MatMul dynamically quantised to int8 with per-channel scales. Faster than
  torch (chunks/s), cosine ~0.99 to the torch vectors, retrieval recall slightly lower on
  seed_dev (``citeqa bench`` measures all three side by side); not the default for that reason.

The exports live in ``<cache_dir>/onnx/<weights fingerprint[:16]>/`` (``model.onnx``, ``model_qint8.onnx``).
The first use exports (a few seconds; needs torch and transformers, which sentence-transformers brings);
every later load only reads the file. Each export is checked against torch on probe sentences before it
is kept, and written atomically, so two processes exporting at once or a killed export never leave a bad
file behind; a damaged cached file is exported again. An index built with ``onnx-int8`` and one built with
torch/``onnx`` refuse each other (the fingerprints differ): ``citeqa index --rebuild`` re-embeds.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import EmbedderError
from embeddings.models import folder_fingerprint

logger = logging.getLogger(__name__)

ONNX_BACKENDS = ("onnx", "onnx-int8")
OPSET = 17
INSTALL_HINT = "pip install onnxruntime onnx (dependencies of citeqa), or set embedding.backend to 'torch'"
# Exports are checked against torch before they are kept: fp32 on every probe, int8 on their mean.
MIN_EXPORT_COSINE = {"onnx": 0.9999, "onnx-int8": 0.97}
_PROBES = (
    "Emmanuel Macron received Vladimir Putin at the Palace of Versailles on 29 May 2017.",
    "When did the French ministers visit Moscow?",
    "Sanctions, Mistral warships and the 2+2 format: what changed between 2015 and 2019?",
    "ok",
)
_SUPPORTED_MODULES = (
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
)


def onnx_available() -> bool:
    """True when onnxruntime and onnx can be imported."""
    return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbedderError(f"cannot read {path}: {exc}") from exc
    return data  # type: ignore[no-any-return]


class ModelLayout:
    """What the ONNX backend needs to know of a sentence-transformers model folder, validated.

    Raises:
        EmbedderError: for architectures this backend does not reproduce (anything but a transformer, mean
            pooling and an optional normalisation), or without a fast-tokenizer ``tokenizer.json``.
    """

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "modules.json").is_file():
            raise EmbedderError(f"cannot load an embedding model from {self.model_dir}: no modules.json there (not a "
                                "sentence-transformers model folder)")
        modules = _read_json(self.model_dir / "modules.json")
        types = [m.get("type", "") for m in modules]  # type: ignore[attr-defined]
        unsupported = [t for t in types if t not in _SUPPORTED_MODULES]
        if not types or types[0] != _SUPPORTED_MODULES[0] or unsupported:
            raise EmbedderError(
                f"the onnx backends support transformer + mean pooling (+ normalize) models; {self.model_dir} "
                f"has modules {types}: use backend 'torch'"
            )
        pooling_dir = next((m["path"] for m in modules if m["type"].endswith(".Pooling")), None)  # type: ignore[index]
        pooling = _read_json(self.model_dir / str(pooling_dir) / "config.json") if pooling_dir else {}
        other_modes = [k for k, v in pooling.items()
                       if k.startswith("pooling_mode_") and v and k != "pooling_mode_mean_tokens"]
        if not pooling.get("pooling_mode_mean_tokens") or other_modes:
            raise EmbedderError(f"the onnx backends support mean pooling only; {self.model_dir} uses {other_modes}: "
                                "use backend 'torch'")
        self.dim = int(pooling["word_embedding_dimension"])
        st_config = _read_json(self.model_dir / "sentence_bert_config.json")
        self.max_tokens = int(st_config.get("max_seq_length") or 0)
        if not self.max_tokens:
            raise EmbedderError(f"{self.model_dir}/sentence_bert_config.json does not state max_seq_length")
        self.lowercase = bool(st_config.get("do_lower_case", False))
        self.tokenizer_file = self.model_dir / "tokenizer.json"
        if not self.tokenizer_file.is_file():
            raise EmbedderError(f"the onnx backends need a fast tokenizer (tokenizer.json) in {self.model_dir}")


def export_onnx(model_dir: Path, cache_dir: Path, *, fingerprint: str, backend: str) -> Path:
    """The cached ONNX export of ``model_dir`` for ``backend`` (``onnx`` or ``onnx-int8``), exporting it if needed.

    Args:
        model_dir: the local sentence-transformers model folder.
        cache_dir: citeqa's cache folder; exports go to ``cache_dir/onnx/<fingerprint[:16]>/``.
        fingerprint: identifies the weights (``embeddings.models.folder_fingerprint``).
        backend: ``onnx`` (fp32) or ``onnx-int8`` (dynamic int8 quantisation of the MatMul weights).

    Raises:
        EmbedderError: onnxruntime/onnx missing, the export failed, or the exported graph disagrees with torch.
    """
    if backend not in ONNX_BACKENDS:
        raise EmbedderError(f"unknown onnx backend {backend!r}; choose one of {', '.join(ONNX_BACKENDS)}")
    if not onnx_available():
        raise EmbedderError(f"embedding backend {backend!r} needs onnxruntime and onnx: {INSTALL_HINT}")
    out = Path(cache_dir) / "onnx" / fingerprint[:16]
    target = out / ("model.onnx" if backend == "onnx" else "model_qint8.onnx")
    if target.is_file():
        return target
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbedderError(f"cannot create the onnx cache folder {out}: {exc}") from exc
    layout = ModelLayout(model_dir)
    # A notice the CLI shows without -v: the first use pauses for a while.
    logger.info("preparing the embedding model for ONNX Runtime (%s; first use only, ~15 s): %s", backend, out,
                extra={"notice": True})
    fp32 = out / "model.onnx"
    tmp = out / f".{target.name}.{os.getpid()}.tmp"
    try:
        if not fp32.is_file():
            _export_fp32(layout, out)
        if backend == "onnx-int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # Per-channel weight scales on the MatMuls only: per-tensor scales (the default) cost a mean cosine
            # of ~0.96 to the fp32 vectors on the seed sentences, per-channel ~0.99.
            with _quiet_root_logger():  # the quantiser logs advice and per-tensor notes on the root logger
                quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                                 op_types_to_quantize=["MatMul"])
            _check_against_torch(layout, tmp, backend)
            tmp.replace(target)
    except EmbedderError:
        raise
    except Exception as exc:  # noqa: BLE001 - exporter and quantiser raise many types; all mean "no export"
        raise EmbedderError(f"exporting {model_dir} to ONNX ({backend}) failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Drop records logged straight on the root logger (onnxruntime.quantization does) for the block."""

    def only_named(record: logging.LogRecord) -> bool:
        return record.name != "root"

    root = logging.getLogger()
    root.addFilter(only_named)
    try:
        yield
    finally:
        root.removeFilter(only_named)


def _export_fp32(layout: ModelLayout, out: Path) -> None:
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(layout.model_dir), local_files_only=True)
    bert.eval()

    class LastHidden(torch.nn.Module):
        """Positional tensors in, last hidden state out: what the TorchScript tracer wants."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long),
             torch.zeros((2, 16), dtype=torch.long))
    axes = {name: {0: "batch", 1: "seq"} for name in [*names, "last_hidden_state"]}
    tmp = out / f".model.onnx.{os.getpid()}.tmp"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer warns about Python booleans in the masking code; the export is verified against torch
            # on padded batches of different lengths right below, which is what those warnings are about.
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHidden(), dummy, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
        _check_against_torch(layout, tmp, "onnx")
        tmp.replace(out / "model.onnx")  # atomic: a killed export never leaves a half-written model.onnx
    finally:
        tmp.unlink(missing_ok=True)


def _check_against_torch(layout: ModelLayout, onnx_path: Path, backend: str) -> None:
    """Refuse an export whose vectors for the probe sentences are not those of the torch model."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(layout.model_dir), device="cpu", local_files_only=True)
    want = reference.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True)
    got = _OnnxSession(onnx_path, layout, threads=1).embed(_PROBES)
    cosines = np.sum(want * got, axis=1)
    # fp32 must reproduce every probe (it shares torch's index identity); int8 is judged on the mean.
    cosine = float(cosines.min() if backend == "onnx" else cosines.mean())
    logger.info("onnx export %s: cosine to torch %.5f on %d probes", onnx_path.name, cosine, len(_PROBES))
    if cosine < MIN_EXPORT_COSINE[backend]:
        raise EmbedderError(f"the ONNX export ({backend}) disagrees with the torch model (cosine {cosine:.4f} "
                            f"< {MIN_EXPORT_COSINE[backend]}); use backend 'torch'")


class _OnnxSession:
    """Tokenizer + ONNX Runtime session + mean pooling + normalisation, the sentence-transformers way."""

    def __init__(self, onnx_path: Path, layout: ModelLayout, *, threads: int = 0, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads sleep instead of spinning: on a busy 2-core machine spinning workers starve the
        # process that should be running (the same effect as torch's OpenMP spin; see embedder.QUERY_TORCH_THREADS).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise EmbedderError(f"cannot load the ONNX model {onnx_path}: {exc}; delete it to re-export") from exc
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.layout = layout
        self.batch_size = batch_size
        tokenizer = Tokenizer.from_file(str(layout.tokenizer_file))
        # tokenizer.json carries its own truncation/padding (128, fixed) from training; use the model's instead.
        tokenizer.enable_truncation(max_length=layout.max_tokens)
        pad_id = tokenizer.token_to_id("[PAD]")
        tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0, pad_token="[PAD]")
        self.tokenizer = tokenizer

    def _prepare(self, text: str) -> str:
        # sentence-transformers' Transformer module strips each text (and lowercases if the model says so).
        text = str(text).strip()
        return text.lower() if self.layout.lowercase else text

    def embed(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        """float32 unit vectors, shape (len(texts), dim), in the order of ``texts``; batches sorted by length."""
        out = np.zeros((len(texts), self.layout.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            encs = self.tokenizer.encode_batch([self._prepare(texts[r]) for r in rows])
            feed = {
                "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
            }
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            mask = feed["attention_mask"].astype(np.float32)[..., None]
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[rows] = pooled
            if progress is not None:
                progress.update(len(rows))
        return out


class OnnxEmbedder:
    """The ``Embedder`` protocol on ONNX Runtime for a mean-pooled sentence-transformers model.

    Args:
        model_dir: the local model folder (resolved by ``load_embedder``).
        model_id: the model setting, e.g. ``all-MiniLM-L6-v2``; the index manifest records
            ``<model_id>@<backend>``.
        backend: ``onnx`` or ``onnx-int8``.
        cache_dir: citeqa's cache folder for the exports.
        batch_size: texts per inference call.
        threads: ONNX Runtime intra-op threads (0 = one per core).

    Example:
        >>> emb = OnnxEmbedder(path, model_id="all-MiniLM-L6-v2", backend="onnx-int8", cache_dir=Path("cache"))
        >>> emb.embed(["Macron met Putin at Versailles."]).shape
        (1, 384)
    """

    def __init__(self, model_dir: str | Path, *, model_id: str, backend: str, cache_dir: Path,
                 batch_size: int = 32, threads: int = 0) -> None:
        if backend not in ONNX_BACKENDS:
            raise EmbedderError(f"unknown onnx backend {backend!r}; choose one of {', '.join(ONNX_BACKENDS)}")
        if not onnx_available():
            raise EmbedderError(f"embedding backend {backend!r} needs onnxruntime and onnx: {INSTALL_HINT}")
        self.path = Path(model_dir)
        self.layout = ModelLayout(self.path)
        self.backend = backend
        # fp32 computes the torch model's function (checked at export: cosine >= 0.9999 on every probe), so it
        # shares the torch identity and indexes move freely between the two; int8 computes another function.
        self.model_id = model_id if backend == "onnx" else f"{model_id}@{backend}"
        self.dim = self.layout.dim
        self.max_tokens = self.layout.max_tokens
        self.batch_size = batch_size
        self._weights_fingerprint = folder_fingerprint(self.path)
        self.onnx_path = export_onnx(self.path, cache_dir, fingerprint=self._weights_fingerprint, backend=backend)
        try:
            self._session = _OnnxSession(self.onnx_path, self.layout, threads=threads, batch_size=batch_size)
        except EmbedderError as exc:  # a damaged cached export (disk full, truncated copy): make it again, once
            logger.warning("the cached ONNX export is unreadable, exporting it again: %s", exc)
            self.onnx_path.unlink(missing_ok=True)
            if backend == "onnx-int8":
                (self.onnx_path.parent / "model.onnx").unlink(missing_ok=True)
            self.onnx_path = export_onnx(self.path, cache_dir, fingerprint=self._weights_fingerprint, backend=backend)
            self._session = _OnnxSession(self.onnx_path, self.layout, threads=threads, batch_size=batch_size)
        # Counting must see the whole text: a copy of the tokenizer without truncation or padding.
        self._counter = copy.deepcopy(self._session.tokenizer)
        self._counter.no_truncation()
        self._counter.no_padding()

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Encode ``texts`` (sorted by length into batches); float32 unit vectors of shape (n, dim)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not progress:
            return self._session.embed(texts)
        from tqdm.auto import tqdm

        with tqdm(total=len(texts), desc="Batches", unit="text") as bar:
            return self._session.embed(texts, progress=bar)

    def count_tokens(self, text: str) -> int:
        """Token count including [CLS]/[SEP], never truncated (the same tokenizer as the torch backend)."""
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        """``count_tokens`` of many texts at once."""
        return [len(enc.ids) for enc in self._counter.encode_batch(list(texts), add_special_tokens=True)]

    def fingerprint(self) -> str:
        """fp32: the weights' fingerprint, as for torch (same vectors); int8: combined with the quantisation."""
        if self.backend == "onnx":
            return self._weights_fingerprint
        return hashlib.sha256(f"{self._weights_fingerprint}:{self.backend}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.model_id!r}, path={str(self.path)!r}, onnx={str(self.onnx_path)!r})"
