"""What an OpenAI-compatible server says about the model it runs: its context window, and its token counts.

``OpenAIGenerator`` sizes its prompts from the window when ``generator.context_window`` is not set. Servers say it
in different places (llama.cpp, Ollama) or not at all (llama-cpp-python, OpenAI); what none says falls back to
``qa.prompts.DEFAULT_CONTEXT_WINDOW``. History is trimmed by the server's own token counts where it has a tokenizer
endpoint (``ServerTokens``: llama.cpp, llama-cpp-python), else by the estimate (Ollama, OpenAI). The probes follow
no redirect and are bounded in time and size, and they carry the same ``Authorization`` as the chat requests to
that endpoint, never another key.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qa.prompts import DEFAULT_CONTEXT_WINDOW

logger = logging.getLogger(__name__)

_WINDOWS: dict[tuple[str, str], int] = {}
_WINDOWS_LOCK = threading.Lock()
_PROBE_TIMEOUT = 3.0
_PROBE_MAX_BYTES = 1_000_000


class _Unanswered(Exception):
    """A probe got no JSON answer: ``status`` is the HTTP status it got (200 with a reply too large or not JSON),
    None when it got none in time (refused, timed out)."""

    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.status = status


def _root(base_url: str) -> str:
    """``base_url`` without its trailing ``/v1``."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def _probe(method: str, url: str, body: dict[str, Any] | None = None, *, api_key: str = "") -> Any:
    """The JSON a server answers ``method url`` with, status 200 only; else ``_Unanswered``.

    No redirect is followed; one deadline (``_PROBE_TIMEOUT``) for the whole exchange and a size cap
    (``_PROBE_MAX_BYTES``): a server that drips bytes or streams forever (an OpenAI-compatible endpoint may answer
    any path with its event stream) costs at most that. ``api_key`` is the chat requests' own key.
    """
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + _PROBE_TIMEOUT
    try:
        with httpx.Client(timeout=_PROBE_TIMEOUT, follow_redirects=False, headers=headers) as client, \
                client.stream(method, url, json=body) as response:
            if response.status_code != 200:
                raise _Unanswered(response.status_code)
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if time.monotonic() > deadline:
                    raise _Unanswered(None)
                if len(data) > _PROBE_MAX_BYTES:
                    raise _Unanswered(200)  # it answers, but with something else than a probe's reply
    except httpx.HTTPError:
        raise _Unanswered(None) from None
    try:
        return json.loads(bytes(data))
    except ValueError:
        raise _Unanswered(200) from None


def discover_context_window(base_url: str, model: str, *, api_key: str = "") -> int | None:
    """The context window (tokens) the server at ``base_url`` runs ``model`` with, when it says; else None.

    Asked, in order, without following redirects and with a short timeout each:

    - llama.cpp's server: ``GET <root>/props`` → ``default_generation_settings.n_ctx`` (the window it serves);
      then ``GET <base_url>/models`` → the model's ``meta.n_ctx`` or, failing that, ``meta.n_ctx_train``;
    - Ollama: ``POST <root>/api/show`` → the ``num_ctx`` of the model's parameters. Its ``context_length`` is the
      window the model was trained with, not the one Ollama runs it with (2,048 or 4,096 unless num_ctx is set),
      so it is not used.

    ``<root>`` is ``base_url`` without its ``/v1``. llama-cpp-python's server reports no window (none of these
    answer): set ``generator.context_window``. Any failure (refused, 404, a redirect, not JSON) means "not said".
    """
    root = _root(base_url)

    def ask(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        try:
            return _probe(method, url, body, api_key=api_key)
        except _Unanswered:
            return None

    def positive(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    props = ask("GET", f"{root}/props")
    if isinstance(props, dict):
        settings = props.get("default_generation_settings")
        found = positive(settings.get("n_ctx")) if isinstance(settings, dict) else None
        if found := found or positive(props.get("n_ctx")):
            return found
    models = ask("GET", f"{root}/v1/models" if base_url.rstrip("/").endswith("/v1") else f"{root}/models")
    if isinstance(models, dict) and isinstance(models.get("data"), list):
        entries = [e for e in models["data"] if isinstance(e, dict) and isinstance(e.get("meta"), dict)]
        mine = [e for e in entries if e.get("id") == model] or (entries if len(models["data"]) == 1 else [])
        for entry in mine:
            meta = entry["meta"]
            if found := positive(meta.get("n_ctx")) or positive(meta.get("n_ctx_train")):
                return found
    show = ask("POST", f"{root}/api/show", {"model": model})
    if isinstance(show, dict) and isinstance(show.get("parameters"), str):
        match = re.search(r"^\s*num_ctx\s+(\d+)\s*$", show["parameters"], flags=re.M)
        if match:
            return int(match.group(1))
    return None


def known_context_window(base_url: str, model: str, *, api_key: str) -> int:
    """The window of ``model`` at ``base_url``: asked once (``discover_context_window``), then remembered; the
    default when the server says nothing."""
    key = (base_url, model)
    with _WINDOWS_LOCK:
        known = _WINDOWS.get(key)
    if known is None:
        found = discover_context_window(base_url, model, api_key=api_key)
        known = found or DEFAULT_CONTEXT_WINDOW
        if found is None:
            logger.info("%s reports no context window for %r; prompts are sized for %s tokens "
                        "(set generator.context_window)", safe_url(base_url), model, known)
        with _WINDOWS_LOCK:
            _WINDOWS[key] = known
    return known


def safe_url(url: str) -> str:
    """``url`` without any user:password part, for messages and logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


# -- token counts ---------------------------------------------------------------------------------------------
_TOKENIZERS: dict[tuple[str, str, str], str | None] = {}  # (root, model, key) -> tokenizer path, None: none
_TOKEN_CACHE: OrderedDict[tuple[str, str, str, str], int] = OrderedDict()
_TOKENS_LOCK = threading.Lock()
TOKEN_CACHE_SIZE = 4096  # texts whose server count is remembered (history messages and their cut versions)
RETRY_AFTER_S = 60.0  # a tokenizer that did not answer (timed out, refused) is not asked again for this long


class ServerTokens:
    """Token counts from the server's own tokenizer, for trimming history; the estimate where it has none.

    Tokenizer endpoints, asked in this order until one answers: llama.cpp's ``POST <root>/tokenize``
    (``{"content": text}`` → ``{"tokens": [...]}``), then llama-cpp-python's ``POST <root>/extras/tokenize/count``
    (``{"input": text}`` → ``{"count": n}``). Ollama and OpenAI have none: ``approx_tokens`` is used. The one that
    answered is remembered per endpoint, model and key, and each text's count is cached (``TOKEN_CACHE_SIZE``).
    The probes are ``_probe``'s: no redirects, 3 s and 1 MB at most, the chat requests' own ``Authorization``.
    A server whose tokenizer does not answer in time is counted by the estimate for ``RETRY_AFTER_S``.

    Example::

        count = ServerTokens("http://127.0.0.1:8080/v1", "qwen", api_key="not-needed")
        count("Macron received Putin at Versailles.")  # the server's count, or the estimate
    """

    def __init__(self, base_url: str, model: str, *, api_key: str) -> None:
        self.root = _root(base_url)
        self.model = model
        self._api_key = api_key
        self._key = (self.root, model, _fingerprint(api_key))
        self._down_until = 0.0

    def __repr__(self) -> str:
        return f"ServerTokens({safe_url(self.root)!r}, {self.model!r})"

    def __call__(self, text: str) -> int:
        """The tokens of ``text`` by the server's tokenizer, or ``approx_tokens(text)`` when it has none."""
        from qa.prompts import approx_tokens

        if not text:
            return 0
        cache_key = (*self._key, text)
        with _TOKENS_LOCK:
            if cache_key in _TOKEN_CACHE:
                _TOKEN_CACHE.move_to_end(cache_key)
                return _TOKEN_CACHE[cache_key]
            path = _TOKENIZERS.get(self._key, "")
        if path is None or time.monotonic() < self._down_until:
            return approx_tokens(text)
        paths = [path] if path else ["/tokenize", "/extras/tokenize/count"]
        for candidate in paths:
            try:
                count = self._ask(candidate, text)
            except _Unanswered as exc:
                if exc.status is None:  # no answer in time: the estimate for a while, then ask again
                    self._down_until = time.monotonic() + RETRY_AFTER_S
                    return approx_tokens(text)
                continue  # this server has no such endpoint (404, 405, 401...)
            if count is None:
                continue  # it answers, but not with a count (e.g. another API at that path)
            with _TOKENS_LOCK:
                _TOKENIZERS[self._key] = candidate
                _TOKEN_CACHE[cache_key] = count
                while len(_TOKEN_CACHE) > TOKEN_CACHE_SIZE:
                    _TOKEN_CACHE.popitem(last=False)
            return count
        with _TOKENS_LOCK:
            _TOKENIZERS[self._key] = None
        logger.info("%s has no tokenizer endpoint; history is trimmed by estimated tokens", safe_url(self.root))
        return approx_tokens(text)

    @property
    def available(self) -> bool | None:
        """True when the server's tokenizer counts, False when it has none, None when not asked yet."""
        with _TOKENS_LOCK:
            if self._key not in _TOKENIZERS:
                return None
            return _TOKENIZERS[self._key] is not None

    def _ask(self, path: str, text: str) -> int | None:
        if path == "/tokenize":
            reply = _probe("POST", f"{self.root}/tokenize", {"content": text}, api_key=self._api_key)
            tokens = reply.get("tokens") if isinstance(reply, dict) else None
            return len(tokens) if isinstance(tokens, list) else None
        reply = _probe("POST", f"{self.root}/extras/tokenize/count", {"input": text, "model": self.model},
                       api_key=self._api_key)
        count = reply.get("count") if isinstance(reply, dict) else None
        return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


def _fingerprint(secret: str) -> str:
    """A key's digest, so the cache keys never hold the key itself."""
    import hashlib

    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:16]
