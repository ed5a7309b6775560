"""Prompts for the LLM generator, as module constants, and the functions that fill them.

Two prompts:

- ``ANSWER_SYSTEM_PROMPT``: answer only from numbered passages ``[1]..[k]`` and cite one after every
  sentence; refuse by starting with ``CANNOT_ANSWER_PHRASE`` when the passages do not hold the answer. It
  holds no example sentence: small models copied the old one ("... when the summit took place.") as their
  answer to questions the passages did answer.
- ``REWRITE_SYSTEM_PROMPT``: turn a follow-up question into a standalone search query.

Passages are shown as numbered sentences (``[2] Title`` then ``2.1 First sentence.``, ``2.2 ...``), so the
model can point at a sentence; ``qa.align`` reads ``[2.1]`` as passage 2.

Prompts are sized in tokens, from the model's context window (``generator.context_window``, or what the
server reports: ``qa.llm``): the prompt may hold ``context_window - max_tokens - TEMPLATE_TOKENS`` tokens.
Tokens are approximated by ``approx_tokens`` (a caller may pass the tokenizer's own count as
``count_tokens``, or for the history only as ``history_tokens``: ``qa.llm`` passes the server's, see
``qa.context_window.ServerTokens``): characters / ``APPROX_CHARS_PER_TOKEN``. That ratio is 4 where the
tokenizers of the models we run measure 4.7-5.0 characters per token on the seed articles (Qwen2.5: 49,840 characters =
10,059 tokens; SmolLM2: 7,563 = 1,522), so the estimate over-counts by 15-25%: that is the margin for
names, numbers and other languages, which tokenize shorter. History keeps the last ``HISTORY_TURNS`` turns,
each message cut to ``HISTORY_MESSAGE_TOKENS``, within a third of the budget; passages fill what is left
and are dropped from the end (sentences first), so ``[n]`` always means ``hits[n - 1]``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence

from corpus.sentences import split_sentences
from embeddings.types import Hit

logger = logging.getLogger(__name__)

CANNOT_ANSWER_PHRASE = "The articles don't say"
# The ways a model words that refusal: "The articles don't say", "The passages do not mention", "The article
# does not specify", "The articles do not contain the answer" (models rarely copy the phrase exactly).
_REFUSAL = re.compile(
    r"\bthe (?:articles?|passages?|sources?|texts?|documents?) (?:do not|don't|does not|doesn't|did not|didn't) "
    r"(?:say|state|mention|specify|contain|provide|give|indicate)\b"
)


def _fold_quotes(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


def says_articles_lack(text: str) -> bool:
    """True when the text says the articles don't hold the answer, in any of the usual wordings."""
    return _REFUSAL.search(_fold_quotes(text)) is not None


def opens_with_refusal(text: str) -> bool:
    """True when the text starts by saying the articles don't hold the answer."""
    m = _REFUSAL.search(_fold_quotes(text))
    return m is not None and not text[: m.start()].strip()

TokenCounter = Callable[[str], int]

APPROX_CHARS_PER_TOKEN = 4.0
# The chat template's tokens around each message (role markers, separators): Qwen2.5 and SmolLM2 use 4-6.
MESSAGE_OVERHEAD_TOKENS = 8
# Tokens kept free besides the messages and the answer (the template's header, a BOS token, rounding).
TEMPLATE_TOKENS = 64
# A context window no server reported and no setting gave: the smallest in common use (llama.cpp's and older
# Ollama's default n_ctx), so the prompt fits whatever serves the model.
DEFAULT_CONTEXT_WINDOW = 2048
DEFAULT_ANSWER_TOKENS = 512
# Kept for callers that size prompts in characters (char_budget=); the token budget is the default.
DEFAULT_CHAR_BUDGET = 5000
HISTORY_TURNS = 3
HISTORY_MESSAGE_TOKENS = 80
# A passage cut shorter than this is more noise than evidence: drop it instead.
MIN_PASSAGE_TOKENS = 50
MIN_PASSAGE_CHARS = 200
ELLIPSIS = "…"

ANSWER_SYSTEM_PROMPT = f"""\
You answer questions using only the numbered passages from news articles given by the user. Each passage \
has a number in brackets and its sentences are numbered.
Rules:
- Use only facts stated in the passages. Never use outside knowledge.
- End every sentence you write with the number of the passage it comes from, in brackets, such as [1].
- If the passages do not contain the answer, start your reply with "{CANNOT_ANSWER_PHRASE}" and name \
what is missing. If they do contain it, answer: do not refuse.
- If passages from different articles disagree about what was asked, say that they disagree and give \
each side with its own citation.
- Be concise: at most a few sentences."""


def approx_tokens(text: str) -> int:
    """Tokens ``text`` takes, over-estimated: characters / ``APPROX_CHARS_PER_TOKEN``, rounded up."""
    return math.ceil(len(text) / APPROX_CHARS_PER_TOKEN)


def prompt_token_budget(context_window: int, max_tokens: int) -> int:
    """Tokens a prompt may take in ``context_window`` when the answer may take ``max_tokens``.

    llama.cpp rejects (or silently ends) a request whose prompt + max_tokens exceed n_ctx. The budget never
    goes below 256 tokens: a window smaller than the answer makes the server cut the answer instead.
    """
    return max(context_window - max_tokens - TEMPLATE_TOKENS, 256)


DEFAULT_TOKEN_BUDGET = prompt_token_budget(DEFAULT_CONTEXT_WINDOW, DEFAULT_ANSWER_TOKENS)

REWRITE_SYSTEM_PROMPT = """\
Rewrite the user's last question as a standalone search query, using the conversation to resolve words \
like "he", "it", "they" or "that visit". Keep names, places and dates. Reply with the query only: \
no explanation, no quotes."""

_MARKER_RE = re.compile(r"\s*\[\d+(?:\.\d+)?(?:\s*,\s*\d+(?:\.\d+)?)*\]")
_ROLES = ("user", "assistant")


def _measure(char_budget: int | None, token_budget: int | None, count_tokens: TokenCounter | None
             ) -> tuple[int, TokenCounter]:
    """The budget and the function that measures text against it: characters for ``char_budget``, else tokens."""
    if char_budget is not None:
        return char_budget, len
    return (token_budget if token_budget is not None else DEFAULT_TOKEN_BUDGET), (count_tokens or approx_tokens)


def build_answer_messages(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Mapping[str, str]] | None = None,
    *,
    char_budget: int | None = None,
    token_budget: int | None = None,
    count_tokens: TokenCounter | None = None,
    dates: Mapping[str, str] | None = None,
    history_tokens: TokenCounter | None = None,
) -> list[dict[str, str]]:
    """Build the chat messages that ask the model to answer ``question`` from ``hits`` with citations.

    Args:
        question: the user's question, as asked.
        hits: retrieved chunks in rank order; passage ``[n]`` is ``hits[n - 1]``, its sentences ``n.1``, ``n.2``...
        history: earlier chat turns (``{"role": "user"|"assistant", "content": ...}``); only the last
            ``HISTORY_TURNS`` turns are kept, each message cut to ``HISTORY_MESSAGE_TOKENS`` tokens.
        char_budget: size the prompt in characters instead of tokens (all message contents add up to at most this).
        token_budget: the most tokens the messages may take (default ``DEFAULT_TOKEN_BUDGET``, for a 2,048-token
            window), counted with ``count_tokens`` (default ``approx_tokens``) plus ``MESSAGE_OVERHEAD_TOKENS`` per
            message. The system prompt and the question always go in; history and then passages share the rest.
        count_tokens: the tokenizer's count, e.g. the server's (``qa.llm``).
        dates: optional ``doc_id -> date`` (ISO 8601) shown beside each passage's title.
        history_tokens: the count the history is trimmed by (default ``count_tokens``): the server's tokenizer
            (``qa.context_window.ServerTokens``), asked for the few history texts only.

    Returns:
        ``[system, *history, user]`` messages for a chat completion.

    Example::

        messages = build_answer_messages("Where did Macron receive Putin?", hits, token_budget=7000)
    """
    budget, cost = _measure(char_budget, token_budget, count_tokens)
    overhead = 0 if char_budget is not None else MESSAGE_OVERHEAD_TOKENS
    system = {"role": "system", "content": ANSWER_SYSTEM_PROMPT}
    question = question.strip()
    tail = f"\n\nQuestion: {question}"
    header = "Passages:\n"
    room = budget - cost(ANSWER_SYSTEM_PROMPT) - cost(tail) - cost(header) - 2 * overhead
    past = _trim_history(history, room // 3, cost=_history_cost(cost, history_tokens, char_budget), overhead=overhead,
                         in_chars=char_budget is not None)
    past_cost = _history_cost(cost, history_tokens, char_budget)
    room -= sum(past_cost(m["content"]) + overhead for m in past)
    passages = _format_passages(hits, room, dates or {}, cost=cost, in_chars=char_budget is not None)
    if len(passages) < len(hits):
        logger.debug("prompt budget %s kept %s of %s passages", budget, len(passages), len(hits))
    body = "\n\n".join(passages) if passages else "(no passages)"
    user = {"role": "user", "content": header + body + tail}
    return [system, *past, user]


def build_rewrite_messages(
    question: str,
    history: Sequence[Mapping[str, str]] | None,
    *,
    char_budget: int | None = None,
    token_budget: int | None = None,
    count_tokens: TokenCounter | None = None,
    history_tokens: TokenCounter | None = None,
) -> list[dict[str, str]]:
    """Build the chat messages that ask the model to rewrite a follow-up as a standalone search query.

    The conversation goes into one user message as a transcript (not as chat turns), so the model
    rewrites the question instead of answering it.

    Args:
        question: the follow-up question.
        history: earlier chat turns; the last ``HISTORY_TURNS`` turns are kept, each cut short.
        char_budget: size the prompt in characters instead of tokens.
        token_budget: the most tokens the messages may take (see ``build_answer_messages``).
        count_tokens: the tokenizer's count (default ``approx_tokens``).
        history_tokens: the count the history is trimmed by (default ``count_tokens``).

    Returns:
        ``[system, user]`` messages.
    """
    budget, cost = _measure(char_budget, token_budget, count_tokens)
    overhead = 0 if char_budget is not None else MESSAGE_OVERHEAD_TOKENS
    question = question.strip()
    tail = f"\n\nLast question: {question}\n\nStandalone search query:"
    header = "Conversation:\n"
    room = budget - cost(REWRITE_SYSTEM_PROMPT) - cost(tail) - cost(header) - 2 * overhead
    kept = _trim_history(history, room, cost=_history_cost(cost, history_tokens, char_budget), overhead=0,
                         in_chars=char_budget is not None)
    lines = [f"{m['role'].capitalize()}: {m['content']}" for m in kept]
    transcript = "\n".join(lines) if lines else "(none)"
    return [
        {"role": "system", "content": REWRITE_SYSTEM_PROMPT},
        {"role": "user", "content": header + transcript + tail},
    ]


def _history_cost(cost: TokenCounter, history_tokens: TokenCounter | None, char_budget: int | None) -> TokenCounter:
    """What history is measured with: ``history_tokens`` for a token budget, else the prompt's own measure."""
    return history_tokens if history_tokens is not None and char_budget is None else cost


def _trim_history(history: Sequence[Mapping[str, str]] | None, room: int, *, cost: TokenCounter = approx_tokens,
                  overhead: int = 0, in_chars: bool = False) -> list[dict[str, str]]:
    """The last ``HISTORY_TURNS`` user/assistant turns, each message cut short, within ``room`` (tokens, or
    characters when ``in_chars``).

    Citation markers are stripped from earlier answers: their numbers index the passages of an earlier
    prompt, and a small model would copy them as if they pointed at the current passages.
    """
    kept = [m for m in history or () if m.get("role") in _ROLES and str(m.get("content") or "").strip()]
    kept = kept[-2 * HISTORY_TURNS :]
    limit = HISTORY_MESSAGE_TOKENS * (APPROX_CHARS_PER_TOKEN if in_chars else 1)
    out: list[dict[str, str]] = []
    used = 0
    for m in reversed(kept):  # newest first, so the budget drops the oldest turns
        text = str(m["content"])
        if m["role"] == "assistant":
            text = _MARKER_RE.sub("", text)
        text = truncate_to(" ".join(text.split()), int(limit), cost)
        # The rewrite transcript adds "Assistant: " and a newline per line; count them so both builders
        # can share this helper and stay inside their budgets.
        spent = cost(text) + cost("Assistant: \n") + overhead
        if used + spent > room:
            break
        used += spent
        out.append({"role": str(m["role"]), "content": text})
    out.reverse()
    return out


def _format_passages(hits: Sequence[Hit], room: int, dates: Mapping[str, str], *, cost: TokenCounter = approx_tokens,
                     in_chars: bool = False) -> list[str]:
    """``[n] Title (date)`` blocks of numbered sentences ``n.1 ...`` in rank order until ``room`` is used."""
    out: list[str] = []
    used = 0
    least = MIN_PASSAGE_CHARS if in_chars else MIN_PASSAGE_TOKENS
    for n, hit in enumerate(hits, start=1):
        sep = cost("\n\n") if out else 0  # joining blocks
        label = " ".join(p for p in (hit.title.strip(), f"({dates[hit.doc_id]})" if hit.doc_id in dates else "") if p)
        head = f"[{n}] {label}\n" if label else f"[{n}]\n"
        left = room - used - sep - cost(head)
        lines = [f"{n}.{m} {' '.join(hit.text[a:b].split())}"
                 for m, (a, b) in enumerate(split_sentences(hit.text), start=1) if hit.text[a:b].strip()]
        text = "\n".join(lines)
        if cost(text) > left:
            if left < least:
                break
            while lines and cost("\n".join(lines)) > left:
                lines.pop()
            text = "\n".join(lines) if lines else ""
            if not lines or cost(text) < least // 2:
                text = truncate_to(f"{n}.1 " + " ".join(hit.text.split()), left, cost)
        out.append(head + text)
        used += sep + cost(head) + cost(text)
    return out


def truncate_to(text: str, limit: int, cost: TokenCounter = len) -> str:
    """``text`` cut at a word boundary so that ``cost`` of it, ending in an ellipsis, is at most ``limit``."""
    if cost(text) <= limit:
        return text
    words = text.split(" ")
    lo, hi = 0, len(words)  # the most words that fit: binary search, the counter may be a server call
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(" ".join(words[:mid]).rstrip() + ELLIPSIS) <= limit:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return ""
    return " ".join(words[:lo]).rstrip() + ELLIPSIS
