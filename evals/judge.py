"""An LLM judge for eval runs: is the answer correct, and does each claim's cited text support it?

Offline metrics (``contains``, the support check of ``qa.cite``) miss paraphrases and accept answers that
merely mention the gold words. With an LLM endpoint configured, ``citeqa eval --judge`` asks the model two
yes/no questions and reports its verdicts next to the offline metrics, never instead of them:

- correctness: for an answerable question, does the answer give the gold answer (or an equivalent)?
  A refusal or a rejected question is incorrect without a call; unanswerable questions are left to the
  refusal metrics (``correct`` is None);
- claim support: for each claim (sentence) of a non-refused answer, do its cited quotes support it?
  A claim with no citation is unsupported without a call.

Calls use temperature 0 and are cached on disk, keyed by the model name and a hash of the prompt, so a
re-run of the same set costs nothing and gives the same verdicts.

Example:
    >>> judge = Judge.from_settings(settings.generator, cache_path=data_dir() / JUDGE_CACHE_FILE)
    >>> judge.judge_answer(item, answer)
    {'correct': True, 'claims': 2, 'supported_claims': 2, 'unparsed': 0}
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.cite import split_claims, strip_markers
from qa.config import GeneratorSettings
from qa.errors import ConfigError

if TYPE_CHECKING:
    from evals.sets import EvalItem
    from qa import Answer

logger = logging.getLogger(__name__)

JUDGE_CACHE_FILE = "judge_cache.jsonl"
# A verdict is one word; a few spare tokens allow "Yes." or a chat template's preamble.
JUDGE_MAX_TOKENS = 16

JUDGE_SYSTEM_PROMPT = (
    "You are a strict grader. You answer every request with exactly one word: yes or no."
)
CORRECTNESS_PROMPT = """\
Question: {question}
Gold answer (any of these is right): {golds}
Answer to grade: {answer}

Does the answer to grade state the gold answer, or something equivalent, without contradicting it?
Reply with one word: yes or no."""
SUPPORT_PROMPT = """\
Source text:
{quotes}

Claim: {claim}

Is everything the claim states supported by the source text?
Reply with one word: yes or no."""

_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
# Small models often answer in a sentence instead ("The claim is not supported by the source text.").
_NEGATIVE = re.compile(r"\b(?:not|isn't|doesn't|does not|is not|un)\s*(?:fully\s+)?(?:supported|correct|state)|"
                       r"\b(?:incorrect|unsupported|contradicts?|wrong)\b", re.IGNORECASE)
_POSITIVE = re.compile(r"\b(?:supported|correct|states)\b", re.IGNORECASE)

Complete = Callable[[list[dict[str, str]]], str]


def parse_verdict(reply: str) -> bool | None:
    """``True`` for yes, ``False`` for no (the first one in the reply), None when it says neither.

    A reply without yes or no is read from its wording: "not supported", "incorrect" → False;
    "supported", "correct" → True.
    """
    m = _VERDICT.search(reply)
    if m is not None:
        return m.group(1).lower() == "yes"
    if _NEGATIVE.search(reply):
        return False
    if _POSITIVE.search(reply):
        return True
    return None


class Judge:
    """Asks an LLM yes/no questions about answers, with an on-disk cache.

    Args:
        complete: sends chat messages, returns the whole reply (e.g. ``OpenAIGenerator.complete``).
        model: the model's name: part of every cache key.
        cache_path: a JSON Lines file of ``{"key", "model", "reply"}``; created on first write.
    """

    def __init__(self, complete: Complete, *, model: str, cache_path: str | Path) -> None:
        self._complete = complete
        self.model = model
        self.cache_path = Path(cache_path)
        self.calls = 0
        self.cache_hits = 0
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}
        if self.cache_path.is_file():
            for line in self.cache_path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self._cache[entry["key"]] = entry["reply"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut by a crash: that verdict is asked again

    @classmethod
    def from_settings(cls, settings: GeneratorSettings, *, cache_path: str | Path) -> Judge:
        """A judge on the configured LLM endpoint, at temperature 0.

        Raises:
            ConfigError: no endpoint (``generator.base_url``) or model is configured.
        """
        if settings.missing_endpoint() or not settings.model:
            raise ConfigError(
                "--judge needs an LLM endpoint: set OPENAI_BASE_URL and OPENAI_MODEL "
                "(or generator.base_url and generator.model in the config file)"
            )
        from qa.llm import OpenAIGenerator

        generator = OpenAIGenerator(settings.model_copy(update={"temperature": 0.0}))

        def complete(messages: list[dict[str, str]]) -> str:
            return generator.complete(messages, max_tokens=JUDGE_MAX_TOKENS)

        return cls(complete, model=settings.model, cache_path=cache_path)

    def ask(self, prompt: str) -> str:
        """The model's reply to ``prompt`` (after the system prompt), from the cache when asked before."""
        messages = [{"role": "system", "content": JUDGE_SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
        key = hashlib.sha256(json.dumps({"model": self.model, "messages": messages}, sort_keys=True,
                                        ensure_ascii=False).encode("utf-8")).hexdigest()
        with self._lock:
            if key in self._cache:
                self.cache_hits += 1
                return self._cache[key]
        reply = self._complete(messages)
        with self._lock:
            self.calls += 1
            self._cache[key] = reply
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            with self.cache_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"key": key, "model": self.model, "reply": reply}, ensure_ascii=False) + "\n")
        return reply

    def correct(self, question: str, golds: Sequence[str], answer_text: str) -> bool | None:
        """Whether ``answer_text`` gives one of ``golds``; None when the reply is neither yes nor no."""
        prompt = CORRECTNESS_PROMPT.format(question=question, golds=" | ".join(golds),
                                           answer=strip_markers(answer_text))
        return parse_verdict(self.ask(prompt))

    def supported(self, claim: str, quotes: Sequence[str]) -> bool | None:
        """Whether the quotes support the claim; None when the reply is neither yes nor no."""
        text = "\n".join(f'"{" ".join(q.split())}"' for q in quotes)
        return parse_verdict(self.ask(SUPPORT_PROMPT.format(quotes=text, claim=claim)))

    def judge_answer(self, item: EvalItem, answer: Answer | None) -> dict[str, Any]:
        """Verdicts on one answer: ``{"correct", "claims", "supported_claims", "unparsed"}``.

        ``correct`` is None for unanswerable questions (the refusal metrics score those) and when the
        model's reply could not be read; ``unparsed`` counts such replies. An unreadable support verdict
        counts as unsupported.
        """
        out: dict[str, Any] = {"correct": None, "claims": 0, "supported_claims": 0, "unparsed": 0}
        refused = answer is None or answer.refused
        if item.answerable:
            if refused:
                out["correct"] = False
            else:
                assert answer is not None
                verdict = self.correct(item.question, item.answers, answer.text)
                out["correct"] = verdict
                out["unparsed"] += verdict is None
        if refused:
            return out
        assert answer is not None
        quotes = {c.n: c.quote for c in answer.citations}
        for claim in split_claims(answer.text):
            cited = [quotes[n] for n in dict.fromkeys(claim.markers) if n in quotes]
            out["claims"] += 1
            if not cited:
                continue
            verdict = self.supported(claim.text, cited)
            out["unparsed"] += verdict is None
            out["supported_claims"] += verdict is True
        return out

    def info(self) -> Mapping[str, Any]:
        """Model, calls made, cache hits and cache file, for the run summary."""
        return {"model": self.model, "calls": self.calls, "cache_hits": self.cache_hits,
                "cache": str(self.cache_path)}
