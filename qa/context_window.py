"""The context window an OpenAI-compatible server runs a model with, asked once per endpoint and model.

``OpenAIGenerator`` sizes its prompts from it when ``generator.context_window`` is not set. Servers say it in
different places (llama.cpp, Ollama) or not at all (llama-cpp-python, OpenAI); what none says falls back to
``qa.prompts.DEFAULT_CONTEXT_WINDOW``. The probes follow no redirect and are bounded in time and size, and they
carry the same ``Authorization`` as the chat requests to that endpoint, never another key.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qa.prompts import DEFAULT_CONTEXT_WINDOW

logger = logging.getLogger(__name__)

_WINDOWS: dict[tuple[str, str], int] = {}
_WINDOWS_LOCK = threading.Lock()
_PROBE_TIMEOUT = 3.0
_PROBE_MAX_BYTES = 1_000_000


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
    import httpx

    root = base_url.rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def ask(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        # One deadline for the whole exchange and a size cap: a server that drips bytes or streams forever (an
        # OpenAI-compatible endpoint may answer any path with its event stream) costs at most _PROBE_TIMEOUT.
        deadline = time.monotonic() + _PROBE_TIMEOUT
        try:
            with httpx.Client(timeout=_PROBE_TIMEOUT, follow_redirects=False, headers=headers) as client, \
                    client.stream(method, url, json=body) as response:
                if response.status_code != 200:
                    return None
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > _PROBE_MAX_BYTES or time.monotonic() > deadline:
                        return None
            return json.loads(bytes(data))
        except (httpx.HTTPError, ValueError):
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
