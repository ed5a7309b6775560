"""The LLM generator: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio).

``OpenAIGenerator`` streams answers from ``client.chat.completions.create(stream=True)`` and turns every
failure into a ``qa.errors`` exception a person can act on::

    GeneratorError
     ├── EndpointError       unreachable, timed out, 429/5xx after retries, stream cut mid-answer
     ├── AuthError           401/403
     └── ModelNotFoundError  404 or "model not found"

Retries are ours, not the SDK's (``max_retries=0`` on the client): transient failures are retried with
exponential backoff, but only before the first text delta reaches the caller, so no text is repeated.

Two bounds hold whatever the endpoint does (an endpoint that streams keep-alives forever, drips a token
every few seconds or ignores ``max_tokens`` is still an endpoint a user may point us at):

- ``settings.timeout`` is a deadline for one whole reply, from sending the request to the last token,
  retries and backoff included. The HTTP client's own timeouts are per read, so a server that sends a
  byte now and then never trips them; a timer therefore shuts the connection's socket down when the
  deadline passes, which wakes the blocked read, and the reply ends with ``EndpointError``.
- A reply may hold at most ``MAX_CHARS_PER_TOKEN * max_tokens`` characters; past that we stop reading and
  raise ``GeneratorError``: the endpoint ignores ``max_tokens``, and a truncated answer must not pass for a
  whole one.
The API key never appears in an exception, log line or repr; exceptions are raised ``from None``
because the SDK's exception holds the request, and with it the ``Authorization`` header.
There is no fallback to any other service.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from qa.config import GeneratorSettings
from qa.context_window import ServerTokens, known_context_window
from qa.context_window import safe_url as _safe_url
from qa.errors import AuthError, ConfigError, EndpointError, GeneratorError, ModelNotFoundError
from qa.generate import GenerationRequest, Generator
from qa.prompts import build_answer_messages, build_rewrite_messages, prompt_token_budget

logger = logging.getLogger(__name__)

# HTTP statuses worth retrying, as the openai SDK's own retry logic has them.
_TRANSIENT_STATUS = frozenset({408, 409, 429})
_MAX_BACKOFF = 30.0
_REWRITE_MAX_TOKENS = 64
_SERVER_TEXT_CHARS = 300

# The most characters one token may stand for when we check ``max_tokens`` ourselves. BPE vocabularies
# (GPT's, Llama's, SmolLM2's) average about 4 characters per English token, and only tokens for runs of
# spaces or punctuation are much longer; 32 is 8x the average, so no reply a server cut at max_tokens
# comes near it, while an endpoint that ignores max_tokens is stopped (512 tokens -> 16,384 characters,
# not the 2.2 MB such a server was seen to send). Counting characters, not deltas, because proxies may
# split one token into several deltas, or send many tokens in one.
MAX_CHARS_PER_TOKEN = 32


class OpenAIGenerator(Generator):
    """Answers with citations from an OpenAI-compatible chat endpoint, streaming text deltas (registered as
    ``openai``).

    Args:
        settings: ``base_url`` and ``model`` are required; ``api_key`` is optional (local servers).
        char_budget: size prompts in characters, at most this many (see ``qa.prompts``); by default they are sized
            in tokens from the model's context window (``context_window()``).
        backoff: seconds before the first retry; each further retry doubles it (with jitter).

    Raises:
        ConfigError: ``base_url`` or ``model`` is missing.

    Example::

        gen = OpenAIGenerator(GeneratorSettings(base_url="http://127.0.0.1:8080/v1", model="smollm2"))
        for delta in gen.stream([{"role": "user", "content": "Say hello."}]):
            print(delta, end="")
    """

    name = "openai"

    def __init__(
        self, settings: GeneratorSettings, *, char_budget: int | None = None, backoff: float = 0.5
    ) -> None:
        missing = settings.missing_endpoint()
        if "base_url" in missing:
            raise ConfigError(
                "the openai generator needs generator.base_url, e.g. http://127.0.0.1:8080/v1 "
                "(or https://api.openai.com/v1 for OpenAI)"
            )
        if "model" in missing:
            raise ConfigError(f"the openai generator needs generator.model: the model {settings.base_url} serves")
        import openai  # lazily: only the LLM backend needs it

        self.settings = settings
        self.base_url = (settings.base_url or "").rstrip("/")  # both set: checked just above
        self.model: str = settings.model or ""
        self.char_budget = char_budget
        self.backoff = backoff
        self._openai = openai
        self._secret = settings.api_key.get_secret_value() if settings.api_key else ""
        self._tokens: ServerTokens | None = None
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=self._secret or "not-needed",
            timeout=settings.timeout,  # each request gets the time left before its reply's deadline instead
            max_retries=0,
            # The SDK follows redirects by default: an endpoint could send the server's request (the question
            # and the passages) on to any address. The endpoint is the one the operator configured, nothing else.
            http_client=openai.DefaultHttpxClient(timeout=settings.timeout, follow_redirects=False),
        )

    def __repr__(self) -> str:
        return f"OpenAIGenerator(base_url={_safe_url(self.base_url)!r}, model={self.model!r})"

    def generate(self, request: GenerationRequest) -> Iterator[str]:
        """Stream an answer to ``request.question`` from the passages ``request.hits``, citing them as ``[n]``.

        Yields:
            Text deltas of the answer.
        """
        chars, tokens = self._budget()
        messages = build_answer_messages(request.question, request.hits, request.history, char_budget=chars,
                                         token_budget=tokens, history_tokens=self._history_tokens(request.history))
        return self.stream(messages)

    def _budget(self, max_tokens: int | None = None) -> tuple[int | None, int | None]:
        """The prompt builders' (char_budget, token_budget): characters when given, else tokens from the window."""
        if self.char_budget is not None:
            return self.char_budget, None
        return None, prompt_token_budget(self.context_window(), max_tokens or self.settings.max_tokens)

    def _history_tokens(self, history: Sequence[Mapping[str, str]] | None) -> ServerTokens | None:
        """The server's token count for trimming ``history`` (None without history: nothing to ask)."""
        if not history or self.char_budget is not None:
            return None
        if self._tokens is None:
            # the tokenizer probes carry the same Authorization the chat requests do, and nothing else
            self._tokens = ServerTokens(self.base_url, self.model, api_key=self._secret or "not-needed")
        return self._tokens

    def context_window(self) -> int:
        """The model's context window in tokens: ``generator.context_window``, else what the server reports
        (asked once per endpoint and model, see ``qa.context_window``), else ``DEFAULT_CONTEXT_WINDOW``."""
        if self.settings.context_window:
            return self.settings.context_window
        # the probe carries the same Authorization the chat requests do, and nothing else
        return known_context_window(self.base_url, self.model, api_key=self._secret or "not-needed")

    def rewrite_query(self, question: str, history: Sequence[Mapping[str, str]] | None) -> str:
        """Rewrite a follow-up question into a standalone search query.

        Without history there is nothing to resolve, so the question is returned without a model call.
        An empty or runaway reply falls back to the question itself.
        """
        if not history:
            return question
        chars, tokens = self._budget(_REWRITE_MAX_TOKENS)
        messages = build_rewrite_messages(question, history, char_budget=chars, token_budget=tokens,
                                          history_tokens=self._history_tokens(history))
        reply = self.complete(messages, max_tokens=_REWRITE_MAX_TOKENS)
        query = _clean_query(reply)
        if not _plausible_query(query, question, history):
            logger.info("query rewrite gave an unusable reply (%s chars); searching the question as asked", len(reply))
            return question
        logger.debug("rewrote %r as %r", question, query)
        return query

    def complete(self, messages: Sequence[Mapping[str, str]], *, max_tokens: int | None = None) -> str:
        """The whole reply to ``messages`` as one string, with the bounds of ``stream``."""
        return "".join(self.stream(messages, max_tokens=max_tokens))

    def stream(
        self, messages: Sequence[Mapping[str, str]], *, max_tokens: int | None = None
    ) -> Iterator[str]:
        """Stream the reply to ``messages`` as text deltas.

        Transient failures (connection errors, timeouts, 408/409/429, 5xx) are retried up to
        ``settings.max_retries`` times with exponential backoff, but only until the first delta has
        been yielded; after that a failure raises ``EndpointError`` so no text is ever repeated.
        The whole reply, retries included, must end within ``settings.timeout`` seconds and hold at most
        ``MAX_CHARS_PER_TOKEN * max_tokens`` characters (see the module docstring).

        Args:
            messages: chat messages (``role``/``content`` dicts).
            max_tokens: overrides ``settings.max_tokens`` for this call.

        Yields:
            Non-empty text deltas in order.

        Raises:
            EndpointError, AuthError, ModelNotFoundError, GeneratorError: see the module docstring.
        """
        attempts = self.settings.max_retries + 1
        deadline = time.monotonic() + self.settings.timeout
        for attempt in range(1, attempts + 1):
            yielded = False
            try:
                for delta in self._stream_once(messages, max_tokens, deadline):
                    yielded = True
                    yield delta
                return
            except GeneratorError:
                raise
            except Exception as exc:  # sorted into transient / fatal just below
                if time.monotonic() >= deadline and _is_transient(exc, self._openai):
                    raise self._late(attempt, mid_answer=yielded) from None
                if not _is_transient(exc, self._openai):
                    raise self._error(exc, attempt=attempt) from None
                if yielded:
                    logger.warning("LLM stream from %s broke mid-answer: %s", _safe_url(self.base_url), _kind(exc))
                    if _is_timeout(exc, self._openai):
                        raise EndpointError(
                            f"the LLM endpoint at {_safe_url(self.base_url)} timed out after "
                            f"{self.settings.timeout:g} s mid-answer"
                        ) from None
                    raise EndpointError(
                        f"the LLM endpoint closed the stream mid-answer ({_safe_url(self.base_url)}: "
                        f"{self._reason(exc)})"
                    ) from None
                if attempt == attempts:
                    raise self._error(exc, attempt=attempt) from None
                delay = self._delay(attempt, exc)
                if time.monotonic() + delay >= deadline:  # no time left for another try: say what failed
                    raise self._error(exc, attempt=attempt) from None
                logger.warning(
                    "LLM request to %s failed (%s); retry %s/%s in %.2f s",
                    _safe_url(self.base_url),
                    _kind(exc),
                    attempt,
                    attempts - 1,
                    delay,
                )
                time.sleep(delay)

    def _stream_once(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int | None, deadline: float
    ) -> Iterator[str]:
        """One streaming request: yields content deltas; raises ``GeneratorError`` for a broken bound
        (deadline, reply size) and lets every other exception through unmapped."""
        started = time.perf_counter()
        limit = max_tokens or self.settings.max_tokens
        max_chars = MAX_CHARS_PER_TOKEN * limit
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._late(1, mid_answer=False) from None
        # Connecting, sending and waiting for the headers: the HTTP client's timeouts, set to the time left.
        response = self._client.chat.completions.create(
            model=self.model,
            messages=cast(Any, [{"role": m["role"], "content": m["content"]} for m in messages]),
            temperature=self.settings.temperature,
            max_tokens=limit,
            stream=True,
            timeout=left,
        )
        # Reading the body: a read timeout restarts with every byte, so a timer ends a body that never does.
        watchdog = _Watchdog(response.response, deadline - time.monotonic())
        finish: str | None = None
        n = chars = 0
        try:
            for chunk in response:
                if watchdog.fired or time.monotonic() >= deadline:
                    raise self._late(1, mid_answer=n > 0) from None
                if not chunk.choices:  # e.g. a trailing usage chunk
                    continue
                choice = chunk.choices[0]
                finish = choice.finish_reason or finish
                text = choice.delta.content if choice.delta else None
                if text:
                    n += 1
                    chars += len(text)
                    if chars > max_chars:
                        raise GeneratorError(
                            f"the LLM endpoint at {_safe_url(self.base_url)} sent more than {max_chars:,} characters "
                            f"for max_tokens={limit}: it ignores max_tokens, so the reply was stopped"
                        ) from None
                    yield text
        except GeneratorError:
            raise
        except Exception:
            if watchdog.fired:  # the read failed because the deadline shut the socket down
                raise self._late(1, mid_answer=n > 0) from None
            raise
        finally:
            watchdog.cancel()
            response.close()  # also when the caller stops early or a bound broke: frees the connection
        if watchdog.fired:  # the shut-down socket ended the body cleanly
            raise self._late(1, mid_answer=n > 0) from None
        elapsed = time.perf_counter() - started
        logger.debug("LLM stream done: %s deltas in %.2f s, finish_reason=%s", n, elapsed, finish)
        if finish is None:
            # The body ended cleanly but the server never said why it stopped. llama.cpp does this when
            # generation fails after the 200 headers went out (e.g. a prompt longer than its context).
            # Every OpenAI-compatible server we know sends finish_reason, so a silent end is a failure:
            # a truncated answer must not pass for a whole one.
            url = _safe_url(self.base_url)
            if n:
                raise EndpointError(
                    f"the LLM endpoint closed the stream mid-answer ({url}: no finish_reason after {n} deltas)"
                )
            raise GeneratorError(
                f"the LLM endpoint at {url} ended the stream without an answer or a finish_reason; its log may "
                "say why (llama.cpp does this for a prompt longer than its context window)"
            )

    def _late(self, attempt: int, *, mid_answer: bool) -> EndpointError:
        """The error for a reply that missed its deadline (``settings.timeout``)."""
        where = " mid-answer" if mid_answer else ""
        tries = f" ({attempt} attempts)" if attempt > 1 else ""
        return EndpointError(
            f"the LLM endpoint at {_safe_url(self.base_url)} timed out{where}: no complete reply within "
            f"{self.settings.timeout:g} s (generator.timeout){tries}"
        )

    def _delay(self, attempt: int, exc: Exception) -> float:
        """Seconds before retry ``attempt``: the server's Retry-After if sane, else doubling backoff."""
        response = getattr(exc, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        if header:
            try:
                return min(max(float(header), 0.0), _MAX_BACKOFF)
            except ValueError:
                pass
        base = self.backoff * 2 ** (attempt - 1)
        return min(base * (1 + 0.25 * random.random()), _MAX_BACKOFF)

    def _reason(self, exc: BaseException) -> str:
        """A short, key-free description of a transport failure."""
        cause = (exc.__cause__ or exc.__context__) if isinstance(exc, self._openai.APIConnectionError) else None
        text = str(cause or exc) or type(cause or exc).__name__
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        """``text`` with the API key masked, cut to a readable length (servers may echo the request)."""
        if self._secret:
            text = text.replace(self._secret, "***")
        return text if len(text) <= _SERVER_TEXT_CHARS else text[:_SERVER_TEXT_CHARS] + "…"

    def _error(self, exc: BaseException, *, attempt: int) -> GeneratorError:
        """Map an openai exception to a ``qa.errors`` exception with a message a person can act on."""
        oa = self._openai
        url = _safe_url(self.base_url)
        tries = f" ({attempt} attempts)" if attempt > 1 else ""
        if _is_timeout(exc, oa):
            return EndpointError(f"the LLM endpoint at {url} timed out after {self.settings.timeout:g} s{tries}")
        if isinstance(exc, oa.APIConnectionError):
            return EndpointError(f"cannot reach the LLM endpoint at {url}: {self._reason(exc)}{tries}")
        if isinstance(exc, oa.APIStatusError):
            status = exc.status_code
            detail = self._scrub(_server_message(exc))
            if status in (401, 403):
                return AuthError(f"the endpoint rejected the API key (HTTP {status} from {url})")
            if status == 404 or _says_model_missing(detail):
                return ModelNotFoundError(
                    f"the LLM endpoint at {url} does not serve model {self.model!r} (HTTP {status}: {detail}); "
                    "check the model name and that the base URL ends in /v1"
                )
            if 300 <= status < 400:
                return GeneratorError(
                    f"the LLM endpoint at {url} redirected the request (HTTP {status}); citeqa does not follow "
                    "redirects: set generator.base_url to the address that answers"
                )
            if status >= 500 or status in _TRANSIENT_STATUS:
                return EndpointError(f"the LLM endpoint at {url} failed with HTTP {status}{tries}: {detail}")
            return GeneratorError(f"the LLM endpoint at {url} rejected the request (HTTP {status}): {detail}")
        if isinstance(exc, oa.APIError):  # e.g. an error event inside the stream
            return EndpointError(f"the LLM endpoint at {url} reported an error: {self._scrub(str(exc))}")
        return GeneratorError(f"the LLM call to {url} failed: {type(exc).__name__}: {self._scrub(str(exc))}")


class _Watchdog:
    """Shuts a streaming response's socket down after ``seconds``, which wakes a read blocked on it.

    Closing the response from another thread would not wake the read (and the file descriptor could be
    reused meanwhile); ``shutdown`` does, and the reader sees the connection end. The lock keeps the timer
    from touching a connection that was already handed back to the pool.
    """

    def __init__(self, response: Any, seconds: float) -> None:
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._response = response
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            stream = self._response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
                else:  # a transport without a socket (none we use): closing is the best we can do
                    self._response.close()
            except OSError:
                pass  # already closed by the peer

    def cancel(self) -> None:
        """Stop the timer; after this it never touches the connection."""
        with self._lock:
            self._done = True
        self._timer.cancel()


def _is_transient(exc: BaseException, oa: Any) -> bool:
    """True for failures a retry may cure: transport errors, timeouts, 408/409/429 and 5xx."""
    if isinstance(exc, oa.APIConnectionError):  # includes APITimeoutError and a stream cut mid-read
        return True
    if isinstance(exc, oa.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in _TRANSIENT_STATUS
    return False


def _is_timeout(exc: BaseException, oa: Any) -> bool:
    """True for a timeout, while connecting or between stream chunks (the SDK wraps both)."""
    return isinstance(exc, oa.APITimeoutError)


def _kind(exc: BaseException) -> str:
    """Exception class and HTTP status, never the message (it may echo the request)."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" HTTP {status}" if status else "")


def _server_message(exc: Any) -> str:
    """The error message in an OpenAI-style JSON error body, else the raw body text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            msg = inner.get("message") or inner.get("detail")
            if msg:
                return str(msg)
        if isinstance(inner, str):
            return inner
        if "detail" in body:
            return str(body["detail"])
    return str(getattr(exc, "message", "") or exc)


def _says_model_missing(detail: str) -> bool:
    """Some servers answer an unknown model with 400 instead of 404 (Ollama, LM Studio phrasing)."""
    low = detail.lower()
    return "model" in low and ("not found" in low or "does not exist" in low or "unknown model" in low)


def _clean_query(reply: str) -> str:
    """The first non-empty line of a rewrite reply, without a 'Query:' prefix or wrapping quotes."""
    for line in reply.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        for prefix in ("standalone search query:", "search query:", "query:"):
            if line.lower().startswith(prefix):
                line = line[len(prefix) :].strip()
        return line.strip("\"'“”` ").strip()
    return ""


_WORD_RE = re.compile(r"[^\W\d_]{4,}")
_FUNCTION_WORDS = frozenset({"that", "this", "what", "when", "where", "which", "with", "from", "they", "them", "their"})


def _plausible_query(query: str, question: str, history: Sequence[Mapping[str, str]]) -> bool:
    """False for an empty or runaway rewrite, or one sharing no content word with the conversation.

    Small models often answer the question instead of rewriting it ("The answer is: Moscow."); a
    rewrite is built from the conversation's own words, so an unrelated reply is not one.
    """
    if not query or len(query) > 3 * len(question) + 200:
        return False
    said = " ".join([question, *(str(m.get("content", "")) for m in history)])
    words = {w.lower() for w in _WORD_RE.findall(query)} - _FUNCTION_WORDS
    return bool(words & {w.lower() for w in _WORD_RE.findall(said)})
